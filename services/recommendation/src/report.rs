//! Turns what the RPCs return (diagnoses, recommendations, scores, platform metrics,
//! quality findings) into the report's input, so the report and the API agree.

use govlens_proto::data::v1 as data_pb;
use govlens_proto::recommendation::v1 as pb;
use govlens_proto::scoring::v1 as scoring_pb;
use govlens_report as report;

use crate::facts::{latest_per_channel, Gathered};

fn rank(r: i32) -> Option<u32> {
    (r > 0).then_some(r as u32)
}

fn label(code: &str) -> String {
    let mut chars = code.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn status(s: i32) -> report::DilemmaStatus {
    match pb::DilemmaStatus::try_from(s) {
        Ok(pb::DilemmaStatus::Present) => report::DilemmaStatus::Present,
        Ok(pb::DilemmaStatus::Absent) => report::DilemmaStatus::Absent,
        _ => report::DilemmaStatus::InsufficientData,
    }
}

fn severity(s: i32) -> Option<String> {
    match pb::Severity::try_from(s) {
        Ok(pb::Severity::Low) => Some("low".into()),
        Ok(pb::Severity::Medium) => Some("medium".into()),
        Ok(pb::Severity::High) => Some("high".into()),
        _ => None,
    }
}

fn evidence(e: &pb::Evidence) -> report::EvidenceRow {
    let mut comparison = e.comparison.clone();
    if !e.peer_unit_code.is_empty() {
        comparison.push_str(&format!(
            " ({}: {})",
            e.peer_unit_code,
            e.peer_value
                .map(|v| format!("{v:.3}"))
                .unwrap_or_else(|| "-".into())
        ));
    }
    comparison.push_str(if e.fired {
        " - holds"
    } else {
        " - does not hold"
    });
    report::EvidenceRow {
        fact: e.fact.clone(),
        value: e.value.map(|v| format!("{v:.3}")),
        comparison: Some(comparison),
        source: e.source.clone(),
    }
}

fn dilemma_row(f: &pb::DilemmaFinding) -> report::DilemmaRow {
    report::DilemmaRow {
        code: f.code.clone(),
        title: f.title.clone(),
        section: f.section.clone(),
        status: status(f.status),
        severity: severity(f.severity),
        evidence: f.evidence.iter().map(evidence).collect(),
    }
}

/// Everything a report shows, for `regions` in the order given.
pub struct ReportParts<'a> {
    pub gathered: &'a Gathered,
    pub regions: &'a [String],
    pub quality: &'a [scoring_pb::QualityFinding],
    pub diagnoses: &'a [pb::Diagnosis],
    pub recommendations: &'a [(String, Vec<pb::Recommendation>)],
    pub rulebook: String,
    pub generated_at: String,
}

pub fn build(parts: &ReportParts<'_>) -> report::ReportInput {
    let g = parts.gathered;
    let region_name = |code: &str| {
        g.region_list
            .iter()
            .find(|r| r.code == code)
            .map(|r| r.name.clone())
            .unwrap_or_else(|| code.to_string())
    };
    let regions: Vec<report::RegionSummary> = parts
        .regions
        .iter()
        .map(|code| {
            let unit = g.regions.units.iter().find(|u| &u.unit_code == code);
            let dims = ["technology", "organization", "environment"]
                .iter()
                .map(|d| report::DimensionScore {
                    code: d.to_string(),
                    label: label(d),
                    score: unit
                        .and_then(|u| u.nodes.iter().find(|n| n.node_code == *d))
                        .and_then(|n| n.score),
                })
                .collect();
            let population = g
                .region_list
                .iter()
                .find(|r| &r.code == code)
                .and_then(|r| r.populations.iter().max_by_key(|p| p.year))
                .map(|p| {
                    format!(
                        "{} ({}, {})",
                        if p.value_as_printed.is_empty() {
                            p.population.to_string()
                        } else {
                            p.value_as_printed.clone()
                        },
                        p.year,
                        p.source
                            .as_ref()
                            .map(|s| s.document.clone())
                            .unwrap_or_default()
                    )
                });
            report::RegionSummary {
                code: code.clone(),
                name: region_name(code),
                score: unit.and_then(|u| u.score),
                rank: unit.and_then(|u| rank(u.rank)),
                band: unit.map(|u| u.band.clone()).filter(|b| !b.is_empty()),
                dimensions: dims,
                population,
            }
        })
        .collect();

    // Stores: app stores on which any app of these regions has a rating, in channel order.
    let apps: Vec<&data_pb::Platform> = g
        .platform_list
        .iter()
        .filter(|p| {
            parts.regions.contains(&p.region_code)
                && p.kind == data_pb::PlatformKind::GovernmentApp as i32
        })
        .collect();
    let stores: Vec<&data_pb::Channel> = g
        .channels
        .iter()
        .filter(|c| c.kind == data_pb::ChannelKind::AppStore as i32)
        .filter(|c| {
            g.ratings
                .iter()
                .any(|o| o.channel_code == c.code && apps.iter().any(|a| a.code == o.platform_code))
        })
        .collect();
    let platforms = apps
        .iter()
        .map(|app| {
            let latest = latest_per_channel(&g.ratings, &app.code);
            let score = g.platforms.units.iter().find(|u| u.unit_code == app.code);
            report::PlatformRow {
                name: app.name.clone(),
                code: app.code.clone(),
                region: region_name(&app.region_code),
                ratings: stores
                    .iter()
                    .map(|s| {
                        latest.iter().find(|o| o.channel_code == s.code).map(|o| {
                            report::RatingCell {
                                value: o.value,
                                printed: o.value_as_printed.clone(),
                            }
                        })
                    })
                    .collect(),
                average_printed: g
                    .metrics
                    .iter()
                    .find(|m| m.platform_code == app.code)
                    .map(|m| m.average_rating_printed.clone())
                    .filter(|s| !s.is_empty()),
                score: score.and_then(|u| u.score),
                rank: score.and_then(|u| rank(u.rank)),
            }
        })
        .collect();

    let in_scope = |subject: &str| {
        parts.regions.iter().any(|r| r == subject)
            || g.platform_list
                .iter()
                .any(|p| p.code == subject && parts.regions.contains(&p.region_code))
            || subject.split('.').any(|part| {
                g.platform_list
                    .iter()
                    .any(|p| p.code == part && parts.regions.contains(&p.region_code))
            })
    };
    let quality = parts
        .quality
        .iter()
        .filter(|f| in_scope(&f.subject_code))
        .map(|f| report::QualityRow {
            severity: scoring_pb::Severity::try_from(f.severity)
                .map(|s| {
                    s.as_str_name()
                        .trim_start_matches("SEVERITY_")
                        .to_lowercase()
                })
                .unwrap_or_default(),
            kind: f.kind.clone(),
            subject: f.subject_code.clone(),
            message: f.message.clone(),
            reported: Some(f.reported_as_printed.clone()).filter(|s| !s.is_empty()),
            recomputed: f.recomputed_value.map(|v| format!("{v}")),
        })
        .collect();

    let diagnoses = parts
        .diagnoses
        .iter()
        .map(|d| report::RegionDiagnosis {
            region: d.region_name.clone(),
            code: d.region_code.clone(),
            dilemmas: d.dilemmas.iter().map(dilemma_row).collect(),
            platform_findings: d
                .platform_findings
                .iter()
                .filter_map(|p| {
                    let f = p.finding.as_ref()?;
                    (f.status == pb::DilemmaStatus::Present as i32).then(|| report::FindingRow {
                        subject: p.platform_name.clone(),
                        kind: format!("{} {}", f.code, f.title),
                        severity: severity(f.severity).unwrap_or_default(),
                        message: f
                            .evidence
                            .iter()
                            .filter(|e| e.fired)
                            .map(|e| {
                                format!(
                                    "{} = {} ({})",
                                    e.fact,
                                    e.value
                                        .map(|v| format!("{v:.2}"))
                                        .unwrap_or_else(|| "-".into()),
                                    e.source
                                )
                            })
                            .collect::<Vec<_>>()
                            .join("; "),
                    })
                })
                .collect(),
        })
        .collect();

    let recommendations = parts
        .recommendations
        .iter()
        .map(|(code, items)| report::RegionRecommendations {
            region: region_name(code),
            code: code.clone(),
            items: items
                .iter()
                .map(|r| report::RecommendationRow {
                    rank: r.rank.max(0) as u32,
                    code: r.code.clone(),
                    title: r.title.clone(),
                    section: r.section.clone(),
                    priority: Some(r.priority),
                    importance: Some(r.importance),
                    performance: r.performance,
                    quadrant: Some(r.quadrant.clone()).filter(|q| !q.is_empty()),
                    rationale: r.rationale.clone(),
                    peer: Some(r.peer_unit_code.clone())
                        .filter(|p| !p.is_empty())
                        .map(|p| region_name(&p)),
                    actions: r.actions.clone(),
                    actors: r.actors.clone(),
                    what_if: r.what_if.as_ref().map(|w| report::WhatIf {
                        score_before: w.score_before,
                        score_after: w.score_after,
                        rank_before: rank(w.rank_before),
                        rank_after: rank(w.rank_after),
                        dimensions: w
                            .dimensions
                            .iter()
                            .map(|d| report::DimensionChange {
                                label: label(&d.node_code),
                                before: d.before,
                                after: d.after,
                            })
                            .collect(),
                    }),
                })
                .collect(),
        })
        .collect();

    let names: Vec<String> = parts.regions.iter().map(|c| region_name(c)).collect();
    report::ReportInput {
        title: format!("Digital governance platforms: {}", names.join(" and ")),
        subtitle: "TOE assessment after Pan et al. (2023): scores, data quality, dilemmas and optimisation paths".into(),
        generated_at: parts.generated_at.clone(),
        data_revision: g.basis.data_revision,
        model: format!("{} v{}", g.basis.model_id, g.basis.model_version),
        rulebook: parts.rulebook.clone(),
        regions,
        stores: stores.iter().map(|s| s.name.clone()).collect(),
        platforms,
        quality,
        diagnoses,
        recommendations,
    }
}
