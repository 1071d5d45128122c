//! One handler per RPC. Each converts the request, calls the store through the
//! generic helpers, and converts the result back.

use std::collections::BTreeMap;
use std::pin::Pin;

use govlens_dataset::convert::*;
use govlens_dataset::records::*;
use govlens_kit::auth::{principal_of, Role};
use govlens_kit::{FieldViolation, ServiceError, ServiceResult};
use govlens_proto::data::v1::{self as pb, data_service_server::DataService};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tonic::{Request, Response, Status, Streaming};

use super::support::*;
use super::DataApi;
use crate::entities::*;
use crate::store::db_error;
use crate::store::import::{
    record_violation, BatchItem, BatchKeys, CommitOrder, Counts, PreparedBatch,
};
use crate::store::kinds::*;
use crate::store::query::{platform_codes_under, region_codes_under, subtree_prefix};

type RpcResult<T> = Result<Response<T>, Status>;

/// Most records one import message may carry.
pub const MAX_IMPORT_BATCH: usize = 50_000;

fn respond<T>(result: ServiceResult<T>) -> RpcResult<T> {
    result.map(Response::new).map_err(Status::from)
}

fn date_filter(field: &str, value: &str) -> ServiceResult<()> {
    // Exactly YYYY-MM-DD: the filter compares dates as text, so "2023-1-1" (which
    // chrono reads) would select the wrong observations.
    let well_formed =
        value.len() == 10 && chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok();
    if value.is_empty() || well_formed {
        Ok(())
    } else {
        Err(ServiceError::invalid_field(
            field,
            "must be a date YYYY-MM-DD",
        ))
    }
}

fn period_filter(field: &str, value: &str) -> ServiceResult<()> {
    if value.is_empty() || govlens_dataset::validate::is_valid_period(value) {
        Ok(())
    } else {
        Err(ServiceError::invalid_field(
            field,
            "must be a period YYYY, YYYY-Qn, YYYY-MM or YYYY-MM-DD",
        ))
    }
}

impl DataApi {
    fn conn(&self) -> &sea_orm::DatabaseConnection {
        self.store.connection()
    }

    async fn region_to_pb(&self, m: region::Model) -> ServiceResult<pb::Region> {
        let mut pops = self
            .store
            .populations_of(std::slice::from_ref(&m.code))
            .await?;
        let populations = pops.remove(&m.code).unwrap_or_default();
        Ok(region_to_pb(Regions::to_record(m), populations))
    }

    /// Region record and populations from a message, validated.
    fn region_input(
        &self,
        region: pb::Region,
    ) -> ServiceResult<(RegionRecord, Vec<PopulationRecord>)> {
        let (record, populations) =
            region_from_pb(region).map_err(|v| record_violations("region", v))?;
        let record = validated::<Regions>(record)?;
        let mut checked = Vec::new();
        let mut violations = Vec::new();
        for (i, p) in populations.into_iter().enumerate() {
            let mut any = AnyRecord::Population(p);
            match govlens_dataset::prepare(&mut any) {
                Ok(()) => {
                    if let AnyRecord::Population(p) = any {
                        checked.push(p);
                    }
                }
                Err(vs) => violations.extend(vs.into_iter().map(|v| {
                    FieldViolation::new(
                        format!("region.populations[{i}].{}", message_field(&v.field)),
                        v.description,
                    )
                })),
            }
        }
        if violations.is_empty() {
            Ok((record, checked))
        } else {
            Err(ServiceError::invalid(
                "invalid region populations",
                violations,
            ))
        }
    }

    /// Writes the stream's batches in order, each in its own transaction, while the
    /// next one is read, decoded and checked ([`read_batches`]): the database and this
    /// service work at the same time. A batch that touches none of the rows of the
    /// batch before it ([`PreparedBatch::depends_on`]) is written while that one
    /// commits, on a second connection, so the database uses two cores; it commits
    /// only after it. The first batch that fails stops the import: those before it stay
    /// committed, none after it is written.
    async fn import_stream(
        &self,
        stream: Streaming<pb::ImportRecordsRequest>,
    ) -> ServiceResult<pb::ImportRecordsResponse> {
        self.ensure_ready()?;
        let actor = crate::access::current_actor()?;
        let overlap = self.store.backend() == sea_orm::DbBackend::Postgres;
        let (sender, mut prepared) = tokio::sync::mpsc::channel(1);
        // Aborted when the import ends, however it ends: nothing more is read then.
        let _reader = AbortOnDrop(tokio::spawn(read_batches(
            stream,
            self.store.backend(),
            sender,
        )));
        let mut totals: BTreeMap<ResourceKind, Counts> = BTreeMap::new();
        let (mut batches, mut records) = (0i64, 0i64);
        let mut revision = None;
        // The batch being written or committed, if any: its number, its task (aborted,
        // so rolled back, if the call ends first), what it writes, and the signal that
        // it committed.
        let mut writing: Option<Writing> = None;
        let mut settle = |done: BatchDone| -> ServiceResult<()> {
            let result = done.result.map_err(|e| annotate(e, done.number))?;
            for (kind, counts) in result.counts {
                totals.entry(kind).or_default().merge(counts);
            }
            revision = Some(result.revision);
            Ok(())
        };
        while let Some(next) = prepared.recv().await {
            let batch = match next {
                StreamItem::Batch(batch) => batch,
                StreamItem::Unreadable(e) => {
                    // Batches already sent stay as they end; then the stream's error.
                    if let Some(w) = writing.take() {
                        settle(w.finish().await)?;
                    }
                    return Err(e);
                }
            };
            batches += 1;
            let mut batch = match batch {
                Ok(batch) => batch,
                Err(e) => {
                    if let Some(w) = writing.take() {
                        settle(w.finish().await)?;
                    }
                    return Err(annotate(e, batches));
                }
            };
            records += batch.len() as i64;
            let mut after = None;
            if let Some(w) = writing.take() {
                // SQLite has one writer at a time: a second write transaction would
                // only wait for (or, in rollback-journal mode, fail against) the first.
                if !overlap || batch.depends_on(&w.keys) {
                    settle(w.finish().await)?;
                } else {
                    // Written now, committed after `w`; `w` is settled when this one
                    // is handed over, so at most two batches are open.
                    after = Some(w);
                }
            }
            let (then, committed) = tokio::sync::oneshot::channel();
            let order = CommitOrder {
                after: after.as_mut().and_then(|w| w.committed.take()),
                then: Some(then),
            };
            let keys = batch.take_keys();
            let store = self.store.clone();
            let write = crate::access::act_as(actor.clone(), async move {
                store.import_in_order(batch, order).await
            });
            let task = AbortOnDrop(tokio::spawn(
                govlens_kit::telemetry::sampling::in_current_trace(write),
            ));
            if let Some(w) = after {
                settle(w.finish().await)?;
            }
            writing = Some(Writing {
                number: batches,
                task,
                keys,
                committed: Some(committed),
            });
        }
        if let Some(w) = writing.take() {
            settle(w.finish().await)?;
        }
        let revision = match revision {
            Some(r) => r,
            None => self.store.revision().await?,
        };
        Ok(pb::ImportRecordsResponse {
            counts: totals
                .into_iter()
                .map(|(kind, c)| pb::ResourceCounts {
                    resource: kind.as_str().to_string(),
                    created: c.created,
                    updated: c.updated,
                    unchanged: c.unchanged,
                })
                .collect(),
            batches,
            records,
            revision,
        })
    }
}

/// Names the batch in the errors of a stream: which one failed, and that those before
/// it were committed.
fn annotate(e: ServiceError, number: i64) -> ServiceError {
    match e {
        ServiceError::InvalidArgument {
            message,
            violations,
        } => ServiceError::InvalidArgument {
            message: format!(
                "batch {number} rejected ({} earlier batch(es) committed): {message}",
                number - 1
            ),
            violations,
        },
        other => other,
    }
}

/// A batch of an import stream being written, then committed, on its own task.
struct Writing {
    number: i64,
    task: AbortOnDrop<ServiceResult<Option<crate::store::import::BatchResult>>>,
    keys: BatchKeys,
    /// Whether it committed: taken by the batch after it, which commits only then.
    committed: Option<tokio::sync::oneshot::Receiver<bool>>,
}

/// How a batch of an import stream ended.
struct BatchDone {
    number: i64,
    result: ServiceResult<crate::store::import::BatchResult>,
}

impl Writing {
    async fn finish(mut self) -> BatchDone {
        let result = match (&mut self.task.0).await {
            Ok(Ok(Some(result))) => Ok(result),
            // Rolled back because the batch before failed; that failure is reported.
            Ok(Ok(None)) => Err(ServiceError::internal(anyhow::anyhow!(
                "batch {} was rolled back after the batch before it failed",
                self.number
            ))),
            Ok(Err(e)) => Err(e),
            Err(e) => Err(ServiceError::internal(e)),
        };
        BatchDone {
            number: self.number,
            result,
        }
    }
}

/// What [`read_batches`] hands the writer, in stream order.
enum StreamItem {
    /// A message, decoded and checked on its own, or why it cannot be imported.
    Batch(ServiceResult<PreparedBatch>),
    /// The stream itself failed (a message could not be read).
    Unreadable(ServiceError),
}

/// Aborts a task when dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Reads, decodes and checks the messages of an import stream one after the other and
/// sends each to the writer; stops after the first one that cannot be imported, or when
/// the writer stops taking them. The channel holds one batch, so at most one batch waits
/// while another is checked and a third written.
async fn read_batches(
    mut stream: Streaming<pb::ImportRecordsRequest>,
    backend: sea_orm::DbBackend,
    sender: tokio::sync::mpsc::Sender<StreamItem>,
) {
    loop {
        let message = match stream.message().await {
            Ok(Some(message)) => message,
            Ok(None) => return,
            Err(s) => {
                let e = ServiceError::invalid_field("records", s.message().to_string());
                let _ = sender.send(StreamItem::Unreadable(e)).await;
                return;
            }
        };
        // CPU work: on its own thread, so that it does not hold up the writer's task.
        let batch = tokio::task::spawn_blocking(move || {
            PreparedBatch::new(batch_items(message.records)?, backend)
        })
        .await
        .unwrap_or_else(|e| Err(ServiceError::internal(e)));
        let failed = batch.is_err();
        if sender.send(StreamItem::Batch(batch)).await.is_err() || failed {
            return;
        }
    }
}

fn oneof_kind(record: &pb::Record) -> Option<ResourceKind> {
    use pb::record::Kind;
    Some(match record.kind.as_ref()? {
        Kind::Region(_) => ResourceKind::Region,
        Kind::Population(_) => ResourceKind::Population,
        Kind::Channel(_) => ResourceKind::Channel,
        Kind::Platform(_) => ResourceKind::Platform,
        Kind::ServiceFunction(_) => ResourceKind::ServiceFunction,
        Kind::PlatformFunction(_) => ResourceKind::PlatformFunction,
        Kind::Indicator(_) => ResourceKind::Indicator,
        Kind::PolicyDocument(_) => ResourceKind::PolicyDocument,
        Kind::Observation(_) => ResourceKind::Observation,
        Kind::IndicatorValue(_) => ResourceKind::IndicatorValue,
        Kind::ReportedAggregate(_) => ResourceKind::ReportedAggregate,
    })
}

/// Converts a batch's messages; every unreadable record is reported, not just the first.
fn batch_items(records: Vec<pb::Record>) -> ServiceResult<Vec<BatchItem>> {
    if records.len() > MAX_IMPORT_BATCH {
        return Err(ServiceError::invalid_field(
            "records",
            format!("a batch holds at most {MAX_IMPORT_BATCH} records; split the import"),
        ));
    }
    let mut items = Vec::with_capacity(records.len());
    let mut violations = Vec::new();
    for (index, record) in records.into_iter().enumerate() {
        let origin = record.origin.clone();
        let kind = oneof_kind(&record);
        match record_from_pb(record) {
            Ok(record) => items.push(BatchItem {
                index,
                origin,
                record,
            }),
            Err(vs) => violations.extend(
                vs.into_iter()
                    .map(|v| record_violation(index, &origin, kind, &v.field, &v.description)),
            ),
        }
    }
    if violations.is_empty() {
        Ok(items)
    } else {
        Err(ServiceError::invalid(
            format!("{} unreadable record(s)", violations.len()),
            violations,
        ))
    }
}

type ExportStream =
    Pin<Box<dyn tokio_stream::Stream<Item = Result<pb::ExportRecordsResponse, Status>> + Send>>;

#[tonic::async_trait]
impl DataService for DataApi {
    // ---- regions ----
    async fn get_region(
        &self,
        req: Request<pb::GetRegionRequest>,
    ) -> RpcResult<pb::GetRegionResponse> {
        let req = req.into_inner();
        respond(
            self.cached("GetRegion", &req, |_| async {
                let m = self.get_coded::<Regions>(&req.code).await?;
                Ok(pb::GetRegionResponse {
                    region: Some(self.region_to_pb(m).await?),
                })
            })
            .await,
        )
    }

    async fn list_regions(
        &self,
        req: Request<pb::ListRegionsRequest>,
    ) -> RpcResult<pb::ListRegionsResponse> {
        let req = &req.into_inner();
        respond(
            self.cached("ListRegions", req, |revision| async move {
                let fp = filter_fingerprint(req, |r| {
                    r.page_token.clear();
                    r.page_size = 0;
                });
                let (after, limit) = paging(&req.page_token, req.page_size, &fp)?;
                filter_codes(&[("root_code", &req.root_code)])?;
                let mut cond = Condition::all();
                if !req.root_code.is_empty() {
                    let prefix = subtree_prefix(self.conn(), &req.root_code).await?;
                    cond = cond.add(starts_with(region::Column::Path, &prefix));
                }
                if let Some(level) = enum_filter("level", req.level, AdminLevel::from_pb)? {
                    cond = cond.add(region::Column::Level.eq(level.as_str()));
                }
                let (rows, next) = self.list::<Regions>(cond, after, limit).await?;
                let codes: Vec<String> = rows.iter().map(|m| m.code.clone()).collect();
                let mut pops = self.store.populations_of(&codes).await?;
                let regions = rows
                    .into_iter()
                    .map(|m| {
                        let p = pops.remove(&m.code).unwrap_or_default();
                        region_to_pb(Regions::to_record(m), p)
                    })
                    .collect();
                Ok(pb::ListRegionsResponse {
                    regions,
                    next_page_token: next_page_token(next, &fp),
                    revision,
                })
            })
            .await,
        )
    }

    async fn create_region(
        &self,
        req: Request<pb::CreateRegionRequest>,
    ) -> RpcResult<pb::CreateRegionResponse> {
        let req = req.into_inner();
        respond(
            async {
                self.ensure_ready()?;
                let (record, populations) = self.region_input(required("region", req.region)?)?;
                let (m, revision) = self
                    .store
                    .create_region(&record, &populations, &req.request_id)
                    .await?;
                Ok(pb::CreateRegionResponse {
                    region: Some(self.region_to_pb(m).await?),
                    revision,
                })
            }
            .await,
        )
    }

    async fn update_region(
        &self,
        req: Request<pb::UpdateRegionRequest>,
    ) -> RpcResult<pb::UpdateRegionResponse> {
        let req = req.into_inner();
        respond(
            async {
                self.ensure_ready()?;
                let new = required("region", req.region)?;
                let existing = self.get_coded::<Regions>(&new.code).await?;
                let paths = mask_paths(
                    req.update_mask,
                    &["name", "level", "parent_code", "populations"],
                    &["code"],
                )?;
                let mut merged = self.region_to_pb(existing).await?;
                copy_fields!(merged, new, &paths, [name, level, parent_code, populations]);
                let (record, populations) = self.region_input(merged)?;
                let replace = paths
                    .contains(&"populations")
                    .then_some(populations.as_slice());
                let (m, revision) = self.store.update_region(&record, replace).await?;
                Ok(pb::UpdateRegionResponse {
                    region: Some(self.region_to_pb(m).await?),
                    revision,
                })
            }
            .await,
        )
    }

    async fn delete_region(
        &self,
        req: Request<pb::DeleteRegionRequest>,
    ) -> RpcResult<pb::DeleteRegionResponse> {
        let req = req.into_inner();
        respond(
            async {
                self.ensure_ready()?;
                require_code("code", &req.code)?;
                Ok(pb::DeleteRegionResponse {
                    revision: self.store.delete_region(&req.code).await?,
                })
            }
            .await,
        )
    }

    // ---- platforms ----
    async fn get_platform(
        &self,
        req: Request<pb::GetPlatformRequest>,
    ) -> RpcResult<pb::GetPlatformResponse> {
        let req = req.into_inner();
        respond(
            self.cached("GetPlatform", &req, |_| async {
                let m = self.get_coded::<Platforms>(&req.code).await?;
                Ok(pb::GetPlatformResponse {
                    platform: Some(platform_to_pb(Platforms::to_record(m))),
                })
            })
            .await,
        )
    }

    async fn list_platforms(
        &self,
        req: Request<pb::ListPlatformsRequest>,
    ) -> RpcResult<pb::ListPlatformsResponse> {
        let req = &req.into_inner();
        respond(
            self.cached("ListPlatforms", req, |revision| async move {
                let fp = filter_fingerprint(req, |r| {
                    r.page_token.clear();
                    r.page_size = 0;
                });
                let (after, limit) = paging(&req.page_token, req.page_size, &fp)?;
                filter_codes(&[("region_code", &req.region_code)])?;
                let mut cond = Condition::all();
                if !req.region_code.is_empty() {
                    let prefix = subtree_prefix(self.conn(), &req.region_code).await?;
                    cond = cond.add(
                        Expr::col(platform::Column::RegionCode)
                            .in_subquery(region_codes_under(&prefix)),
                    );
                }
                if let Some(kind) = enum_filter("kind", req.kind, PlatformKind::from_pb)? {
                    cond = cond.add(platform::Column::Kind.eq(kind.as_str()));
                }
                let (rows, next) = self.list::<Platforms>(cond, after, limit).await?;
                Ok(pb::ListPlatformsResponse {
                    platforms: rows
                        .into_iter()
                        .map(|m| platform_to_pb(Platforms::to_record(m)))
                        .collect(),
                    next_page_token: next_page_token(next, &fp),
                    revision,
                })
            })
            .await,
        )
    }

    async fn create_platform(
        &self,
        req: Request<pb::CreatePlatformRequest>,
    ) -> RpcResult<pb::CreatePlatformResponse> {
        let req = req.into_inner();
        respond(
            async {
                self.ensure_ready()?;
                let record = platform_from_pb(required("platform", req.platform)?)
                    .map_err(|v| record_violations("platform", v))?;
                let record = validated::<Platforms>(record)?;
                let (m, revision) = self
                    .store
                    .create::<Platforms>(&record, &req.request_id)
                    .await?;
                Ok(pb::CreatePlatformResponse {
                    platform: Some(platform_to_pb(Platforms::to_record(m))),
                    revision,
                })
            }
            .await,
        )
    }

    async fn update_platform(
        &self,
        req: Request<pb::UpdatePlatformRequest>,
    ) -> RpcResult<pb::UpdatePlatformResponse> {
        let req = req.into_inner();
        respond(
            async {
                self.ensure_ready()?;
                let new = required("platform", req.platform)?;
                let existing = self.get_coded::<Platforms>(&new.code).await?;
                let paths = mask_paths(
                    req.update_mask,
                    &[
                        "name",
                        "kind",
                        "region_code",
                        "operator",
                        "launch_date",
                        "status",
                        "url",
                        "source",
                    ],
                    &["code"],
                )?;
                let id = existing.id;
                let mut merged = platform_to_pb(Platforms::to_record(existing));
                copy_fields!(
                    merged,
                    new,
                    &paths,
                    [
                        name,
                        kind,
                        region_code,
                        operator,
                        launch_date,
                        status,
                        url,
                        source
                    ]
                );
                let record = validated::<Platforms>(
                    platform_from_pb(merged).map_err(|v| record_violations("platform", v))?,
                )?;
                let (m, revision) = self.store.update::<Platforms>(id, &record).await?;
                Ok(pb::UpdatePlatformResponse {
                    platform: Some(platform_to_pb(Platforms::to_record(m))),
                    revision,
                })
            }
            .await,
        )
    }

    async fn delete_platform(
        &self,
        req: Request<pb::DeletePlatformRequest>,
    ) -> RpcResult<pb::DeletePlatformResponse> {
        let req = req.into_inner();
        respond(
            async {
                self.ensure_ready()?;
                let m = self.get_coded::<Platforms>(&req.code).await?;
                let revision = self
                    .store
                    .delete::<Platforms>(m.id, Some((RefTarget::Platform, &req.code)))
                    .await?;
                Ok(pb::DeletePlatformResponse { revision })
            }
            .await,
        )
    }

    // ---- channels ----
    async fn get_channel(
        &self,
        req: Request<pb::GetChannelRequest>,
    ) -> RpcResult<pb::GetChannelResponse> {
        let req = req.into_inner();
        respond(
            self.cached("GetChannel", &req, |_| async {
                let m = self.get_coded::<Channels>(&req.code).await?;
                Ok(pb::GetChannelResponse {
                    channel: Some(channel_to_pb(Channels::to_record(m))),
                })
            })
            .await,
        )
    }

    async fn list_channels(
        &self,
        req: Request<pb::ListChannelsRequest>,
    ) -> RpcResult<pb::ListChannelsResponse> {
        let req = &req.into_inner();
        respond(
            self.cached("ListChannels", req, |revision| async move {
                let fp = filter_fingerprint(req, |r| {
                    r.page_token.clear();
                    r.page_size = 0;
                });
                let (after, limit) = paging(&req.page_token, req.page_size, &fp)?;
                let mut cond = Condition::all();
                if let Some(kind) = enum_filter("kind", req.kind, ChannelKind::from_pb)? {
                    cond = cond.add(channel::Column::Kind.eq(kind.as_str()));
                }
                let (rows, next) = self.list::<Channels>(cond, after, limit).await?;
                Ok(pb::ListChannelsResponse {
                    channels: rows
                        .into_iter()
                        .map(|m| channel_to_pb(Channels::to_record(m)))
                        .collect(),
                    next_page_token: next_page_token(next, &fp),
                    revision,
                })
            })
            .await,
        )
    }

    async fn create_channel(
        &self,
        req: Request<pb::CreateChannelRequest>,
    ) -> RpcResult<pb::CreateChannelResponse> {
        let req = req.into_inner();
        respond(
            async {
                self.ensure_ready()?;
                let record = channel_from_pb(required("channel", req.channel)?)
                    .map_err(|v| record_violations("channel", v))?;
                let record = validated::<Channels>(record)?;
                let (m, revision) = self
                    .store
                    .create::<Channels>(&record, &req.request_id)
                    .await?;
                Ok(pb::CreateChannelResponse {
                    channel: Some(channel_to_pb(Channels::to_record(m))),
                    revision,
                })
            }
            .await,
        )
    }

    async fn update_channel(
        &self,
        req: Request<pb::UpdateChannelRequest>,
    ) -> RpcResult<pb::UpdateChannelResponse> {
        let req = req.into_inner();
        respond(
            async {
                self.ensure_ready()?;
                let new = required("channel", req.channel)?;
                let existing = self.get_coded::<Channels>(&new.code).await?;
                let paths = mask_paths(req.update_mask, &["name", "kind", "vendor"], &["code"])?;
                let id = existing.id;
                let mut merged = channel_to_pb(Channels::to_record(existing));
                copy_fields!(merged, new, &paths, [name, kind, vendor]);
                let record = validated::<Channels>(
                    channel_from_pb(merged).map_err(|v| record_violations("channel", v))?,
                )?;
                let (m, revision) = self.store.update::<Channels>(id, &record).await?;
                Ok(pb::UpdateChannelResponse {
                    channel: Some(channel_to_pb(Channels::to_record(m))),
                    revision,
                })
            }
            .await,
        )
    }

    async fn delete_channel(
        &self,
        req: Request<pb::DeleteChannelRequest>,
    ) -> RpcResult<pb::DeleteChannelResponse> {
        let req = req.into_inner();
        respond(
            async {
                self.ensure_ready()?;
                let m = self.get_coded::<Channels>(&req.code).await?;
                let revision = self
                    .store
                    .delete::<Channels>(m.id, Some((RefTarget::Channel, &req.code)))
                    .await?;
                Ok(pb::DeleteChannelResponse { revision })
            }
            .await,
        )
    }

    // ---- observations ----
    async fn get_observation(
        &self,
        req: Request<pb::GetObservationRequest>,
    ) -> RpcResult<pb::GetObservationResponse> {
        let req = req.into_inner();
        respond(
            self.cached("GetObservation", &req, |_| async {
                let m = self.get_by_id::<Observations>(req.id).await?;
                Ok(pb::GetObservationResponse {
                    observation: Some(observation_to_pb(m.id, Observations::to_record(m))),
                })
            })
            .await,
        )
    }

    async fn list_observations(
        &self,
        req: Request<pb::ListObservationsRequest>,
    ) -> RpcResult<pb::ListObservationsResponse> {
        let req = &req.into_inner();
        respond(
            self.cached("ListObservations", req, |revision| async move {
                let fp = filter_fingerprint(req, |r| {
                    r.page_token.clear();
                    r.page_size = 0;
                });
                let (after, limit) = paging(&req.page_token, req.page_size, &fp)?;
                filter_codes(&[
                    ("region_code", &req.region_code),
                    ("platform_code", &req.platform_code),
                    ("channel_code", &req.channel_code),
                ])?;
                date_filter("observed_from", &req.observed_from)?;
                date_filter("observed_to", &req.observed_to)?;
                let mut cond = Condition::all();
                if !req.region_code.is_empty() {
                    let prefix = subtree_prefix(self.conn(), &req.region_code).await?;
                    cond = cond.add(
                        Expr::col(observation::Column::PlatformCode)
                            .in_subquery(platform_codes_under(&prefix)),
                    );
                }
                if !req.platform_code.is_empty() {
                    cond = cond.add(observation::Column::PlatformCode.eq(&req.platform_code));
                }
                if !req.channel_code.is_empty() {
                    cond = cond.add(observation::Column::ChannelCode.eq(&req.channel_code));
                }
                if let Some(metric) = enum_filter("metric", req.metric, Metric::from_pb)? {
                    cond = cond.add(observation::Column::Metric.eq(metric.as_str()));
                }
                if !req.observed_from.is_empty() {
                    cond = cond.add(observation::Column::ObservedOn.gte(&req.observed_from));
                }
                if !req.observed_to.is_empty() {
                    cond = cond.add(observation::Column::ObservedOn.lte(&req.observed_to));
                }
                let (rows, next) = self.list::<Observations>(cond, after, limit).await?;
                Ok(pb::ListObservationsResponse {
                    observations: rows
                        .into_iter()
                        .map(|m| observation_to_pb(m.id, Observations::to_record(m)))
                        .collect(),
                    next_page_token: next_page_token(next, &fp),
                    revision,
                })
            })
            .await,
        )
    }

    async fn create_observation(
        &self,
        req: Request<pb::CreateObservationRequest>,
    ) -> RpcResult<pb::CreateObservationResponse> {
        let req = req.into_inner();
        respond(
            async {
                self.ensure_ready()?;
                let record = observation_from_pb(required("observation", req.observation)?)
                    .map_err(|v| record_violations("observation", v))?;
                let record = validated::<Observations>(record)?;
                let (m, revision) = self
                    .store
                    .create::<Observations>(&record, &req.request_id)
                    .await?;
                Ok(pb::CreateObservationResponse {
                    observation: Some(observation_to_pb(m.id, Observations::to_record(m))),
                    revision,
                })
            }
            .await,
        )
    }

    async fn update_observation(
        &self,
        req: Request<pb::UpdateObservationRequest>,
    ) -> RpcResult<pb::UpdateObservationResponse> {
        let req = req.into_inner();
        respond(
            async {
                self.ensure_ready()?;
                let new = required("observation", req.observation)?;
                let existing = self.get_by_id::<Observations>(new.id).await?;
                let paths = mask_paths(
                    req.update_mask,
                    &[
                        "platform_code",
                        "channel_code",
                        "metric",
                        "observed_on",
                        "value",
                        "value_as_printed",
                        "source",
                    ],
                    &["id"],
                )?;
                let id = existing.id;
                let mut merged = observation_to_pb(id, Observations::to_record(existing));
                copy_fields!(
                    merged,
                    new,
                    &paths,
                    [
                        platform_code,
                        channel_code,
                        metric,
                        observed_on,
                        value,
                        value_as_printed,
                        source
                    ]
                );
                // A new printed form without a new value means "read the value from it".
                if paths.contains(&"value_as_printed") && !paths.contains(&"value") {
                    merged.value = 0.0;
                }
                let record = validated::<Observations>(
                    observation_from_pb(merged).map_err(|v| record_violations("observation", v))?,
                )?;
                let (m, revision) = self.store.update::<Observations>(id, &record).await?;
                Ok(pb::UpdateObservationResponse {
                    observation: Some(observation_to_pb(m.id, Observations::to_record(m))),
                    revision,
                })
            }
            .await,
        )
    }

    async fn delete_observation(
        &self,
        req: Request<pb::DeleteObservationRequest>,
    ) -> RpcResult<pb::DeleteObservationResponse> {
        let req = req.into_inner();
        respond(
            async {
                self.ensure_ready()?;
                require_id(req.id)?;
                Ok(pb::DeleteObservationResponse {
                    revision: self.store.delete::<Observations>(req.id, None).await?,
                })
            }
            .await,
        )
    }

    // ---- policy documents ----
    async fn get_policy_document(
        &self,
        req: Request<pb::GetPolicyDocumentRequest>,
    ) -> RpcResult<pb::GetPolicyDocumentResponse> {
        let req = req.into_inner();
        respond(
            self.cached("GetPolicyDocument", &req, |_| async {
                let m = self.get_coded::<PolicyDocuments>(&req.code).await?;
                Ok(pb::GetPolicyDocumentResponse {
                    policy_document: Some(policy_document_to_pb(PolicyDocuments::to_record(m))),
                })
            })
            .await,
        )
    }

    async fn list_policy_documents(
        &self,
        req: Request<pb::ListPolicyDocumentsRequest>,
    ) -> RpcResult<pb::ListPolicyDocumentsResponse> {
        let req = &req.into_inner();
        respond(
            self.cached("ListPolicyDocuments", req, |revision| async move {
                let fp = filter_fingerprint(req, |r| {
                    r.page_token.clear();
                    r.page_size = 0;
                });
                let (after, limit) = paging(&req.page_token, req.page_size, &fp)?;
                filter_codes(&[("region_code", &req.region_code)])?;
                let mut cond = Condition::all();
                if !req.region_code.is_empty() {
                    let prefix = subtree_prefix(self.conn(), &req.region_code).await?;
                    cond = cond.add(
                        Expr::col(policy_document::Column::RegionCode)
                            .in_subquery(region_codes_under(&prefix)),
                    );
                }
                if req.year_from != 0 {
                    cond = cond.add(policy_document::Column::Year.gte(req.year_from));
                }
                if req.year_to != 0 {
                    cond = cond.add(policy_document::Column::Year.lte(req.year_to));
                }
                let (rows, next) = self.list::<PolicyDocuments>(cond, after, limit).await?;
                Ok(pb::ListPolicyDocumentsResponse {
                    policy_documents: rows
                        .into_iter()
                        .map(|m| policy_document_to_pb(PolicyDocuments::to_record(m)))
                        .collect(),
                    next_page_token: next_page_token(next, &fp),
                    revision,
                })
            })
            .await,
        )
    }

    async fn create_policy_document(
        &self,
        req: Request<pb::CreatePolicyDocumentRequest>,
    ) -> RpcResult<pb::CreatePolicyDocumentResponse> {
        let req = req.into_inner();
        respond(
            async {
                self.ensure_ready()?;
                let record =
                    policy_document_from_pb(required("policy_document", req.policy_document)?)
                        .map_err(|v| record_violations("policy_document", v))?;
                let record = validated::<PolicyDocuments>(record)?;
                let (m, revision) = self
                    .store
                    .create::<PolicyDocuments>(&record, &req.request_id)
                    .await?;
                Ok(pb::CreatePolicyDocumentResponse {
                    policy_document: Some(policy_document_to_pb(PolicyDocuments::to_record(m))),
                    revision,
                })
            }
            .await,
        )
    }

    async fn update_policy_document(
        &self,
        req: Request<pb::UpdatePolicyDocumentRequest>,
    ) -> RpcResult<pb::UpdatePolicyDocumentResponse> {
        let req = req.into_inner();
        respond(
            async {
                self.ensure_ready()?;
                let new = required("policy_document", req.policy_document)?;
                let existing = self.get_coded::<PolicyDocuments>(&new.code).await?;
                let paths = mask_paths(
                    req.update_mask,
                    &[
                        "region_code",
                        "title",
                        "issuer",
                        "year",
                        "programme",
                        "toe_tags",
                        "source",
                    ],
                    &["code"],
                )?;
                let id = existing.id;
                let mut merged = policy_document_to_pb(PolicyDocuments::to_record(existing));
                copy_fields!(
                    merged,
                    new,
                    &paths,
                    [
                        region_code,
                        title,
                        issuer,
                        year,
                        programme,
                        toe_tags,
                        source
                    ]
                );
                let record = validated::<PolicyDocuments>(
                    policy_document_from_pb(merged)
                        .map_err(|v| record_violations("policy_document", v))?,
                )?;
                let (m, revision) = self.store.update::<PolicyDocuments>(id, &record).await?;
                Ok(pb::UpdatePolicyDocumentResponse {
                    policy_document: Some(policy_document_to_pb(PolicyDocuments::to_record(m))),
                    revision,
                })
            }
            .await,
        )
    }

    async fn delete_policy_document(
        &self,
        req: Request<pb::DeletePolicyDocumentRequest>,
    ) -> RpcResult<pb::DeletePolicyDocumentResponse> {
        let req = req.into_inner();
        respond(
            async {
                self.ensure_ready()?;
                let m = self.get_coded::<PolicyDocuments>(&req.code).await?;
                Ok(pb::DeletePolicyDocumentResponse {
                    revision: self.store.delete::<PolicyDocuments>(m.id, None).await?,
                })
            }
            .await,
        )
    }

    // ---- service functions ----
    async fn get_service_function(
        &self,
        req: Request<pb::GetServiceFunctionRequest>,
    ) -> RpcResult<pb::GetServiceFunctionResponse> {
        let req = req.into_inner();
        respond(
            self.cached("GetServiceFunction", &req, |_| async {
                let m = self.get_coded::<ServiceFunctions>(&req.code).await?;
                Ok(pb::GetServiceFunctionResponse {
                    service_function: Some(service_function_to_pb(ServiceFunctions::to_record(m))),
                })
            })
            .await,
        )
    }

    async fn list_service_functions(
        &self,
        req: Request<pb::ListServiceFunctionsRequest>,
    ) -> RpcResult<pb::ListServiceFunctionsResponse> {
        let req = &req.into_inner();
        respond(
            self.cached("ListServiceFunctions", req, |revision| async move {
                let fp = filter_fingerprint(req, |r| {
                    r.page_token.clear();
                    r.page_size = 0;
                });
                let (after, limit) = paging(&req.page_token, req.page_size, &fp)?;
                let mut cond = Condition::all();
                if let Some(category) =
                    enum_filter("category", req.category, FunctionCategory::from_pb)?
                {
                    cond = cond.add(service_function::Column::Category.eq(category.as_str()));
                }
                let (rows, next) = self.list::<ServiceFunctions>(cond, after, limit).await?;
                Ok(pb::ListServiceFunctionsResponse {
                    service_functions: rows
                        .into_iter()
                        .map(|m| service_function_to_pb(ServiceFunctions::to_record(m)))
                        .collect(),
                    next_page_token: next_page_token(next, &fp),
                    revision,
                })
            })
            .await,
        )
    }

    async fn create_service_function(
        &self,
        req: Request<pb::CreateServiceFunctionRequest>,
    ) -> RpcResult<pb::CreateServiceFunctionResponse> {
        let req = req.into_inner();
        respond(
            async {
                self.ensure_ready()?;
                let record =
                    service_function_from_pb(required("service_function", req.service_function)?)
                        .map_err(|v| record_violations("service_function", v))?;
                let record = validated::<ServiceFunctions>(record)?;
                let (m, revision) = self
                    .store
                    .create::<ServiceFunctions>(&record, &req.request_id)
                    .await?;
                Ok(pb::CreateServiceFunctionResponse {
                    service_function: Some(service_function_to_pb(ServiceFunctions::to_record(m))),
                    revision,
                })
            }
            .await,
        )
    }

    async fn update_service_function(
        &self,
        req: Request<pb::UpdateServiceFunctionRequest>,
    ) -> RpcResult<pb::UpdateServiceFunctionResponse> {
        let req = req.into_inner();
        respond(
            async {
                self.ensure_ready()?;
                let new = required("service_function", req.service_function)?;
                let existing = self.get_coded::<ServiceFunctions>(&new.code).await?;
                let paths = mask_paths(
                    req.update_mask,
                    &["name", "category", "description"],
                    &["code"],
                )?;
                let id = existing.id;
                let mut merged = service_function_to_pb(ServiceFunctions::to_record(existing));
                copy_fields!(merged, new, &paths, [name, category, description]);
                let record = validated::<ServiceFunctions>(
                    service_function_from_pb(merged)
                        .map_err(|v| record_violations("service_function", v))?,
                )?;
                let (m, revision) = self.store.update::<ServiceFunctions>(id, &record).await?;
                Ok(pb::UpdateServiceFunctionResponse {
                    service_function: Some(service_function_to_pb(ServiceFunctions::to_record(m))),
                    revision,
                })
            }
            .await,
        )
    }

    async fn delete_service_function(
        &self,
        req: Request<pb::DeleteServiceFunctionRequest>,
    ) -> RpcResult<pb::DeleteServiceFunctionResponse> {
        let req = req.into_inner();
        respond(
            async {
                self.ensure_ready()?;
                let m = self.get_coded::<ServiceFunctions>(&req.code).await?;
                let revision = self
                    .store
                    .delete::<ServiceFunctions>(m.id, Some((RefTarget::ServiceFunction, &req.code)))
                    .await?;
                Ok(pb::DeleteServiceFunctionResponse { revision })
            }
            .await,
        )
    }

    // ---- platform functions ----
    async fn get_platform_function(
        &self,
        req: Request<pb::GetPlatformFunctionRequest>,
    ) -> RpcResult<pb::GetPlatformFunctionResponse> {
        let req = req.into_inner();
        respond(
            self.cached("GetPlatformFunction", &req, |_| async {
                let m = self.get_by_id::<PlatformFunctions>(req.id).await?;
                Ok(pb::GetPlatformFunctionResponse {
                    platform_function: Some(platform_function_to_pb(
                        m.id,
                        PlatformFunctions::to_record(m),
                    )),
                })
            })
            .await,
        )
    }

    async fn list_platform_functions(
        &self,
        req: Request<pb::ListPlatformFunctionsRequest>,
    ) -> RpcResult<pb::ListPlatformFunctionsResponse> {
        let req = &req.into_inner();
        respond(
            self.cached("ListPlatformFunctions", req, |revision| async move {
                let fp = filter_fingerprint(req, |r| {
                    r.page_token.clear();
                    r.page_size = 0;
                });
                let (after, limit) = paging(&req.page_token, req.page_size, &fp)?;
                filter_codes(&[
                    ("region_code", &req.region_code),
                    ("platform_code", &req.platform_code),
                    ("function_code", &req.function_code),
                ])?;
                let mut cond = Condition::all();
                if !req.region_code.is_empty() {
                    let prefix = subtree_prefix(self.conn(), &req.region_code).await?;
                    cond = cond.add(
                        Expr::col(platform_function::Column::PlatformCode)
                            .in_subquery(platform_codes_under(&prefix)),
                    );
                }
                if !req.platform_code.is_empty() {
                    cond = cond.add(platform_function::Column::PlatformCode.eq(&req.platform_code));
                }
                if !req.function_code.is_empty() {
                    cond = cond.add(platform_function::Column::FunctionCode.eq(&req.function_code));
                }
                let (rows, next) = self.list::<PlatformFunctions>(cond, after, limit).await?;
                Ok(pb::ListPlatformFunctionsResponse {
                    platform_functions: rows
                        .into_iter()
                        .map(|m| platform_function_to_pb(m.id, PlatformFunctions::to_record(m)))
                        .collect(),
                    next_page_token: next_page_token(next, &fp),
                    revision,
                })
            })
            .await,
        )
    }

    async fn create_platform_function(
        &self,
        req: Request<pb::CreatePlatformFunctionRequest>,
    ) -> RpcResult<pb::CreatePlatformFunctionResponse> {
        let req = req.into_inner();
        respond(
            async {
                self.ensure_ready()?;
                let record = validated::<PlatformFunctions>(platform_function_from_pb(required(
                    "platform_function",
                    req.platform_function,
                )?))?;
                let (m, revision) = self
                    .store
                    .create::<PlatformFunctions>(&record, &req.request_id)
                    .await?;
                Ok(pb::CreatePlatformFunctionResponse {
                    platform_function: Some(platform_function_to_pb(
                        m.id,
                        PlatformFunctions::to_record(m),
                    )),
                    revision,
                })
            }
            .await,
        )
    }

    async fn update_platform_function(
        &self,
        req: Request<pb::UpdatePlatformFunctionRequest>,
    ) -> RpcResult<pb::UpdatePlatformFunctionResponse> {
        let req = req.into_inner();
        respond(
            async {
                self.ensure_ready()?;
                let new = required("platform_function", req.platform_function)?;
                let existing = self.get_by_id::<PlatformFunctions>(new.id).await?;
                let paths = mask_paths(
                    req.update_mask,
                    &["platform_code", "function_code", "source"],
                    &["id"],
                )?;
                let id = existing.id;
                let mut merged =
                    platform_function_to_pb(id, PlatformFunctions::to_record(existing));
                copy_fields!(merged, new, &paths, [platform_code, function_code, source]);
                let record = validated::<PlatformFunctions>(platform_function_from_pb(merged))?;
                let (m, revision) = self.store.update::<PlatformFunctions>(id, &record).await?;
                Ok(pb::UpdatePlatformFunctionResponse {
                    platform_function: Some(platform_function_to_pb(
                        m.id,
                        PlatformFunctions::to_record(m),
                    )),
                    revision,
                })
            }
            .await,
        )
    }

    async fn delete_platform_function(
        &self,
        req: Request<pb::DeletePlatformFunctionRequest>,
    ) -> RpcResult<pb::DeletePlatformFunctionResponse> {
        let req = req.into_inner();
        respond(
            async {
                self.ensure_ready()?;
                require_id(req.id)?;
                Ok(pb::DeletePlatformFunctionResponse {
                    revision: self.store.delete::<PlatformFunctions>(req.id, None).await?,
                })
            }
            .await,
        )
    }

    // ---- indicators ----
    async fn get_indicator(
        &self,
        req: Request<pb::GetIndicatorRequest>,
    ) -> RpcResult<pb::GetIndicatorResponse> {
        let req = req.into_inner();
        respond(
            self.cached("GetIndicator", &req, |_| async {
                let m = self.get_coded::<Indicators>(&req.code).await?;
                Ok(pb::GetIndicatorResponse {
                    indicator: Some(indicator_to_pb(Indicators::to_record(m))),
                })
            })
            .await,
        )
    }

    async fn list_indicators(
        &self,
        req: Request<pb::ListIndicatorsRequest>,
    ) -> RpcResult<pb::ListIndicatorsResponse> {
        let req = &req.into_inner();
        respond(
            self.cached("ListIndicators", req, |revision| async move {
                let fp = filter_fingerprint(req, |r| {
                    r.page_token.clear();
                    r.page_size = 0;
                });
                let (after, limit) = paging(&req.page_token, req.page_size, &fp)?;
                let mut cond = Condition::all();
                if let Some(dimension) =
                    enum_filter("dimension", req.dimension, ToeDimension::from_pb)?
                {
                    cond = cond.add(indicator::Column::Dimension.eq(dimension.as_str()));
                }
                let (rows, next) = self.list::<Indicators>(cond, after, limit).await?;
                Ok(pb::ListIndicatorsResponse {
                    indicators: rows
                        .into_iter()
                        .map(|m| indicator_to_pb(Indicators::to_record(m)))
                        .collect(),
                    next_page_token: next_page_token(next, &fp),
                    revision,
                })
            })
            .await,
        )
    }

    async fn create_indicator(
        &self,
        req: Request<pb::CreateIndicatorRequest>,
    ) -> RpcResult<pb::CreateIndicatorResponse> {
        let req = req.into_inner();
        respond(
            async {
                self.ensure_ready()?;
                let record = indicator_from_pb(required("indicator", req.indicator)?)
                    .map_err(|v| record_violations("indicator", v))?;
                let record = validated::<Indicators>(record)?;
                let (m, revision) = self
                    .store
                    .create::<Indicators>(&record, &req.request_id)
                    .await?;
                Ok(pb::CreateIndicatorResponse {
                    indicator: Some(indicator_to_pb(Indicators::to_record(m))),
                    revision,
                })
            }
            .await,
        )
    }

    async fn update_indicator(
        &self,
        req: Request<pb::UpdateIndicatorRequest>,
    ) -> RpcResult<pb::UpdateIndicatorResponse> {
        let req = req.into_inner();
        respond(
            async {
                self.ensure_ready()?;
                let new = required("indicator", req.indicator)?;
                let existing = self.get_coded::<Indicators>(&new.code).await?;
                let paths = mask_paths(
                    req.update_mask,
                    &[
                        "name",
                        "unit",
                        "direction",
                        "dimension",
                        "factor",
                        "description",
                    ],
                    &["code"],
                )?;
                let id = existing.id;
                let mut merged = indicator_to_pb(Indicators::to_record(existing));
                copy_fields!(
                    merged,
                    new,
                    &paths,
                    [name, unit, direction, dimension, factor, description]
                );
                let record = validated::<Indicators>(
                    indicator_from_pb(merged).map_err(|v| record_violations("indicator", v))?,
                )?;
                let (m, revision) = self.store.update::<Indicators>(id, &record).await?;
                Ok(pb::UpdateIndicatorResponse {
                    indicator: Some(indicator_to_pb(Indicators::to_record(m))),
                    revision,
                })
            }
            .await,
        )
    }

    async fn delete_indicator(
        &self,
        req: Request<pb::DeleteIndicatorRequest>,
    ) -> RpcResult<pb::DeleteIndicatorResponse> {
        let req = req.into_inner();
        respond(
            async {
                self.ensure_ready()?;
                let m = self.get_coded::<Indicators>(&req.code).await?;
                let revision = self
                    .store
                    .delete::<Indicators>(m.id, Some((RefTarget::Indicator, &req.code)))
                    .await?;
                Ok(pb::DeleteIndicatorResponse { revision })
            }
            .await,
        )
    }

    // ---- indicator values ----
    async fn get_indicator_value(
        &self,
        req: Request<pb::GetIndicatorValueRequest>,
    ) -> RpcResult<pb::GetIndicatorValueResponse> {
        let req = req.into_inner();
        respond(
            self.cached("GetIndicatorValue", &req, |_| async {
                let m = self.get_by_id::<IndicatorValues>(req.id).await?;
                Ok(pb::GetIndicatorValueResponse {
                    indicator_value: Some(indicator_value_to_pb(
                        m.id,
                        IndicatorValues::to_record(m),
                    )),
                })
            })
            .await,
        )
    }

    async fn list_indicator_values(
        &self,
        req: Request<pb::ListIndicatorValuesRequest>,
    ) -> RpcResult<pb::ListIndicatorValuesResponse> {
        let req = &req.into_inner();
        respond(
            self.cached("ListIndicatorValues", req, |revision| async move {
                let fp = filter_fingerprint(req, |r| {
                    r.page_token.clear();
                    r.page_size = 0;
                });
                let (after, limit) = paging(&req.page_token, req.page_size, &fp)?;
                filter_codes(&[
                    ("indicator_code", &req.indicator_code),
                    ("subject_code", &req.subject_code),
                    ("region_code", &req.region_code),
                ])?;
                period_filter("period_from", &req.period_from)?;
                period_filter("period_to", &req.period_to)?;
                let subject_kind =
                    enum_filter("subject_kind", req.subject_kind, SubjectKind::from_pb)?;
                let mut cond = Condition::all();
                if !req.indicator_code.is_empty() {
                    cond = cond.add(indicator_value::Column::IndicatorCode.eq(&req.indicator_code));
                }
                if let Some(kind) = subject_kind {
                    cond = cond.add(indicator_value::Column::SubjectKind.eq(kind.as_str()));
                }
                if !req.subject_code.is_empty() {
                    cond = cond.add(indicator_value::Column::SubjectCode.eq(&req.subject_code));
                }
                if !req.region_code.is_empty() {
                    let prefix = subtree_prefix(self.conn(), &req.region_code).await?;
                    let regions = Condition::all()
                        .add(indicator_value::Column::SubjectKind.eq(SubjectKind::Region.as_str()))
                        .add(
                            Expr::col(indicator_value::Column::SubjectCode)
                                .in_subquery(region_codes_under(&prefix)),
                        );
                    let platforms = Condition::all()
                        .add(
                            indicator_value::Column::SubjectKind.eq(SubjectKind::Platform.as_str()),
                        )
                        .add(
                            Expr::col(indicator_value::Column::SubjectCode)
                                .in_subquery(platform_codes_under(&prefix)),
                        );
                    cond = cond.add(Condition::any().add(regions).add(platforms));
                }
                if !req.period_from.is_empty() {
                    cond = cond.add(indicator_value::Column::Period.gte(&req.period_from));
                }
                if !req.period_to.is_empty() {
                    cond = cond.add(indicator_value::Column::Period.lte(&req.period_to));
                }
                let (rows, next) = self.list::<IndicatorValues>(cond, after, limit).await?;
                Ok(pb::ListIndicatorValuesResponse {
                    indicator_values: rows
                        .into_iter()
                        .map(|m| indicator_value_to_pb(m.id, IndicatorValues::to_record(m)))
                        .collect(),
                    next_page_token: next_page_token(next, &fp),
                    revision,
                })
            })
            .await,
        )
    }

    async fn create_indicator_value(
        &self,
        req: Request<pb::CreateIndicatorValueRequest>,
    ) -> RpcResult<pb::CreateIndicatorValueResponse> {
        let req = req.into_inner();
        respond(
            async {
                self.ensure_ready()?;
                let record =
                    indicator_value_from_pb(required("indicator_value", req.indicator_value)?)
                        .map_err(|v| record_violations("indicator_value", v))?;
                let record = validated::<IndicatorValues>(record)?;
                let (m, revision) = self
                    .store
                    .create::<IndicatorValues>(&record, &req.request_id)
                    .await?;
                Ok(pb::CreateIndicatorValueResponse {
                    indicator_value: Some(indicator_value_to_pb(
                        m.id,
                        IndicatorValues::to_record(m),
                    )),
                    revision,
                })
            }
            .await,
        )
    }

    async fn update_indicator_value(
        &self,
        req: Request<pb::UpdateIndicatorValueRequest>,
    ) -> RpcResult<pb::UpdateIndicatorValueResponse> {
        let req = req.into_inner();
        respond(
            async {
                self.ensure_ready()?;
                let new = required("indicator_value", req.indicator_value)?;
                let existing = self.get_by_id::<IndicatorValues>(new.id).await?;
                let paths = mask_paths(
                    req.update_mask,
                    &[
                        "indicator_code",
                        "subject_kind",
                        "subject_code",
                        "period",
                        "value",
                        "value_as_printed",
                        "source",
                    ],
                    &["id"],
                )?;
                let id = existing.id;
                let mut merged = indicator_value_to_pb(id, IndicatorValues::to_record(existing));
                copy_fields!(
                    merged,
                    new,
                    &paths,
                    [
                        indicator_code,
                        subject_kind,
                        subject_code,
                        period,
                        value,
                        value_as_printed,
                        source
                    ]
                );
                if paths.contains(&"value_as_printed") && !paths.contains(&"value") {
                    merged.value = 0.0;
                }
                let record = validated::<IndicatorValues>(
                    indicator_value_from_pb(merged)
                        .map_err(|v| record_violations("indicator_value", v))?,
                )?;
                let (m, revision) = self.store.update::<IndicatorValues>(id, &record).await?;
                Ok(pb::UpdateIndicatorValueResponse {
                    indicator_value: Some(indicator_value_to_pb(
                        m.id,
                        IndicatorValues::to_record(m),
                    )),
                    revision,
                })
            }
            .await,
        )
    }

    async fn delete_indicator_value(
        &self,
        req: Request<pb::DeleteIndicatorValueRequest>,
    ) -> RpcResult<pb::DeleteIndicatorValueResponse> {
        let req = req.into_inner();
        respond(
            async {
                self.ensure_ready()?;
                require_id(req.id)?;
                Ok(pb::DeleteIndicatorValueResponse {
                    revision: self.store.delete::<IndicatorValues>(req.id, None).await?,
                })
            }
            .await,
        )
    }

    // ---- reported aggregates ----
    async fn get_reported_aggregate(
        &self,
        req: Request<pb::GetReportedAggregateRequest>,
    ) -> RpcResult<pb::GetReportedAggregateResponse> {
        let req = req.into_inner();
        respond(
            self.cached("GetReportedAggregate", &req, |_| async {
                let m = self.get_coded::<ReportedAggregates>(&req.code).await?;
                Ok(pb::GetReportedAggregateResponse {
                    reported_aggregate: Some(reported_aggregate_to_pb(
                        ReportedAggregates::to_record(m),
                    )),
                })
            })
            .await,
        )
    }

    async fn list_reported_aggregates(
        &self,
        req: Request<pb::ListReportedAggregatesRequest>,
    ) -> RpcResult<pb::ListReportedAggregatesResponse> {
        let req = &req.into_inner();
        respond(
            self.cached("ListReportedAggregates", req, |revision| async move {
                let fp = filter_fingerprint(req, |r| {
                    r.page_token.clear();
                    r.page_size = 0;
                });
                let (after, limit) = paging(&req.page_token, req.page_size, &fp)?;
                filter_codes(&[("subject_code", &req.subject_code)])?;
                let mut cond = Condition::all();
                if !req.subject_code.is_empty() {
                    cond = cond.add(reported_aggregate::Column::SubjectCode.eq(&req.subject_code));
                }
                if let Some(kind) = enum_filter("kind", req.kind, AggregateKind::from_pb)? {
                    cond = cond.add(reported_aggregate::Column::Kind.eq(kind.as_str()));
                }
                let (rows, next) = self.list::<ReportedAggregates>(cond, after, limit).await?;
                Ok(pb::ListReportedAggregatesResponse {
                    reported_aggregates: rows
                        .into_iter()
                        .map(|m| reported_aggregate_to_pb(ReportedAggregates::to_record(m)))
                        .collect(),
                    next_page_token: next_page_token(next, &fp),
                    revision,
                })
            })
            .await,
        )
    }

    async fn create_reported_aggregate(
        &self,
        req: Request<pb::CreateReportedAggregateRequest>,
    ) -> RpcResult<pb::CreateReportedAggregateResponse> {
        let req = req.into_inner();
        respond(
            async {
                self.ensure_ready()?;
                let record = reported_aggregate_from_pb(required(
                    "reported_aggregate",
                    req.reported_aggregate,
                )?)
                .map_err(|v| record_violations("reported_aggregate", v))?;
                let record = validated::<ReportedAggregates>(record)?;
                let (m, revision) = self
                    .store
                    .create::<ReportedAggregates>(&record, &req.request_id)
                    .await?;
                Ok(pb::CreateReportedAggregateResponse {
                    reported_aggregate: Some(reported_aggregate_to_pb(
                        ReportedAggregates::to_record(m),
                    )),
                    revision,
                })
            }
            .await,
        )
    }

    async fn update_reported_aggregate(
        &self,
        req: Request<pb::UpdateReportedAggregateRequest>,
    ) -> RpcResult<pb::UpdateReportedAggregateResponse> {
        let req = req.into_inner();
        respond(
            async {
                self.ensure_ready()?;
                let new = required("reported_aggregate", req.reported_aggregate)?;
                let existing = self.get_coded::<ReportedAggregates>(&new.code).await?;
                let paths = mask_paths(
                    req.update_mask,
                    &[
                        "kind",
                        "subject_kind",
                        "subject_code",
                        "metric",
                        "observed_on",
                        "value",
                        "value_as_printed",
                        "description",
                        "source",
                    ],
                    &["code"],
                )?;
                let id = existing.id;
                let mut merged = reported_aggregate_to_pb(ReportedAggregates::to_record(existing));
                copy_fields!(
                    merged,
                    new,
                    &paths,
                    [
                        kind,
                        subject_kind,
                        subject_code,
                        metric,
                        observed_on,
                        value,
                        value_as_printed,
                        description,
                        source
                    ]
                );
                if paths.contains(&"value_as_printed") && !paths.contains(&"value") {
                    merged.value = 0.0;
                }
                let record = validated::<ReportedAggregates>(
                    reported_aggregate_from_pb(merged)
                        .map_err(|v| record_violations("reported_aggregate", v))?,
                )?;
                let (m, revision) = self.store.update::<ReportedAggregates>(id, &record).await?;
                Ok(pb::UpdateReportedAggregateResponse {
                    reported_aggregate: Some(reported_aggregate_to_pb(
                        ReportedAggregates::to_record(m),
                    )),
                    revision,
                })
            }
            .await,
        )
    }

    async fn delete_reported_aggregate(
        &self,
        req: Request<pb::DeleteReportedAggregateRequest>,
    ) -> RpcResult<pb::DeleteReportedAggregateResponse> {
        let req = req.into_inner();
        respond(
            async {
                self.ensure_ready()?;
                let m = self.get_coded::<ReportedAggregates>(&req.code).await?;
                Ok(pb::DeleteReportedAggregateResponse {
                    revision: self.store.delete::<ReportedAggregates>(m.id, None).await?,
                })
            }
            .await,
        )
    }

    // ---- bulk ----
    async fn import_records(
        &self,
        req: Request<Streaming<pb::ImportRecordsRequest>>,
    ) -> RpcResult<pb::ImportRecordsResponse> {
        respond(self.import_stream(req.into_inner()).await)
    }

    type ExportRecordsStream = ExportStream;

    async fn export_records(
        &self,
        req: Request<pb::ExportRecordsRequest>,
    ) -> RpcResult<Self::ExportRecordsStream> {
        let req = req.into_inner();
        let result: ServiceResult<ExportStream> = async {
            self.ensure_ready()?;
            if req.batch_size < 0 {
                return Err(ServiceError::invalid_field(
                    "batch_size",
                    "must not be negative",
                ));
            }
            let size = match req.batch_size as usize {
                0 => 500,
                n => n.min(10_000),
            };
            let (records, revision) = self.store.export_all().await?;
            let mut chunks: Vec<Vec<AnyRecord>> = Vec::new();
            let mut rest = records.into_iter().peekable();
            while rest.peek().is_some() {
                chunks.push(rest.by_ref().take(size).collect());
            }
            if chunks.is_empty() {
                chunks.push(Vec::new());
            }
            let stream = tokio_stream::iter(chunks.into_iter().map(move |chunk| {
                Ok(pb::ExportRecordsResponse {
                    records: chunk
                        .into_iter()
                        .map(|r| record_to_pb(r, String::new()))
                        .collect(),
                    revision,
                })
            }));
            Ok(Box::pin(stream) as ExportStream)
        }
        .await;
        respond(result)
    }

    async fn get_data_revision(
        &self,
        _req: Request<pb::GetDataRevisionRequest>,
    ) -> RpcResult<pb::GetDataRevisionResponse> {
        respond(
            async {
                self.ensure_ready()?;
                let (instance, revision) = self.store.versioned_state().await?;
                Ok(pb::GetDataRevisionResponse { revision, instance })
            }
            .await,
        )
    }

    type WatchDataRevisionStream = govlens_kit::lease::WatchStream;

    async fn watch_data_revision(
        &self,
        req: Request<tonic::Streaming<pb::WatchDataRevisionRequest>>,
    ) -> RpcResult<Self::WatchDataRevisionStream> {
        let caller = principal_of(&req);
        respond(
            async {
                caller?.check_service("watch the data revision")?;
                self.ensure_ready()?;
                let hub = self.store.leases().ok_or_else(|| {
                    ServiceError::Unavailable("the data service is starting".into())
                })?;
                hub.watch(req.into_inner())
                    .map_err(|s| ServiceError::Unavailable(s.message().to_string()))
            }
            .await,
        )
    }

    async fn introspect_token(
        &self,
        req: Request<pb::IntrospectTokenRequest>,
    ) -> RpcResult<pb::IntrospectTokenResponse> {
        let caller = principal_of(&req);
        let req = req.into_inner();
        respond(
            async {
                caller?.check_service("check tokens")?;
                self.ensure_ready()?;
                match crate::tokens::authenticate(self.conn(), &req.token).await {
                    Ok(p) => Ok(pb::IntrospectTokenResponse {
                        active: true,
                        subject: p.subject,
                        role: role_to_pb(p.role) as i32,
                        scope_region_code: p.scope.unwrap_or_default(),
                        token_id: p.token_id.unwrap_or_default(),
                    }),
                    Err(ServiceError::Unauthenticated(_)) => {
                        Ok(pb::IntrospectTokenResponse::default())
                    }
                    Err(e) => Err(e),
                }
            }
            .await,
        )
    }

    async fn list_audit_events(
        &self,
        req: Request<pb::ListAuditEventsRequest>,
    ) -> RpcResult<pb::ListAuditEventsResponse> {
        let caller = principal_of(&req);
        let req = req.into_inner();
        respond(
            async {
                caller?.check_admin("read the audit log")?;
                self.ensure_ready()?;
                let fp = filter_fingerprint(&req, |r| {
                    r.page_token.clear();
                    r.page_size = 0;
                });
                let (before, limit) = paging(&req.page_token, req.page_size, &fp)?;
                // No control character (a NUL byte) may reach the database.
                filter_codes(&[("subject", &req.subject), ("resource", &req.resource)])?;
                let mut cond = Condition::all();
                if before > 0 {
                    cond = cond.add(audit_event::Column::Id.lt(before));
                }
                if !req.subject.is_empty() {
                    cond = cond.add(audit_event::Column::Subject.eq(req.subject.as_str()));
                }
                if !req.resource.is_empty() {
                    cond = cond.add(audit_event::Column::Resource.eq(req.resource.as_str()));
                }
                let mut rows = audit_event::Entity::find()
                    .filter(cond)
                    .order_by_desc(audit_event::Column::Id)
                    .limit(limit + 1)
                    .all(self.conn())
                    .await
                    .map_err(db_error)?;
                let more = rows.len() as u64 > limit;
                rows.truncate(limit as usize);
                let next = if more {
                    rows.last().map(|m| m.id)
                } else {
                    None
                };
                Ok(pb::ListAuditEventsResponse {
                    audit_events: rows.into_iter().map(audit_to_pb).collect(),
                    next_page_token: next_page_token(next, &fp),
                })
            }
            .await,
        )
    }
}

fn role_to_pb(role: Role) -> pb::Role {
    match role {
        Role::Reader => pb::Role::Reader,
        Role::Editor => pb::Role::Editor,
        Role::Admin => pb::Role::Admin,
        Role::Service => pb::Role::Service,
    }
}

fn audit_to_pb(m: audit_event::Model) -> pb::AuditEvent {
    pb::AuditEvent {
        id: m.id,
        time: m.at,
        subject: m.subject,
        token_id: m.token_id.unwrap_or_default(),
        role: Role::parse(&m.role).map(role_to_pb).unwrap_or_default() as i32,
        action: m.action,
        resource: m.resource,
        key: m.resource_key,
        request_id: m.request_id,
        revision: m.revision,
    }
}
