//! Lookups built once per assessment over a [`DataSnapshot`].

use std::collections::{BTreeSet, HashMap};

use govlens_dataset::{
    ChannelKind, ChannelRecord, Metric, PlatformKind, PlatformRecord, PlatformStatus,
    PopulationRecord, RegionRecord,
};

use crate::config::{AssessConfig, ChannelUniverse};
use crate::series::Series;
use crate::snapshot::DataSnapshot;

/// Indexes over a snapshot, and the settings in force.
pub(crate) struct Context<'a> {
    pub snapshot: &'a DataSnapshot,
    pub config: &'a AssessConfig,
    pub series: Series<'a>,
    platforms: HashMap<&'a str, &'a PlatformRecord>,
    channels: HashMap<&'a str, (usize, &'a ChannelRecord)>,
    regions: HashMap<&'a str, &'a RegionRecord>,
    /// (metric, channel) pairs some platform has a usable observation of.
    surveyed: BTreeSet<(Metric, &'a str)>,
}

impl<'a> Context<'a> {
    pub fn new(snapshot: &'a DataSnapshot, config: &'a AssessConfig) -> Self {
        let series = Series::build(&snapshot.observations, config.as_of.as_deref());
        let mut platforms = HashMap::new();
        for p in &snapshot.platforms {
            platforms.entry(p.code.as_str()).or_insert(p);
        }
        let mut channels = HashMap::new();
        for (i, c) in snapshot.channels.iter().enumerate() {
            channels.entry(c.code.as_str()).or_insert((i, c));
        }
        let mut regions = HashMap::new();
        for r in &snapshot.regions {
            regions.entry(r.code.as_str()).or_insert(r);
        }
        let surveyed = series
            .iter()
            .map(|(_, metric, channel, _)| (metric, channel))
            .collect();
        Context {
            snapshot,
            config,
            series,
            platforms,
            channels,
            regions,
            surveyed,
        }
    }

    pub fn as_of(&self) -> Option<&'a str> {
        self.config.as_of.as_deref()
    }

    pub fn platform(&self, code: &str) -> Option<&'a PlatformRecord> {
        self.platforms.get(code).copied()
    }

    /// Platforms with distinct codes, in snapshot order (the first record of a code).
    pub fn platforms(&self) -> Vec<&'a PlatformRecord> {
        let mut seen = BTreeSet::new();
        self.snapshot
            .platforms
            .iter()
            .filter(|p| seen.insert(p.code.as_str()))
            .collect()
    }

    /// Active platforms of a region, in snapshot order.
    pub fn active_platforms_of(&self, region: &str) -> Vec<&'a PlatformRecord> {
        self.platforms()
            .into_iter()
            .filter(|p| p.region_code == region && p.status == PlatformStatus::Active)
            .collect()
    }

    pub fn channel(&self, code: &str) -> Option<&'a ChannelRecord> {
        self.channels.get(code).map(|(_, c)| *c)
    }

    pub fn region(&self, code: &str) -> Option<&'a RegionRecord> {
        self.regions.get(code).copied()
    }

    pub fn platform_name(&self, code: &str) -> String {
        self.platform(code)
            .map_or_else(|| code.to_string(), |p| p.name.clone())
    }

    pub fn region_name(&self, code: &str) -> String {
        self.region(code)
            .map_or_else(|| code.to_string(), |r| r.name.clone())
    }

    pub fn channel_name(&self, code: &str) -> String {
        self.channel(code)
            .map_or_else(|| code.to_string(), |c| c.name.clone())
    }

    /// Sort key of a channel: snapshot order, unknown channels last by code.
    pub fn channel_key<'c>(&self, code: &'c str) -> (usize, &'c str) {
        (
            self.channels.get(code).map_or(usize::MAX, |(i, _)| *i),
            code,
        )
    }

    /// A platform distributed through app stores: a government app, or any platform
    /// with an observation on an app-store channel.
    pub fn is_app(&self, platform: &PlatformRecord) -> bool {
        platform.kind == PlatformKind::GovernmentApp
            || self
                .snapshot
                .channels
                .iter()
                .filter(|c| c.kind == ChannelKind::AppStore)
                .any(|c| self.series.platform_has_channel(&platform.code, &c.code))
    }

    /// The app-store channels an app is expected to have `metric` data on, in snapshot
    /// order (see [`ChannelUniverse`]).
    pub fn universe(&self, metric: Metric) -> Vec<&'a str> {
        let mut seen = BTreeSet::new();
        self.snapshot
            .channels
            .iter()
            .filter(|c| c.kind == ChannelKind::AppStore)
            .filter(|c| match self.config.channel_universe {
                ChannelUniverse::AllAppStores => true,
                ChannelUniverse::Surveyed => self.surveyed.contains(&(metric, c.code.as_str())),
            })
            .map(|c| c.code.as_str())
            .filter(|code| seen.insert(*code))
            .collect()
    }

    /// The population of a region: the latest year on or before `year`, else the
    /// latest year available. Only positive populations count.
    pub fn population(&self, region: &str, year: Option<i32>) -> Option<&'a PopulationRecord> {
        let latest = |until: Option<i32>| {
            self.snapshot
                .populations
                .iter()
                .filter(|p| p.region_code == region && p.population > 0)
                .filter(|p| until.is_none_or(|y| p.year <= y))
                .fold(None::<&'a PopulationRecord>, |best, p| match best {
                    Some(b) if b.year > p.year => Some(b),
                    _ => Some(p),
                })
        };
        year.and_then(|y| latest(Some(y))).or_else(|| latest(None))
    }
}
