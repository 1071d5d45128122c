//! Organisation indicators (Sections 2.1 and 3.2): policies and app fragmentation.

use govlens_dataset::{PlatformKind, PolicyDocumentRecord, ToeDimension};

use super::{Cell, Scope};
use crate::context::Context;
use crate::exact;

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

pub(super) fn policy_count(ctx: &Context, region: &str, scope: &Scope) -> Cell {
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

pub(super) fn app_fragmentation(scope: &Scope) -> Cell {
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

pub(super) fn policy_org_share(ctx: &Context, region: &str, scope: &Scope) -> Cell {
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
