//! Implausible changes between consecutive dates of one platform, channel and metric.

use std::cmp::Ordering;

use govlens_dataset::{HasProvenance, Metric};
use govlens_engine::decimal::Decimal;

use super::{Finding, FindingKind, Severity, Subject};
use crate::context::Context;
use crate::exact;
use crate::series::Point;

pub(super) fn check(ctx: &Context, out: &mut Vec<Finding>) {
    let max_change = ctx.config.max_rating_change;
    let max_change = (max_change.is_finite() && max_change >= 0.0)
        .then(|| Decimal::from_f64(max_change).ok())
        .flatten();
    for (platform, metric, channel, points) in ctx.series.iter() {
        for pair in points.windows(2) {
            let (before, after) = (&pair[0], &pair[1]);
            if before.date == after.date {
                continue; // duplicates are an integrity finding
            }
            let subject = || Subject::Observation {
                platform: platform.to_string(),
                channel: channel.to_string(),
                metric,
                observed_on: after.date.to_string(),
            };
            let finding = match metric {
                Metric::Downloads => decreased(ctx, subject, before, after),
                Metric::Rating => max_change.and_then(|m| jump(ctx, subject, before, after, &m)),
                _ => None,
            };
            if let Some(f) = finding {
                out.push(
                    f.with_provenance([before.record.provenance(), after.record.provenance()]),
                );
            }
        }
    }
}

fn shown(p: &Point) -> String {
    if p.record.value_as_printed.trim().is_empty() {
        exact::normalized(p.value).to_string()
    } else {
        p.record.value_as_printed.clone()
    }
}

fn decreased(
    ctx: &Context,
    subject: impl FnOnce() -> Subject,
    before: &Point,
    after: &Point,
) -> Option<Finding> {
    if exact::cmp(&after.value, &before.value) != Ordering::Less {
        return None;
    }
    Some(
        Finding::new(
            FindingKind::DownloadsDecreased,
            Severity::Warning,
            subject(),
            format!(
                "Cumulative downloads of {} on {} fell from {} on {} to {} on {}; a cumulative \
                 count cannot decrease.",
                ctx.platform_name(&after.record.platform_code),
                ctx.channel_name(&after.record.channel_code),
                shown(before),
                before.date,
                shown(after),
                after.date
            ),
        )
        .with_values(Some(shown(after)), None)
        .with_hint(
            "The store may have reset or redefined its counter, or the two figures use \
             different units.",
        ),
    )
}

fn jump(
    ctx: &Context,
    subject: impl FnOnce() -> Subject,
    before: &Point,
    after: &Point,
    max_change: &Decimal,
) -> Option<Finding> {
    let change = exact::difference(&after.value, &before.value)?;
    if exact::cmp(&exact::abs(&change), max_change) != Ordering::Greater {
        return None;
    }
    Some(
        Finding::new(
            FindingKind::RatingJump,
            Severity::Warning,
            subject(),
            format!(
                "The rating of {} on {} moved from {} on {} to {} on {} (change {}), more than \
                 the plausible {} between two observations.",
                ctx.platform_name(&after.record.platform_code),
                ctx.channel_name(&after.record.channel_code),
                shown(before),
                before.date,
                shown(after),
                after.date,
                exact::normalized(change),
                exact::normalized(*max_change),
            ),
        )
        .with_values(Some(shown(after)), None)
        .with_hint(
            "Check that both figures are the same store's overall rating (not a version's \
             rating, or a different scale).",
        ),
    )
}
