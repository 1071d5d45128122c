//! The ScoringService gRPC adapter: models as immutable versions, scoring over data
//! fetched from the data service, results cached by model version and data revision.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use govlens_assess::{metrics, quality, AssessConfig, DataSnapshot};
use govlens_engine::{
    run_uncertainty_with_progress, Aggregation, Model, Normalisation, Results, ScoreOptions,
    StrengthOptions, UncertaintyConfig, WeightNoise, ZeroHandling,
};
use govlens_kit::reply::Reply;
use govlens_kit::{Cache, ServiceError, ServiceResult};
use govlens_proto::scoring::v1::{self as pb, scoring_service_server::ScoringService};
use prost::Message;
use sha2::{Digest, Sha256};
use tonic::{Request, Response, Status};

use crate::data::DataSource;
use crate::models::{ModelStore, NewModel, StoredModel};
use crate::pipeline::{self, Inputs, Scope, Units};

type RpcResult<T> = Result<Response<T>, Status>;

/// Largest model file accepted.
pub const MAX_MODEL_BYTES: usize = 1 << 20;
/// How often a running uncertainty analysis reports progress.
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_millis(250);
/// Most Monte Carlo draws one request may ask for.
pub const MAX_DRAWS: i32 = 100_000;

fn respond<T>(result: ServiceResult<T>) -> RpcResult<T> {
    result.map(Response::new).map_err(Status::from)
}

/// One state of the data: the data service's database identity and its revision.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Revision {
    instance: String,
    number: i64,
}

/// The data of one revision, ready for the engine.
type Prepared = (Revision, Arc<DataSnapshot>);
/// A model version: id, version and the digest of its source.
type ModelKey = (String, i32, String);

/// State shared by the handlers.
#[derive(Clone)]
pub struct ScoringApi {
    models: ModelStore,
    data: DataSource,
    cache: Cache,
    ready: Arc<AtomicBool>,
    /// The data of the latest revision as the assessment crate wants it: built once
    /// per revision, not per call.
    prepared: Arc<std::sync::Mutex<Option<Prepared>>>,
    /// Parsed model versions (immutable), by id, version and digest.
    parsed: Arc<std::sync::Mutex<std::collections::HashMap<ModelKey, Arc<Model>>>>,
}

/// A stored model version, parsed.
struct Loaded {
    stored: Arc<StoredModel>,
    model: Arc<Model>,
}

fn format_name(format: i32) -> ServiceResult<&'static str> {
    match pb::ModelFormat::try_from(format) {
        Ok(pb::ModelFormat::Toml) => Ok("toml"),
        Ok(pb::ModelFormat::Json) => Ok("json"),
        _ => Err(ServiceError::invalid_field(
            "format",
            "must be MODEL_FORMAT_TOML or MODEL_FORMAT_JSON",
        )),
    }
}

/// Parses a model file; errors point at the field that is wrong.
pub fn parse_model(format: &str, source: &str) -> ServiceResult<Model> {
    let parsed = match format {
        "json" => Model::from_json_str(source),
        _ => Model::from_toml_str(source),
    };
    parsed.map_err(|e| {
        // A field error names its path inside the model; a syntax error has no path but
        // a line and column, which go into the description.
        let violations: Vec<govlens_kit::FieldViolation> = e
            .errors
            .iter()
            .map(|f| {
                govlens_kit::error::document_violation(
                    "source",
                    &f.path,
                    &f.message,
                    f.location.as_ref().map(|at| (at.line, at.column)),
                )
            })
            .collect();
        let violations = if violations.is_empty() {
            vec![govlens_kit::FieldViolation::new("source", e.to_string())]
        } else {
            violations
        };
        let first = violations
            .first()
            .map(|v| format!("{}: {}", v.field, v.description))
            .unwrap_or_default();
        ServiceError::invalid(
            format!(
                "invalid model ({} problem(s)); first: {first}",
                violations.len()
            ),
            violations,
        )
    })
}

fn to_pb_model(m: StoredModel) -> pb::Model {
    pb::Model {
        model_id: m.document_id,
        version: m.version,
        name: m.name,
        description: m.description,
        format: if m.format == "json" {
            pb::ModelFormat::Json as i32
        } else {
            pb::ModelFormat::Toml as i32
        },
        source: m.source,
        digest: m.digest,
        create_time: m.created_at,
    }
}

fn scope_of(scope: Option<pb::ScoringScope>) -> ServiceResult<(pb::ScoringScope, Scope)> {
    let scope = scope.ok_or_else(|| ServiceError::invalid_field("scope", "is required"))?;
    govlens_versioned::check_document_id("scope.model_id", &scope.model_id)?;
    if !scope.period.is_empty() && !govlens_dataset::validate::is_valid_period(&scope.period) {
        return Err(ServiceError::invalid_field(
            "scope.period",
            "must be a period YYYY, YYYY-Qn, YYYY-MM or YYYY-MM-DD",
        ));
    }
    if scope.version < 0 {
        return Err(ServiceError::invalid_field(
            "scope.version",
            "must not be negative",
        ));
    }
    let units = match pb::UnitKind::try_from(scope.unit_kind) {
        Ok(pb::UnitKind::Unspecified) | Ok(pb::UnitKind::Region) => Units::Regions,
        Ok(pb::UnitKind::Platform) => Units::Platforms,
        Err(_) => {
            return Err(ServiceError::invalid_field(
                "scope.unit_kind",
                "unknown value",
            ))
        }
    };
    let internal = Scope {
        units,
        period: scope.period.clone(),
        region_code: scope.region_code.clone(),
    };
    Ok((scope, internal))
}

fn unit_score(results: &Results, inputs: &Inputs, unit: usize) -> ServiceResult<pb::UnitScore> {
    let report = results
        .unit_report(unit)
        .map_err(|e| ServiceError::internal(anyhow::anyhow!("{e}")))?;
    let code = report.unit.clone();
    let code_for_raw = code.clone();
    let index = report.nodes.first();
    Ok(pb::UnitScore {
        unit_name: inputs
            .names
            .get(&code)
            .cloned()
            .unwrap_or_else(|| code.clone()),
        unit_code: code,
        score: index.and_then(|n| n.score),
        rank: index.and_then(|n| n.rank).unwrap_or(0) as i32,
        band: index.and_then(|n| n.band.clone()).unwrap_or_default(),
        nodes: report
            .nodes
            .into_iter()
            .map(|n| pb::NodeScore {
                raw_value: inputs
                    .dataset
                    .value(&code_for_raw, &n.code)
                    .filter(|v| !v.is_nan()),
                node_code: n.code,
                score: n.score,
                rank: n.rank.unwrap_or(0) as i32,
                band: n.band.unwrap_or_default(),
            })
            .collect(),
    })
}

fn score_table(
    loaded: &Loaded,
    revision: i64,
    inputs: &Inputs,
    results: &Results,
    only: Option<&[String]>,
) -> ServiceResult<pb::ScoreTable> {
    let mut units = Vec::new();
    for (i, code) in results.units().iter().enumerate() {
        if only.is_none_or(|keep| keep.contains(code)) {
            units.push(unit_score(results, inputs, i)?);
        }
    }
    Ok(pb::ScoreTable {
        model_id: loaded.stored.document_id.clone(),
        model_version: loaded.stored.version,
        data_revision: revision,
        period: inputs.period.clone(),
        units,
        imputed: results
            .imputations()
            .iter()
            .filter(|i| only.is_none_or(|keep| keep.contains(&i.unit)))
            .map(|i| pb::ImputedValue {
                unit_code: i.unit.clone(),
                indicator_code: i.indicator.clone(),
                value: i.value,
                method: i.method.name().to_string(),
            })
            .collect(),
    })
}

impl ScoringApi {
    pub fn new(models: ModelStore, data: DataSource, cache: Cache, ready: Arc<AtomicBool>) -> Self {
        ScoringApi {
            models,
            data,
            cache,
            ready,
            prepared: Arc::default(),
            parsed: Arc::default(),
        }
    }

    fn ensure_ready(&self) -> ServiceResult<()> {
        if self.ready.load(Ordering::Acquire) {
            Ok(())
        } else {
            Err(ServiceError::Unavailable(
                "the scoring service is starting".into(),
            ))
        }
    }

    async fn load(&self, model_id: &str, version: i32) -> ServiceResult<Loaded> {
        let stored = self.models.get_shared(model_id, version).await?;
        let key = (
            stored.document_id.clone(),
            stored.version,
            stored.digest.clone(),
        );
        let known = self
            .parsed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .cloned();
        let model = match known {
            Some(model) => model,
            None => {
                let model = Arc::new(parse_model(&stored.format, &stored.source)?);
                let mut parsed = self.parsed.lock().unwrap_or_else(|e| e.into_inner());
                if parsed.len() > 256 {
                    parsed.clear();
                }
                parsed.insert(key, model.clone());
                model
            }
        };
        Ok(Loaded { stored, model })
    }

    /// Stores a model version from a file shipped with GovLens (idempotent).
    pub async fn ensure_model(&self, model_id: &str, source: &str) -> ServiceResult<StoredModel> {
        let model = parse_model("toml", source)?;
        let spec = model.to_spec();
        let (stored, _) = self
            .models
            .create(NewModel {
                document_id: model_id,
                name: spec.name.as_deref().unwrap_or(model_id),
                description: spec.description.as_deref().unwrap_or_default(),
                format: "toml",
                source,
            })
            .await?;
        Ok(stored)
    }

    /// The model version and the data revision a read uses, read concurrently.
    async fn basis(&self, model_id: &str, version: i32) -> ServiceResult<(Loaded, Revision)> {
        let revision = async {
            let (instance, number) = self.data.revision().await?;
            Ok(Revision { instance, number })
        };
        tokio::try_join!(self.load(model_id, version), revision)
    }

    /// Serves from the cache keyed by model version and data revision, or computes
    /// from the snapshot (fetched only on a miss) and caches under the revision the
    /// snapshot has, which a write in between may have moved past `rev`.
    async fn cached<Req: Message, Resp: Message + Default>(
        &self,
        method: &str,
        loaded: &Loaded,
        rev: &Revision,
        request: &Req,
        compute: impl FnOnce(&DataSnapshot, i64) -> ServiceResult<Resp>,
    ) -> ServiceResult<Reply<Resp>> {
        let hash = hex::encode(&Sha256::digest(request.encode_to_vec())[..16]);
        let key = |rev: &Revision| {
            format!(
                "govlens:scoring:{method}:{}:v{}:{}:{}:r{}:{hash}",
                loaded.stored.document_id,
                loaded.stored.version,
                &loaded.stored.digest[..12.min(loaded.stored.digest.len())],
                rev.instance,
                rev.number
            )
        };
        // Sent as stored: the cache holds only what `put` below encoded (values from
        // Redis are checksummed).
        if let Some(bytes) = self.cache.get(&key(rev)).await {
            return Ok(Reply::Encoded(bytes));
        }
        let (snapshot, actual) = self.snapshot().await?;
        let resp = compute(&snapshot, actual.number)?;
        self.cache.put(&key(&actual), resp.encode_to_vec()).await;
        Ok(Reply::Message(resp))
    }

    /// The snapshot as the assessment crate wants it, and its revision.
    async fn snapshot(&self) -> ServiceResult<(Arc<DataSnapshot>, Revision)> {
        let s = self.data.snapshot().await?;
        let rev = Revision {
            instance: s.instance.clone(),
            number: s.revision,
        };
        if let Some((seen, data)) = self
            .prepared
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            if *seen == rev {
                return Ok((data.clone(), rev));
            }
        }
        let data = Arc::new(DataSnapshot::from_records(s.records.iter().cloned()));
        *self.prepared.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((rev.clone(), data.clone()));
        Ok((data, rev))
    }
}

/// The methods whose answers are cached, answering with the stored bytes on a hit.
impl ScoringApi {
    pub async fn score_units_reply(
        &self,
        req: Request<pb::ScoreUnitsRequest>,
    ) -> RpcResult<Reply<pb::ScoreUnitsResponse>> {
        let req = req.into_inner();
        respond(
            async {
                self.ensure_ready()?;
                let (raw_scope, scope) = scope_of(req.scope.clone())?;
                let (loaded, rev) = self.basis(&raw_scope.model_id, raw_scope.version).await?;
                let overrides: Vec<(String, String, f64)> = req
                    .overrides
                    .iter()
                    .map(|o| (o.unit_code.clone(), o.indicator_code.clone(), o.value))
                    .collect();
                self.cached("ScoreUnits", &loaded, &rev, &req, |snapshot, revision| {
                    let mut inputs = pipeline::assemble(&loaded.model, snapshot, &scope)?;
                    pipeline::apply_overrides(&mut inputs, &overrides)?;
                    let results = pipeline::score(&loaded.model, &inputs)?;
                    Ok(pb::ScoreUnitsResponse {
                        table: Some(score_table(&loaded, revision, &inputs, &results, None)?),
                    })
                })
                .await
            }
            .await,
        )
    }

    pub async fn compare_regions_reply(
        &self,
        req: Request<pb::CompareRegionsRequest>,
    ) -> RpcResult<Reply<pb::CompareRegionsResponse>> {
        let req = req.into_inner();
        respond(
            async {
                self.ensure_ready()?;
                let (raw_scope, mut scope) = scope_of(req.scope.clone())?;
                scope.units = Units::Regions;
                let mut codes = req.region_codes.clone();
                codes.sort();
                codes.dedup();
                if codes.len() < 2 {
                    return Err(ServiceError::invalid_field(
                        "region_codes",
                        "name at least two different regions",
                    ));
                }
                let (loaded, rev) = self.basis(&raw_scope.model_id, raw_scope.version).await?;
                self.cached(
                    "CompareRegions",
                    &loaded,
                    &rev,
                    &req,
                    |snapshot, revision| {
                        let inputs = pipeline::assemble(&loaded.model, snapshot, &scope)?;
                        let missing: Vec<&String> = codes
                            .iter()
                            .filter(|c| inputs.dataset.unit_index(c).is_none())
                            .collect();
                        if !missing.is_empty() {
                            return Err(ServiceError::invalid_field(
                                "region_codes",
                                format!("no data for {missing:?} under this model and period"),
                            ));
                        }
                        let results = pipeline::score(&loaded.model, &inputs)?;
                        let table =
                            score_table(&loaded, revision, &inputs, &results, Some(&codes))?;
                        let indicators =
                            compare_indicators(&loaded.model, &inputs, &results, &table);
                        Ok(pb::CompareRegionsResponse {
                            table: Some(table),
                            indicators,
                        })
                    },
                )
                .await
            }
            .await,
        )
    }

    pub async fn explain_score_reply(
        &self,
        req: Request<pb::ExplainScoreRequest>,
    ) -> RpcResult<Reply<pb::ExplainScoreResponse>> {
        let req = req.into_inner();
        respond(
            async {
                self.ensure_ready()?;
                let (raw_scope, scope) = scope_of(req.scope.clone())?;
                if req.unit_code.is_empty() {
                    return Err(ServiceError::invalid_field(
                        "unit_code",
                        "must not be empty",
                    ));
                }
                let (loaded, rev) = self.basis(&raw_scope.model_id, raw_scope.version).await?;
                self.cached("ExplainScore", &loaded, &rev, &req, |snapshot, revision| {
                    let inputs = pipeline::assemble(&loaded.model, snapshot, &scope)?;
                    let results = pipeline::score(&loaded.model, &inputs)?;
                    let unit = results.unit_index(&req.unit_code).ok_or_else(|| {
                        ServiceError::not_found("scored unit", req.unit_code.clone())
                    })?;
                    let engine = |e: govlens_engine::EngineError| {
                        ServiceError::internal(anyhow::anyhow!("{e}"))
                    };
                    let mut contributions = Vec::new();
                    for (node, info) in results.nodes().iter().enumerate() {
                        if info.is_indicator {
                            continue;
                        }
                        for c in results.contributions(unit, node).map_err(engine)? {
                            contributions.push(pb::Contribution {
                                node_code: c.child,
                                parent_code: info.code.clone(),
                                weight: c.weight,
                                value: c.score,
                                contribution: c.contribution,
                            });
                        }
                    }
                    let highlights = results
                        .strengths_weaknesses(&req.unit_code, &StrengthOptions::default())
                        .map_err(engine)?;
                    let table = score_table(
                        &loaded,
                        revision,
                        &inputs,
                        &results,
                        Some(std::slice::from_ref(&req.unit_code)),
                    )?;
                    Ok(pb::ExplainScoreResponse {
                        unit: table.units.into_iter().next(),
                        contributions,
                        strengths: highlights.strengths.into_iter().map(|h| h.node).collect(),
                        weaknesses: highlights.weaknesses.into_iter().map(|h| h.node).collect(),
                        imputed: table.imputed,
                        data_revision: revision,
                    })
                })
                .await
            }
            .await,
        )
    }
}

#[tonic::async_trait]
impl ScoringService for ScoringApi {
    async fn create_model(
        &self,
        req: Request<pb::CreateModelRequest>,
    ) -> RpcResult<pb::CreateModelResponse> {
        // Models and rulebooks apply to every region: admins and unscoped editors.
        if let Err(e) =
            govlens_kit::auth::principal_of(&req).and_then(|p| p.check_global_write("models"))
        {
            return Err(e.into());
        }
        let req = req.into_inner();
        respond(
            async {
                self.ensure_ready()?;
                govlens_versioned::check_document_id("model_id", &req.model_id)?;
                govlens_versioned::check_source_size(&req.source, MAX_MODEL_BYTES)?;
                let format = format_name(req.format)?;
                let model = parse_model(format, &req.source)?;
                let spec = model.to_spec();
                let (stored, created) = self
                    .models
                    .create(NewModel {
                        document_id: &req.model_id,
                        name: spec.name.as_deref().unwrap_or(&req.model_id),
                        description: spec.description.as_deref().unwrap_or_default(),
                        format,
                        source: &req.source,
                    })
                    .await?;
                Ok(pb::CreateModelResponse {
                    model: Some(to_pb_model(stored)),
                    created,
                })
            }
            .await,
        )
    }

    async fn get_model(
        &self,
        req: Request<pb::GetModelRequest>,
    ) -> RpcResult<pb::GetModelResponse> {
        let req = req.into_inner();
        respond(
            async {
                self.ensure_ready()?;
                govlens_versioned::check_document_id("model_id", &req.model_id)?;
                if req.version < 0 {
                    return Err(ServiceError::invalid_field(
                        "version",
                        "must not be negative",
                    ));
                }
                Ok(pb::GetModelResponse {
                    model: Some(to_pb_model(
                        self.models.get(&req.model_id, req.version).await?,
                    )),
                })
            }
            .await,
        )
    }

    async fn list_models(
        &self,
        req: Request<pb::ListModelsRequest>,
    ) -> RpcResult<pb::ListModelsResponse> {
        let req = req.into_inner();
        respond(
            async {
                self.ensure_ready()?;
                // A page token is the last model id of the previous page.
                if !req.page_token.is_empty() {
                    govlens_versioned::check_document_id("page_token", &req.page_token)?;
                }
                let (models, next_page_token) =
                    self.models.page(req.page_size, &req.page_token).await?;
                Ok(pb::ListModelsResponse {
                    models: models.into_iter().map(to_pb_model).collect(),
                    next_page_token,
                })
            }
            .await,
        )
    }

    async fn score_units(
        &self,
        req: Request<pb::ScoreUnitsRequest>,
    ) -> RpcResult<pb::ScoreUnitsResponse> {
        govlens_kit::reply::message(self.score_units_reply(req).await)
    }

    async fn compare_regions(
        &self,
        req: Request<pb::CompareRegionsRequest>,
    ) -> RpcResult<pb::CompareRegionsResponse> {
        govlens_kit::reply::message(self.compare_regions_reply(req).await)
    }

    async fn explain_score(
        &self,
        req: Request<pb::ExplainScoreRequest>,
    ) -> RpcResult<pb::ExplainScoreResponse> {
        govlens_kit::reply::message(self.explain_score_reply(req).await)
    }

    type RunUncertaintyStream = std::pin::Pin<
        Box<dyn tokio_stream::Stream<Item = Result<pb::RunUncertaintyResponse, Status>> + Send>,
    >;

    async fn run_uncertainty(
        &self,
        req: Request<pb::RunUncertaintyRequest>,
    ) -> RpcResult<Self::RunUncertaintyStream> {
        let req = req.into_inner();
        let prepared = async {
            self.ensure_ready()?;
            let (raw_scope, scope) = scope_of(req.scope.clone())?;
            let draws = match req.draws {
                0 => 1000,
                n if (2..=MAX_DRAWS).contains(&n) => n,
                _ => {
                    return Err(ServiceError::invalid_field(
                        "draws",
                        format!("must be between 2 and {MAX_DRAWS}"),
                    ));
                }
            };
            let perturbation = if req.weight_perturbation == 0.0 {
                0.25
            } else {
                req.weight_perturbation
            };
            if !(perturbation.is_finite() && (0.0..1.0).contains(&perturbation)) {
                return Err(ServiceError::invalid_field(
                    "weight_perturbation",
                    "must be in [0, 1)",
                ));
            }
            let loaded = self.load(&raw_scope.model_id, raw_scope.version).await?;
            let (snapshot, rev) = self.snapshot().await?;
            let revision = rev.number;
            let inputs = pipeline::assemble(&loaded.model, &snapshot, &scope)?;
            let config = UncertaintyConfig {
                draws: draws as usize,
                seed: req.seed,
                weights: Some(WeightNoise::uniform(perturbation)),
                // Alternatives that stay in [0, 1] so every mean is defined: the model's own
                // normalisation, min-max and percentile rank; arithmetic and geometric means
                // (zeros shifted by a small offset, as COINr does).
                normalisation: if req.vary_methods {
                    vec![
                        None,
                        Some(Normalisation::minmax()),
                        Some(Normalisation::PercentileRank),
                    ]
                } else {
                    Vec::new()
                },
                aggregation: if req.vary_methods {
                    vec![
                        None,
                        Some(Aggregation::Arithmetic),
                        Some(Aggregation::Geometric {
                            zeros: ZeroHandling::Offset(0.01),
                        }),
                    ]
                } else {
                    Vec::new()
                },
                ..Default::default()
            };
            Ok((loaded, inputs, config, revision, draws))
        }
        .await;
        let (loaded, inputs, config, revision, draws) = prepared.map_err(Status::from)?;
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tokio::spawn(async move {
            let progress = |done: usize| {
                Ok(pb::RunUncertaintyResponse {
                    kind: Some(pb::run_uncertainty_response::Kind::Progress(
                        pb::UncertaintyProgress {
                            draws_done: done as i32,
                            draws_total: draws,
                        },
                    )),
                })
            };
            let _ = tx.send(progress(0)).await;
            let model = loaded.model;
            let seed = config.seed;
            let done = Arc::new(AtomicUsize::new(0));
            let counter = done.clone();
            let mut run = tokio::task::spawn_blocking(move || {
                run_uncertainty_with_progress(
                    &model,
                    &inputs.dataset,
                    &config,
                    &ScoreOptions::default(),
                    &counter,
                )
            });
            // Report progress while the draws run; a client that went away stops the stream.
            let outcome = loop {
                tokio::select! {
                    outcome = &mut run => break outcome,
                    _ = tokio::time::sleep(PROGRESS_EVERY) => {
                        if tx.send(progress(done.load(Ordering::Relaxed))).await.is_err() {
                            return;
                        }
                    }
                }
            };
            let message = match outcome {
                Ok(Ok(report)) => Ok(pb::RunUncertaintyResponse {
                    kind: Some(pb::run_uncertainty_response::Kind::Result(
                        pb::UncertaintyResult {
                            units: report
                                .units
                                .iter()
                                .map(|u| pb::UnitRankInterval {
                                    unit_code: u.unit.clone(),
                                    nominal_rank: u.nominal_rank.unwrap_or(0) as i32,
                                    median_rank: u.median_rank.unwrap_or(f64::NAN),
                                    p05_rank: u.p05_rank.unwrap_or(f64::NAN),
                                    p95_rank: u.p95_rank.unwrap_or(f64::NAN),
                                })
                                .collect(),
                            sensitivity: report
                                .sensitivity
                                .iter()
                                .map(|s| pb::SensitivityIndex {
                                    assumption: s.assumption.clone(),
                                    first_order: s.first_order.unwrap_or(f64::NAN),
                                })
                                .collect(),
                            draws,
                            seed,
                            data_revision: revision,
                        },
                    )),
                }),
                Ok(Err(e)) => Err(Status::from(ServiceError::precondition(format!(
                    "uncertainty analysis failed: {e}"
                )))),
                Err(e) => Err(Status::from(ServiceError::internal(e))),
            };
            let _ = tx.send(progress(draws as usize)).await;
            let _ = tx.send(message).await;
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }

    async fn get_quality_report(
        &self,
        req: Request<pb::GetQualityReportRequest>,
    ) -> RpcResult<pb::GetQualityReportResponse> {
        let req = req.into_inner();
        respond(
            async {
                self.ensure_ready()?;
                let (snapshot, rev) = self.snapshot().await?;
                let revision = rev.number;
                let in_region = region_filter(&snapshot, &req.region_code)?;
                let findings = quality::findings(&snapshot, &AssessConfig::default())
                    .into_iter()
                    .filter(|f| in_region(&subject_code(&f.subject)))
                    .map(|f| pb::QualityFinding {
                        kind: f.kind.as_str().to_string(),
                        severity: match f.severity {
                            quality::Severity::Info => pb::Severity::Info,
                            quality::Severity::Warning => pb::Severity::Warning,
                            quality::Severity::Error => pb::Severity::Error,
                        } as i32,
                        subject_code: subject_code(&f.subject),
                        message: match &f.hint {
                            Some(h) => format!("{} {h}", f.message),
                            None => f.message.clone(),
                        },
                        reported_as_printed: f.reported.clone().unwrap_or_default(),
                        reported_value: f
                            .reported
                            .as_deref()
                            .and_then(|r| govlens_dataset::printed::parse_printed(r).ok()),
                        recomputed_value: f
                            .recomputed
                            .as_deref()
                            .and_then(|r| govlens_dataset::printed::parse_printed(r).ok()),
                        source: f
                            .provenance
                            .first()
                            .map(|p| {
                                format!("{} {} / {} / {}", p.document, p.table, p.row, p.column)
                            })
                            .unwrap_or_default(),
                    })
                    .collect();
                Ok(pb::GetQualityReportResponse {
                    findings,
                    data_revision: revision,
                })
            }
            .await,
        )
    }

    async fn list_platform_metrics(
        &self,
        req: Request<pb::ListPlatformMetricsRequest>,
    ) -> RpcResult<pb::ListPlatformMetricsResponse> {
        let req = req.into_inner();
        respond(
            async {
                self.ensure_ready()?;
                let (snapshot, rev) = self.snapshot().await?;
                let revision = rev.number;
                let in_region = region_filter(&snapshot, &req.region_code)?;
                let metrics = metrics::platform_metrics(&snapshot, &AssessConfig::default())
                    .into_iter()
                    .filter(|m| in_region(&m.region_code))
                    .map(|m| pb::PlatformMetrics {
                        average_rating: m.average_rating.as_ref().map(|r| r.to_f64()),
                        average_rating_printed: m
                            .average_rating_printed
                            .clone()
                            .unwrap_or_default(),
                        count_weighted_rating: m.weighted_rating,
                        bayesian_rating: m.bayesian_rating,
                        rating_spread: m.rating_spread.as_ref().map(|d| d.to_f64()),
                        total_downloads: m.total_downloads.as_ref().map(|d| d.to_f64()),
                        downloads_per_inhabitant: m.downloads_per_inhabitant,
                        channels_with_data: m.channels_with_data().to_vec(),
                        channels_without_data: m.channels_without_data().to_vec(),
                        platform_code: m.platform_code,
                        platform_name: m.platform_name,
                        region_code: m.region_code,
                    })
                    .collect();
                Ok(pb::ListPlatformMetricsResponse {
                    metrics,
                    data_revision: revision,
                })
            }
            .await,
        )
    }
    type WatchModelRevisionStream = govlens_kit::lease::ModelWatchStream;

    async fn watch_model_revision(
        &self,
        req: Request<tonic::Streaming<pb::WatchModelRevisionRequest>>,
    ) -> RpcResult<Self::WatchModelRevisionStream> {
        let caller = govlens_kit::auth::principal_of(&req);
        respond(
            async {
                caller?.check_service("watch the model revision")?;
                self.ensure_ready()?;
                let hub = self.models.lease_hub().ok_or_else(|| {
                    ServiceError::Unavailable("the scoring service is starting".into())
                })?;
                govlens_kit::lease::watch_model_revision_with(&hub, req.into_inner())
                    .map_err(|s| ServiceError::Unavailable(s.message().to_string()))
            }
            .await,
        )
    }
}

/// The code a finding is about (a platform, region, ...), for region filtering.
fn subject_code(subject: &quality::Subject) -> String {
    use quality::Subject::*;
    match subject {
        Platform(c) | Region(c) | Channel(c) | Aggregate(c) | PolicyDocument(c)
        | ServiceFunction(c) => c.clone(),
        Observation { platform, .. } | Cell { platform, .. } => platform.clone(),
        PlatformFunction { platform, .. } => platform.clone(),
        Population { region, .. } => region.clone(),
    }
}

/// Whether a region or platform code (or an aggregate's subject) lies in the region's subtree.
fn region_filter<'a>(
    snapshot: &'a DataSnapshot,
    root: &str,
) -> ServiceResult<impl Fn(&str) -> bool + 'a> {
    let inside: Option<std::collections::BTreeSet<String>> = if root.is_empty() {
        None
    } else {
        let scope = Scope {
            units: Units::Regions,
            period: String::new(),
            region_code: root.to_string(),
        };
        let _ = &scope;
        let mut set = std::collections::BTreeSet::from([root.to_string()]);
        if !snapshot.regions.iter().any(|r| r.code == root) {
            return Err(ServiceError::not_found("region", root));
        }
        loop {
            let before = set.len();
            for r in &snapshot.regions {
                if set.contains(&r.parent_code) {
                    set.insert(r.code.clone());
                }
            }
            if set.len() == before {
                break;
            }
        }
        Some(set)
    };
    Ok(move |code: &str| match &inside {
        None => true,
        Some(set) => {
            set.contains(code)
                || snapshot
                    .platforms
                    .iter()
                    .any(|p| p.code == code && set.contains(&p.region_code))
                || snapshot.aggregates.iter().any(|a| {
                    a.code == code
                        && (set.contains(&a.subject_code)
                            || snapshot
                                .platforms
                                .iter()
                                .any(|p| p.code == a.subject_code && set.contains(&p.region_code)))
                })
        }
    })
}

/// Per-indicator comparison of the table's units: raw and normalised values, the best
/// unit by the indicator's direction, and the gap between best and worst.
fn compare_indicators(
    model: &Model,
    inputs: &Inputs,
    results: &Results,
    table: &pb::ScoreTable,
) -> Vec<pb::IndicatorComparison> {
    let mut out = Vec::new();
    for leaf in model.indicators() {
        let Some(node) = results.node_index(&leaf.code) else {
            continue;
        };
        let lower_is_better = matches!(&leaf.kind, govlens_engine::NodeKind::Indicator(i) if i.direction == govlens_engine::Direction::LowerIsBetter);
        let mut raw = Vec::new();
        let mut normalised = Vec::new();
        let mut best: Option<(String, f64)> = None;
        let mut worst: Option<f64> = None;
        let mut with_data = 0;
        for u in &table.units {
            let unit = results.unit_index(&u.unit_code);
            let value = inputs
                .dataset
                .value(&u.unit_code, &leaf.code)
                .filter(|v| !v.is_nan());
            raw.push(pb::OptionalValue { value });
            normalised.push(pb::OptionalValue {
                value: unit.and_then(|i| results.score(i, node)),
            });
            if let Some(v) = value {
                with_data += 1;
                let oriented = if lower_is_better { -v } else { v };
                if best.as_ref().is_none_or(|(_, b)| oriented > *b) {
                    best = Some((u.unit_code.clone(), oriented));
                }
                if worst.is_none_or(|w| oriented < w) {
                    worst = Some(oriented);
                }
            }
        }
        out.push(pb::IndicatorComparison {
            indicator_code: leaf.code.clone(),
            name: leaf.name.clone().unwrap_or_else(|| leaf.code.clone()),
            raw_values: raw,
            normalised_values: normalised,
            best_unit_code: best.as_ref().map(|(c, _)| c.clone()).unwrap_or_default(),
            // A gap needs two units with data.
            gap: best
                .zip(worst)
                .filter(|_| with_data >= 2)
                .map(|((_, b), w)| b - w),
        });
    }
    out
}
