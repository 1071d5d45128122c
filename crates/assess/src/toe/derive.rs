//! Computing the TOE indicators from a snapshot.

use std::collections::{BTreeMap, BTreeSet};

use govlens_dataset::{
    AggregateKind, FunctionCategory, HasProvenance, Metric, PlatformKind, PlatformRecord,
    PolicyDocumentRecord, ReportedAggregateRecord, SubjectKind, ToeDimension,
};
use govlens_engine::decimal::{round_half_up, Decimal, Ratio};

use super::defs::{IndicatorDef, INDICATORS};
use super::table::IndicatorTable;
use crate::config::{AssessConfig, FlagshipRule};
use crate::context::Context;
use crate::exact::{self, describe_count, exact_value, is_iso_date};
use crate::metrics::{self, PlatformMetrics};
use crate::snapshot::DataSnapshot;

/// One computed cell.
struct Cell {
    value: Option<f64>,
    provenance: String,
}

impl Cell {
    fn some(value: f64, provenance: String) -> Self {
        Cell {
            value: exact::finite(value),
            provenance,
        }
    }

    fn missing(why: String) -> Self {
        Cell {
            value: None,
            provenance: format!("missing: {why}"),
        }
    }
}

/// A region (or platform) and what the indicators are computed over.
struct Scope<'a> {
    name: String,
    /// Active platforms (for a platform scope: the platform itself).
    platforms: Vec<&'a PlatformRecord>,
    /// Metrics of the platforms that are apps.
    apps: Vec<&'a PlatformMetrics>,
}

/// The TOE indicators of every region that has platforms (units sorted by code).
pub fn region_indicators(snapshot: &DataSnapshot, config: &AssessConfig) -> IndicatorTable {
    let ctx = Context::new(snapshot, config);
    let metrics = metrics::all(&ctx);
    let by_code: BTreeMap<&str, &PlatformMetrics> = metrics
        .iter()
        .map(|m| (m.platform_code.as_str(), m))
        .collect();
    let units: Vec<String> = ctx
        .platforms()
        .iter()
        .map(|p| p.region_code.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let scopes: Vec<Scope> = units
        .iter()
        .map(|code| {
            let platforms = ctx.active_platforms_of(code);
            let apps = platforms
                .iter()
                .filter_map(|p| by_code.get(p.code.as_str()).copied())
                .filter(|m| m.is_app)
                .collect();
            Scope {
                name: ctx.region_name(code),
                platforms,
                apps,
            }
        })
        .collect();
    let defs: Vec<IndicatorDef> = INDICATORS.to_vec();
    let mut table = build(&defs, &units, |def, i| {
        region_cell(&ctx, def, &units[i], &scopes[i])
    });
    table.notes = notes(&ctx, &metrics, units.len(), "region");
    table.notes.push(format!(
        "toe.e.flagship_user_share uses the {} rule.",
        match config.flagship {
            FlagshipRule::LargestReportedShare =>
                "largest-reported-share (the largest reported registered-user share among the region's apps)",
            FlagshipRule::MostDownloaded =>
                "most-downloaded (the reported share of the app with the most downloads)",
        }
    ));
    table
}

/// The platform-level TOE indicators (those with `platform_level`) of every platform
/// of the snapshot (distinct codes, snapshot order).
pub fn platform_indicators(snapshot: &DataSnapshot, config: &AssessConfig) -> IndicatorTable {
    let ctx = Context::new(snapshot, config);
    let metrics = metrics::all(&ctx);
    let units: Vec<String> = metrics.iter().map(|m| m.platform_code.clone()).collect();
    let scopes: Vec<Scope> = metrics
        .iter()
        .map(|m| Scope {
            name: m.platform_name.clone(),
            platforms: ctx.platform(&m.platform_code).into_iter().collect(),
            apps: if m.is_app { vec![m] } else { Vec::new() },
        })
        .collect();
    let defs: Vec<IndicatorDef> = INDICATORS
        .iter()
        .filter(|d| d.platform_level)
        .copied()
        .collect();
    let mut table = build(&defs, &units, |def, i| {
        let region = scopes[i]
            .platforms
            .first()
            .map(|p| p.region_code.as_str())
            .unwrap_or_default();
        region_cell(&ctx, def, region, &scopes[i])
    });
    table.notes = notes(&ctx, &metrics, units.len(), "platform");
    table
}

fn build(
    defs: &[IndicatorDef],
    units: &[String],
    mut cell: impl FnMut(&IndicatorDef, usize) -> Cell,
) -> IndicatorTable {
    let mut values = Vec::with_capacity(defs.len() * units.len());
    let mut provenance = Vec::with_capacity(defs.len() * units.len());
    for def in defs {
        for i in 0..units.len() {
            let c = cell(def, i);
            values.push(c.value);
            provenance.push(c.provenance);
        }
    }
    IndicatorTable {
        units: units.to_vec(),
        indicators: defs.to_vec(),
        values,
        provenance,
        notes: Vec::new(),
    }
}

fn region_cell(ctx: &Context, def: &IndicatorDef, region: &str, scope: &Scope) -> Cell {
    match def.code {
        "toe.t.avg_rating" => avg_rating(scope),
        "toe.t.store_coverage" => store_coverage(ctx, scope),
        "toe.t.rating_spread" => rating_spread(scope),
        "toe.t.function_breadth" => function_breadth(ctx, scope),
        "toe.t.basic_service_coverage" => basic_service_coverage(ctx, scope),
        "toe.o.policy_count" => policy_count(ctx, region, scope),
        "toe.o.app_fragmentation" => app_fragmentation(scope),
        "toe.o.policy_org_share" => policy_org_share(ctx, region, scope),
        "toe.e.downloads_per_inhabitant" => downloads_per_inhabitant(ctx, region, scope),
        "toe.e.flagship_user_share" => flagship_user_share(ctx, scope),
        other => Cell::missing(format!("no derivation for {other}")),
    }
}

fn fmt4(r: Ratio) -> String {
    let text = round_half_up(r, 4);
    Decimal::parse(&text).map_or(text, |d| exact::normalized(d).to_string())
}

fn avg_rating(scope: &Scope) -> Cell {
    let rated: Vec<(&str, Ratio)> = scope
        .apps
        .iter()
        .filter_map(|m| Some((m.platform_name.as_str(), m.average_rating?)))
        .collect();
    if rated.is_empty() {
        return Cell::missing(format!("no app of {} has a store rating", scope.name));
    }
    let ratios: Vec<Ratio> = rated.iter().map(|(_, r)| *r).collect();
    let Some(mean) = exact::mean_of_ratios(&ratios) else {
        return Cell::missing("the ratings are too large to average exactly".into());
    };
    let parts: Vec<String> = rated
        .iter()
        .map(|(n, r)| format!("{n} {}", fmt4(*r)))
        .collect();
    Cell::some(
        mean.to_f64(),
        format!(
            "mean of {} app average rating(s) (Table 2 method, unrounded): {} = {}",
            rated.len(),
            parts.join(", "),
            fmt4(mean)
        ),
    )
}

fn store_coverage(ctx: &Context, scope: &Scope) -> Cell {
    let cells: usize = scope.apps.iter().map(|m| m.rating_coverage.cells).sum();
    let with: usize = scope
        .apps
        .iter()
        .map(|m| m.rating_coverage.cells_with_data)
        .sum();
    if cells == 0 {
        return Cell::missing(format!(
            "{} has no app x app-store cells (no apps, or no surveyed app store)",
            scope.name
        ));
    }
    let gaps: Vec<String> = scope
        .apps
        .iter()
        .flat_map(|m| {
            m.rating_coverage
                .without_data
                .iter()
                .map(move |c| format!("{} / {}", m.platform_name, ctx.channel_name(c)))
        })
        .collect();
    let gaps = if gaps.is_empty() {
        String::new()
    } else {
        format!("; no rating (\"/\"): {}", gaps.join(", "))
    };
    Cell::some(
        with as f64 / cells as f64,
        format!(
            "{with} of {cells} app x app-store rating cells have data ({} app(s)){gaps}",
            scope.apps.len()
        ),
    )
}

fn rating_spread(scope: &Scope) -> Cell {
    let spreads: Vec<(&str, Decimal)> = scope
        .apps
        .iter()
        .filter_map(|m| Some((m.platform_name.as_str(), m.rating_spread?)))
        .collect();
    let values: Vec<Decimal> = spreads.iter().map(|(_, d)| *d).collect();
    let Some(mean) = exact::mean(&values) else {
        return Cell::missing(format!(
            "no app of {} has ratings on two or more stores",
            scope.name
        ));
    };
    let parts: Vec<String> = spreads
        .iter()
        .map(|(n, d)| format!("{n} {}", exact::normalized(*d)))
        .collect();
    Cell::some(
        mean.to_f64(),
        format!(
            "mean of {} app(s)' highest minus lowest store rating: {} = {}",
            spreads.len(),
            parts.join(", "),
            fmt4(mean)
        ),
    )
}

/// Distinct function codes of the scope's platforms, with the first platform offering
/// each. `None` when the snapshot has no platform functions at all (unknown, not zero).
fn functions<'a>(ctx: &'a Context, scope: &Scope) -> Option<BTreeMap<&'a str, &'a str>> {
    if ctx.snapshot.platform_functions.is_empty() {
        return None;
    }
    let codes: BTreeSet<&str> = scope.platforms.iter().map(|p| p.code.as_str()).collect();
    let mut out = BTreeMap::new();
    for f in &ctx.snapshot.platform_functions {
        if codes.contains(f.platform_code.as_str()) {
            out.entry(f.function_code.as_str())
                .or_insert(f.platform_code.as_str());
        }
    }
    Some(out)
}

fn function_breadth(ctx: &Context, scope: &Scope) -> Cell {
    let Some(offered) = functions(ctx, scope) else {
        return Cell::missing("the snapshot has no platform functions".into());
    };
    let codes: Vec<&str> = offered.keys().copied().collect();
    Cell::some(
        codes.len() as f64,
        format!(
            "{} distinct service function(s) of {} active platform(s): {}",
            codes.len(),
            scope.platforms.len(),
            if codes.is_empty() {
                "none".to_string()
            } else {
                codes.join(", ")
            }
        ),
    )
}

fn basic_service_coverage(ctx: &Context, scope: &Scope) -> Cell {
    let basic: BTreeSet<&str> = ctx
        .snapshot
        .service_functions
        .iter()
        .filter(|f| f.category == FunctionCategory::BasicPublicService)
        .map(|f| f.code.as_str())
        .collect();
    if basic.is_empty() {
        return Cell::missing("the catalogue has no basic public service".into());
    }
    let Some(offered) = functions(ctx, scope) else {
        return Cell::missing("the snapshot has no platform functions".into());
    };
    let covered: Vec<String> = basic
        .iter()
        .filter_map(|b| {
            offered
                .get(b)
                .map(|p| format!("{b} via {}", ctx.platform_name(p)))
        })
        .collect();
    let lacking: Vec<&str> = basic
        .iter()
        .copied()
        .filter(|b| !offered.contains_key(b))
        .collect();
    Cell::some(
        covered.len() as f64 / basic.len() as f64,
        format!(
            "{} of {} basic public services offered ({}); not offered: {}",
            covered.len(),
            basic.len(),
            if covered.is_empty() {
                "none".to_string()
            } else {
                covered.join(", ")
            },
            if lacking.is_empty() {
                "none".to_string()
            } else {
                lacking.join(", ")
            }
        ),
    )
}

/// The region's policy documents issued by the as-of year (undated ones included).
/// `None` when the snapshot has no policy documents at all.
fn policies<'a>(ctx: &'a Context, region: &str) -> Option<Vec<&'a PolicyDocumentRecord>> {
    if ctx.snapshot.policy_documents.is_empty() {
        return None;
    }
    let cut = ctx.as_of().and_then(exact::year_of);
    Some(
        ctx.snapshot
            .policy_documents
            .iter()
            .filter(|d| d.region_code == region)
            .filter(|d| match (d.year, cut) {
                (Some(y), Some(c)) => y <= c,
                _ => true,
            })
            .collect(),
    )
}

fn policy_count(ctx: &Context, region: &str, scope: &Scope) -> Cell {
    let Some(docs) = policies(ctx, region) else {
        return Cell::missing("the snapshot has no policy documents".into());
    };
    let rows: Vec<String> = docs
        .iter()
        .map(
            |d| match (d.source_table.is_empty(), d.source_row.is_empty()) {
                (false, false) => format!("{} row {}", d.source_table, d.source_row),
                _ => d.code.clone(),
            },
        )
        .collect();
    Cell::some(
        docs.len() as f64,
        format!(
            "{} policy document(s) of {}: {}",
            docs.len(),
            scope.name,
            if rows.is_empty() {
                "none".into()
            } else {
                rows.join(", ")
            }
        ),
    )
}

fn app_fragmentation(scope: &Scope) -> Cell {
    let apps: Vec<&str> = scope
        .platforms
        .iter()
        .filter(|p| p.kind == PlatformKind::GovernmentApp)
        .map(|p| p.name.as_str())
        .collect();
    Cell::some(
        apps.len() as f64,
        format!(
            "{} active government app(s): {}",
            apps.len(),
            if apps.is_empty() {
                "none".into()
            } else {
                apps.join(", ")
            }
        ),
    )
}

fn policy_org_share(ctx: &Context, region: &str, scope: &Scope) -> Cell {
    let Some(docs) = policies(ctx, region) else {
        return Cell::missing("the snapshot has no policy documents".into());
    };
    if docs.is_empty() {
        return Cell::missing(format!("{} has no policy documents", scope.name));
    }
    let tagged = docs
        .iter()
        .filter(|d| d.toe_tags.contains(&ToeDimension::Organization))
        .count();
    Cell::some(
        tagged as f64 / docs.len() as f64,
        format!(
            "{tagged} of {} policy document(s) tagged organization",
            docs.len()
        ),
    )
}

fn downloads_per_inhabitant(ctx: &Context, region: &str, scope: &Scope) -> Cell {
    let with: Vec<&PlatformMetrics> = scope
        .apps
        .iter()
        .copied()
        .filter(|m| m.total_downloads.is_some())
        .collect();
    if with.is_empty() {
        return Cell::missing(format!("no app of {} has download counts", scope.name));
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
    let caveat = if flagged > 0 {
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
            "{} downloads of {} app(s) / {} population {population} of {} = {value:.4}{caveat}",
            describe_count(&total),
            with.len(),
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

fn flagship_user_share(ctx: &Context, scope: &Scope) -> Cell {
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

fn notes(ctx: &Context, metrics: &[PlatformMetrics], units: usize, what: &str) -> Vec<String> {
    let mut notes = vec![format!(
        "Units are {what} codes; values and provenance are column-major: the cell of unit i \
         and indicator j is at j * units.len() + i. Missing values are None, never zero."
    )];
    let dates: BTreeSet<&str> = ctx
        .series
        .iter()
        .flat_map(|(_, _, _, points)| points.iter().map(|p| p.date))
        .collect();
    match (dates.first(), dates.last()) {
        (Some(first), Some(last)) if first == last => notes.push(format!(
            "All observations are dated {first}: a single cross-section, no change over time."
        )),
        (Some(first), Some(last)) => notes.push(format!(
            "Each channel's latest observation is used; observations range from {first} to {last}."
        )),
        _ => notes.push("The snapshot has no usable observations.".into()),
    }
    if let Some(cut) = ctx.as_of() {
        notes.push(format!("Only data dated on or before {cut} is used."));
    }
    if units < 3 {
        notes.push(format!(
            "Only {units} {what}(s): min-max normalisation maps each indicator to 0 or 1, so \
             scores say which unit is ahead, not by how much."
        ));
    }
    let flagged: Vec<&str> = metrics
        .iter()
        .filter(|m| {
            m.downloads_per_inhabitant
                .is_some_and(|r| r > ctx.config.max_downloads_per_inhabitant)
        })
        .map(|m| m.platform_name.as_str())
        .collect();
    if !flagged.is_empty() {
        notes.push(format!(
            "toe.e.downloads_per_inhabitant is unreliable: {} app(s) exceed {} downloads per \
             inhabitant ({}), most likely because 万 (10^4) was printed as \"million\"; see the \
             quality findings.",
            flagged.len(),
            ctx.config.max_downloads_per_inhabitant,
            flagged.join(", ")
        ));
    }
    notes
}
