//! Computing the TOE indicators from a snapshot: the tables and their notes here, the
//! indicators of each TOE dimension in their own module.

mod environment;
mod organization;
mod technology;

use environment::{downloads_per_inhabitant, flagship_user_share};
use organization::{app_fragmentation, policy_count, policy_org_share};
use technology::{
    avg_rating, basic_service_coverage, function_breadth, platform_avg_rating,
    platform_rating_spread, rating_spread, store_coverage,
};

use std::collections::{BTreeMap, BTreeSet};

use govlens_dataset::PlatformRecord;

use super::defs::{IndicatorDef, INDICATORS};
use super::table::IndicatorTable;
use crate::config::{AssessConfig, FlagshipRule};
use crate::context::Context;
use crate::exact;
use crate::metrics::{self, PlatformMetrics};
use crate::snapshot::DataSnapshot;

/// One computed cell.
pub(super) struct Cell {
    pub value: Option<f64>,
    pub provenance: String,
}

impl Cell {
    pub fn some(value: f64, provenance: String) -> Self {
        Cell {
            value: exact::finite(value),
            provenance,
        }
    }

    pub fn missing(why: String) -> Self {
        Cell {
            value: None,
            provenance: format!("missing: {why}"),
        }
    }
}

/// A region (or platform) and what the indicators are computed over.
pub(super) struct Scope<'a> {
    pub name: String,
    /// True for a platform scope (texts speak of stores, not apps).
    pub is_platform: bool,
    /// Active platforms (for a platform scope: the platform itself).
    pub platforms: Vec<&'a PlatformRecord>,
    /// Metrics of the platforms that are apps.
    pub apps: Vec<&'a PlatformMetrics>,
}

/// Why a platform scope has no store data.
pub(super) fn not_an_app(scope: &Scope) -> Cell {
    Cell::missing(format!(
        "{} is not distributed through app stores",
        scope.name
    ))
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
                is_platform: false,
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
            is_platform: true,
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
        "toe.t.avg_rating" if scope.is_platform => platform_avg_rating(ctx, scope),
        "toe.t.avg_rating" => avg_rating(scope),
        "toe.t.store_coverage" => store_coverage(ctx, scope),
        "toe.t.rating_spread" if scope.is_platform => platform_rating_spread(scope),
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
