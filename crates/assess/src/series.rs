//! Observations grouped into time series per platform, metric and channel.

use std::collections::BTreeMap;

use govlens_dataset::{Metric, ObservationRecord};
use govlens_engine::decimal::Decimal;

use crate::exact::{exact_value, is_iso_date};

/// One usable observation: a valid date and a readable value.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Point<'a> {
    pub date: &'a str,
    pub value: Decimal,
    pub record: &'a ObservationRecord,
}

/// Points of one channel, in date order (input order among equal dates).
pub(crate) type ChannelSeries<'a> = BTreeMap<&'a str, Vec<Point<'a>>>;

/// Usable observations by platform, then metric, then channel. Observations with an
/// invalid date, no readable value, or dated after the cut-off are left out.
#[derive(Debug, Default)]
pub(crate) struct Series<'a> {
    by_platform: BTreeMap<&'a str, BTreeMap<Metric, ChannelSeries<'a>>>,
}

impl<'a> Series<'a> {
    pub fn build(observations: &'a [ObservationRecord], as_of: Option<&str>) -> Self {
        let mut by_platform: BTreeMap<&'a str, BTreeMap<Metric, ChannelSeries<'a>>> =
            BTreeMap::new();
        for record in observations {
            if !is_iso_date(&record.observed_on) {
                continue;
            }
            if as_of.is_some_and(|cut| record.observed_on.as_str() > cut) {
                continue;
            }
            let Some(value) = exact_value(record.value, &record.value_as_printed) else {
                continue;
            };
            by_platform
                .entry(record.platform_code.as_str())
                .or_default()
                .entry(record.metric)
                .or_default()
                .entry(record.channel_code.as_str())
                .or_default()
                .push(Point {
                    date: &record.observed_on,
                    value,
                    record,
                });
        }
        for metrics in by_platform.values_mut() {
            for channels in metrics.values_mut() {
                for points in channels.values_mut() {
                    // Stable: among equal dates the later record in the input wins.
                    points.sort_by(|a, b| a.date.cmp(b.date));
                }
            }
        }
        Series { by_platform }
    }

    /// The channel series of one platform and metric.
    pub fn channels(&self, platform: &str, metric: Metric) -> Option<&ChannelSeries<'a>> {
        self.by_platform.get(platform)?.get(&metric)
    }

    /// The latest point of each channel dated on or before `until` (all when `None`).
    pub fn latest(&self, platform: &str, metric: Metric, until: Option<&str>) -> Vec<Point<'a>> {
        let Some(channels) = self.channels(platform, metric) else {
            return Vec::new();
        };
        channels
            .values()
            .filter_map(|points| {
                points
                    .iter()
                    .rev()
                    .find(|p| until.is_none_or(|cut| p.date <= cut))
                    .copied()
            })
            .collect()
    }

    /// Every (platform, metric, channel, points) series.
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, Metric, &'a str, &[Point<'a>])> + '_ {
        self.by_platform.iter().flat_map(|(platform, metrics)| {
            metrics.iter().flat_map(move |(metric, channels)| {
                channels
                    .iter()
                    .map(move |(channel, points)| (*platform, *metric, *channel, points.as_slice()))
            })
        })
    }

    /// True when the platform has any usable observation on the channel.
    pub fn platform_has_channel(&self, platform: &str, channel: &str) -> bool {
        self.by_platform
            .get(platform)
            .is_some_and(|m| m.values().any(|c| c.contains_key(channel)))
    }
}
