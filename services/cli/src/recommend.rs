//! `govlens diagnose | recommend | report | demo`: the recommendation service from the
//! terminal.

use std::path::{Path, PathBuf};

use govlens_proto::recommendation::v1::{
    self as pb, recommendation_service_client::RecommendationServiceClient,
};
use serde_json::json;

use crate::client::{explain, ServerArgs};
use crate::table;

/// Rulebook, model and period of an assessment.
#[derive(clap::Args, Clone)]
pub struct AssessArgs {
    #[arg(long, default_value = "default")]
    pub rulebook: String,
    #[arg(long, default_value = "toe-default")]
    pub model: String,
    /// Period; empty is the latest with data.
    #[arg(long, default_value = "")]
    pub period: String,
    #[command(flatten)]
    pub server: ServerArgs,
}

impl AssessArgs {
    fn scope(&self) -> pb::AssessmentScope {
        pb::AssessmentScope {
            rulebook_id: self.rulebook.clone(),
            rulebook_version: 0,
            model_id: self.model.clone(),
            model_version: 0,
            period: self.period.clone(),
        }
    }
}

#[derive(clap::Args)]
pub struct RegionArgs {
    /// Region code, e.g. cn-sc.
    pub region: String,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub assess: AssessArgs,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    Html,
    Markdown,
    Both,
}

#[derive(clap::Args)]
pub struct ReportArgs {
    /// Regions to report on (two or more for a comparison).
    #[arg(long = "region", required = true)]
    pub regions: Vec<String>,
    /// Directory to write report.html and report.md into.
    #[arg(long, default_value = "govlens-report")]
    pub out: PathBuf,
    #[arg(long, value_enum, default_value = "both")]
    pub format: FormatArg,
    #[command(flatten)]
    pub assess: AssessArgs,
}

#[derive(clap::Args)]
pub struct DemoArgs {
    /// Directory to write the comparative report into.
    #[arg(long, default_value = "govlens-report")]
    pub out: PathBuf,
}

async fn client(
    server: &ServerArgs,
) -> anyhow::Result<RecommendationServiceClient<crate::client::Connection>> {
    let channel = crate::client::connect(server).await?;
    Ok(RecommendationServiceClient::new(channel).max_decoding_message_size(64 << 20))
}

fn status_name(s: i32) -> &'static str {
    match pb::DilemmaStatus::try_from(s) {
        Ok(pb::DilemmaStatus::Present) => "present",
        Ok(pb::DilemmaStatus::Absent) => "absent",
        Ok(pb::DilemmaStatus::InsufficientData) => "insufficient data",
        _ => "?",
    }
}

fn severity_name(s: i32) -> &'static str {
    match pb::Severity::try_from(s) {
        Ok(pb::Severity::Low) => "low",
        Ok(pb::Severity::Medium) => "medium",
        Ok(pb::Severity::High) => "high",
        _ => "",
    }
}

fn fired(f: &pb::DilemmaFinding) -> String {
    f.evidence
        .iter()
        .filter(|e| e.fired)
        .map(|e| {
            format!(
                "{} = {} ({})",
                e.fact,
                e.value
                    .map(|v| format!("{v:.3}"))
                    .unwrap_or_else(|| "-".into()),
                e.comparison
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn diagnosis_json(d: &pb::Diagnosis) -> serde_json::Value {
    let finding = |f: &pb::DilemmaFinding| {
        json!({
            "code": f.code, "title": f.title, "section": f.section, "dimension": f.dimension,
            "status": status_name(f.status), "severity": severity_name(f.severity), "summary": f.summary,
            "evidence": f.evidence.iter().map(|e| json!({
                "fact": e.fact, "value": e.value, "comparison": e.comparison, "peer": e.peer_unit_code,
                "peer_value": e.peer_value, "source": e.source, "fired": e.fired,
            })).collect::<Vec<_>>(),
        })
    };
    json!({
        "region": d.region_code, "name": d.region_name, "data_revision": d.data_revision,
        "rulebook": format!("{} v{}", d.rulebook_id, d.rulebook_version), "model": format!("{} v{}", d.model_id, d.model_version),
        "dilemmas": d.dilemmas.iter().map(finding).collect::<Vec<_>>(),
        "platform_findings": d.platform_findings.iter().filter_map(|p| p.finding.as_ref().map(|f| {
            let mut v = finding(f);
            v["platform"] = json!(p.platform_code);
            v
        })).collect::<Vec<_>>(),
    })
}

fn print_diagnosis(d: &pb::Diagnosis) {
    println!(
        "Diagnosis of {} ({}): rulebook {} v{}, model {} v{}, data revision {}",
        d.region_name,
        d.region_code,
        d.rulebook_id,
        d.rulebook_version,
        d.model_id,
        d.model_version,
        d.data_revision
    );
    let rows: Vec<Vec<String>> = d
        .dilemmas
        .iter()
        .map(|f| {
            vec![
                f.code.clone(),
                status_name(f.status).into(),
                severity_name(f.severity).into(),
                f.title.clone(),
                fired(f),
            ]
        })
        .collect();
    table::print(
        &["dilemma", "status", "severity", "title", "evidence"],
        &rows,
    );
    let present: Vec<Vec<String>> = d
        .platform_findings
        .iter()
        .filter_map(|p| {
            p.finding
                .as_ref()
                .filter(|f| f.status == pb::DilemmaStatus::Present as i32)
                .map(|f| (p, f))
        })
        .map(|(p, f)| {
            vec![
                p.platform_name.clone(),
                f.code.clone(),
                severity_name(f.severity).into(),
                f.title.clone(),
                fired(f),
            ]
        })
        .collect();
    if !present.is_empty() {
        println!();
        table::print(
            &["platform", "finding", "severity", "title", "evidence"],
            &present,
        );
    }
}

pub async fn diagnose(args: RegionArgs) -> anyhow::Result<()> {
    let mut c = client(&args.assess.server).await?;
    let d = c
        .diagnose(pb::DiagnoseRequest {
            region_code: args.region.clone(),
            scope: Some(args.assess.scope()),
        })
        .await
        .map_err(explain)?
        .into_inner()
        .diagnosis
        .unwrap_or_default();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&diagnosis_json(&d))?);
    } else {
        print_diagnosis(&d);
    }
    Ok(())
}

fn what_if_text(w: &Option<pb::WhatIf>) -> String {
    match w {
        Some(w) => format!(
            "{} -> {} (rank {} -> {})",
            w.score_before
                .map(|v| format!("{v:.3}"))
                .unwrap_or_else(|| "-".into()),
            w.score_after
                .map(|v| format!("{v:.3}"))
                .unwrap_or_else(|| "-".into()),
            w.rank_before,
            w.rank_after
        ),
        None => "-".into(),
    }
}

pub async fn recommend(args: RegionArgs) -> anyhow::Result<()> {
    let mut c = client(&args.assess.server).await?;
    let r = c
        .recommend(pb::RecommendRequest {
            region_code: args.region.clone(),
            scope: Some(args.assess.scope()),
        })
        .await
        .map_err(explain)?
        .into_inner();
    if args.json {
        let items: Vec<serde_json::Value> = r
            .recommendations
            .iter()
            .map(|x| json!({
                "rank": x.rank, "code": x.code, "title": x.title, "priority": x.priority, "importance": x.importance,
                "performance": x.performance, "gap": x.gap, "quadrant": x.quadrant, "peer": x.peer_unit_code,
                "answers": x.answers, "actions": x.actions, "actors": x.actors, "rationale": x.rationale,
                "what_if": x.what_if.as_ref().map(|w| json!({
                    "score_before": w.score_before, "score_after": w.score_after,
                    "rank_before": w.rank_before, "rank_after": w.rank_after,
                    "targets": w.targets.iter().map(|t| json!({"indicator": t.indicator_code, "current": t.current, "target": t.target})).collect::<Vec<_>>(),
                })),
            }))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(
                &json!({ "recommendations": items, "diagnosis": r.diagnosis.as_ref().map(diagnosis_json) })
            )?
        );
        return Ok(());
    }
    let rows: Vec<Vec<String>> = r
        .recommendations
        .iter()
        .map(|x| {
            vec![
                x.rank.to_string(),
                x.code.clone(),
                x.title.clone(),
                format!("{:.3}", x.priority),
                x.quadrant.clone(),
                x.peer_unit_code.clone(),
                x.answers.join(" "),
                what_if_text(&x.what_if),
            ]
        })
        .collect();
    table::print(
        &[
            "rank",
            "path",
            "title",
            "priority",
            "quadrant",
            "best peer",
            "answers",
            "what-if TOE index",
        ],
        &rows,
    );
    Ok(())
}

/// Writes the report(s) for `regions` into `out`; returns the paths written.
async fn write_reports(
    server: &ServerArgs,
    assess: &AssessArgs,
    regions: &[String],
    out: &Path,
    format: FormatArg,
) -> anyhow::Result<Vec<PathBuf>> {
    let mut c = client(server).await?;
    std::fs::create_dir_all(out)?;
    let mut written = Vec::new();
    let formats: &[(pb::ReportFormat, &str)] = match format {
        FormatArg::Html => &[(pb::ReportFormat::Html, "report.html")],
        FormatArg::Markdown => &[(pb::ReportFormat::Markdown, "report.md")],
        FormatArg::Both => &[
            (pb::ReportFormat::Html, "report.html"),
            (pb::ReportFormat::Markdown, "report.md"),
        ],
    };
    for (f, name) in formats {
        let r = c
            .generate_report(pb::GenerateReportRequest {
                region_codes: regions.to_vec(),
                scope: Some(assess.scope()),
                format: *f as i32,
            })
            .await
            .map_err(explain)?
            .into_inner();
        let path = out.join(name);
        std::fs::write(&path, r.content)?;
        written.push(path);
    }
    Ok(written)
}

pub async fn report(args: ReportArgs) -> anyhow::Result<()> {
    for path in write_reports(
        &args.assess.server,
        &args.assess,
        &args.regions,
        &args.out,
        args.format,
    )
    .await?
    {
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// Starts the embedded suite on a free port in a scratch directory, loads the paper's
/// dataset, writes the Sichuan-Guizhou comparative report, and stops.
pub async fn demo(args: DemoArgs) -> anyhow::Result<()> {
    govlens_kit::logging::init_logging("warn");
    let scratch = tempfile::tempdir()?;
    let database_url = format!("sqlite://{}/govlens.db?mode=rwc", scratch.path().display());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let suite = crate::up::start_suite(
        listener,
        &database_url,
        None,
        govlens_kit::process::Shutdown::on(
            async {
                let _ = stopped.await;
            },
            govlens_kit::process::StopPolicy::IMMEDIATE,
        ),
    )
    .await?;
    println!(
        "GovLens demo: embedded suite at {} (scratch data in {})",
        suite.address,
        scratch.path().display()
    );
    let server = ServerArgs {
        server: suite.address.clone(),
        token: None,
    };
    crate::up::seed_if_empty(&server).await?;
    let assess = AssessArgs {
        rulebook: "default".into(),
        model: "toe-default".into(),
        period: String::new(),
        server: server.clone(),
    };
    let regions = vec!["cn-sc".to_string(), "cn-gz".to_string()];
    let written = write_reports(&server, &assess, &regions, &args.out, FormatArg::Both).await;
    let _ = stop.send(());
    let _ = suite.server.await;
    let written = written?;
    println!("Sichuan-Guizhou comparative report:");
    for path in written {
        let shown = std::fs::canonicalize(&path).unwrap_or(path);
        println!("  {}", shown.display());
    }
    Ok(())
}
