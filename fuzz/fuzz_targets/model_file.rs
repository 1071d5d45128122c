//! Scoring model files (`MODEL_FORMAT.md`): the text a user uploads with the scoring
//! service's `CreateModel`, parsed and validated by `Model::from_toml_str` /
//! `Model::from_json_str` (what `govlens_scoring::service::parse_model` calls), then
//! turned back into a spec (`Model::to_spec`, which the service reads the name from).
//!
//! For a model that validates, the target also
//! * writes it back (`spec::to_toml` / `spec::to_json`) and reads it again: the
//!   explicit spec must parse back to an equal model;
//! * builds the scoring plan and scores a small synthetic dataset with a column for
//!   every indicator (some values missing, units in groups, a unit named after any
//!   `distance_to_reference` reference), and reads every score, rank, band,
//!   contribution and unit report.
//!
//! Errors are fine; panics are not.

#![no_main]

use govlens_engine::model::NodeKind;
use govlens_engine::normalise::Normalisation;
use govlens_engine::{spec, Dataset, Model};
use libfuzzer_sys::fuzz_target;

const UNITS: usize = 5;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for parsed in [Model::from_toml_str(text), Model::from_json_str(text)] {
        match parsed {
            Ok(model) => exercise(&model, data),
            Err(e) => {
                assert!(!e.errors.is_empty(), "a model error without errors");
                let _ = e.to_string();
            }
        }
    }
});

fn exercise(model: &Model, data: &[u8]) {
    let spec = model.to_spec();
    let toml = spec::to_toml(&spec).expect("a valid model writes as TOML");
    let back = Model::from_toml_str(&toml)
        .unwrap_or_else(|e| panic!("written TOML does not read back: {e}\n{toml}"));
    assert_eq!(&back, model, "TOML round trip changed the model:\n{toml}");
    let json = spec::to_json(&spec).expect("a valid model writes as JSON");
    let back = Model::from_json_str(&json)
        .unwrap_or_else(|e| panic!("written JSON does not read back: {e}\n{json}"));
    assert_eq!(&back, model, "JSON round trip changed the model:\n{json}");

    let Some(dataset) = dataset_for(model, data) else {
        return;
    };
    let Ok(results) = model.score(&dataset) else {
        return;
    };
    for node in 0..results.nodes().len() {
        let _ = results.node_scores(node);
        let _ = results.node_ranks(node);
        let _ = results.node_median(node);
        for unit in 0..UNITS {
            let _ = results.band(unit, node);
            let _ = results.contributions(unit, node);
        }
    }
    for unit in 0..UNITS {
        let _ = results.unit_report(unit);
    }
}

/// A dataset with a column for every indicator of the model, values drawn from a hash
/// of the input; about one value in six is missing.
fn dataset_for(model: &Model, data: &[u8]) -> Option<Dataset> {
    let mut units: Vec<String> = (0..UNITS).map(|i| format!("u{i}")).collect();
    // Name a unit after a reference unit, so that distance_to_reference can resolve.
    let reference = model.nodes().into_iter().find_map(|n| {
        let method = match &n.kind {
            NodeKind::Indicator(i) => Some(&i.normalisation),
            NodeKind::Aggregate(a) => a.rescale.as_ref(),
        };
        match method {
            Some(Normalisation::DistanceToReference { reference, .. }) => Some(reference.clone()),
            _ => None,
        }
    });
    if let Some(r) = reference {
        if !r.is_empty() && !units.contains(&r) {
            units[UNITS - 1] = r;
        }
    }
    let mut state = data.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let mut next = move || {
        // splitmix64
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let mut columns: Vec<(String, Vec<f64>)> = Vec::new();
    for node in model.indicators() {
        if columns.iter().any(|(c, _)| *c == node.code) {
            continue;
        }
        let col = (0..UNITS)
            .map(|_| {
                let r = next();
                if r % 6 == 0 {
                    f64::NAN
                } else {
                    // -50.00 ..= 149.99, two decimals
                    ((r >> 8) % 20_000) as f64 / 100.0 - 50.0
                }
            })
            .collect();
        columns.push((node.code.clone(), col));
    }
    let groups = (0..UNITS)
        .map(|i| (i % 3 != 2).then(|| format!("g{}", i % 2)))
        .collect();
    Dataset::from_columns(units, columns)
        .ok()?
        .with_groups(groups)
        .ok()
}
