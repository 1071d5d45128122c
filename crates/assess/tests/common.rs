//! Shared helpers: the paper's dataset as a snapshot.

use govlens_assess::DataSnapshot;
use govlens_dataset::{paper, prepare, AnyRecord};

/// The paper's records, each passed through `govlens_dataset::prepare` (which fills
/// `value` from `value_as_printed`).
pub fn paper_records() -> Vec<AnyRecord> {
    paper::records()
        .expect("the paper bundle parses")
        .into_iter()
        .map(|s| {
            let mut record = s.record;
            prepare(&mut record).unwrap_or_else(|v| panic!("{}: {v:?}", s.origin));
            record
        })
        .collect()
}

pub fn paper_snapshot() -> DataSnapshot {
    DataSnapshot::from_records(paper_records())
}
