//! Regions carry a materialised path (for subtree queries) and their populations, so
//! their writes are composed here rather than through the generic path.

use std::collections::HashMap;

use govlens_dataset::{PopulationRecord, RegionRecord};
use govlens_kit::{ServiceError, ServiceResult};
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, Set};

use super::kinds::*;
use super::write::{ensure_key_free, ensure_references, insert, remember_request, replay_request};
use super::{db_error, ensure_unreferenced, find_by_code, region_path, upsert_region, Store};
use crate::access::{anchors, anchors_of_model, authorize, Audit};
use crate::entities::{population, region};

const REGIONS: &str = "top-level regions";

fn audit<'a>(action: &'a str, r: &RegionRecord, request_id: Option<&'a str>) -> Audit<'a> {
    Audit {
        action,
        resource: "region",
        key: r.code.clone(),
        request_id,
    }
}

/// Violations of the region record (`parent_code`) as fields of the request (`region.parent_code`).
fn in_region(e: ServiceError) -> ServiceError {
    match e {
        ServiceError::InvalidArgument {
            message,
            violations,
        } => ServiceError::InvalidArgument {
            message,
            violations: violations
                .into_iter()
                .map(|v| {
                    govlens_kit::FieldViolation::new(format!("region.{}", v.field), v.description)
                })
                .collect(),
        },
        other => other,
    }
}

async fn replace_populations(
    tx: &DatabaseTransaction,
    code: &str,
    populations: &[PopulationRecord],
) -> ServiceResult<()> {
    population::Entity::delete_many()
        .filter(population::Column::RegionCode.eq(code))
        .exec(tx)
        .await
        .map_err(db_error)?;
    let mut years = std::collections::HashSet::new();
    for (i, p) in populations.iter().enumerate() {
        if !years.insert(p.year) {
            return Err(ServiceError::invalid_field(
                format!("region.populations[{i}].year"),
                format!("year {} is given twice", p.year),
            ));
        }
        insert::<Populations>(tx, p, |_| {}).await?;
    }
    Ok(())
}

impl Store {
    /// Populations of the given regions, by region code, sorted by year.
    pub async fn populations_of(
        &self,
        codes: &[String],
    ) -> ServiceResult<HashMap<String, Vec<PopulationRecord>>> {
        let rows = population::Entity::find()
            .filter(population::Column::RegionCode.is_in(codes.iter().cloned()))
            .order_by_asc(population::Column::Year)
            .all(self.connection())
            .await
            .map_err(db_error)?;
        let mut out: HashMap<String, Vec<PopulationRecord>> = HashMap::new();
        for row in rows {
            out.entry(row.region_code.clone())
                .or_default()
                .push(Populations::to_record(row));
        }
        Ok(out)
    }

    pub async fn create_region(
        &self,
        r: &RegionRecord,
        populations: &[PopulationRecord],
        request_id: &str,
    ) -> ServiceResult<(region::Model, i64)> {
        let first = self.create_region_once(r, populations, request_id).await;
        self.settle_race::<Regions>(first, request_id).await
    }

    async fn create_region_once(
        &self,
        r: &RegionRecord,
        populations: &[PopulationRecord],
        request_id: &str,
    ) -> ServiceResult<(region::Model, i64)> {
        let tx = self.begin().await?;
        if let Some(model) = replay_request::<Regions>(&tx, request_id).await? {
            let revision = super::current_revision(&tx).await.map_err(db_error)?;
            tx.commit().await.map_err(db_error)?;
            return Ok((model, revision));
        }
        ensure_references::<Regions>(&tx, r).await?;
        authorize(&tx, &anchors(&Regions::wrap(r.clone())), REGIONS).await?;
        ensure_key_free::<Regions>(&tx, r, None).await?;
        let path = region_path(&tx, r).await.map_err(in_region)?;
        let model = insert::<Regions>(&tx, r, |a| a.path = Set(path)).await?;
        replace_populations(&tx, &r.code, populations).await?;
        remember_request(&tx, request_id, Regions::KIND.as_str(), model.id).await?;
        Ok((
            model,
            self.commit_write(tx, audit("create", r, Some(request_id)))
                .await?,
        ))
    }

    /// Updates a region (its subtree follows a new parent); `populations`, when given,
    /// replaces the region's population figures.
    pub async fn update_region(
        &self,
        r: &RegionRecord,
        populations: Option<&[PopulationRecord]>,
    ) -> ServiceResult<(region::Model, i64)> {
        let tx = self.begin().await?;
        let Some(existing) = find_by_code::<Regions, _>(&tx, &r.code)
            .await
            .map_err(db_error)?
        else {
            return Err(ServiceError::not_found("region", &r.code));
        };
        authorize(&tx, &anchors_of_model::<Regions>(&existing), REGIONS).await?;
        ensure_references::<Regions>(&tx, r).await?;
        let (_, model) = upsert_region(&tx, r).await.map_err(in_region)?;
        if let Some(populations) = populations {
            replace_populations(&tx, &r.code, populations).await?;
        }
        authorize(&tx, &anchors(&Regions::wrap(r.clone())), REGIONS).await?;
        Ok((
            model,
            self.commit_write(tx, audit("update", r, None)).await?,
        ))
    }

    pub async fn delete_region(&self, code: &str) -> ServiceResult<i64> {
        let tx = self.begin().await?;
        let model = find_by_code::<Regions, _>(&tx, code)
            .await
            .map_err(db_error)?
            .ok_or_else(|| ServiceError::not_found("region", code))?;
        authorize(&tx, &anchors_of_model::<Regions>(&model), REGIONS).await?;
        ensure_unreferenced(&tx, RefTarget::Region, code).await?;
        population::Entity::delete_many()
            .filter(population::Column::RegionCode.eq(code))
            .exec(&tx)
            .await
            .map_err(db_error)?;
        super::delete_by_id::<Regions, _>(&tx, model.id)
            .await
            .map_err(db_error)?;
        let record = Regions::to_record(model);
        self.commit_write(tx, audit("delete", &record, None)).await
    }
}
