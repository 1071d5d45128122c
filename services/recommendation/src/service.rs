//! The RecommendationService gRPC adapter: rulebooks as versioned data, diagnosis and
//! recommendations from the rules crate over facts gathered from the scoring and data
//! services, what-if projections re-scored by the scoring service, and reports.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use govlens_kit::coalesce::Coalesced;
use govlens_kit::reply::Reply;
use govlens_kit::{Cache, FieldViolation, ServiceError, ServiceResult};
use govlens_proto::data::v1 as data_pb;
use govlens_proto::recommendation::v1::{
    self as pb, recommendation_service_server::RecommendationService,
};
use govlens_proto::scoring::v1 as scoring_pb;
use govlens_rules::{Rulebook, RulesError};
use govlens_versioned::{NewDocument, StoredDocument, VersionedStore};
use prost::Message;
use sha2::{Digest, Sha256};
use tonic::{Request, Response, Status};

use crate::facts::{gather, Gathered};
use crate::report::{build, ReportParts};
use crate::upstream::{call, Upstreams};

type RpcResult<T> = Result<Response<T>, Status>;

/// Largest rulebook file accepted.
pub const MAX_RULEBOOK_BYTES: usize = 1 << 20;
/// Most regions in one report.
pub const MAX_REPORT_REGIONS: usize = 20;

fn respond<T>(result: ServiceResult<T>) -> RpcResult<T> {
    result.map(Response::new).map_err(Status::from)
}

fn rules_error(e: RulesError) -> ServiceError {
    match e {
        RulesError::Invalid(errors) => {
            let violations: Vec<FieldViolation> = errors
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
            ServiceError::invalid(
                format!("invalid rulebook: {} problem(s)", violations.len()),
                violations,
            )
        }
        RulesError::UnknownUnit(code) => ServiceError::not_found("region", code),
        other => ServiceError::internal(anyhow::anyhow!("{other}")),
    }
}

fn parse_rulebook(format: &str, source: &str) -> ServiceResult<Rulebook> {
    match format {
        "json" => Rulebook::from_json_str(source),
        _ => Rulebook::from_toml_str(source),
    }
    .map_err(rules_error)
}

fn to_pb_rulebook(d: StoredDocument) -> pb::Rulebook {
    pb::Rulebook {
        rulebook_id: d.document_id,
        version: d.version,
        name: d.name,
        description: d.description,
        format: if d.format == "json" {
            pb::RulebookFormat::Json as i32
        } else {
            pb::RulebookFormat::Toml as i32
        },
        source: d.source,
        digest: d.digest,
        create_time: d.created_at,
    }
}

fn severity(s: Option<govlens_rules::Severity>) -> i32 {
    (match s {
        Some(govlens_rules::Severity::Low) => pb::Severity::Low,
        Some(govlens_rules::Severity::Medium) => pb::Severity::Medium,
        Some(govlens_rules::Severity::High) => pb::Severity::High,
        None => pb::Severity::Unspecified,
    }) as i32
}

fn finding_to_pb(f: &govlens_rules::Finding) -> pb::DilemmaFinding {
    pb::DilemmaFinding {
        code: f.code.clone(),
        title: f.title.clone(),
        section: f.section.clone(),
        dimension: f.dimension.as_str().to_string(),
        status: (match f.status {
            govlens_rules::Status::Present => pb::DilemmaStatus::Present,
            govlens_rules::Status::Absent => pb::DilemmaStatus::Absent,
            govlens_rules::Status::InsufficientData => pb::DilemmaStatus::InsufficientData,
        }) as i32,
        severity: severity(f.severity),
        evidence: f
            .evidence
            .iter()
            .map(|e| pb::Evidence {
                fact: e.fact.clone(),
                value: e.value,
                comparison: format!("{} {}", e.op, govlens_rules::diagnose::fmt_num(e.threshold)),
                threshold: Some(e.threshold),
                peer_unit_code: e
                    .reference
                    .as_ref()
                    .map(|r| r.code.clone())
                    .unwrap_or_default(),
                peer_value: e.reference.as_ref().map(|r| r.value),
                source: e.source.clone().unwrap_or_else(|| "no data".into()),
                fired: e.fired,
                note: e.note.clone().unwrap_or_default(),
            })
            // Context facts are reported, not tested: e.g. which stores rate lowest and highest.
            .chain(f.context.iter().map(|c| pb::Evidence {
                fact: c.fact.clone(),
                value: c.value,
                comparison: "context".into(),
                threshold: None,
                peer_unit_code: String::new(),
                peer_value: None,
                source: c.source.clone().unwrap_or_else(|| "no data".into()),
                fired: false,
                note: String::new(),
            }))
            .collect(),
        summary: if f.explanation.is_empty() {
            f.summary.clone()
        } else {
            f.explanation.clone()
        },
    }
}

/// Parsed rulebooks by id, version and digest.
type ParsedRulebooks = HashMap<(String, i32, String), Arc<Rulebook>>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Model versions resolved at one revision of the scoring service's model store
/// (instance and revision), forgotten when the revision moves.
#[derive(Default)]
struct ResolvedModels {
    at: Option<(String, i64)>,
    versions: HashMap<(String, i32), i32>,
}

impl ResolvedModels {
    fn get(&self, at: &(String, i64), key: &(String, i32)) -> Option<i32> {
        (self.at.as_ref() == Some(at))
            .then(|| self.versions.get(key).copied())
            .flatten()
    }

    fn keep(&mut self, at: (String, i64), key: (String, i32), version: i32) {
        if self.at.as_ref() != Some(&at) {
            // Only ever forward: an answer read at an older revision is not kept.
            if self
                .at
                .as_ref()
                .is_some_and(|(i, r)| *i == at.0 && *r > at.1)
            {
                return;
            }
            self.versions.clear();
            self.at = Some(at);
        }
        if self.versions.len() >= 256 {
            self.versions.clear();
        }
        self.versions.insert(key, version);
    }
}

/// What an assessment ran on, resolved to exact versions.
struct Resolved {
    rulebook: Arc<StoredDocument>,
    book: Arc<Rulebook>,
    model_id: String,
    model_version: i32,
    period: String,
    revision: i64,
    /// Identity of the data service's database (revisions count per database).
    instance: String,
}

/// State shared by the handlers.
#[derive(Clone)]
pub struct RecommendationApi {
    rulebooks: VersionedStore,
    up: Upstreams,
    cache: Cache,
    ready: Arc<AtomicBool>,
    /// Concurrent calls share their upstream reads of the data revision and of model
    /// versions (each still sees a value read after it arrived).
    revisions: Arc<Coalesced<(), (String, i64)>>,
    model_versions: Arc<Coalesced<(String, i32), i32>>,
    /// Model versions as resolved at one leased model revision.
    resolved_models: Arc<Mutex<ResolvedModels>>,
    /// Parsed rulebook versions (immutable), by id, version and digest.
    parsed: Arc<Mutex<ParsedRulebooks>>,
}

impl RecommendationApi {
    pub fn new(
        rulebooks: VersionedStore,
        up: Upstreams,
        cache: Cache,
        ready: Arc<AtomicBool>,
    ) -> Self {
        RecommendationApi {
            rulebooks,
            up,
            cache,
            ready,
            revisions: Arc::default(),
            model_versions: Arc::default(),
            resolved_models: Arc::default(),
            parsed: Arc::default(),
        }
    }

    /// The rulebook version and its parsed form (parsed once per version).
    async fn rulebook(
        &self,
        id: &str,
        version: i32,
    ) -> ServiceResult<(Arc<StoredDocument>, Arc<Rulebook>)> {
        let stored = self.rulebooks.get_shared(id, version).await?;
        let key = (
            stored.document_id.clone(),
            stored.version,
            stored.digest.clone(),
        );
        let known = lock(&self.parsed).get(&key).cloned();
        let book = match known {
            Some(book) => book,
            None => {
                let book = Arc::new(parse_rulebook(&stored.format, &stored.source)?);
                let mut parsed = lock(&self.parsed);
                if parsed.len() >= 256 {
                    parsed.clear();
                }
                parsed.insert(key, book.clone());
                book
            }
        };
        Ok((stored, book))
    }

    /// The version of a model the scoring service resolves `version` (0: latest) to.
    /// While the scoring service leases its model revision, an answer is kept until
    /// the revision moves (a new model version is acknowledged to its writer only once
    /// this process has seen the revision move).
    async fn model_version(&self, model_id: &str, version: i32) -> ServiceResult<i32> {
        let key = (model_id.to_string(), version);
        let leased = self.up.model_lease.as_ref().and_then(|l| l.current());
        if let Some(leased) = &leased {
            if let Some(v) = lock(&self.resolved_models).get(leased, &key) {
                return Ok(v);
            }
        }
        let resolved = self.ask_model_version(model_id, version, &key).await?;
        if let Some(leased) = leased {
            // Asked after the revision was leased: at least as new as it.
            lock(&self.resolved_models).keep(leased, key, resolved);
        }
        Ok(resolved)
    }

    async fn ask_model_version(
        &self,
        model_id: &str,
        version: i32,
        key: &(String, i32),
    ) -> ServiceResult<i32> {
        self.model_versions
            .get(key, || async {
                let mut scoring = self.up.scoring.clone();
                let model = call(
                    "scoring",
                    self.up.timeout,
                    scoring.get_model(self.up.request(scoring_pb::GetModelRequest {
                        model_id: model_id.to_string(),
                        version,
                    })),
                )
                .await?
                .model
                .unwrap_or_default();
                Ok(model.version)
            })
            .await
    }

    /// The data service's database identity and current revision.
    async fn data_revision(&self) -> ServiceResult<(String, i64)> {
        if let Some(current) = self.up.revision_lease.as_ref().and_then(|l| l.current()) {
            return Ok(current);
        }
        self.revisions
            .get(&(), || async {
                let mut data = self.up.data.clone();
                let state = call(
                    "data",
                    self.up.timeout,
                    data.get_data_revision(self.up.request(data_pb::GetDataRevisionRequest {})),
                )
                .await?;
                Ok((state.instance, state.revision))
            })
            .await
    }

    fn ensure_ready(&self) -> ServiceResult<()> {
        if self.ready.load(Ordering::Acquire) {
            Ok(())
        } else {
            Err(ServiceError::Unavailable(
                "the recommendation service is starting".into(),
            ))
        }
    }

    /// Stores the shipped default rulebook (idempotent).
    pub async fn ensure_default_rulebook(&self) -> ServiceResult<StoredDocument> {
        let book = parse_rulebook("toml", govlens_rules::DEFAULT_RULEBOOK_TOML)?;
        let (stored, _) = self
            .rulebooks
            .create(NewDocument {
                document_id: "default",
                name: &book.name,
                description: &book.description,
                format: "toml",
                source: govlens_rules::DEFAULT_RULEBOOK_TOML,
            })
            .await?;
        Ok(stored)
    }

    async fn resolve(&self, scope: Option<pb::AssessmentScope>) -> ServiceResult<Resolved> {
        let scope = scope.unwrap_or_default();
        if scope.rulebook_version < 0 || scope.model_version < 0 {
            return Err(ServiceError::invalid_field(
                "scope",
                "versions must not be negative",
            ));
        }
        let rulebook_id = if scope.rulebook_id.is_empty() {
            "default".to_string()
        } else {
            govlens_versioned::check_document_id("scope.rulebook_id", &scope.rulebook_id)?;
            scope.rulebook_id.clone()
        };
        let model_id = if scope.model_id.is_empty() {
            "toe-default".to_string()
        } else {
            scope.model_id.clone()
        };
        // Three independent reads (this service's store, scoring, data), at once.
        let ((rulebook, book), model_version, (instance, revision)) = tokio::try_join!(
            self.rulebook(&rulebook_id, scope.rulebook_version),
            self.model_version(&model_id, scope.model_version),
            self.data_revision(),
        )?;
        Ok(Resolved {
            rulebook,
            book,
            model_id,
            model_version,
            period: scope.period,
            revision,
            instance,
        })
    }

    fn key<M: Message>(method: &str, r: &Resolved, request: &M) -> String {
        let hash = hex::encode(&Sha256::digest(request.encode_to_vec())[..16]);
        format!(
            "govlens:recommendation:{method}:{}:v{}:{}:{}:v{}:{}:r{}:{hash}",
            r.rulebook.document_id,
            r.rulebook.version,
            &r.rulebook.digest[..12.min(r.rulebook.digest.len())],
            r.model_id,
            r.model_version,
            r.instance,
            r.revision
        )
    }

    async fn cached<M: Message, R: Message + Default>(
        &self,
        method: &str,
        resolved: &Resolved,
        request: &M,
        compute: impl std::future::Future<Output = ServiceResult<R>>,
    ) -> ServiceResult<Reply<R>> {
        let key = Self::key(method, resolved, request);
        // Sent as stored: the cache holds only what `put` below encoded (values from
        // Redis are checksummed).
        if let Some(bytes) = self.cache.get(&key).await {
            return Ok(Reply::Encoded(bytes));
        }
        let response = compute.await?;
        self.cache.put(&key, response.encode_to_vec()).await;
        Ok(Reply::Message(response))
    }

    async fn gathered(&self, r: &Resolved) -> ServiceResult<Gathered> {
        gather(&self.up, &r.model_id, r.model_version, &r.period).await
    }

    fn diagnosis(
        &self,
        r: &Resolved,
        g: &Gathered,
        region: &str,
    ) -> ServiceResult<(pb::Diagnosis, govlens_rules::Diagnosis)> {
        match g.facts.unit(region) {
            Some(u) if u.kind == govlens_rules::UnitKind::Region => {}
            Some(_) => {
                return Err(ServiceError::invalid_field(
                    "region_code",
                    format!("{region:?} is a platform, not a region"),
                ))
            }
            None => {
                return Err(ServiceError::precondition(format!(
                    "region {region:?} has no scores under model {} (no platforms or data for it)",
                    r.model_id
                )))
            }
        }
        let d = govlens_rules::diagnose(&r.book, &g.facts, region).map_err(rules_error)?;
        let message = pb::Diagnosis {
            region_code: d.unit.code.clone(),
            region_name: d.unit.name.clone(),
            dilemmas: d.findings.iter().map(finding_to_pb).collect(),
            platform_findings: d
                .platform_findings
                .iter()
                .flat_map(|p| {
                    p.findings.iter().map(move |f| pb::PlatformFinding {
                        platform_code: p.platform.code.clone(),
                        platform_name: p.platform.name.clone(),
                        finding: Some(finding_to_pb(f)),
                    })
                })
                .collect(),
            rulebook_id: r.rulebook.document_id.clone(),
            rulebook_version: r.rulebook.version,
            model_id: r.model_id.clone(),
            model_version: r.model_version,
            data_revision: g.basis.data_revision,
        };
        Ok((message, d))
    }

    /// Ranked recommendations with what-if projections from the scoring service.
    async fn recommendations(
        &self,
        r: &Resolved,
        g: &Gathered,
        region: &str,
        d: &govlens_rules::Diagnosis,
    ) -> ServiceResult<Vec<pb::Recommendation>> {
        let recs = govlens_rules::recommend(&r.book, &g.facts, d);
        let before = g.regions.units.iter().find(|u| u.unit_code == region);
        // A what-if moves indicators that have data towards their targets; a missing
        // value is a data gap, and filling it in would mix availability with performance.
        let targets: Vec<Vec<pb::TargetValue>> = recs
            .iter()
            .map(|rec| {
                rec.targets
                    .iter()
                    .filter(|t| t.current.is_some())
                    .filter_map(|t| {
                        let indicator = t.fact.strip_prefix("indicator.")?;
                        Some(pb::TargetValue {
                            indicator_code: indicator.to_string(),
                            current: t.current,
                            target: t.what_if.or(t.target)?,
                        })
                    })
                    .collect()
            })
            .collect();
        // Each what-if is its own scoring call: all at once.
        let what_ifs = futures::future::try_join_all(targets.into_iter().map(|t| async move {
            if t.is_empty() {
                Ok(None)
            } else {
                self.what_if(r, region, before, t).await.map(Some)
            }
        }))
        .await?;
        let mut out = Vec::with_capacity(recs.len());
        for ((i, rec), what_if) in recs.iter().enumerate().zip(what_ifs) {
            out.push(pb::Recommendation {
                rank: i as i32 + 1,
                code: rec.code.clone(),
                title: rec.title.clone(),
                section: rec.section.clone(),
                dimension: rec.dimension.as_str().to_string(),
                priority: rec.priority.unwrap_or(0.0),
                importance: rec.importance,
                performance: rec.performance,
                gap: rec.gap.unwrap_or(0.0),
                quadrant: rec
                    .quadrant
                    .map(|q| q.label().to_string())
                    .unwrap_or_default(),
                rationale: rec.rationale.clone(),
                // Only a peer that does better is one to learn from.
                peer_unit_code: rec
                    .best_peer
                    .as_ref()
                    .filter(|_| rec.best_peer_ahead == Some(true))
                    .map(|p| p.code.clone())
                    .unwrap_or_default(),
                peer_value: rec
                    .best_peer
                    .as_ref()
                    .filter(|_| rec.best_peer_ahead == Some(true))
                    .map(|p| p.value),
                actions: rec.actions.clone(),
                actors: rec
                    .actors
                    .iter()
                    .map(|a| a.as_str().replace('_', " "))
                    .collect(),
                answers: {
                    let mut codes: Vec<String> = Vec::new();
                    for a in &rec.answers {
                        if !codes.contains(&a.code) {
                            codes.push(a.code.clone());
                        }
                    }
                    codes
                },
                what_if,
            });
        }
        Ok(out)
    }

    async fn what_if(
        &self,
        r: &Resolved,
        region: &str,
        before: Option<&scoring_pb::UnitScore>,
        targets: Vec<pb::TargetValue>,
    ) -> ServiceResult<pb::WhatIf> {
        let overrides = targets
            .iter()
            .map(|t| scoring_pb::ValueOverride {
                unit_code: region.to_string(),
                indicator_code: t.indicator_code.clone(),
                value: t.target,
            })
            .collect();
        let mut scoring = self.up.scoring.clone();
        let after = call(
            "scoring",
            self.up.timeout,
            scoring.score_units(self.up.request(scoring_pb::ScoreUnitsRequest {
                scope: Some(scoring_pb::ScoringScope {
                    model_id: r.model_id.clone(),
                    version: r.model_version,
                    period: r.period.clone(),
                    region_code: String::new(),
                    unit_kind: scoring_pb::UnitKind::Region as i32,
                }),
                overrides,
            })),
        )
        .await?
        .table
        .unwrap_or_default();
        let after = after.units.into_iter().find(|u| u.unit_code == region);
        let node = |u: Option<&scoring_pb::UnitScore>, code: &str| {
            u.and_then(|u| u.nodes.iter().find(|n| n.node_code == code))
                .and_then(|n| n.score)
        };
        Ok(pb::WhatIf {
            targets,
            score_before: before.and_then(|u| u.score),
            score_after: after.as_ref().and_then(|u| u.score),
            rank_before: before.map(|u| u.rank).unwrap_or(0),
            rank_after: after.as_ref().map(|u| u.rank).unwrap_or(0),
            dimensions: ["technology", "organization", "environment"]
                .iter()
                .map(|d| pb::ScoreChange {
                    node_code: d.to_string(),
                    before: node(before, d),
                    after: node(after.as_ref(), d),
                })
                .collect(),
        })
    }
}

fn require_region(code: &str) -> ServiceResult<()> {
    if code.is_empty() {
        Err(ServiceError::invalid_field(
            "region_code",
            "must not be empty",
        ))
    } else if code.len() > 64 {
        Err(ServiceError::invalid_field("region_code", "is too long"))
    } else {
        Ok(())
    }
}

/// The methods whose answers are cached, answering with the stored bytes on a hit.
impl RecommendationApi {
    pub async fn diagnose_reply(
        &self,
        req: Request<pb::DiagnoseRequest>,
    ) -> RpcResult<Reply<pb::DiagnoseResponse>> {
        let req = req.into_inner();
        respond(
            async {
                self.ensure_ready()?;
                require_region(&req.region_code)?;
                let resolved = self.resolve(req.scope.clone()).await?;
                self.cached("Diagnose", &resolved, &req, async {
                    let g = self.gathered(&resolved).await?;
                    let (diagnosis, _) = self.diagnosis(&resolved, &g, &req.region_code)?;
                    Ok(pb::DiagnoseResponse {
                        diagnosis: Some(diagnosis),
                    })
                })
                .await
            }
            .await,
        )
    }

    pub async fn recommend_reply(
        &self,
        req: Request<pb::RecommendRequest>,
    ) -> RpcResult<Reply<pb::RecommendResponse>> {
        let req = req.into_inner();
        respond(
            async {
                self.ensure_ready()?;
                require_region(&req.region_code)?;
                let resolved = self.resolve(req.scope.clone()).await?;
                self.cached("Recommend", &resolved, &req, async {
                    let g = self.gathered(&resolved).await?;
                    let (diagnosis, d) = self.diagnosis(&resolved, &g, &req.region_code)?;
                    let recommendations = self
                        .recommendations(&resolved, &g, &req.region_code, &d)
                        .await?;
                    Ok(pb::RecommendResponse {
                        recommendations,
                        diagnosis: Some(diagnosis),
                    })
                })
                .await
            }
            .await,
        )
    }

    pub async fn generate_report_reply(
        &self,
        req: Request<pb::GenerateReportRequest>,
    ) -> RpcResult<Reply<pb::GenerateReportResponse>> {
        let req = req.into_inner();
        respond(
            async {
                self.ensure_ready()?;
                let mut regions: Vec<String> = Vec::new();
                for code in &req.region_codes {
                    if !regions.contains(code) {
                        regions.push(code.clone());
                    }
                }
                if regions.is_empty() || regions.len() > MAX_REPORT_REGIONS {
                    return Err(ServiceError::invalid_field(
                        "region_codes",
                        format!("name 1 to {MAX_REPORT_REGIONS} regions"),
                    ));
                }
                for r in &regions {
                    require_region(r).map_err(|_| {
                        ServiceError::invalid_field(
                            "region_codes",
                            format!("{r:?} is not a region code"),
                        )
                    })?;
                }
                let markdown = match pb::ReportFormat::try_from(req.format) {
                    Ok(pb::ReportFormat::Unspecified) | Ok(pb::ReportFormat::Html) => false,
                    Ok(pb::ReportFormat::Markdown) => true,
                    Err(_) => return Err(ServiceError::invalid_field("format", "unknown value")),
                };
                let resolved = self.resolve(req.scope.clone()).await?;
                self.cached("GenerateReport", &resolved, &req, async {
                    let g = self.gathered(&resolved).await?;
                    let mut diagnoses = Vec::new();
                    let mut recommendations = Vec::new();
                    for region in &regions {
                        let (diagnosis, d) = self.diagnosis(&resolved, &g, region)?;
                        recommendations.push((
                            region.clone(),
                            self.recommendations(&resolved, &g, region, &d).await?,
                        ));
                        diagnoses.push(diagnosis);
                    }
                    let mut scoring = self.up.scoring.clone();
                    let quality = call(
                        "scoring",
                        self.up.timeout,
                        scoring.get_quality_report(self.up.request(
                            scoring_pb::GetQualityReportRequest {
                                region_code: String::new(),
                            },
                        )),
                    )
                    .await?
                    .findings;
                    let input = build(&ReportParts {
                        gathered: &g,
                        regions: &regions,
                        quality: &quality,
                        diagnoses: &diagnoses,
                        recommendations: &recommendations,
                        rulebook: format!(
                            "{} v{}",
                            resolved.rulebook.document_id, resolved.rulebook.version
                        ),
                        // The data revision, not the wall clock, identifies a report: the
                        // same request at the same revision yields the same bytes.
                        generated_at: format!("data revision {}", g.basis.data_revision),
                    });
                    let (content, media_type) = if markdown {
                        (
                            govlens_report::render_markdown(&input),
                            "text/markdown; charset=utf-8",
                        )
                    } else {
                        (
                            govlens_report::render_html(&input),
                            "text/html; charset=utf-8",
                        )
                    };
                    Ok(pb::GenerateReportResponse {
                        content,
                        media_type: media_type.to_string(),
                        data_revision: g.basis.data_revision,
                    })
                })
                .await
            }
            .await,
        )
    }
}

#[tonic::async_trait]
impl RecommendationService for RecommendationApi {
    async fn create_rulebook(
        &self,
        req: Request<pb::CreateRulebookRequest>,
    ) -> RpcResult<pb::CreateRulebookResponse> {
        // Models and rulebooks apply to every region: admins and unscoped editors.
        if let Err(e) =
            govlens_kit::auth::principal_of(&req).and_then(|p| p.check_global_write("rulebooks"))
        {
            return Err(e.into());
        }
        let req = req.into_inner();
        respond(
            async {
                self.ensure_ready()?;
                let id = &req.rulebook_id;
                govlens_versioned::check_document_id("rulebook_id", id)?;
                govlens_versioned::check_source_size(&req.source, MAX_RULEBOOK_BYTES)?;
                let format = match pb::RulebookFormat::try_from(req.format) {
                    Ok(pb::RulebookFormat::Toml) => "toml",
                    Ok(pb::RulebookFormat::Json) => "json",
                    _ => {
                        return Err(ServiceError::invalid_field(
                            "format",
                            "must be RULEBOOK_FORMAT_TOML or RULEBOOK_FORMAT_JSON",
                        ))
                    }
                };
                let book = parse_rulebook(format, &req.source)?;
                let (stored, created) = self
                    .rulebooks
                    .create(NewDocument {
                        document_id: id,
                        name: &book.name,
                        description: &book.description,
                        format,
                        source: &req.source,
                    })
                    .await?;
                Ok(pb::CreateRulebookResponse {
                    rulebook: Some(to_pb_rulebook(stored)),
                    created,
                })
            }
            .await,
        )
    }

    async fn get_rulebook(
        &self,
        req: Request<pb::GetRulebookRequest>,
    ) -> RpcResult<pb::GetRulebookResponse> {
        let req = req.into_inner();
        respond(
            async {
                self.ensure_ready()?;
                govlens_versioned::check_document_id("rulebook_id", &req.rulebook_id)?;
                if req.version < 0 {
                    return Err(ServiceError::invalid_field(
                        "version",
                        "must not be negative",
                    ));
                }
                Ok(pb::GetRulebookResponse {
                    rulebook: Some(to_pb_rulebook(
                        self.rulebooks.get(&req.rulebook_id, req.version).await?,
                    )),
                })
            }
            .await,
        )
    }

    async fn list_rulebooks(
        &self,
        req: Request<pb::ListRulebooksRequest>,
    ) -> RpcResult<pb::ListRulebooksResponse> {
        let req = req.into_inner();
        respond(
            async {
                self.ensure_ready()?;
                // A page token is the last rulebook id of the previous page.
                if !req.page_token.is_empty() {
                    govlens_versioned::check_document_id("page_token", &req.page_token)?;
                }
                let (books, next_page_token) =
                    self.rulebooks.page(req.page_size, &req.page_token).await?;
                Ok(pb::ListRulebooksResponse {
                    rulebooks: books.into_iter().map(to_pb_rulebook).collect(),
                    next_page_token,
                })
            }
            .await,
        )
    }

    async fn diagnose(&self, req: Request<pb::DiagnoseRequest>) -> RpcResult<pb::DiagnoseResponse> {
        govlens_kit::reply::message(self.diagnose_reply(req).await)
    }

    async fn recommend(
        &self,
        req: Request<pb::RecommendRequest>,
    ) -> RpcResult<pb::RecommendResponse> {
        govlens_kit::reply::message(self.recommend_reply(req).await)
    }

    async fn generate_report(
        &self,
        req: Request<pb::GenerateReportRequest>,
    ) -> RpcResult<pb::GenerateReportResponse> {
        govlens_kit::reply::message(self.generate_report_reply(req).await)
    }
}
