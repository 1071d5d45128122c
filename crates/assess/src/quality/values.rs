//! Missing cells, out-of-range values and implausible downloads per inhabitant.

use std::cmp::Ordering;

use govlens_dataset::{HasProvenance, Metric};
use govlens_engine::decimal::Decimal;

use super::{Finding, FindingKind, Severity, Subject};
use crate::context::Context;
use crate::exact::{self, describe_count};
use crate::metrics::{ChannelCoverage, PlatformMetrics};

/// Highest rating on the scale (the data set's 0-5 rating scale).
const MAX_RATING: f64 = govlens_dataset::validate::MAX_RATING;

pub(super) fn check(ctx: &Context, metrics: &[PlatformMetrics], out: &mut Vec<Finding>) {
    for m in metrics {
        no_data(ctx, m, &m.rating_coverage, out);
        no_data(ctx, m, &m.downloads_coverage, out);
    }
    ranges(ctx, out);
    for m in metrics {
        per_inhabitant(ctx, m, out);
    }
}

fn no_data(ctx: &Context, m: &PlatformMetrics, coverage: &ChannelCoverage, out: &mut Vec<Finding>) {
    let platform = ctx.platform(&m.platform_code);
    for channel in &coverage.without_data {
        out.push(
            Finding::new(
                FindingKind::ChannelNoData,
                Severity::Info,
                Subject::Cell {
                    platform: m.platform_code.clone(),
                    channel: channel.clone(),
                    metric: coverage.metric,
                },
                format!(
                    "{} has no {} on {} (no data, the source's \"/\"; absent, not zero).",
                    m.platform_name,
                    super::words(coverage.metric),
                    ctx.channel_name(channel)
                ),
            )
            .with_provenance(platform.map(HasProvenance::provenance)),
        );
    }
}

fn ranges(ctx: &Context, out: &mut Vec<Finding>) {
    let max_rating = Decimal::from_f64(MAX_RATING).ok();
    for (platform, metric, channel, points) in ctx.series.iter() {
        for p in points {
            let negative = p.value.units() < 0;
            let (kind, rule) = match metric {
                Metric::Rating => {
                    let above = max_rating
                        .is_some_and(|max| exact::cmp(&p.value, &max) == Ordering::Greater);
                    if !(negative || above) {
                        continue;
                    }
                    (
                        FindingKind::RatingOutOfRange,
                        format!("outside the rating scale [0, {MAX_RATING}]"),
                    )
                }
                _ if negative => (
                    FindingKind::NegativeCount,
                    "negative, but it is a count".to_string(),
                ),
                _ => continue,
            };
            out.push(
                Finding::new(
                    kind,
                    Severity::Error,
                    Subject::Observation {
                        platform: platform.to_string(),
                        channel: channel.to_string(),
                        metric,
                        observed_on: p.date.to_string(),
                    },
                    format!(
                        "The {} of {} on {} on {} is {}, {rule}.",
                        super::words(metric),
                        ctx.platform_name(platform),
                        ctx.channel_name(channel),
                        p.date,
                        shown(&p.record.value_as_printed, &p.value),
                    ),
                )
                .with_values(Some(shown(&p.record.value_as_printed, &p.value)), None)
                .with_provenance([p.record.provenance()]),
            );
        }
    }
}

fn shown(printed: &str, value: &Decimal) -> String {
    if printed.trim().is_empty() {
        exact::normalized(*value).to_string()
    } else {
        printed.to_string()
    }
}

fn per_inhabitant(ctx: &Context, m: &PlatformMetrics, out: &mut Vec<Finding>) {
    let threshold = ctx.config.max_downloads_per_inhabitant;
    let (Some(ratio), Some(total), Some(pop)) = (
        m.downloads_per_inhabitant,
        &m.total_downloads,
        &m.population,
    ) else {
        return;
    };
    if !threshold.is_finite() || ratio <= threshold {
        return;
    }
    let million = m
        .downloads
        .iter()
        .any(|d| exact::printed_unit(&d.value_as_printed) == "million");
    let hint = if million {
        format!(
            "Likely a unit error: 万 (10^4) translated as \"million\" (10^6) makes a figure 100 \
             times too large; read as 万, this is {:.2} downloads per inhabitant.",
            ratio / 100.0
        )
    } else {
        "Check the unit of the download counts, and whether they count something other than \
         downloads (e.g. page views or updates)."
            .to_string()
    };
    let population = Decimal::new(i128::from(pop.population), 0)
        .map_or_else(|_| pop.population.to_string(), |d| exact::grouped(&d));
    out.push(
        Finding::new(
            FindingKind::ImplausibleDownloadsPerInhabitant,
            Severity::Warning,
            Subject::Platform(m.platform_code.clone()),
            format!(
                "{}: {} downloads across {} channel(s) are {ratio:.2} per inhabitant of {} \
                 ({} population {population}), above the plausible maximum of {threshold}.",
                m.platform_name,
                describe_count(total),
                m.downloads.len(),
                ctx.region_name(&pop.region_code),
                pop.year,
            ),
        )
        .with_values(None, Some(format!("{ratio:.2}")))
        .with_hint(hint)
        .with_provenance(
            m.downloads
                .iter()
                .map(|d| d.provenance.clone())
                .chain(std::iter::once(pop.provenance.clone())),
        ),
    );
}
