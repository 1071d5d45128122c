//! Import files: whatever `govlens import` (`govlens_dataset::fs::read_bundle`) turns
//! into records, and what the data service's `ImportRecords` then checks.
//!
//! The input is one file's text, read the way every import path reads it:
//! * as a JSON bundle (`bundle::parse_json`);
//! * as a published table recognised by its header (`formats::parse`, the UN EGDI and
//!   World Bank GTMI adapters), joined by `formats::combine`;
//! * as each of the bundle's CSV files (`bundle::parse_csv` under every `<kind>.csv`
//!   name).
//!
//! Every record read is then validated (`govlens_dataset::prepare`, what the service
//! runs on each record), sent through the wire format (`record_to_pb` /
//! `record_from_pb`), and, when valid, written back out as a CSV file and as a JSON
//! bundle (`govlens export`) and read back: the bundle format's contract is that
//! export and import round-trip, so a valid record must come back equal.
//!
//! Nothing may panic.

#![no_main]

use govlens_dataset::bundle::{self, BundleError, SourcedRecord};
use govlens_dataset::convert::{record_from_pb, record_to_pb};
use govlens_dataset::formats;
use govlens_dataset::records::{AnyRecord, ResourceKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Import reads files with `read_to_string`: text that is not UTF-8 never gets here.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check(bundle::parse_json(text));
    if let Some(parsed) = formats::parse("table.csv", text) {
        if let Ok(records) = &parsed {
            let _ = formats::combine(vec![records.clone(), records.clone()]);
        }
        check(parsed);
    }
    for kind in ResourceKind::ALL {
        check(bundle::parse_csv(&bundle::csv_file_name(*kind), text));
    }
});

fn check(parsed: Result<Vec<SourcedRecord>, BundleError>) {
    let records = match parsed {
        Ok(records) => records,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let mut valid = Vec::new();
    for r in records {
        let mut record = r.record.clone();
        let _ = record_from_pb(record_to_pb(record.clone(), r.origin.clone()));
        match govlens_dataset::prepare(&mut record) {
            Ok(()) => {
                // A validated record stays valid on the wire.
                let mut back = record_from_pb(record_to_pb(record.clone(), r.origin))
                    .unwrap_or_else(|v| panic!("valid {record:?} does not read back: {v:?}"));
                let _ = govlens_dataset::prepare(&mut back);
                valid.push(record);
            }
            Err(violations) => assert!(!violations.is_empty(), "an error without violations"),
        }
    }
    round_trip(&valid);
}

/// Export then import: every valid record must come back equal, in the same order
/// within its kind.
fn round_trip(valid: &[AnyRecord]) {
    if valid.is_empty() {
        return;
    }
    for kind in ResourceKind::ALL {
        let mine: Vec<&AnyRecord> = valid.iter().filter(|r| r.kind() == *kind).collect();
        if mine.is_empty() {
            continue;
        }
        let csv = bundle::write_csv(*kind, valid);
        let back = bundle::parse_csv(&bundle::csv_file_name(*kind), &csv)
            .unwrap_or_else(|e| panic!("exported CSV does not read back: {e}\n{csv}"));
        let back: Vec<&AnyRecord> = back.iter().map(|r| &r.record).collect();
        assert_eq!(mine, back, "CSV round trip changed records:\n{csv}");
    }
    let json = bundle::write_json(valid);
    let back = bundle::parse_json(&json)
        .unwrap_or_else(|e| panic!("exported JSON does not read back: {e}\n{json}"));
    let back: Vec<AnyRecord> = back.into_iter().map(|r| r.record).collect();
    let mut sorted = valid.to_vec();
    sorted.sort_by_key(|r| r.kind());
    assert_eq!(sorted, back, "JSON round trip changed records:\n{json}");
}
