//! Settings shared by the metrics, the quality rules and the TOE derivation.

/// Which app-store channels a platform is expected to have data on, per metric.
///
/// This decides what counts as "no data" (the paper's "/"): a platform has no data on a
/// channel when the channel is in the universe of that metric and the platform has no
/// observation of the metric there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChannelUniverse {
    /// The app-store channels on which at least one platform of the snapshot has an
    /// observation of the metric: the "columns" of the survey. A store nobody was
    /// surveyed on (Table 3 has no iPhone column) is not a gap of every app.
    #[default]
    Surveyed,
    /// Every app-store channel of the snapshot.
    AllAppStores,
}

/// How `toe.e.flagship_user_share` chooses a region's flagship app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FlagshipRule {
    /// The largest reported registered-user share among the region's platforms (the
    /// best-reached app whose reach the source reports). Missing when none is reported.
    #[default]
    LargestReportedShare,
    /// The reported registered-user share of the region's most-downloaded app (total
    /// downloads across channels); missing when that app has no reported share.
    MostDownloaded,
}

/// Settings of an assessment. `Default` gives the documented defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct AssessConfig {
    /// Use only observations (and reported aggregates) dated on or before this day,
    /// `YYYY-MM-DD`. `None` uses everything.
    pub as_of: Option<String>,
    /// Prior mean `m` of the Bayesian-adjusted rating (default 3.0, the middle of the
    /// 1-5 star scale).
    pub prior_mean: f64,
    /// Prior strength `C` of the Bayesian-adjusted rating, in ratings (default 10).
    /// Negative or non-finite values are treated as 0.
    pub prior_strength: f64,
    /// Which channels a platform is expected to have data on (default: surveyed).
    pub channel_universe: ChannelUniverse,
    /// Downloads per inhabitant of the platform's region above which a platform is
    /// flagged as implausible (default 10). Non-finite turns the rule off.
    pub max_downloads_per_inhabitant: f64,
    /// Largest plausible change of a channel's rating between two consecutive dates
    /// (default 1.0 point). Non-finite or negative turns the rule off.
    pub max_rating_change: f64,
    /// Flagship rule of `toe.e.flagship_user_share`.
    pub flagship: FlagshipRule,
}

impl Default for AssessConfig {
    fn default() -> Self {
        AssessConfig {
            as_of: None,
            prior_mean: 3.0,
            prior_strength: 10.0,
            channel_universe: ChannelUniverse::default(),
            max_downloads_per_inhabitant: 10.0,
            max_rating_change: 1.0,
            flagship: FlagshipRule::default(),
        }
    }
}

impl AssessConfig {
    /// The defaults, restricted to data dated on or before `date` (`YYYY-MM-DD`).
    pub fn as_of(date: impl Into<String>) -> Self {
        AssessConfig {
            as_of: Some(date.into()),
            ..AssessConfig::default()
        }
    }
}
