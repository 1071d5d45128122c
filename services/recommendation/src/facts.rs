//! Builds the fact sheet a diagnosis reads: TOE scores, ranks and raw indicator values
//! from the scoring service; platform metrics, per-store ratings and service functions
//! from the data and scoring services. Every fact carries its citation.

use std::collections::{BTreeMap, BTreeSet};

use govlens_kit::{ServiceError, ServiceResult};
use govlens_proto::data::v1 as data_pb;
use govlens_proto::scoring::v1 as scoring_pb;
use govlens_rules::{FactSheet, UnitFacts, UnitKind};

use crate::upstream::{call, Upstreams};

/// What the facts were computed from.
#[derive(Debug, Clone)]
pub struct Basis {
    pub model_id: String,
    pub model_version: i32,
    pub data_revision: i64,
    pub period: String,
}

/// Everything gathered for one assessment: the fact sheet and the raw material the
/// report shows.
pub struct Gathered {
    pub facts: FactSheet,
    pub basis: Basis,
    pub regions: scoring_pb::ScoreTable,
    pub platforms: scoring_pb::ScoreTable,
    pub metrics: Vec<scoring_pb::PlatformMetrics>,
    pub ratings: Vec<data_pb::Observation>,
    pub channels: Vec<data_pb::Channel>,
    pub platform_list: Vec<data_pb::Platform>,
    pub region_list: Vec<data_pb::Region>,
}

fn source(p: &Option<data_pb::Provenance>) -> String {
    match p {
        Some(p) if !p.document.is_empty() => {
            let cell: Vec<&str> = [p.table.as_str(), p.row.as_str(), p.column.as_str()]
                .into_iter()
                .filter(|x| !x.is_empty())
                .collect();
            format!("{} {}", p.document, cell.join(" / "))
        }
        _ => "data service".to_string(),
    }
}

/// A future that pages through a List method and yields every item.
macro_rules! list_all {
    ($up:expr, $client:ident, $method:ident, $request:expr, $field:ident) => {
        async {
            let mut request = $request;
            let mut items = Vec::new();
            loop {
                let mut client = $up.$client.clone();
                let page = call(
                    "data",
                    $up.timeout,
                    client.$method($up.request(request.clone())),
                )
                .await?;
                items.extend(page.$field);
                if page.next_page_token.is_empty() {
                    break;
                }
                request.page_token = page.next_page_token;
            }
            Ok::<_, ServiceError>(items)
        }
    };
}

fn score_facts(unit: &mut UnitFacts, score: &scoring_pb::UnitScore, citation: &str) {
    for n in &score.nodes {
        if let Some(s) = n.score {
            unit.values.insert(
                format!("score.{}", n.node_code),
                govlens_rules::Fact::new(s, citation),
            );
        }
        if n.rank > 0 {
            unit.values.insert(
                format!("rank.{}", n.node_code),
                govlens_rules::Fact::new(n.rank as f64, citation),
            );
        }
        if let Some(raw) = n.raw_value {
            unit.values.insert(
                format!("indicator.{}", n.node_code),
                govlens_rules::Fact::new(raw, citation),
            );
        }
    }
}

/// Gathers the facts for `scope` from the upstream services.
pub async fn gather(
    up: &Upstreams,
    model_id: &str,
    model_version: i32,
    period: &str,
) -> ServiceResult<Gathered> {
    let scope = |kind: scoring_pb::UnitKind| scoring_pb::ScoringScope {
        model_id: model_id.to_string(),
        version: model_version,
        period: period.to_string(),
        region_code: String::new(),
        unit_kind: kind as i32,
    };
    // The gathers are independent: issue them at once.
    let scores = |kind: scoring_pb::UnitKind| {
        let mut scoring = up.scoring.clone();
        async move {
            let table = call(
                "scoring",
                up.timeout,
                scoring.score_units(up.request(scoring_pb::ScoreUnitsRequest {
                    scope: Some(scope(kind)),
                    overrides: vec![],
                })),
            )
            .await?
            .table
            .unwrap_or_default();
            Ok::<_, ServiceError>(table)
        }
    };
    let metrics = async {
        let mut scoring = up.scoring.clone();
        let metrics = call(
            "scoring",
            up.timeout,
            scoring.list_platform_metrics(up.request(scoring_pb::ListPlatformMetricsRequest {
                region_code: String::new(),
            })),
        )
        .await?
        .metrics;
        Ok::<_, ServiceError>(metrics)
    };
    let region_list = list_all!(
        up,
        data,
        list_regions,
        data_pb::ListRegionsRequest {
            page_size: 1000,
            ..Default::default()
        },
        regions
    );
    let platform_list = list_all!(
        up,
        data,
        list_platforms,
        data_pb::ListPlatformsRequest {
            page_size: 1000,
            ..Default::default()
        },
        platforms
    );
    let channels = list_all!(
        up,
        data,
        list_channels,
        data_pb::ListChannelsRequest {
            page_size: 1000,
            ..Default::default()
        },
        channels
    );
    let functions = list_all!(
        up,
        data,
        list_service_functions,
        data_pb::ListServiceFunctionsRequest {
            page_size: 1000,
            ..Default::default()
        },
        service_functions
    );
    let offered = list_all!(
        up,
        data,
        list_platform_functions,
        data_pb::ListPlatformFunctionsRequest {
            page_size: 1000,
            ..Default::default()
        },
        platform_functions
    );
    let ratings = list_all!(
        up,
        data,
        list_observations,
        data_pb::ListObservationsRequest {
            page_size: 1000,
            metric: data_pb::Metric::Rating as i32,
            ..Default::default()
        },
        observations
    );
    let (
        regions,
        platforms,
        metrics,
        region_list,
        platform_list,
        channels,
        functions,
        offered,
        ratings,
    ) = tokio::try_join!(
        scores(scoring_pb::UnitKind::Region),
        scores(scoring_pb::UnitKind::Platform),
        metrics,
        region_list,
        platform_list,
        channels,
        functions,
        offered,
        ratings,
    )?;

    let citation = format!(
        "scoring: model {} v{}, data revision {}",
        regions.model_id, regions.model_version, regions.data_revision
    );
    let mut units = Vec::new();
    for r in &regions.units {
        let parent = region_list
            .iter()
            .find(|x| x.code == r.unit_code)
            .map(|x| x.parent_code.clone())
            .unwrap_or_default();
        let mut unit = UnitFacts::new(&r.unit_code, &r.unit_name, UnitKind::Region, parent);
        score_facts(&mut unit, r, &citation);
        region_function_facts(&mut unit, &platform_list, &functions, &offered);
        units.push(unit);
    }
    let platform_citation = format!(
        "scoring: model {} v{} (platforms), data revision {}",
        platforms.model_id, platforms.model_version, platforms.data_revision
    );
    for p in &platform_list {
        let mut unit = UnitFacts::new(&p.code, &p.name, UnitKind::Platform, &p.region_code);
        if let Some(s) = platforms.units.iter().find(|u| u.unit_code == p.code) {
            score_facts(&mut unit, s, &platform_citation);
        }
        if let Some(m) = metrics.iter().find(|m| m.platform_code == p.code) {
            let metric_source = format!(
                "computed from observations, data revision {}",
                regions.data_revision
            );
            let mut put = |key: &str, value: Option<f64>, src: &str| {
                if let Some(v) = value.filter(|v| v.is_finite()) {
                    unit.values
                        .insert(key.to_string(), govlens_rules::Fact::new(v, src));
                }
            };
            put(
                "metric.average_rating",
                m.average_rating,
                &format!(
                    "Table 2 method: mean over stores with data ({})",
                    m.average_rating_printed
                ),
            );
            put("metric.rating_spread", m.rating_spread, &metric_source);
            put(
                "metric.downloads_per_inhabitant",
                m.downloads_per_inhabitant,
                &metric_source,
            );
            if !m.channels_with_data.is_empty() {
                put(
                    "metric.stores_without_data",
                    Some(m.channels_without_data.len() as f64),
                    &format!(
                        "no data on: {}",
                        if m.channels_without_data.is_empty() {
                            "-".to_string()
                        } else {
                            m.channels_without_data.join(", ")
                        }
                    ),
                );
            }
        }
        // Lowest and highest store rating, citing the store and the source cell; the
        // spread between them names both stores.
        let mine: Vec<&data_pb::Observation> = latest_per_channel(&ratings, &p.code);
        let lowest = mine.iter().min_by(|a, b| a.value.total_cmp(&b.value));
        let highest = mine.iter().max_by(|a, b| a.value.total_cmp(&b.value));
        if let Some(lo) = lowest {
            unit.values.insert(
                "metric.rating_min".into(),
                govlens_rules::Fact::new(
                    lo.value,
                    format!(
                        "{} on {}: {}",
                        lo.value_as_printed,
                        lo.channel_code,
                        source(&lo.source)
                    ),
                ),
            );
        }
        if let Some(hi) = highest {
            unit.values.insert(
                "metric.rating_max".into(),
                govlens_rules::Fact::new(
                    hi.value,
                    format!(
                        "{} on {}: {}",
                        hi.value_as_printed,
                        hi.channel_code,
                        source(&hi.source)
                    ),
                ),
            );
        }
        if let (Some(lo), Some(hi), Some(spread)) =
            (lowest, highest, unit.values.get_mut("metric.rating_spread"))
        {
            spread.source = format!(
                "{} on {} minus {} on {} ({} / {})",
                hi.value_as_printed,
                hi.channel_code,
                lo.value_as_printed,
                lo.channel_code,
                source(&hi.source),
                source(&lo.source)
            );
        }
        units.push(unit);
    }
    Ok(Gathered {
        facts: FactSheet::new(units),
        basis: Basis {
            model_id: regions.model_id.clone(),
            model_version: regions.model_version,
            data_revision: regions.data_revision,
            period: regions.period.clone(),
        },
        regions,
        platforms,
        metrics,
        ratings,
        channels,
        platform_list,
        region_list,
    })
}

/// The latest rating of a platform on each channel.
pub fn latest_per_channel<'a>(
    ratings: &'a [data_pb::Observation],
    platform: &str,
) -> Vec<&'a data_pb::Observation> {
    let mut latest: BTreeMap<&str, &data_pb::Observation> = BTreeMap::new();
    for o in ratings.iter().filter(|o| o.platform_code == platform) {
        match latest.get(o.channel_code.as_str()) {
            Some(prev) if prev.observed_on >= o.observed_on => {}
            _ => {
                latest.insert(o.channel_code.as_str(), o);
            }
        }
    }
    latest.into_values().collect()
}

/// Apps in the region, basic public services nobody offers, and functions offered by
/// more than one app (the paper's fragmentation and information barriers, 3.1.2, 3.2.1).
fn region_function_facts(
    unit: &mut UnitFacts,
    platforms: &[data_pb::Platform],
    functions: &[data_pb::ServiceFunction],
    offered: &[data_pb::PlatformFunction],
) {
    let region = unit.code.clone();
    let apps: Vec<&data_pb::Platform> = platforms
        .iter()
        .filter(|p| {
            p.region_code == region && p.kind == data_pb::PlatformKind::GovernmentApp as i32
        })
        .collect();
    let mine: BTreeSet<&str> = platforms
        .iter()
        .filter(|p| p.region_code == region)
        .map(|p| p.code.as_str())
        .collect();
    unit.values.insert(
        "region.app_count".into(),
        govlens_rules::Fact::new(
            apps.len() as f64,
            format!(
                "government apps in the data service: {}",
                apps.iter()
                    .map(|a| a.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
    );
    let by_region: Vec<&data_pb::PlatformFunction> = offered
        .iter()
        .filter(|f| mine.contains(f.platform_code.as_str()))
        .collect();
    if by_region.is_empty() {
        return; // No functions recorded: missing, not zero.
    }
    let basic: Vec<&data_pb::ServiceFunction> = functions
        .iter()
        .filter(|f| f.category == data_pb::FunctionCategory::BasicPublicService as i32)
        .collect();
    let missing: Vec<&str> = basic
        .iter()
        .filter(|f| !by_region.iter().any(|o| o.function_code == f.code))
        .map(|f| f.name.as_str())
        .collect();
    unit.values.insert(
        "region.basic_services_missing".into(),
        govlens_rules::Fact::new(
            missing.len() as f64,
            format!(
                "basic public services offered by no platform: {}",
                if missing.is_empty() {
                    "none".to_string()
                } else {
                    missing.join(", ")
                }
            ),
        ),
    );
    let app_codes: BTreeSet<&str> = apps.iter().map(|a| a.code.as_str()).collect();
    let mut offered_by: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for o in by_region
        .iter()
        .filter(|o| app_codes.contains(o.platform_code.as_str()))
    {
        offered_by
            .entry(o.function_code.as_str())
            .or_default()
            .insert(o.platform_code.as_str());
    }
    let overlapping: Vec<&str> = offered_by
        .iter()
        .filter(|(_, apps)| apps.len() >= 2)
        .map(|(f, _)| *f)
        .collect();
    unit.values.insert(
        "region.overlapping_functions".into(),
        govlens_rules::Fact::new(
            overlapping.len() as f64,
            format!(
                "functions offered by two or more apps: {}",
                if overlapping.is_empty() {
                    "none".to_string()
                } else {
                    overlapping.join(", ")
                }
            ),
        ),
    );
}
