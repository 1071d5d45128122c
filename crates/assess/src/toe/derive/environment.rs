//! Environment indicators (Section 3.3): uptake per inhabitant and user share.

use govlens_dataset::{AggregateKind, HasProvenance, Metric, ReportedAggregateRecord, SubjectKind};
use govlens_engine::decimal::Decimal;

use super::{not_an_app, Cell, Scope};
use crate::config::FlagshipRule;
use crate::context::Context;
use crate::exact::{self, describe_count, exact_value, is_iso_date};
use crate::metrics::PlatformMetrics;

pub(super) fn downloads_per_inhabitant(ctx: &Context, region: &str, scope: &Scope) -> Cell {
    let with: Vec<&PlatformMetrics> = scope
        .apps
        .iter()
        .copied()
        .filter(|m| m.total_downloads.is_some())
        .collect();
    if with.is_empty() {
        if scope.is_platform && scope.apps.is_empty() {
            return not_an_app(scope);
        }
        return Cell::missing(format!("no download counts for {}", scope.name));
    }
    let totals: Vec<Decimal> = with.iter().filter_map(|m| m.total_downloads).collect();
    let Some(total) = exact::sum(&totals) else {
        return Cell::missing("the download counts are too large to add up".into());
    };
    let year = with
        .iter()
        .flat_map(|m| m.downloads.iter().map(|d| d.observed_on.as_str()))
        .max()
        .and_then(exact::year_of);
    let Some(pop) = ctx.population(region, year) else {
        return Cell::missing(format!("no population of {}", ctx.region_name(region)));
    };
    let flagged = with
        .iter()
        .filter(|m| {
            m.downloads_per_inhabitant
                .is_some_and(|r| r > ctx.config.max_downloads_per_inhabitant)
        })
        .count();
    let caveat = if flagged > 0 && scope.is_platform {
        format!(
            "; caveat: above {} downloads per inhabitant (likely a unit error, see the quality \
             findings)",
            ctx.config.max_downloads_per_inhabitant
        )
    } else if flagged > 0 {
        format!(
            "; caveat: {flagged} of {} app(s) exceed {} downloads per inhabitant (likely unit \
             errors, see the quality findings)",
            with.len(),
            ctx.config.max_downloads_per_inhabitant
        )
    } else {
        String::new()
    };
    let population = Decimal::new(i128::from(pop.population), 0)
        .map_or_else(|_| pop.population.to_string(), |d| exact::grouped(&d));
    let value = total.to_f64() / pop.population as f64;
    Cell::some(
        value,
        format!(
            "{} downloads of {} / {} population {population} of {} = {value:.4}{caveat}",
            describe_count(&total),
            if scope.is_platform {
                format!("{} store(s)", with.first().map_or(0, |m| m.downloads.len()))
            } else {
                format!("{} app(s)", with.len())
            },
            pop.year,
            ctx.region_name(region)
        ),
    )
}

/// The latest in-scope reported registered-user share of a platform.
fn reported_share<'a>(
    ctx: &'a Context,
    platform: &str,
) -> Option<(&'a ReportedAggregateRecord, Decimal)> {
    ctx.snapshot
        .aggregates
        .iter()
        .filter(|a| {
            a.kind == AggregateKind::PopulationShare
                && a.subject_kind == SubjectKind::Platform
                && a.subject_code == platform
                && a.metric == Metric::RegisteredUsers
        })
        .filter(|a| {
            !(is_iso_date(&a.observed_on)
                && ctx.as_of().is_some_and(|cut| a.observed_on.as_str() > cut))
        })
        .filter_map(|a| Some((a, exact_value(a.value, &a.value_as_printed)?)))
        .max_by(|(a, _), (b, _)| a.observed_on.cmp(&b.observed_on))
}

fn share_source(agg: &ReportedAggregateRecord) -> String {
    let p = agg.provenance();
    let parts: Vec<&str> = [p.document.as_str(), p.table.as_str()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    if parts.is_empty() {
        agg.code.clone()
    } else {
        parts.join(", ")
    }
}

pub(super) fn flagship_user_share(ctx: &Context, scope: &Scope) -> Cell {
    match ctx.config.flagship {
        FlagshipRule::LargestReportedShare => {
            let best = scope
                .platforms
                .iter()
                .filter_map(|p| Some((p, reported_share(ctx, &p.code)?)))
                .max_by(|(_, (_, a)), (_, (_, b))| exact::cmp(a, b));
            match best {
                Some((p, (agg, share))) => Cell::some(
                    share.to_f64(),
                    format!(
                        "{}: reported {} of the population are registered users ({}); the \
                         largest reported share among {}'s platforms",
                        p.name,
                        agg.value_as_printed,
                        share_source(agg),
                        scope.name
                    ),
                ),
                None => Cell::missing(format!(
                    "no registered-user share is reported for any platform of {}",
                    scope.name
                )),
            }
        }
        FlagshipRule::MostDownloaded => {
            let top = scope
                .apps
                .iter()
                .filter_map(|m| Some((m, m.total_downloads?)))
                .max_by(|(_, a), (_, b)| exact::cmp(a, b));
            let Some((m, total)) = top else {
                return Cell::missing(format!("no app of {} has download counts", scope.name));
            };
            match reported_share(ctx, &m.platform_code) {
                Some((agg, share)) => Cell::some(
                    share.to_f64(),
                    format!(
                        "{}, the most-downloaded app ({}): reported {} ({})",
                        m.platform_name,
                        describe_count(&total),
                        agg.value_as_printed,
                        share_source(agg)
                    ),
                ),
                None => Cell::missing(format!(
                    "the most-downloaded app, {} ({}), has no reported registered-user share",
                    m.platform_name,
                    describe_count(&total)
                )),
            }
        }
    }
}
