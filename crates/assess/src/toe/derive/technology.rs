//! Technology indicators (Section 3.1): ratings, store coverage, functions.

use std::collections::{BTreeMap, BTreeSet};

use govlens_dataset::FunctionCategory;
use govlens_engine::decimal::{round_half_up, Decimal, Ratio};

use super::{not_an_app, Cell, Scope};
use crate::context::Context;
use crate::exact;

fn fmt4(r: Ratio) -> String {
    let text = round_half_up(r, 4);
    Decimal::parse(&text).map_or(text, |d| exact::normalized(d).to_string())
}

pub(super) fn avg_rating(scope: &Scope) -> Cell {
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

pub(super) fn platform_avg_rating(ctx: &Context, scope: &Scope) -> Cell {
    let Some(m) = scope.apps.first() else {
        return not_an_app(scope);
    };
    let Some(mean) = m.average_rating else {
        return Cell::missing(format!("{} has no store rating", scope.name));
    };
    let parts: Vec<String> = m
        .ratings
        .iter()
        .map(|r| format!("{} {}", ctx.channel_name(&r.channel_code), r.value))
        .collect();
    Cell::some(
        mean.to_f64(),
        format!(
            "mean of the latest rating on {} store(s) (Table 2 method, unrounded): {} = {}",
            m.ratings.len(),
            parts.join(", "),
            fmt4(mean)
        ),
    )
}

pub(super) fn platform_rating_spread(scope: &Scope) -> Cell {
    let Some(m) = scope.apps.first() else {
        return not_an_app(scope);
    };
    let Some(spread) = m.rating_spread else {
        return Cell::missing(format!("{} has fewer than two store ratings", scope.name));
    };
    let listed: Vec<String> = m.ratings.iter().map(|r| r.value.to_string()).collect();
    Cell::some(
        spread.to_f64(),
        format!(
            "highest minus lowest of {} store ratings ({}) = {}",
            m.ratings.len(),
            listed.join(", "),
            exact::normalized(spread)
        ),
    )
}

pub(super) fn store_coverage(ctx: &Context, scope: &Scope) -> Cell {
    let cells: usize = scope.apps.iter().map(|m| m.rating_coverage.cells).sum();
    let with: usize = scope
        .apps
        .iter()
        .map(|m| m.rating_coverage.cells_with_data)
        .sum();
    if cells == 0 {
        if scope.is_platform && scope.apps.is_empty() {
            return not_an_app(scope);
        }
        return Cell::missing(format!(
            "{} has no app x app-store cells (no apps, or no surveyed app store)",
            scope.name
        ));
    }
    let gaps: Vec<String> = scope
        .apps
        .iter()
        .flat_map(|m| {
            m.rating_coverage.without_data.iter().map(move |c| {
                if scope.is_platform {
                    ctx.channel_name(c)
                } else {
                    format!("{} / {}", m.platform_name, ctx.channel_name(c))
                }
            })
        })
        .collect();
    let gaps = if gaps.is_empty() {
        String::new()
    } else {
        format!("; no rating (\"/\"): {}", gaps.join(", "))
    };
    let what = if scope.is_platform {
        "surveyed app stores have a rating".to_string()
    } else {
        format!(
            "app x app-store rating cells have data ({} app(s))",
            scope.apps.len()
        )
    };
    Cell::some(
        with as f64 / cells as f64,
        format!("{with} of {cells} {what}{gaps}"),
    )
}

pub(super) fn rating_spread(scope: &Scope) -> Cell {
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
/// each. Without any recorded function of the scope's platforms, whether they offer
/// none or were not described is unknown: missing, not zero.
fn functions<'a>(ctx: &'a Context, scope: &Scope) -> Result<BTreeMap<&'a str, &'a str>, Cell> {
    let codes: BTreeSet<&str> = scope.platforms.iter().map(|p| p.code.as_str()).collect();
    let mut out = BTreeMap::new();
    for f in &ctx.snapshot.platform_functions {
        if codes.contains(f.platform_code.as_str()) {
            out.entry(f.function_code.as_str())
                .or_insert(f.platform_code.as_str());
        }
    }
    if out.is_empty() {
        return Err(Cell::missing(format!(
            "no service function is recorded for {} (unknown, not zero)",
            scope.name
        )));
    }
    Ok(out)
}

pub(super) fn function_breadth(ctx: &Context, scope: &Scope) -> Cell {
    let offered = match functions(ctx, scope) {
        Ok(offered) => offered,
        Err(missing) => return missing,
    };
    let codes: Vec<&str> = offered.keys().copied().collect();
    let of = if scope.is_platform {
        String::new()
    } else {
        format!(" of {} active platform(s)", scope.platforms.len())
    };
    Cell::some(
        codes.len() as f64,
        format!(
            "{} distinct service function(s){of}: {}",
            codes.len(),
            codes.join(", ")
        ),
    )
}

pub(super) fn basic_service_coverage(ctx: &Context, scope: &Scope) -> Cell {
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
    let offered = match functions(ctx, scope) {
        Ok(offered) => offered,
        Err(missing) => return missing,
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
