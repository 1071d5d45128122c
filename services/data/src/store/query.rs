//! Filters shared by the List methods: region subtrees as subqueries.

use govlens_kit::{ServiceError, ServiceResult};
use sea_orm::sea_query::{ExprTrait, Query, SelectStatement};
use sea_orm::ConnectionTrait;

use super::kinds::{starts_with, Regions};
use super::{db_error, find_by_code};
use crate::entities::{platform, region};

/// The path prefix of a region's subtree; NOT_FOUND when the region does not exist.
pub async fn subtree_prefix<C: ConnectionTrait>(c: &C, root_code: &str) -> ServiceResult<String> {
    find_by_code::<Regions, C>(c, root_code)
        .await
        .map_err(db_error)?
        .map(|r| r.path)
        .ok_or_else(|| ServiceError::not_found("region", root_code))
}

/// Codes of the regions in a subtree (the root included).
pub fn region_codes_under(prefix: &str) -> SelectStatement {
    Query::select()
        .column(region::Column::Code)
        .from(region::Entity)
        .and_where(starts_with(region::Column::Path, prefix))
        .to_owned()
}

/// Codes of the platforms of the regions in a subtree.
pub fn platform_codes_under(prefix: &str) -> SelectStatement {
    Query::select()
        .column(platform::Column::Code)
        .from(platform::Entity)
        .and_where(
            sea_orm::sea_query::Expr::col(platform::Column::RegionCode)
                .in_subquery(region_codes_under(prefix)),
        )
        .to_owned()
}
