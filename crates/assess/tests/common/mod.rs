//! Shared helpers: the paper's dataset as a snapshot.

#![allow(dead_code)]

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

// ---------------------------------------------------------------------------
// Builders for small hand-made snapshots.

use govlens_dataset::{
    AdminLevel, AggregateKind, ChannelKind, ChannelRecord, FunctionCategory, Metric,
    ObservationRecord, PlatformFunctionRecord, PlatformKind, PlatformRecord, PlatformStatus,
    PolicyDocumentRecord, PopulationRecord, RegionRecord, ReportedAggregateRecord,
    ServiceFunctionRecord, SubjectKind, ToeDimension,
};

pub fn region(code: &str) -> RegionRecord {
    RegionRecord {
        code: code.into(),
        name: format!("Region {code}"),
        level: AdminLevel::Province,
        parent_code: String::new(),
    }
}

pub fn population(region: &str, year: i32, population: i64) -> PopulationRecord {
    PopulationRecord {
        region_code: region.into(),
        year,
        population,
        value_as_printed: String::new(),
        source_document: "test".into(),
        source_table: String::new(),
        source_row: format!("{region} {year}"),
        source_column: String::new(),
    }
}

pub fn store(code: &str) -> ChannelRecord {
    ChannelRecord {
        code: code.into(),
        name: format!("Store {code}"),
        kind: ChannelKind::AppStore,
        vendor: String::new(),
    }
}

pub fn platform_of(code: &str, region: &str, kind: PlatformKind) -> PlatformRecord {
    PlatformRecord {
        code: code.into(),
        name: format!("App {code}"),
        kind,
        region_code: region.into(),
        operator: String::new(),
        launch_date: String::new(),
        status: PlatformStatus::Active,
        url: String::new(),
        source_document: String::new(),
        source_table: String::new(),
        source_row: String::new(),
        source_column: String::new(),
    }
}

pub fn app(code: &str, region: &str) -> PlatformRecord {
    platform_of(code, region, PlatformKind::GovernmentApp)
}

/// An observation with `value` read from `printed` (as `prepare` would).
pub fn obs(
    platform: &str,
    channel: &str,
    metric: Metric,
    date: &str,
    printed: &str,
) -> ObservationRecord {
    ObservationRecord {
        platform_code: platform.into(),
        channel_code: channel.into(),
        metric,
        observed_on: date.into(),
        value: govlens_dataset::printed::parse_printed(printed).ok(),
        value_as_printed: printed.into(),
        source_document: "test".into(),
        source_table: "T".into(),
        source_row: platform.into(),
        source_column: channel.into(),
    }
}

pub fn aggregate(
    code: &str,
    kind: AggregateKind,
    platform: &str,
    metric: Metric,
    printed: &str,
) -> ReportedAggregateRecord {
    ReportedAggregateRecord {
        code: code.into(),
        kind,
        subject_kind: SubjectKind::Platform,
        subject_code: platform.into(),
        metric,
        observed_on: "2024-01-01".into(),
        value: govlens_dataset::printed::parse_printed(printed).ok(),
        value_as_printed: printed.into(),
        description: String::new(),
        source_document: "test".into(),
        source_table: "T".into(),
        source_row: platform.into(),
        source_column: kind.as_str().into(),
    }
}

pub fn function(code: &str, category: FunctionCategory) -> ServiceFunctionRecord {
    ServiceFunctionRecord {
        code: code.into(),
        name: code.into(),
        category,
        description: String::new(),
    }
}

pub fn offers(platform: &str, function: &str) -> PlatformFunctionRecord {
    PlatformFunctionRecord {
        platform_code: platform.into(),
        function_code: function.into(),
        source_document: String::new(),
        source_table: String::new(),
        source_row: String::new(),
        source_column: String::new(),
    }
}

pub fn policy(
    code: &str,
    region: &str,
    year: Option<i32>,
    tags: &[ToeDimension],
) -> PolicyDocumentRecord {
    PolicyDocumentRecord {
        code: code.into(),
        region_code: region.into(),
        title: code.into(),
        issuer: String::new(),
        year,
        programme: String::new(),
        toe_tags: tags.to_vec(),
        source_document: String::new(),
        source_table: String::new(),
        source_row: String::new(),
        source_column: String::new(),
    }
}

/// One region `r` (population 1,000,000 in 2023), two stores `a` and `b`, one app `x`.
pub fn base() -> DataSnapshot {
    DataSnapshot {
        regions: vec![region("r")],
        populations: vec![population("r", 2023, 1_000_000)],
        channels: vec![store("a"), store("b")],
        platforms: vec![app("x", "r")],
        ..DataSnapshot::default()
    }
}
