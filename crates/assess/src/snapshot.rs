//! The input of an assessment: the records of the data service, as plain vectors.

use govlens_dataset::{
    AnyRecord, ChannelRecord, IndicatorValueRecord, ObservationRecord, PlatformFunctionRecord,
    PlatformRecord, PolicyDocumentRecord, PopulationRecord, RegionRecord, ReportedAggregateRecord,
    ServiceFunctionRecord,
};

/// Everything an assessment reads, built by the caller (typically from the data
/// service's export, after `govlens_dataset::prepare`). Records need not be complete
/// or consistent: references to unknown platforms, channels or regions are reported by
/// the quality rules, never a panic.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DataSnapshot {
    pub regions: Vec<RegionRecord>,
    pub populations: Vec<PopulationRecord>,
    pub channels: Vec<ChannelRecord>,
    pub platforms: Vec<PlatformRecord>,
    pub observations: Vec<ObservationRecord>,
    pub aggregates: Vec<ReportedAggregateRecord>,
    pub platform_functions: Vec<PlatformFunctionRecord>,
    pub service_functions: Vec<ServiceFunctionRecord>,
    pub policy_documents: Vec<PolicyDocumentRecord>,
    pub indicator_values: Vec<IndicatorValueRecord>,
}

impl DataSnapshot {
    /// An empty snapshot.
    pub fn new() -> Self {
        Self::default()
    }

    /// A snapshot of the given records, each put in the vector of its kind (in order).
    /// Indicator definitions (`AnyRecord::Indicator`) are not part of a snapshot and are
    /// skipped: the TOE indicators are defined in [`crate::toe`].
    pub fn from_records(records: impl IntoIterator<Item = AnyRecord>) -> Self {
        let mut snapshot = Self::default();
        for record in records {
            snapshot.push(record);
        }
        snapshot
    }

    /// Adds one record to the vector of its kind (indicator definitions are skipped).
    pub fn push(&mut self, record: AnyRecord) {
        match record {
            AnyRecord::Region(r) => self.regions.push(r),
            AnyRecord::Population(r) => self.populations.push(r),
            AnyRecord::Channel(r) => self.channels.push(r),
            AnyRecord::Platform(r) => self.platforms.push(r),
            AnyRecord::ServiceFunction(r) => self.service_functions.push(r),
            AnyRecord::PlatformFunction(r) => self.platform_functions.push(r),
            AnyRecord::Indicator(_) => {}
            AnyRecord::PolicyDocument(r) => self.policy_documents.push(r),
            AnyRecord::Observation(r) => self.observations.push(r),
            AnyRecord::IndicatorValue(r) => self.indicator_values.push(r),
            AnyRecord::ReportedAggregate(r) => self.aggregates.push(r),
        }
    }

    /// True when the snapshot holds no record at all.
    pub fn is_empty(&self) -> bool {
        self.regions.is_empty()
            && self.populations.is_empty()
            && self.channels.is_empty()
            && self.platforms.is_empty()
            && self.observations.is_empty()
            && self.aggregates.is_empty()
            && self.platform_functions.is_empty()
            && self.service_functions.is_empty()
            && self.policy_documents.is_empty()
            && self.indicator_values.is_empty()
    }
}
