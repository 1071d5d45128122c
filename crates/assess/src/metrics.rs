//! Per-platform metrics from the latest observation of each metric on each channel.
//!
//! For every platform and channel the latest usable observation of a metric is used
//! (dated on or before [`AssessConfig::as_of`] when set). From those:
//! * **average rating**: the plain mean across channels that have a rating, ignoring
//!   channels with no data, which is Table 2's method. Kept exact ([`Ratio`]) and
//!   rounded half up to the precision of its inputs (`4.675` -> `"4.7"`);
//! * **count-weighted rating** `sum(r_i n_i) / sum(n_i)` and **Bayesian-adjusted
//!   rating** `(C*m + sum(r_i n_i)) / (C + sum(n_i))`, over the channels that have both
//!   a rating `r_i` and a rating count `n_i` (prior mean `m`, prior strength `C` from
//!   the config); `None` when no channel has a count;
//! * **rating spread**: highest minus lowest channel rating (needs two channels);
//! * **coverage**: which channels of the metric's universe have data and which not;
//! * **total downloads** across channels, and **downloads per inhabitant** of the
//!   platform's region (population of the latest year on or before the year of the
//!   latest download observation, else the latest year; `None` without a population).

use govlens_dataset::{Metric, PlatformRecord, Provenance};
use govlens_engine::decimal::{round_half_up, Decimal, Ratio};

use crate::config::AssessConfig;
use crate::context::Context;
use crate::exact;
use crate::snapshot::DataSnapshot;

/// The latest value of one metric on one channel.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelValue {
    pub channel_code: String,
    /// Exact value, with the printed precision when the printed figure agrees.
    pub value: Decimal,
    pub value_as_printed: String,
    pub observed_on: String,
    pub provenance: Provenance,
}

/// Which channels of a metric's universe a platform has data on.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelCoverage {
    pub metric: Metric,
    /// Channels with a usable observation of the metric (any channel, universe or not).
    pub with_data: Vec<String>,
    /// Channels of the universe without one: the paper's "/" cells. Empty for
    /// platforms that are not distributed through app stores.
    pub without_data: Vec<String>,
    /// Number of universe channels with data (`with_data` restricted to the universe).
    pub cells_with_data: usize,
    /// Size of the universe for this platform (0 for platforms that are not apps).
    pub cells: usize,
}

/// The population used as a denominator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PopulationUsed {
    pub region_code: String,
    pub year: i32,
    pub population: i64,
    pub provenance: Provenance,
}

/// Metrics of one platform.
#[derive(Debug, Clone, PartialEq)]
pub struct PlatformMetrics {
    pub platform_code: String,
    pub platform_name: String,
    pub region_code: String,
    /// Whether the platform is distributed through app stores (a government app, or
    /// any platform with app-store observations).
    pub is_app: bool,
    /// Latest date among the observations used.
    pub latest_observed_on: Option<String>,
    /// Latest rating per channel, in channel order.
    pub ratings: Vec<ChannelValue>,
    /// Exact mean of `ratings` (Table 2's "Average score" method).
    pub average_rating: Option<Ratio>,
    /// `average_rating` rounded half up to the largest precision of its inputs.
    pub average_rating_printed: Option<String>,
    /// Latest rating count per channel.
    pub rating_counts: Vec<ChannelValue>,
    /// Sum of the rating counts paired with a rating.
    pub rating_count_total: Option<f64>,
    /// `sum(r_i n_i) / sum(n_i)`.
    pub weighted_rating: Option<f64>,
    /// `(C*m + sum(r_i n_i)) / (C + sum(n_i))`.
    pub bayesian_rating: Option<f64>,
    /// Highest minus lowest channel rating; `None` with fewer than two ratings.
    pub rating_spread: Option<Decimal>,
    pub rating_coverage: ChannelCoverage,
    /// Latest cumulative downloads per channel.
    pub downloads: Vec<ChannelValue>,
    pub downloads_coverage: ChannelCoverage,
    /// Exact sum of `downloads`.
    pub total_downloads: Option<Decimal>,
    pub population: Option<PopulationUsed>,
    pub downloads_per_inhabitant: Option<f64>,
}

impl PlatformMetrics {
    /// Channels with a rating (Table 2's cells that are not "/").
    pub fn channels_with_data(&self) -> &[String] {
        &self.rating_coverage.with_data
    }

    /// Channels of the rating universe without a rating (Table 2's "/" cells).
    pub fn channels_without_data(&self) -> &[String] {
        &self.rating_coverage.without_data
    }
}

/// Metrics of every platform of the snapshot (distinct codes, snapshot order).
pub fn platform_metrics(snapshot: &DataSnapshot, config: &AssessConfig) -> Vec<PlatformMetrics> {
    let ctx = Context::new(snapshot, config);
    all(&ctx)
}

/// Metrics of one platform; `None` when the snapshot has no such platform.
pub fn metrics_for_platform(
    snapshot: &DataSnapshot,
    platform_code: &str,
    config: &AssessConfig,
) -> Option<PlatformMetrics> {
    let ctx = Context::new(snapshot, config);
    ctx.platform(platform_code).map(|p| compute(&ctx, p))
}

/// `sum(r_i n_i) / sum(n_i)` over `(rating, count)` pairs. Pairs with a non-finite
/// value or a negative count are ignored; `None` when the counts sum to zero.
pub fn count_weighted_rating(pairs: &[(f64, f64)]) -> Option<f64> {
    let (weighted, total) = weighted_sums(pairs)?;
    if total > 0.0 {
        exact::finite(weighted / total)
    } else {
        None
    }
}

/// The Bayesian-adjusted (damped) mean `(C*m + sum(r_i n_i)) / (C + sum(n_i))`: the
/// ratings pulled towards the prior mean `m` as if `C` extra ratings of `m` had been
/// given. `None` when no pair is usable (no counts), or the denominator is zero.
/// A negative or non-finite `C` is treated as 0.
pub fn bayesian_rating(prior_mean: f64, prior_strength: f64, pairs: &[(f64, f64)]) -> Option<f64> {
    let (weighted, total) = weighted_sums(pairs)?;
    let c = if prior_strength.is_finite() && prior_strength > 0.0 {
        prior_strength
    } else {
        0.0
    };
    let den = c + total;
    if den > 0.0 {
        exact::finite((c * prior_mean + weighted) / den)
    } else {
        None
    }
}

fn weighted_sums(pairs: &[(f64, f64)]) -> Option<(f64, f64)> {
    let usable: Vec<(f64, f64)> = pairs
        .iter()
        .copied()
        .filter(|(r, n)| r.is_finite() && n.is_finite() && *n >= 0.0)
        .collect();
    if usable.is_empty() {
        return None;
    }
    Some(
        usable
            .iter()
            .fold((0.0, 0.0), |(w, t), (r, n)| (w + r * n, t + n)),
    )
}

pub(crate) fn all(ctx: &Context) -> Vec<PlatformMetrics> {
    ctx.platforms()
        .into_iter()
        .map(|p| compute(ctx, p))
        .collect()
}

/// Latest value per channel of one metric, on or before `until`, in channel order.
pub(crate) fn channel_values(
    ctx: &Context,
    platform: &str,
    metric: Metric,
    until: Option<&str>,
) -> Vec<ChannelValue> {
    let mut points = ctx.series.latest(platform, metric, until);
    points.sort_by(|a, b| {
        ctx.channel_key(&a.record.channel_code)
            .cmp(&ctx.channel_key(&b.record.channel_code))
    });
    points
        .into_iter()
        .map(|p| ChannelValue {
            channel_code: p.record.channel_code.clone(),
            value: p.value,
            value_as_printed: p.record.value_as_printed.clone(),
            observed_on: p.record.observed_on.clone(),
            provenance: govlens_dataset::HasProvenance::provenance(p.record),
        })
        .collect()
}

fn coverage(
    ctx: &Context,
    is_app: bool,
    metric: Metric,
    values: &[ChannelValue],
) -> ChannelCoverage {
    let with_data: Vec<String> = values.iter().map(|v| v.channel_code.clone()).collect();
    let universe = if is_app {
        ctx.universe(metric)
    } else {
        Vec::new()
    };
    let without_data: Vec<String> = universe
        .iter()
        .filter(|c| !with_data.iter().any(|w| w == *c))
        .map(|c| c.to_string())
        .collect();
    ChannelCoverage {
        metric,
        cells_with_data: universe.len() - without_data.len(),
        cells: universe.len(),
        with_data,
        without_data,
    }
}

fn spread(values: &[Decimal]) -> Option<Decimal> {
    if values.len() < 2 {
        return None;
    }
    let max = values.iter().max_by(|a, b| exact::cmp(a, b))?;
    let min = values.iter().min_by(|a, b| exact::cmp(a, b))?;
    exact::difference(max, min)
}

fn rating_pairs(ratings: &[ChannelValue], counts: &[ChannelValue]) -> Vec<(f64, f64)> {
    ratings
        .iter()
        .filter_map(|r| {
            let n = counts.iter().find(|c| c.channel_code == r.channel_code)?;
            let n = n.value.to_f64();
            (n.is_finite() && n >= 0.0).then_some((r.value.to_f64(), n))
        })
        .collect()
}

pub(crate) fn compute(ctx: &Context, platform: &PlatformRecord) -> PlatformMetrics {
    let code = platform.code.as_str();
    let is_app = ctx.is_app(platform);
    let ratings = channel_values(ctx, code, Metric::Rating, None);
    let rating_counts = channel_values(ctx, code, Metric::RatingCount, None);
    let downloads = channel_values(ctx, code, Metric::Downloads, None);

    let rating_values: Vec<Decimal> = ratings.iter().map(|v| v.value).collect();
    let average_rating = exact::mean(&rating_values);
    let places = exact::max_scale(&rating_values);
    let average_rating_printed = average_rating.map(|m| round_half_up(m, places));

    let pairs = rating_pairs(&ratings, &rating_counts);
    let rating_count_total = (!pairs.is_empty()).then(|| pairs.iter().map(|(_, n)| n).sum());
    let weighted_rating = count_weighted_rating(&pairs);
    let bayesian_rating = bayesian_rating(ctx.config.prior_mean, ctx.config.prior_strength, &pairs);

    let download_values: Vec<Decimal> = downloads.iter().map(|v| v.value).collect();
    let total_downloads = if downloads.is_empty() {
        None
    } else {
        exact::sum(&download_values)
    };

    let latest_of = |values: &[ChannelValue]| values.iter().map(|v| v.observed_on.clone()).max();
    let latest_observed_on = [&ratings, &rating_counts, &downloads]
        .iter()
        .filter_map(|v| latest_of(v))
        .max();
    let reference_year = latest_of(&downloads)
        .or_else(|| latest_observed_on.clone())
        .and_then(|d| exact::year_of(&d));
    let population = ctx
        .population(&platform.region_code, reference_year)
        .map(|p| PopulationUsed {
            region_code: p.region_code.clone(),
            year: p.year,
            population: p.population,
            provenance: govlens_dataset::HasProvenance::provenance(p),
        });
    let downloads_per_inhabitant = match (&total_downloads, &population) {
        (Some(total), Some(pop)) => exact::finite(total.to_f64() / pop.population as f64),
        _ => None,
    };

    PlatformMetrics {
        platform_code: platform.code.clone(),
        platform_name: platform.name.clone(),
        region_code: platform.region_code.clone(),
        is_app,
        latest_observed_on,
        rating_coverage: coverage(ctx, is_app, Metric::Rating, &ratings),
        downloads_coverage: coverage(ctx, is_app, Metric::Downloads, &downloads),
        average_rating,
        average_rating_printed,
        rating_spread: spread(&rating_values),
        ratings,
        rating_counts,
        rating_count_total,
        weighted_rating,
        bayesian_rating,
        downloads,
        total_downloads,
        population,
        downloads_per_inhabitant,
    }
}

/// The channel value with the largest value (used by the quality rules).
pub(crate) fn max_value(values: &[ChannelValue]) -> Option<&ChannelValue> {
    values.iter().max_by(|a, b| exact::cmp(&a.value, &b.value))
}
