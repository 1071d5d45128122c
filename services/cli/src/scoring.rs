//! `govlens score | compare | explain | quality | uncertainty | metrics`: the scoring
//! service from the terminal, as readable tables or `--json`.

use govlens_proto::scoring::v1::{self as pb, scoring_service_client::ScoringServiceClient};
use serde_json::{json, Value};

use crate::client::{explain, ServerArgs};
use crate::table;

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum UnitsArg {
    Regions,
    Platforms,
    Both,
}

/// Model and data scope shared by the scoring commands.
#[derive(clap::Args, Clone)]
pub struct ScopeArgs {
    /// Model id (shipped: toe-default, un-egdi, worldbank-gtmi).
    #[arg(long, default_value = "toe-default")]
    pub model: String,
    /// Model version; 0 is the latest.
    #[arg(long, default_value_t = 0)]
    pub version: i32,
    /// Period, e.g. 2022; empty is the latest with data.
    #[arg(long, default_value = "")]
    pub period: String,
    /// Only units in this region's subtree.
    #[arg(long, default_value = "")]
    pub region: String,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(clap::Args)]
pub struct ScoreArgs {
    /// Score regions, platforms, or both.
    #[arg(long, value_enum, default_value = "both")]
    pub units: UnitsArg,
    #[command(flatten)]
    pub scope: ScopeArgs,
}

#[derive(clap::Args)]
pub struct CompareArgs {
    /// Two or more region codes, e.g. cn-sc cn-gz.
    #[arg(required = true, num_args = 2..)]
    pub regions: Vec<String>,
    #[command(flatten)]
    pub scope: ScopeArgs,
}

#[derive(clap::Args)]
pub struct ExplainArgs {
    /// Region or platform code.
    pub unit: String,
    /// The unit is a platform.
    #[arg(long)]
    pub platform: bool,
    #[command(flatten)]
    pub scope: ScopeArgs,
}

#[derive(clap::Args)]
pub struct UncertaintyArgs {
    #[arg(long, default_value_t = 1000)]
    pub draws: i32,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Relative weight perturbation (0.25 = +-25%).
    #[arg(long, default_value_t = 0.25)]
    pub perturbation: f64,
    /// Also vary normalisation and aggregation methods.
    #[arg(long)]
    pub vary_methods: bool,
    #[arg(long, value_enum, default_value = "regions")]
    pub units: UnitsArg,
    #[command(flatten)]
    pub scope: ScopeArgs,
}

#[derive(clap::Args)]
pub struct QualityArgs {
    /// Only findings in this region's subtree.
    #[arg(long, default_value = "")]
    pub region: String,
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub server: ServerArgs,
}

async fn client(
    server: &ServerArgs,
) -> anyhow::Result<ScoringServiceClient<crate::client::Connection>> {
    let channel = crate::client::connect(server).await?;
    Ok(ScoringServiceClient::new(channel).max_decoding_message_size(64 << 20))
}

fn scope(args: &ScopeArgs, units: pb::UnitKind) -> pb::ScoringScope {
    pb::ScoringScope {
        model_id: args.model.clone(),
        version: args.version,
        period: args.period.clone(),
        region_code: args.region.clone(),
        unit_kind: units as i32,
    }
}

fn num(v: Option<f64>) -> String {
    v.filter(|x| x.is_finite())
        .map(|x| format!("{x:.4}"))
        .unwrap_or_else(|| "-".into())
}

fn opt_json(v: Option<f64>) -> Value {
    v.filter(|x| x.is_finite())
        .map(Value::from)
        .unwrap_or(Value::Null)
}

/// Codes of the index's children (the dimensions), in model order: the nodes whose
/// rank list follows the index directly. Scores carry every node in pre-order; the
/// dimensions are those whose code has no parent prefix in the list.
fn top_nodes(table: &pb::ScoreTable) -> Vec<String> {
    let Some(first) = table.units.first() else {
        return Vec::new();
    };
    let codes: Vec<&str> = first
        .nodes
        .iter()
        .skip(1)
        .map(|n| n.node_code.as_str())
        .collect();
    codes
        .iter()
        .filter(|c| {
            !codes
                .iter()
                .any(|p| p != *c && c.starts_with(&format!("{p}.")))
        })
        .filter(|c| !c.starts_with("toe."))
        .map(|c| c.to_string())
        .collect()
}

fn table_json(table: &pb::ScoreTable) -> Value {
    json!({
        "model_id": table.model_id,
        "model_version": table.model_version,
        "data_revision": table.data_revision,
        "period": table.period,
        "units": table.units.iter().map(|u| json!({
            "code": u.unit_code,
            "name": u.unit_name,
            "score": opt_json(u.score),
            "rank": u.rank,
            "band": u.band,
            "nodes": u.nodes.iter().map(|n| json!({
                "code": n.node_code, "score": opt_json(n.score), "rank": n.rank, "band": n.band,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "imputed": table.imputed.iter().map(|i| json!({
            "unit": i.unit_code, "indicator": i.indicator_code, "value": i.value, "method": i.method,
        })).collect::<Vec<_>>(),
    })
}

fn print_table(title: &str, table: &pb::ScoreTable) {
    let dims = top_nodes(table);
    println!(
        "{title}: model {} v{}, data revision {}{}",
        table.model_id,
        table.model_version,
        table.data_revision,
        if table.period.is_empty() {
            String::new()
        } else {
            format!(", period {}", table.period)
        }
    );
    let mut header = vec!["rank", "unit", "name", "score", "band"];
    header.extend(dims.iter().map(String::as_str));
    let mut units: Vec<&pb::UnitScore> = table.units.iter().collect();
    units.sort_by_key(|u| if u.rank == 0 { i32::MAX } else { u.rank });
    let rows: Vec<Vec<String>> = units
        .iter()
        .map(|u| {
            let mut row = vec![
                if u.rank == 0 {
                    "-".into()
                } else {
                    u.rank.to_string()
                },
                u.unit_code.clone(),
                u.unit_name.clone(),
                num(u.score),
                u.band.clone(),
            ];
            row.extend(dims.iter().map(|d| {
                num(u
                    .nodes
                    .iter()
                    .find(|n| &n.node_code == d)
                    .and_then(|n| n.score))
            }));
            row
        })
        .collect();
    table::print(&header, &rows);
    for i in &table.imputed {
        println!(
            "  imputed {} for {} by {}: {}",
            i.indicator_code, i.unit_code, i.method, i.value
        );
    }
}

pub async fn score(args: ScoreArgs) -> anyhow::Result<()> {
    let mut c = client(&args.scope.server).await?;
    let kinds: &[(pb::UnitKind, &str)] = match args.units {
        UnitsArg::Regions => &[(pb::UnitKind::Region, "Regions")],
        UnitsArg::Platforms => &[(pb::UnitKind::Platform, "Platforms")],
        UnitsArg::Both => &[
            (pb::UnitKind::Region, "Regions"),
            (pb::UnitKind::Platform, "Platforms"),
        ],
    };
    let mut out = Vec::new();
    for (kind, title) in kinds {
        let response = c
            .score_units(pb::ScoreUnitsRequest {
                scope: Some(scope(&args.scope, *kind)),
                overrides: Vec::new(),
            })
            .await
            .map_err(explain)?
            .into_inner();
        let table = response.table.unwrap_or_default();
        if args.scope.json {
            out.push(json!({ "units_kind": title.to_lowercase(), "table": table_json(&table) }));
        } else {
            print_table(title, &table);
            println!();
        }
    }
    if args.scope.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(())
}

pub async fn compare(args: CompareArgs) -> anyhow::Result<()> {
    let mut c = client(&args.scope.server).await?;
    let response = c
        .compare_regions(pb::CompareRegionsRequest {
            scope: Some(scope(&args.scope, pb::UnitKind::Region)),
            region_codes: args.regions.clone(),
        })
        .await
        .map_err(explain)?
        .into_inner();
    let table = response.table.unwrap_or_default();
    if args.scope.json {
        let indicators: Vec<Value> = response
            .indicators
            .iter()
            .map(|i| {
                json!({
                    "code": i.indicator_code, "name": i.name,
                    "raw": i.raw_values.iter().map(|v| opt_json(v.value)).collect::<Vec<_>>(),
                    "normalised": i.normalised_values.iter().map(|v| opt_json(v.value)).collect::<Vec<_>>(),
                    "best": i.best_unit_code, "gap": opt_json(i.gap),
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(
                &json!({ "table": table_json(&table), "indicators": indicators })
            )?
        );
        return Ok(());
    }
    print_table("Comparison", &table);
    println!();
    let mut header = vec!["indicator".to_string()];
    header.extend(table.units.iter().map(|u| u.unit_code.clone()));
    header.extend(["best".to_string(), "gap".to_string()]);
    let rows: Vec<Vec<String>> = response
        .indicators
        .iter()
        .map(|i| {
            let mut row = vec![i.indicator_code.clone()];
            row.extend(i.raw_values.iter().map(|v| num(v.value)));
            row.push(i.best_unit_code.clone());
            row.push(num(i.gap));
            row
        })
        .collect();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    table::print(&header, &rows);
    Ok(())
}

pub async fn explain_unit(args: ExplainArgs) -> anyhow::Result<()> {
    let mut c = client(&args.scope.server).await?;
    let kind = if args.platform {
        pb::UnitKind::Platform
    } else {
        pb::UnitKind::Region
    };
    let r = c
        .explain_score(pb::ExplainScoreRequest {
            scope: Some(scope(&args.scope, kind)),
            unit_code: args.unit.clone(),
        })
        .await
        .map_err(explain)?
        .into_inner();
    let unit = r.unit.unwrap_or_default();
    if args.scope.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "unit": unit.unit_code, "score": opt_json(unit.score), "rank": unit.rank, "band": unit.band,
                "contributions": r.contributions.iter().map(|c| json!({
                    "node": c.node_code, "parent": c.parent_code, "weight": c.weight,
                    "value": opt_json(c.value), "contribution": opt_json(c.contribution),
                })).collect::<Vec<_>>(),
                "strengths": r.strengths, "weaknesses": r.weaknesses, "data_revision": r.data_revision,
            }))?
        );
        return Ok(());
    }
    println!(
        "{} ({}): score {} rank {} {}",
        unit.unit_name,
        unit.unit_code,
        num(unit.score),
        unit.rank,
        unit.band
    );
    let rows: Vec<Vec<String>> = r
        .contributions
        .iter()
        .map(|c| {
            vec![
                c.parent_code.clone(),
                c.node_code.clone(),
                format!("{}", c.weight),
                num(c.value),
                num(c.contribution),
            ]
        })
        .collect();
    table::print(
        &["parent", "node", "weight", "score", "contribution"],
        &rows,
    );
    println!(
        "strengths: {}",
        if r.strengths.is_empty() {
            "-".into()
        } else {
            r.strengths.join(", ")
        }
    );
    println!(
        "weaknesses: {}",
        if r.weaknesses.is_empty() {
            "-".into()
        } else {
            r.weaknesses.join(", ")
        }
    );
    Ok(())
}

fn severity_name(s: i32) -> String {
    pb::Severity::try_from(s)
        .map(|s| {
            s.as_str_name()
                .trim_start_matches("SEVERITY_")
                .to_lowercase()
        })
        .unwrap_or_default()
}

pub async fn quality(args: QualityArgs) -> anyhow::Result<()> {
    let mut c = client(&args.server).await?;
    let r = c
        .get_quality_report(pb::GetQualityReportRequest {
            region_code: args.region.clone(),
        })
        .await
        .map_err(explain)?
        .into_inner();
    if args.json {
        let findings: Vec<Value> = r
            .findings
            .iter()
            .map(|f| json!({
                "kind": f.kind, "severity": severity_name(f.severity), "subject": f.subject_code, "message": f.message,
                "reported": f.reported_as_printed, "reported_value": opt_json(f.reported_value),
                "recomputed_value": opt_json(f.recomputed_value), "source": f.source,
            }))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(
                &json!({ "data_revision": r.data_revision, "findings": findings })
            )?
        );
        return Ok(());
    }
    let rows: Vec<Vec<String>> = r
        .findings
        .iter()
        .map(|f| {
            vec![
                severity_name(f.severity),
                f.kind.clone(),
                f.subject_code.clone(),
                f.reported_as_printed.clone(),
                num(f.recomputed_value),
                f.message.clone(),
            ]
        })
        .collect();
    table::print(
        &[
            "severity",
            "kind",
            "subject",
            "reported",
            "recomputed",
            "message",
        ],
        &rows,
    );
    println!(
        "({} findings, data revision {})",
        r.findings.len(),
        r.data_revision
    );
    Ok(())
}

pub async fn metrics(args: QualityArgs) -> anyhow::Result<()> {
    let mut c = client(&args.server).await?;
    let r = c
        .list_platform_metrics(pb::ListPlatformMetricsRequest {
            region_code: args.region.clone(),
        })
        .await
        .map_err(explain)?
        .into_inner();
    if args.json {
        let metrics: Vec<Value> = r
            .metrics
            .iter()
            .map(|m| json!({
                "platform": m.platform_code, "name": m.platform_name, "region": m.region_code,
                "average_rating": m.average_rating_printed, "average_rating_exact": opt_json(m.average_rating),
                "count_weighted_rating": opt_json(m.count_weighted_rating), "bayesian_rating": opt_json(m.bayesian_rating),
                "rating_spread": opt_json(m.rating_spread), "total_downloads": opt_json(m.total_downloads),
                "downloads_per_inhabitant": opt_json(m.downloads_per_inhabitant),
                "channels_with_data": m.channels_with_data, "channels_without_data": m.channels_without_data,
            }))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(
                &json!({ "data_revision": r.data_revision, "metrics": metrics })
            )?
        );
        return Ok(());
    }
    let rows: Vec<Vec<String>> = r
        .metrics
        .iter()
        .map(|m| {
            vec![
                m.platform_code.clone(),
                m.region_code.clone(),
                m.average_rating_printed.clone(),
                num(m.rating_spread),
                m.total_downloads
                    .map(|d| format!("{d:.0}"))
                    .unwrap_or_else(|| "-".into()),
                num(m.downloads_per_inhabitant),
                m.channels_without_data.join(" "),
            ]
        })
        .collect();
    table::print(
        &[
            "platform",
            "region",
            "avg rating",
            "spread",
            "downloads",
            "per inhabitant",
            "no data on",
        ],
        &rows,
    );
    Ok(())
}

pub async fn uncertainty(args: UncertaintyArgs) -> anyhow::Result<()> {
    let mut c = client(&args.scope.server).await?;
    let kind = if args.units == UnitsArg::Platforms {
        pb::UnitKind::Platform
    } else {
        pb::UnitKind::Region
    };
    let mut stream = c
        .run_uncertainty(pb::RunUncertaintyRequest {
            scope: Some(scope(&args.scope, kind)),
            draws: args.draws,
            seed: args.seed,
            weight_perturbation: args.perturbation,
            vary_methods: args.vary_methods,
        })
        .await
        .map_err(explain)?
        .into_inner();
    let progress = indicatif::ProgressBar::new(args.draws.max(0) as u64);
    let mut result = None;
    while let Some(message) = stream.message().await.map_err(explain)? {
        match message.kind {
            Some(pb::run_uncertainty_response::Kind::Progress(p)) => {
                progress.set_position(p.draws_done.max(0) as u64)
            }
            Some(pb::run_uncertainty_response::Kind::Result(r)) => result = Some(r),
            None => {}
        }
    }
    progress.finish_and_clear();
    let r =
        result.ok_or_else(|| anyhow::anyhow!("the service ended the stream without a result"))?;
    if args.scope.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "draws": r.draws, "seed": r.seed, "data_revision": r.data_revision,
                "units": r.units.iter().map(|u| json!({
                    "unit": u.unit_code, "nominal_rank": u.nominal_rank, "median_rank": opt_json(Some(u.median_rank)),
                    "p05_rank": opt_json(Some(u.p05_rank)), "p95_rank": opt_json(Some(u.p95_rank)),
                })).collect::<Vec<_>>(),
                "sensitivity": r.sensitivity.iter().map(|s| json!({ "assumption": s.assumption, "first_order": opt_json(Some(s.first_order)) })).collect::<Vec<_>>(),
            }))?
        );
        return Ok(());
    }
    println!(
        "{} draws, seed {}, data revision {}",
        r.draws, r.seed, r.data_revision
    );
    let rows: Vec<Vec<String>> = r
        .units
        .iter()
        .map(|u| {
            vec![
                u.unit_code.clone(),
                u.nominal_rank.to_string(),
                num(Some(u.median_rank)),
                format!("{} - {}", num(Some(u.p05_rank)), num(Some(u.p95_rank))),
            ]
        })
        .collect();
    table::print(
        &["unit", "nominal rank", "median rank", "5-95% interval"],
        &rows,
    );
    for s in &r.sensitivity {
        println!(
            "sensitivity to {}: {}",
            s.assumption,
            num(Some(s.first_order))
        );
    }
    Ok(())
}
