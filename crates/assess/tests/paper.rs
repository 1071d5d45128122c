//! The assessment of the paper's dataset (Pan et al. 2023). Expected values are
//! recomputed here from the raw rows (and the "/" count from the paper's text), never
//! typed in, except the counts the brief states (4 and 3 apps, 1/3 and 0/3 coverage).

mod common;

use std::collections::{BTreeMap, BTreeSet};

use govlens_assess::metrics::{metrics_for_platform, platform_metrics};
use govlens_assess::quality::{findings, of_kind};
use govlens_assess::toe::{platform_indicators, region_indicators};
use govlens_assess::{
    AssessConfig, DataSnapshot, FindingKind, FlagshipRule, Severity, Subject, INDICATORS,
};
use govlens_dataset::{
    AggregateKind, ChannelKind, FunctionCategory, Metric, ObservationRecord, PlatformKind,
    ReportedAggregateRecord, ToeDimension,
};
use govlens_engine::decimal::{mean_of_decimals, round_half_up};

use common::paper_snapshot;

fn aggregates(s: &DataSnapshot, kind: AggregateKind) -> Vec<&ReportedAggregateRecord> {
    s.aggregates.iter().filter(|a| a.kind == kind).collect()
}

fn observations<'a>(
    s: &'a DataSnapshot,
    platform: &str,
    metric: Metric,
) -> Vec<&'a ObservationRecord> {
    s.observations
        .iter()
        .filter(|o| o.platform_code == platform && o.metric == metric)
        .collect()
}

/// The number printed in a Table 2 cell ("4.5points" -> "4.5").
fn rating_text(printed: &str) -> &str {
    printed.trim().trim_end_matches("points").trim()
}

fn government_apps<'a>(s: &'a DataSnapshot, region: &str) -> Vec<&'a str> {
    s.platforms
        .iter()
        .filter(|p| p.region_code == region && p.kind == PlatformKind::GovernmentApp)
        .map(|p| p.code.as_str())
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

#[test]
fn table_2_averages_are_reproduced_to_the_printed_decimal() {
    let s = paper_snapshot();
    let config = AssessConfig::default();
    let averages = aggregates(&s, AggregateKind::Average);
    assert_eq!(averages.len(), 7, "Table 2 has seven 'Average score' cells");
    for agg in &averages {
        assert_eq!(agg.metric, Metric::Rating);
        let m = metrics_for_platform(&s, &agg.subject_code, &config).expect("platform exists");
        // Table 2's method, by hand: mean of the printed store ratings, "/" ignored.
        let cells: Vec<&str> = observations(&s, &agg.subject_code, Metric::Rating)
            .iter()
            .map(|o| rating_text(&o.value_as_printed))
            .collect();
        let mean = mean_of_decimals(&cells).unwrap();
        assert_eq!(m.average_rating, Some(mean), "{}", agg.subject_code);
        assert_eq!(
            m.average_rating_printed.as_deref(),
            Some(rating_text(&agg.value_as_printed)),
            "{}: recomputed vs printed average",
            agg.subject_code
        );
        assert_eq!(round_half_up(mean, 1), rating_text(&agg.value_as_printed));
    }
    // And the quality rules agree: no finding on any Table 2 average.
    let all = findings(&s, &config);
    for agg in &averages {
        assert!(
            !all.iter()
                .any(|f| f.subject == Subject::Aggregate(agg.code.clone())),
            "unexpected finding on {}",
            agg.code
        );
    }
}

#[test]
fn table_3_sums_that_disagree_are_flagged_with_both_values() {
    let s = paper_snapshot();
    let all = findings(&s, &AssessConfig::default());
    let mismatches = of_kind(&all, FindingKind::AggregateMismatch);
    let sums = aggregates(&s, AggregateKind::Sum);
    assert_eq!(sums.len(), 7);
    let (mut agreeing, mut disagreeing) = (0, 0);
    for agg in sums {
        // Components are whole numbers of downloads: exact as integers.
        let recomputed: i128 = observations(&s, &agg.subject_code, Metric::Downloads)
            .iter()
            .map(|o| o.value.expect("prepared") as i128)
            .sum();
        let reported = agg.value.expect("prepared") as i128;
        let finding = mismatches
            .iter()
            .find(|f| f.subject == Subject::Aggregate(agg.code.clone()));
        if recomputed == reported {
            agreeing += 1;
            assert!(finding.is_none(), "{} agrees but was flagged", agg.code);
            continue;
        }
        disagreeing += 1;
        let f = finding.unwrap_or_else(|| panic!("{} disagrees but was not flagged", agg.code));
        assert_eq!(f.severity, Severity::Error);
        assert_eq!(f.reported.as_deref(), Some(agg.value_as_printed.as_str()));
        assert_eq!(f.recomputed, Some(recomputed.to_string()));
        let ratio = f.ratio.expect("a ratio for a sum");
        assert!(close(ratio, reported as f64 / recomputed as f64), "{ratio}");
        assert!(f.message.contains(&agg.value_as_printed), "{}", f.message);
        assert_eq!(f.provenance[0].table, "Table 3");
        assert_eq!(f.provenance[0].column, "Sum");
        assert_eq!(
            f.provenance.len(),
            1 + observations(&s, &agg.subject_code, Metric::Downloads).len()
        );
    }
    assert!(
        agreeing > 0 && disagreeing > 0,
        "{agreeing} agree, {disagreeing} disagree"
    );
    // Every mismatch is one of Table 3's sums.
    assert_eq!(mismatches.len(), disagreeing);
}

/// The "/" cells of Tables 2 and 3, counted in the paper's text.
fn slash_cells_in_the_paper() -> usize {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../datasets/paper/source/pan2023-toe.txt");
    let text = std::fs::read_to_string(path).expect("the vendored paper text");
    let table_2 = text.lines().filter(|l| l.contains("points"));
    let table_3 = text
        .lines()
        .skip_while(|l| !l.starts_with("Table 3:"))
        .take_while(|l| !l.starts_with("2.3 "))
        .filter(|l| l.contains("App") || l.contains("earthquake"));
    table_2
        .chain(table_3)
        .map(|l| l.split('\t').filter(|c| c.trim() == "/").count())
        .sum()
}

#[test]
fn slash_cells_are_reported_as_channels_with_no_data() {
    let s = paper_snapshot();
    let config = AssessConfig::default();
    // By hand: for ratings and downloads, the app stores anyone has data on, and the
    // (app, store) pairs without an observation.
    let mut expected = BTreeSet::new();
    for metric in [Metric::Rating, Metric::Downloads] {
        let stores: Vec<&str> = s
            .channels
            .iter()
            .filter(|c| c.kind == ChannelKind::AppStore)
            .filter(|c| {
                s.observations
                    .iter()
                    .any(|o| o.metric == metric && o.channel_code == c.code)
            })
            .map(|c| c.code.as_str())
            .collect();
        for app in s
            .platforms
            .iter()
            .filter(|p| p.kind == PlatformKind::GovernmentApp)
        {
            for store in &stores {
                let has = observations(&s, &app.code, metric)
                    .iter()
                    .any(|o| o.channel_code == *store);
                if !has {
                    expected.insert((app.code.clone(), store.to_string(), metric));
                }
            }
        }
    }
    assert_eq!(expected.len(), slash_cells_in_the_paper());

    let all = findings(&s, &config);
    let reported: BTreeSet<(String, String, Metric)> = of_kind(&all, FindingKind::ChannelNoData)
        .iter()
        .map(|f| {
            assert_eq!(f.severity, Severity::Info);
            match &f.subject {
                Subject::Cell {
                    platform,
                    channel,
                    metric,
                } => (platform.clone(), channel.clone(), *metric),
                other => panic!("unexpected subject {other}"),
            }
        })
        .collect();
    assert_eq!(reported, expected);

    // The metrics say the same.
    let from_metrics: BTreeSet<(String, String, Metric)> = platform_metrics(&s, &config)
        .iter()
        .flat_map(|m| {
            [&m.rating_coverage, &m.downloads_coverage]
                .into_iter()
                .flat_map(move |c| {
                    c.without_data
                        .iter()
                        .map(move |ch| (m.platform_code.clone(), ch.clone(), c.metric))
                })
        })
        .collect();
    assert_eq!(from_metrics, expected);
}

#[test]
fn the_duocaibao_share_cannot_be_verified() {
    let s = paper_snapshot();
    let all = findings(&s, &AssessConfig::default());
    let shares = aggregates(&s, AggregateKind::PopulationShare);
    assert_eq!(shares.len(), 1);
    let unverifiable = of_kind(&all, FindingKind::PopulationShareUnverifiable);
    assert_eq!(unverifiable.len(), 1);
    let f = unverifiable[0];
    assert_eq!(f.severity, Severity::Info);
    assert_eq!(f.subject, Subject::Aggregate(shares[0].code.clone()));
    assert_eq!(
        f.reported.as_deref(),
        Some(shares[0].value_as_printed.as_str())
    );
    assert!(f.message.contains("cannot be verified"), "{}", f.message);
    assert!(f.recomputed.is_none());
}

#[test]
fn implausible_downloads_per_inhabitant_are_flagged_with_a_unit_hint() {
    let s = paper_snapshot();
    let config = AssessConfig::default();
    let population = |region: &str| {
        s.populations
            .iter()
            .find(|p| p.region_code == region)
            .map(|p| p.population as f64)
            .unwrap()
    };
    let expected: BTreeSet<String> = s
        .platforms
        .iter()
        .filter(|p| p.kind == PlatformKind::GovernmentApp)
        .filter(|p| {
            let total: f64 = observations(&s, &p.code, Metric::Downloads)
                .iter()
                .filter_map(|o| o.value)
                .sum();
            total / population(&p.region_code) > config.max_downloads_per_inhabitant
        })
        .map(|p| p.code.clone())
        .collect();
    assert!(expected.contains("guizhou-tong"));
    let all = findings(&s, &config);
    let flagged = of_kind(&all, FindingKind::ImplausibleDownloadsPerInhabitant);
    let codes: BTreeSet<String> = flagged
        .iter()
        .map(|f| match &f.subject {
            Subject::Platform(code) => code.clone(),
            other => panic!("unexpected subject {other}"),
        })
        .collect();
    assert_eq!(codes, expected);
    for f in flagged {
        assert_eq!(f.severity, Severity::Warning);
        let hint = f.hint.as_deref().unwrap_or_default();
        assert!(hint.contains('万') && hint.contains("million"), "{hint}");
    }
    // A looser threshold flags fewer.
    let loose = AssessConfig {
        max_downloads_per_inhabitant: 1000.0,
        ..AssessConfig::default()
    };
    assert!(of_kind(
        &findings(&s, &loose),
        FindingKind::ImplausibleDownloadsPerInhabitant
    )
    .is_empty());
}

#[test]
fn the_paper_data_has_no_other_findings() {
    let s = paper_snapshot();
    let all = findings(&s, &AssessConfig::default());
    let allowed = [
        FindingKind::AggregateMismatch,
        FindingKind::MixedPrintedUnits,
        FindingKind::PopulationShareUnverifiable,
        FindingKind::ChannelNoData,
        FindingKind::ImplausibleDownloadsPerInhabitant,
    ];
    for f in &all {
        assert!(
            allowed.contains(&f.kind),
            "unexpected {}: {}",
            f.kind,
            f.message
        );
        if f.severity == Severity::Error {
            assert_eq!(f.kind, FindingKind::AggregateMismatch);
        }
    }
    // Mixed units are noted exactly for the sums whose parts print different units.
    for f in of_kind(&all, FindingKind::MixedPrintedUnits) {
        let Subject::Aggregate(code) = &f.subject else {
            panic!("unexpected subject {}", f.subject)
        };
        assert!(code.ends_with(".sum"), "{code}");
    }
}

/// Hand computations of the TOE indicators of one region from the raw rows.
struct Expected {
    avg_rating: f64,
    store_coverage: f64,
    rating_spread: f64,
    function_breadth: f64,
    basic_service_coverage: f64,
    policy_count: f64,
    app_fragmentation: f64,
    policy_org_share: f64,
    downloads_per_inhabitant: f64,
}

fn expected(s: &DataSnapshot, region: &str) -> Expected {
    let apps = government_apps(s, region);
    let rated_stores: BTreeSet<&str> = s
        .observations
        .iter()
        .filter(|o| o.metric == Metric::Rating)
        .map(|o| o.channel_code.as_str())
        .collect();
    let ratings = |app: &str| -> Vec<f64> {
        observations(s, app, Metric::Rating)
            .iter()
            .filter_map(|o| o.value)
            .collect()
    };
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let app_means: Vec<f64> = apps.iter().map(|a| mean(&ratings(a))).collect();
    let spreads: Vec<f64> = apps
        .iter()
        .map(|a| {
            let r = ratings(a);
            r.iter().cloned().fold(f64::MIN, f64::max) - r.iter().cloned().fold(f64::MAX, f64::min)
        })
        .collect();
    let rated_cells: usize = apps.iter().map(|a| ratings(a).len()).sum();
    let platforms: BTreeSet<&str> = s
        .platforms
        .iter()
        .filter(|p| p.region_code == region)
        .map(|p| p.code.as_str())
        .collect();
    let offered: BTreeSet<&str> = s
        .platform_functions
        .iter()
        .filter(|f| platforms.contains(f.platform_code.as_str()))
        .map(|f| f.function_code.as_str())
        .collect();
    let basic: Vec<&str> = s
        .service_functions
        .iter()
        .filter(|f| f.category == FunctionCategory::BasicPublicService)
        .map(|f| f.code.as_str())
        .collect();
    let policies: Vec<_> = s
        .policy_documents
        .iter()
        .filter(|d| d.region_code == region)
        .collect();
    let org = policies
        .iter()
        .filter(|d| d.toe_tags.contains(&ToeDimension::Organization))
        .count();
    let downloads: f64 = apps
        .iter()
        .flat_map(|a| observations(s, a, Metric::Downloads))
        .filter_map(|o| o.value)
        .sum();
    let population = s
        .populations
        .iter()
        .find(|p| p.region_code == region)
        .unwrap()
        .population as f64;
    Expected {
        avg_rating: mean(&app_means),
        store_coverage: rated_cells as f64 / (apps.len() * rated_stores.len()) as f64,
        rating_spread: mean(&spreads),
        function_breadth: offered.len() as f64,
        basic_service_coverage: basic.iter().filter(|b| offered.contains(*b)).count() as f64
            / basic.len() as f64,
        policy_count: policies.len() as f64,
        app_fragmentation: apps.len() as f64,
        policy_org_share: org as f64 / policies.len() as f64,
        downloads_per_inhabitant: downloads / population,
    }
}

#[test]
fn toe_indicators_of_sichuan_and_guizhou() {
    let s = paper_snapshot();
    let table = region_indicators(&s, &AssessConfig::default());
    assert_eq!(table.units, ["cn-gz", "cn-sc"]);
    assert_eq!(table.indicators.len(), INDICATORS.len());
    assert_eq!(
        table.values.len(),
        table.units.len() * table.indicators.len()
    );

    // The counts the brief states.
    assert_eq!(government_apps(&s, "cn-sc").len(), 4);
    assert_eq!(government_apps(&s, "cn-gz").len(), 3);
    assert_eq!(table.value("cn-sc", "toe.o.app_fragmentation"), Some(4.0));
    assert_eq!(table.value("cn-gz", "toe.o.app_fragmentation"), Some(3.0));
    assert!(close(
        table
            .value("cn-sc", "toe.t.basic_service_coverage")
            .unwrap(),
        1.0 / 3.0
    ));
    assert_eq!(
        table.value("cn-gz", "toe.t.basic_service_coverage"),
        Some(0.0)
    );
    assert!(table
        .provenance_of("cn-sc", "toe.t.basic_service_coverage")
        .unwrap()
        .contains("social-security via Tianfu Citizen Cloud"));

    for region in ["cn-sc", "cn-gz"] {
        let e = expected(&s, region);
        let checks = [
            ("toe.t.avg_rating", e.avg_rating),
            ("toe.t.store_coverage", e.store_coverage),
            ("toe.t.rating_spread", e.rating_spread),
            ("toe.t.function_breadth", e.function_breadth),
            ("toe.t.basic_service_coverage", e.basic_service_coverage),
            ("toe.o.policy_count", e.policy_count),
            ("toe.o.app_fragmentation", e.app_fragmentation),
            ("toe.o.policy_org_share", e.policy_org_share),
            ("toe.e.downloads_per_inhabitant", e.downloads_per_inhabitant),
        ];
        for (code, want) in checks {
            let got = table
                .value(region, code)
                .unwrap_or_else(|| panic!("{region} {code} missing"));
            assert!(close(got, want), "{region} {code}: got {got}, want {want}");
            assert!(!table.provenance_of(region, code).unwrap().is_empty());
        }
    }

    // The flagship share: reported for Duocaibao (Guizhou), missing for Sichuan.
    let share = aggregates(&s, AggregateKind::PopulationShare)[0];
    assert_eq!(
        s.platforms
            .iter()
            .find(|p| p.code == share.subject_code)
            .unwrap()
            .region_code,
        "cn-gz"
    );
    assert_eq!(
        table.value("cn-gz", "toe.e.flagship_user_share"),
        share.value
    );
    assert_eq!(table.value("cn-sc", "toe.e.flagship_user_share"), None);
    assert!(table
        .provenance_of("cn-sc", "toe.e.flagship_user_share")
        .unwrap()
        .starts_with("missing"));

    // Notes carry the limits: two regions, one date, unreliable downloads.
    let notes = table.notes.join("\n");
    assert!(notes.contains("column-major"));
    assert!(notes.contains("Only 2 region(s)"));
    assert!(notes.contains("2023-05-25"));
    assert!(notes.contains("toe.e.downloads_per_inhabitant is unreliable"));
}

#[test]
fn the_most_downloaded_rule_picks_the_app_with_most_downloads() {
    let s = paper_snapshot();
    let config = AssessConfig {
        flagship: FlagshipRule::MostDownloaded,
        ..AssessConfig::default()
    };
    let table = region_indicators(&s, &config);
    // By hand: Guizhou's most-downloaded app, and whether a share is reported for it.
    let top = government_apps(&s, "cn-gz")
        .into_iter()
        .max_by(|a, b| {
            let total = |p: &str| -> f64 {
                observations(&s, p, Metric::Downloads)
                    .iter()
                    .filter_map(|o| o.value)
                    .sum()
            };
            total(a).total_cmp(&total(b))
        })
        .unwrap();
    let reported = aggregates(&s, AggregateKind::PopulationShare)
        .into_iter()
        .find(|a| a.subject_code == top)
        .and_then(|a| a.value);
    assert_eq!(table.value("cn-gz", "toe.e.flagship_user_share"), reported);
    assert!(table
        .provenance_of("cn-gz", "toe.e.flagship_user_share")
        .unwrap()
        .contains("most-downloaded"));
}

#[test]
fn platform_indicators_cover_every_platform() {
    let s = paper_snapshot();
    let config = AssessConfig::default();
    let table = platform_indicators(&s, &config);
    assert_eq!(table.units.len(), s.platforms.len());
    assert!(table.indicators.iter().all(|d| d.platform_level));
    for m in platform_metrics(&s, &config) {
        let avg = table.value(&m.platform_code, "toe.t.avg_rating");
        assert_eq!(avg, m.average_rating.map(|r| r.to_f64()));
        assert_eq!(
            table.value(&m.platform_code, "toe.e.downloads_per_inhabitant"),
            m.downloads_per_inhabitant
        );
    }
    // Portals are not in app stores: missing, not zero.
    assert_eq!(
        table.value("sichuan-emergency-portal", "toe.t.store_coverage"),
        None
    );
    assert_eq!(
        table.value("sichuan-emergency-portal", "toe.t.function_breadth"),
        Some(3.0)
    );
    // An app whose functions the paper does not describe: unknown, not zero.
    assert_eq!(table.value("guizhou-tong", "toe.t.function_breadth"), None);
}

#[test]
fn table_values_are_column_major() {
    let s = paper_snapshot();
    let table = region_indicators(&s, &AssessConfig::default());
    let n = table.units.len();
    for (j, def) in table.indicators.iter().enumerate() {
        for (i, unit) in table.units.iter().enumerate() {
            assert_eq!(table.values[j * n + i], table.value(unit, def.code));
        }
        assert_eq!(
            table.column(def.code).unwrap(),
            &table.values[j * n..(j + 1) * n]
        );
    }
    let flat = table.to_column_major_f64();
    assert_eq!(flat.len(), table.values.len());
    assert!(flat[table.index("cn-sc", "toe.e.flagship_user_share").unwrap()].is_nan());
    assert_eq!(table.value("cn-xx", "toe.t.avg_rating"), None);
    assert_eq!(table.value("cn-sc", "toe.x.unknown"), None);
}

#[test]
fn an_as_of_date_before_the_survey_leaves_no_data() {
    let s = paper_snapshot();
    let config = AssessConfig::as_of("2023-05-24");
    for m in platform_metrics(&s, &config) {
        assert!(m.ratings.is_empty() && m.average_rating.is_none() && m.total_downloads.is_none());
    }
    let all = findings(&s, &config);
    assert!(all.iter().all(|f| f.kind != FindingKind::AggregateMismatch));
    let table = region_indicators(&s, &config);
    assert_eq!(table.value("cn-sc", "toe.t.avg_rating"), None);
    assert_eq!(table.value("cn-gz", "toe.e.downloads_per_inhabitant"), None);
    assert_eq!(table.value("cn-gz", "toe.e.flagship_user_share"), None);
    // Policies are not dated by observation: they stay (years <= 2023).
    assert_eq!(table.value("cn-sc", "toe.o.policy_count"), Some(5.0));
    // On the survey date everything is back.
    let on = AssessConfig::as_of("2023-05-25");
    assert_eq!(findings(&s, &on), findings(&s, &AssessConfig::default()));
}

#[test]
fn indicator_definitions_are_complete() {
    let codes: BTreeSet<&str> = INDICATORS.iter().map(|d| d.code).collect();
    assert_eq!(codes.len(), INDICATORS.len(), "codes are unique");
    let mut by_dimension: BTreeMap<ToeDimension, usize> = BTreeMap::new();
    for d in INDICATORS {
        *by_dimension.entry(d.dimension).or_default() += 1;
        let prefix = match d.dimension {
            ToeDimension::Technology => "toe.t.",
            ToeDimension::Organization => "toe.o.",
            ToeDimension::Environment => "toe.e.",
        };
        assert!(d.code.starts_with(prefix), "{}", d.code);
        assert!(!d.name.is_empty() && !d.unit.is_empty() && !d.factor.is_empty());
        assert!(!d.section.is_empty() && !d.description.is_empty());
        let record = d.to_record();
        let mut any = govlens_dataset::AnyRecord::Indicator(record);
        govlens_dataset::prepare(&mut any).unwrap_or_else(|v| panic!("{}: {v:?}", d.code));
    }
    assert_eq!(by_dimension.len(), 3);
}
