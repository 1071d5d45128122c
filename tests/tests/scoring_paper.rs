//! The paper's tables through the scoring service's RPCs, over the paper's dataset
//! imported through the data service: Table 2's printed "Average score" of every app
//! (ListPlatformMetrics), Table 3's sums checked against their cells (GetQualityReport),
//! TOE scores of regions and platforms (ScoreUnits), the side-by-side comparison of
//! Sichuan and Guizhou (CompareRegions), explanations (ExplainScore), and the Monte
//! Carlo uncertainty stream (RunUncertainty). Expected values are computed in the test
//! from what the data service holds, never typed in.

use std::collections::{BTreeMap, BTreeSet};

use govlens_engine::{Aggregation, Model, Node, NodeKind};
use govlens_tests::suite::*;
use govlens_tests::*;
use prost::Message;
use tonic::Code;

on_both_backends!(
    table2_averages_are_the_printed_averages,
    table3_sums_that_disagree_with_their_cells_are_flagged,
    toe_scores_rank_regions_and_apps,
    compare_regions_has_one_comparison_per_indicator,
    explanations_add_up_to_the_scores,
    uncertainty_streams_progress_then_one_reproducible_result,
    uncertainty_can_vary_methods_on_the_shipped_model,
);

const REGIONS: [&str; 2] = ["cn-gz", "cn-sc"];

/// Every reported aggregate of `kind` (all pages).
async fn reported_aggregates(suite: &Suite, kind: pb::AggregateKind) -> Vec<pb::ReportedAggregate> {
    let mut client = suite.data();
    let mut out = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_reported_aggregates(pb::ListReportedAggregatesRequest {
                page_size: 100,
                page_token: page_token.clone(),
                kind: kind as i32,
                ..Default::default()
            })
            .await
            .expect("ListReportedAggregates")
            .into_inner();
        out.extend(page.reported_aggregates);
        if page.next_page_token.is_empty() {
            return out;
        }
        page_token = page.next_page_token;
    }
}

/// Every observation of one platform and metric (all pages).
async fn observations(suite: &Suite, platform: &str, metric: pb::Metric) -> Vec<pb::Observation> {
    let mut client = suite.data();
    let mut out = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_observations(pb::ListObservationsRequest {
                page_size: 1000,
                page_token: page_token.clone(),
                platform_code: platform.to_string(),
                metric: metric as i32,
                ..Default::default()
            })
            .await
            .expect("ListObservations")
            .into_inner();
        out.extend(page.observations);
        if page.next_page_token.is_empty() {
            return out;
        }
        page_token = page.next_page_token;
    }
}

/// Codes of the government apps (the rows of Tables 2 and 3).
async fn app_codes(suite: &Suite) -> BTreeSet<String> {
    let platforms = suite
        .data()
        .list_platforms(pb::ListPlatformsRequest {
            page_size: 1000,
            ..Default::default()
        })
        .await
        .expect("ListPlatforms")
        .into_inner();
    assert!(platforms.next_page_token.is_empty());
    platforms
        .platforms
        .into_iter()
        .filter(|p| p.kind == pb::PlatformKind::GovernmentApp as i32)
        .map(|p| p.code)
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

async fn table2_averages_are_the_printed_averages(db: TestDb) {
    let suite = Suite::start(&db).await;
    let import = suite.import_paper().await;
    let apps = app_codes(&suite).await;
    assert_eq!(apps.len(), 7, "the seven apps of Table 2: {apps:?}");

    // Table 2's "Average score" column, as the data service holds it.
    let printed: BTreeMap<String, String> = reported_aggregates(&suite, pb::AggregateKind::Average)
        .await
        .into_iter()
        .filter(|a| {
            a.source.as_ref().is_some_and(|s| s.table == "Table 2")
                && a.metric == pb::Metric::Rating as i32
        })
        .map(|a| {
            let number = a
                .value_as_printed
                .trim()
                .strip_suffix("points")
                .unwrap_or_else(|| panic!("{}: {:?} has no unit", a.code, a.value_as_printed))
                .trim()
                .to_string();
            (a.subject_code, number)
        })
        .collect();
    assert_eq!(
        printed.keys().cloned().collect::<BTreeSet<_>>(),
        apps,
        "Table 2 prints one average per app"
    );

    let metrics = suite
        .scoring()
        .list_platform_metrics(spb::ListPlatformMetricsRequest::default())
        .await
        .expect("ListPlatformMetrics")
        .into_inner();
    assert_eq!(metrics.data_revision, import.revision);
    let by_code: BTreeMap<&str, &spb::PlatformMetrics> = metrics
        .metrics
        .iter()
        .map(|m| (m.platform_code.as_str(), m))
        .collect();
    for (app, average) in &printed {
        let m = by_code
            .get(app.as_str())
            .unwrap_or_else(|| panic!("no metrics for {app}"));
        assert_eq!(
            &m.average_rating_printed, average,
            "{app}: average score at the printed precision"
        );
        let exact = m.average_rating.expect("an exact average");
        let ratings = observations(&suite, app, pb::Metric::Rating).await;
        let mean = ratings.iter().map(|o| o.value).sum::<f64>() / ratings.len() as f64;
        assert!(close(exact, mean), "{app}: {exact} vs mean {mean}");
        assert_eq!(m.channels_with_data.len(), ratings.len(), "{app}");
    }

    // Scoped to one province: only its apps.
    let guizhou = suite
        .scoring()
        .list_platform_metrics(spb::ListPlatformMetricsRequest {
            region_code: "cn-gz".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!guizhou.metrics.is_empty());
    assert!(guizhou.metrics.iter().all(|m| m.region_code == "cn-gz"));
    suite.stop().await;
}

async fn table3_sums_that_disagree_with_their_cells_are_flagged(db: TestDb) {
    let suite = Suite::start(&db).await;
    let import = suite.import_paper().await;
    let report = suite
        .scoring()
        .get_quality_report(spb::GetQualityReportRequest::default())
        .await
        .expect("GetQualityReport")
        .into_inner();
    assert_eq!(report.data_revision, import.revision);
    let mismatches: BTreeMap<&str, &spb::QualityFinding> = report
        .findings
        .iter()
        .filter(|f| f.kind == "aggregate_mismatch")
        .map(|f| (f.subject_code.as_str(), f))
        .collect();

    let sums: Vec<pb::ReportedAggregate> = reported_aggregates(&suite, pb::AggregateKind::Sum)
        .await
        .into_iter()
        .filter(|a| a.source.as_ref().is_some_and(|s| s.table == "Table 3"))
        .collect();
    assert_eq!(sums.len(), 7, "Table 3 prints one sum per app");
    let mut flagged = 0;
    for sum in &sums {
        // The latest downloads of each channel up to the sum's date, added up.
        let mut latest: BTreeMap<String, pb::Observation> = BTreeMap::new();
        for o in observations(&suite, &sum.subject_code, pb::Metric::Downloads).await {
            if o.observed_on <= sum.observed_on
                && latest
                    .get(&o.channel_code)
                    .is_none_or(|l| l.observed_on < o.observed_on)
            {
                latest.insert(o.channel_code.clone(), o);
            }
        }
        assert!(!latest.is_empty(), "{}: no cells", sum.code);
        let recomputed: f64 = latest.values().map(|o| o.value).sum();
        let finding = mismatches.get(sum.code.as_str());
        if close(recomputed, sum.value) {
            assert!(
                finding.is_none(),
                "{} agrees with its cells ({recomputed}) but is flagged: {finding:?}",
                sum.code
            );
            continue;
        }
        flagged += 1;
        let finding = finding.unwrap_or_else(|| {
            panic!(
                "{} is printed as {} ({}) but its cells add up to {recomputed}: not flagged",
                sum.code, sum.value_as_printed, sum.value
            )
        });
        assert_eq!(
            finding.severity,
            spb::Severity::Error as i32,
            "{}",
            sum.code
        );
        assert_eq!(finding.reported_as_printed, sum.value_as_printed);
        let reported = finding.reported_value.expect("the reported value");
        assert!(
            close(reported, sum.value),
            "{}: reported {reported}",
            sum.code
        );
        let found = finding.recomputed_value.expect("the recomputed value");
        assert!(
            close(found, recomputed),
            "{}: service recomputed {found}, the cells add up to {recomputed}",
            sum.code
        );
        assert!(
            finding.source.contains("Table 3"),
            "{}: source {:?}",
            sum.code,
            finding.source
        );
    }
    assert!(flagged > 0, "some printed sums disagree with their cells");

    // Table 2's averages agree with their cells at the printed precision.
    for average in reported_aggregates(&suite, pb::AggregateKind::Average).await {
        assert!(
            !mismatches.contains_key(average.code.as_str()),
            "{} ({}) is flagged: {:?}",
            average.code,
            average.value_as_printed,
            mismatches[average.code.as_str()]
        );
    }
    suite.stop().await;
}

/// Competition ranks ("1224") of the scores, as the service should give them.
fn check_competition_ranks(units: &[&spb::UnitScore]) {
    for u in units {
        let score = u.score.expect("a ranked unit has a score");
        let better = units.iter().filter(|o| o.score.unwrap() > score).count();
        assert_eq!(u.rank as usize, better + 1, "rank of {}", u.unit_code);
    }
}

async fn toe_scores_rank_regions_and_apps(db: TestDb) {
    let suite = Suite::start(&db).await;
    let import = suite.import_paper().await;
    let mut scoring = suite.scoring();

    let regions = score_units(
        &mut scoring,
        scope("toe-default", 0, "", spb::UnitKind::Unspecified),
    )
    .await
    .expect("ScoreUnits regions");
    assert_eq!(regions.model_id, "toe-default");
    assert_eq!(regions.data_revision, import.revision);
    let codes: BTreeSet<&str> = regions.units.iter().map(|u| u.unit_code.as_str()).collect();
    assert_eq!(codes, BTreeSet::from(REGIONS), "the two provinces");
    let mut ranks: Vec<i32> = regions.units.iter().map(|u| u.rank).collect();
    ranks.sort();
    assert_eq!(ranks, [1, 2]);
    check_competition_ranks(&regions.units.iter().collect::<Vec<_>>());
    let names: BTreeSet<&str> = regions.units.iter().map(|u| u.unit_name.as_str()).collect();
    assert_eq!(names, BTreeSet::from(["Guizhou", "Sichuan"]));
    for u in &regions.units {
        assert!(!u.band.is_empty(), "{}: band", u.unit_code);
        assert!(u.nodes.len() > 1, "{}: scores of every node", u.unit_code);
    }

    let platforms = score_units(
        &mut scoring,
        scope("toe-default", 0, "", spb::UnitKind::Platform),
    )
    .await
    .expect("ScoreUnits platforms");
    let apps = app_codes(&suite).await;
    let ranked: Vec<&spb::UnitScore> = platforms.units.iter().filter(|u| u.rank > 0).collect();
    assert_eq!(
        ranked
            .iter()
            .map(|u| u.unit_code.clone())
            .collect::<BTreeSet<_>>(),
        apps,
        "the ranked platforms are the seven apps"
    );
    check_competition_ranks(&ranked);
    for u in platforms.units.iter().filter(|u| u.rank == 0) {
        assert!(u.score.is_none(), "{} has a score but no rank", u.unit_code);
    }

    // One province only.
    let sichuan = score_units(
        &mut scoring,
        spb::ScoringScope {
            region_code: "cn-sc".into(),
            ..scope("toe-default", 0, "", spb::UnitKind::Platform)
        },
    )
    .await
    .unwrap();
    let sichuan_apps: BTreeSet<&str> = sichuan
        .units
        .iter()
        .filter(|u| u.rank > 0)
        .map(|u| u.unit_code.as_str())
        .collect();
    assert_eq!(
        sichuan_apps,
        BTreeSet::from([
            "emergency-earthquake-information",
            "sichuan-earthquake-early-warning",
            "tianfu-citizen-cloud",
            "tianfu-tongban",
        ])
    );

    let unknown = score_units(
        &mut scoring,
        scope("no-such-model", 0, "", spb::UnitKind::Region),
    )
    .await;
    expect_code(unknown, Code::NotFound);
    suite.stop().await;
}

/// The shipped model `model_id`, as stored.
async fn stored_model(suite: &Suite, model_id: &str) -> Model {
    parse_model(&get_model(&mut suite.scoring(), model_id, 0).await.unwrap())
}

async fn compare_regions_has_one_comparison_per_indicator(db: TestDb) {
    let suite = Suite::start(&db).await;
    suite.import_paper().await;
    let model = stored_model(&suite, "toe-default").await;
    let indicators: Vec<&str> = model.indicators().iter().map(|n| n.code.as_str()).collect();
    assert!(indicators.len() > 5);

    let request = spb::CompareRegionsRequest {
        scope: Some(scope("toe-default", 0, "", spb::UnitKind::Region)),
        region_codes: vec!["cn-sc".into(), "cn-gz".into()],
    };
    let compared = suite
        .scoring()
        .compare_regions(request.clone())
        .await
        .expect("CompareRegions")
        .into_inner();
    let table = compared.table.expect("a score table");
    let order: Vec<&str> = table.units.iter().map(|u| u.unit_code.as_str()).collect();
    assert_eq!(
        order.iter().copied().collect::<BTreeSet<_>>(),
        BTreeSet::from(REGIONS)
    );
    assert_eq!(
        compared
            .indicators
            .iter()
            .map(|c| c.indicator_code.as_str())
            .collect::<Vec<_>>(),
        indicators,
        "one comparison per model indicator, in model order"
    );
    for c in &compared.indicators {
        assert_eq!(c.raw_values.len(), 2, "{}", c.indicator_code);
        assert_eq!(c.normalised_values.len(), 2, "{}", c.indicator_code);
        let with_data = c.raw_values.iter().filter(|v| v.value.is_some()).count();
        if with_data > 0 {
            assert!(
                order.contains(&c.best_unit_code.as_str()),
                "{}: best unit {:?}",
                c.indicator_code,
                c.best_unit_code
            );
        }
        match (with_data, c.gap) {
            (2, Some(gap)) => assert!(gap >= 0.0, "{}: gap {gap}", c.indicator_code),
            (2, None) => panic!("{}: two values but no gap", c.indicator_code),
            (_, gap) => assert!(
                gap.is_none(),
                "{}: gap without two values",
                c.indicator_code
            ),
        }
    }

    // The same scores as ScoreUnits gives for the two regions.
    let full = score_units(
        &mut suite.scoring(),
        scope("toe-default", 0, "", spb::UnitKind::Region),
    )
    .await
    .unwrap();
    for u in &table.units {
        let same = full
            .units
            .iter()
            .find(|f| f.unit_code == u.unit_code)
            .unwrap();
        assert_eq!(u, same);
    }

    let one = suite
        .scoring()
        .compare_regions(spb::CompareRegionsRequest {
            region_codes: vec!["cn-sc".into()],
            ..request
        })
        .await;
    expect_invalid(one, "region_codes");
    suite.stop().await;
}

/// Codes of the model's aggregate nodes using arithmetic aggregation.
fn arithmetic_aggregates(node: &Node, out: &mut Vec<String>) {
    if let NodeKind::Aggregate(a) = &node.kind {
        if a.aggregation == Aggregation::Arithmetic && a.rescale.is_none() {
            out.push(node.code.clone());
        }
        for child in &a.children {
            arithmetic_aggregates(child, out);
        }
    }
}

async fn explanations_add_up_to_the_scores(db: TestDb) {
    let suite = Suite::start(&db).await;
    let import = suite.import_paper().await;
    let model = stored_model(&suite, "toe-default").await;
    let mut arithmetic = Vec::new();
    arithmetic_aggregates(&model.root, &mut arithmetic);
    assert!(arithmetic.contains(&model.code().to_string()));

    let mut checked = 0;
    for region in REGIONS {
        let explained = suite
            .scoring()
            .explain_score(spb::ExplainScoreRequest {
                scope: Some(scope("toe-default", 0, "", spb::UnitKind::Region)),
                unit_code: region.into(),
            })
            .await
            .unwrap_or_else(|s| panic!("ExplainScore {region}: {s:?}"))
            .into_inner();
        assert_eq!(explained.data_revision, import.revision);
        let unit = explained.unit.expect("the unit's scores");
        assert_eq!(unit.unit_code, region);
        let node_scores: BTreeMap<&str, Option<f64>> = unit
            .nodes
            .iter()
            .map(|n| (n.node_code.as_str(), n.score))
            .collect();
        for parent in &arithmetic {
            let parts: Vec<&spb::Contribution> = explained
                .contributions
                .iter()
                .filter(|c| &c.parent_code == parent)
                .collect();
            assert!(!parts.is_empty(), "{region}: no contributions to {parent}");
            let Some(score) = node_scores[parent.as_str()] else {
                assert!(parts.iter().all(|c| c.contribution.is_none()));
                continue;
            };
            let total: f64 = parts.iter().filter_map(|c| c.contribution).sum();
            assert!(
                (total - score).abs() <= 1e-9,
                "{region} {parent}: contributions add up to {total}, the score is {score}"
            );
            for c in &parts {
                if let (Some(value), Some(child)) = (c.value, node_scores[c.node_code.as_str()]) {
                    assert!((value - child).abs() <= 1e-12, "{region} {}", c.node_code);
                }
            }
            checked += 1;
        }
        let all_strengths: BTreeSet<&String> = explained.strengths.iter().collect();
        assert!(
            explained
                .weaknesses
                .iter()
                .all(|w| !all_strengths.contains(w)),
            "{region}: a node is both a strength and a weakness"
        );
    }
    assert!(checked >= 2 * 4, "aggregates checked: {checked}");

    let unknown = suite
        .scoring()
        .explain_score(spb::ExplainScoreRequest {
            scope: Some(scope("toe-default", 0, "", spb::UnitKind::Region)),
            unit_code: "atlantis".into(),
        })
        .await;
    expect_code(unknown, Code::NotFound);
    suite.stop().await;
}

async fn uncertainty_streams_progress_then_one_reproducible_result(db: TestDb) {
    use spb::run_uncertainty_response::Kind;
    let suite = Suite::start(&db).await;
    let import = suite.import_paper().await;
    let mut scoring = suite.scoring();
    let request = spb::RunUncertaintyRequest {
        scope: Some(scope("toe-default", 0, "", spb::UnitKind::Platform)),
        draws: 4000,
        seed: 20230525,
        weight_perturbation: 0.25,
        vary_methods: false,
    };

    let first = run_uncertainty(&mut scoring, request.clone())
        .await
        .expect("RunUncertainty");
    let (last, progress) = first.split_last().expect("messages");
    let Kind::Result(result) = last else {
        panic!("the last message is not the result: {last:?}");
    };
    assert!(!progress.is_empty(), "no progress before the result");
    let mut done = 0;
    for message in progress {
        let Kind::Progress(p) = message else {
            panic!("a second result: {message:?}");
        };
        assert_eq!(p.draws_total, request.draws);
        assert!(p.draws_done >= done, "progress went back: {progress:?}");
        assert!(p.draws_done <= p.draws_total);
        done = p.draws_done;
    }
    assert_eq!(done, request.draws, "the last progress reports every draw");

    assert_eq!(result.draws, request.draws);
    assert_eq!(result.seed, request.seed);
    assert_eq!(result.data_revision, import.revision);
    let table = score_units(&mut scoring, request.scope.clone().unwrap())
        .await
        .unwrap();
    for u in table.units.iter().filter(|u| u.rank > 0) {
        let interval = result
            .units
            .iter()
            .find(|i| i.unit_code == u.unit_code)
            .unwrap_or_else(|| panic!("{}: no rank interval", u.unit_code));
        assert_eq!(interval.nominal_rank, u.rank, "{}", u.unit_code);
        assert!(
            interval.p05_rank <= interval.median_rank && interval.median_rank <= interval.p95_rank,
            "{}: {interval:?}",
            u.unit_code
        );
    }
    let assumptions: BTreeSet<&str> = result
        .sensitivity
        .iter()
        .map(|s| s.assumption.as_str())
        .collect();
    assert_eq!(assumptions, BTreeSet::from(["weights"]));

    // The same seed gives the same result (compared as bytes: NaN is not equal to itself).
    let second = run_uncertainty(&mut scoring, request.clone())
        .await
        .expect("RunUncertainty again");
    let Some(Kind::Result(again)) = second.last() else {
        panic!("no result the second time");
    };
    assert_eq!(
        again.encode_to_vec(),
        result.encode_to_vec(),
        "same seed, different results"
    );

    for draws in [1, -5] {
        let bad = run_uncertainty(
            &mut scoring,
            spb::RunUncertaintyRequest {
                draws,
                ..request.clone()
            },
        )
        .await;
        expect_invalid(bad, "draws");
    }
    suite.stop().await;
}

/// With `vary_methods` the draws also pick normalisation and aggregation alternatives;
/// the shipped model on the paper's data must still give a result.
async fn uncertainty_can_vary_methods_on_the_shipped_model(db: TestDb) {
    use spb::run_uncertainty_response::Kind;
    let suite = Suite::start(&db).await;
    suite.import_paper().await;
    let messages = run_uncertainty(
        &mut suite.scoring(),
        spb::RunUncertaintyRequest {
            scope: Some(scope("toe-default", 0, "", spb::UnitKind::Platform)),
            draws: 500,
            seed: 7,
            weight_perturbation: 0.25,
            vary_methods: true,
        },
    )
    .await
    .expect("RunUncertainty with vary_methods");
    let Some(Kind::Result(result)) = messages.last() else {
        panic!("no result: {messages:?}");
    };
    let assumptions: BTreeSet<&str> = result
        .sensitivity
        .iter()
        .map(|s| s.assumption.as_str())
        .collect();
    assert!(
        assumptions.contains("normalisation") && assumptions.contains("aggregation"),
        "{assumptions:?}"
    );
    suite.stop().await;
}
