//! Rulebook files (`crates/rules/RULEBOOK_FORMAT.md`): the text a user uploads with the
//! recommendation service, parsed and validated by `Rulebook::from_toml_str` /
//! `Rulebook::from_json_str` (what the service's `parse_rulebook` calls).
//!
//! For a rulebook that validates, the target also
//! * writes it back (`to_toml` / `to_json`, documented to "parse back to an equal
//!   rulebook") and checks that it does;
//! * diagnoses every unit of a small fact sheet (two regions with two platforms each,
//!   plus any peer the conditions name) holding a value, drawn from a hash of the
//!   input, for every fact the rulebook mentions, and recommends paths from each
//!   diagnosis.
//!
//! Errors are fine; panics are not.

#![no_main]

use govlens_rules::{diagnose, recommend, FactSheet, Rulebook, UnitFacts, UnitKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for parsed in [Rulebook::from_toml_str(text), Rulebook::from_json_str(text)] {
        match parsed {
            Ok(book) => exercise(&book, data),
            Err(e) => {
                let _ = e.to_string();
                let _ = e.field_errors();
            }
        }
    }
});

fn exercise(book: &Rulebook, data: &[u8]) {
    let toml = book.to_toml().expect("a valid rulebook writes as TOML");
    let back = Rulebook::from_toml_str(&toml)
        .unwrap_or_else(|e| panic!("written TOML does not read back: {e}\n{toml}"));
    assert_eq!(&back, book, "TOML round trip changed the rulebook:\n{toml}");
    let json = book.to_json().expect("a valid rulebook writes as JSON");
    let back = Rulebook::from_json_str(&json)
        .unwrap_or_else(|e| panic!("written JSON does not read back: {e}\n{json}"));
    assert_eq!(&back, book, "JSON round trip changed the rulebook:\n{json}");

    let sheet = fact_sheet(book, data);
    for unit in &sheet.units {
        if let Ok(d) = diagnose(book, &sheet, &unit.code) {
            let _ = d.present().count();
            let _ = recommend(book, &sheet, &d);
        }
    }
    let _ = book.mean_importance();
}

fn fact_sheet(book: &Rulebook, data: &[u8]) -> FactSheet {
    let mut keys: Vec<&str> = Vec::new();
    let mut peers: Vec<&str> = Vec::new();
    for d in &book.dilemmas {
        for c in &d.conditions {
            keys.push(&c.fact);
            peers.extend(c.peer.as_deref());
        }
        keys.extend(d.context.iter().map(String::as_str));
    }
    for p in &book.paths {
        keys.extend(p.targets.iter().map(|t| t.fact.as_str()));
        keys.extend(p.performance_fact.as_deref());
    }
    keys.sort_unstable();
    keys.dedup();

    let mut units = vec![
        UnitFacts::new("r1", "Region 1", UnitKind::Region, ""),
        UnitFacts::new("r2", "Region 2", UnitKind::Region, ""),
        UnitFacts::new("p1", "Platform 1", UnitKind::Platform, "r1"),
        UnitFacts::new("p2", "Platform 2", UnitKind::Platform, "r1"),
        UnitFacts::new("p3", "Platform 3", UnitKind::Platform, "r2"),
    ];
    for peer in peers {
        if !peer.is_empty() && !units.iter().any(|u| u.code == peer) {
            units.push(UnitFacts::new(peer, peer, UnitKind::Region, ""));
        }
    }
    let mut state = data.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    for unit in &mut units {
        for key in &keys {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let r = state >> 33;
            if r % 7 == 0 {
                continue; // no such fact for this unit
            }
            let value = match r % 5 {
                0 => (r % 10) as f64,              // a small count or rank
                1 => -((r % 1000) as f64) / 100.0, // a negative change
                _ => (r % 10_000) as f64 / 10_000.0,
            };
            unit.values
                .insert((*key).to_string(), govlens_rules::Fact::new(value, "fuzz"));
        }
    }
    FactSheet::new(units)
}
