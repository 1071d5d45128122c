//! Every rule on small hand-made snapshots, firing and not firing.

mod common;

use govlens_assess::metrics::{
    bayesian_rating, count_weighted_rating, metrics_for_platform, platform_metrics,
};
use govlens_assess::quality::{count_by_severity, findings, of_kind};
use govlens_assess::toe::{platform_indicators, region_indicators};
use govlens_assess::{
    AssessConfig, ChannelUniverse, DataSnapshot, Finding, FindingKind, FlagshipRule, Severity,
    Subject,
};
use govlens_dataset::{
    AggregateKind, ChannelKind, ChannelRecord, FunctionCategory, Metric, PlatformKind,
    PlatformStatus, SubjectKind, ToeDimension,
};
use govlens_engine::decimal::Ratio;

use common::*;

const D1: &str = "2023-01-01";
const D2: &str = "2024-01-01";

fn kinds(findings: &[Finding]) -> Vec<FindingKind> {
    findings.iter().map(|f| f.kind).collect()
}

fn with_ratings(ratings: &[(&str, &str)]) -> DataSnapshot {
    let mut s = base();
    for (channel, printed) in ratings {
        s.observations
            .push(obs("x", channel, Metric::Rating, D1, printed));
    }
    s
}

fn metrics_of(s: &DataSnapshot, config: &AssessConfig) -> govlens_assess::PlatformMetrics {
    metrics_for_platform(s, "x", config).expect("platform x")
}

// ---------------------------------------------------------------------------
// Metrics

#[test]
fn average_rating_is_exact_and_rounded_half_up_at_the_input_precision() {
    let m = metrics_of(
        &with_ratings(&[("a", "4.0points"), ("b", "3.5points")]),
        &AssessConfig::default(),
    );
    assert_eq!(m.average_rating, Some(Ratio::new(15, 4).unwrap()));
    assert_eq!(m.average_rating_printed.as_deref(), Some("3.8"));
    // The f64 trap: (2.5 + 2.8) / 2 is 2.6499999... in binary, but 2.65 -> 2.7 exactly.
    let m = metrics_of(
        &with_ratings(&[("a", "2.5"), ("b", "2.8")]),
        &AssessConfig::default(),
    );
    assert_eq!(m.average_rating_printed.as_deref(), Some("2.7"));
    // Precision follows the inputs: "4" and "3" -> 3.5 -> "4" at zero decimals.
    let m = metrics_of(
        &with_ratings(&[("a", "4"), ("b", "3")]),
        &AssessConfig::default(),
    );
    assert_eq!(m.average_rating_printed.as_deref(), Some("4"));
    // No ratings: nothing.
    let m = metrics_of(&base(), &AssessConfig::default());
    assert_eq!((m.average_rating, m.average_rating_printed), (None, None));
}

#[test]
fn the_latest_observation_per_channel_is_used_optionally_up_to_a_date() {
    let mut s = base();
    s.observations
        .push(obs("x", "a", Metric::Rating, D2, "4.0"));
    s.observations
        .push(obs("x", "a", Metric::Rating, D1, "3.0"));
    let latest = metrics_of(&s, &AssessConfig::default());
    assert_eq!(latest.ratings.len(), 1);
    assert_eq!(latest.ratings[0].value.to_string(), "4.0");
    assert_eq!(latest.latest_observed_on.as_deref(), Some(D2));
    let earlier = metrics_of(&s, &AssessConfig::as_of("2023-06-30"));
    assert_eq!(earlier.ratings[0].value.to_string(), "3.0");
    let before = metrics_of(&s, &AssessConfig::as_of("2022-12-31"));
    assert!(before.ratings.is_empty());
}

#[test]
fn count_weighted_and_bayesian_ratings_follow_their_formulas() {
    let pairs = [(4.0, 100.0), (2.0, 300.0)];
    // sum(r n) / sum(n) = (400 + 600) / 400
    assert_eq!(count_weighted_rating(&pairs), Some(2.5));
    // (C m + sum(r n)) / (C + sum(n)) = (10 * 3 + 1000) / (10 + 400)
    assert_eq!(bayesian_rating(3.0, 10.0, &pairs), Some(1030.0 / 410.0));
    // C = 0 (or negative, or NaN) is the plain count-weighted mean.
    assert_eq!(bayesian_rating(3.0, 0.0, &pairs), Some(2.5));
    assert_eq!(bayesian_rating(3.0, -5.0, &pairs), Some(2.5));
    assert_eq!(bayesian_rating(3.0, f64::NAN, &pairs), Some(2.5));
    // No counts: None. Zero counts: weighted None, Bayesian is the prior.
    assert_eq!(count_weighted_rating(&[]), None);
    assert_eq!(bayesian_rating(3.0, 10.0, &[]), None);
    assert_eq!(count_weighted_rating(&[(4.0, 0.0)]), None);
    assert_eq!(bayesian_rating(3.0, 10.0, &[(4.0, 0.0)]), Some(3.0));
    // Negative or non-finite counts are ignored.
    assert_eq!(
        count_weighted_rating(&[(4.0, 100.0), (1.0, -50.0)]),
        Some(4.0)
    );
    assert_eq!(
        count_weighted_rating(&[(4.0, 100.0), (1.0, f64::INFINITY)]),
        Some(4.0)
    );

    // Through the metrics: counts pair with ratings of the same channel.
    let mut s = with_ratings(&[("a", "4.0"), ("b", "2.0")]);
    s.observations
        .push(obs("x", "a", Metric::RatingCount, D1, "100"));
    s.observations
        .push(obs("x", "b", Metric::RatingCount, D1, "300"));
    let config = AssessConfig {
        prior_mean: 3.0,
        prior_strength: 10.0,
        ..AssessConfig::default()
    };
    let m = metrics_of(&s, &config);
    assert_eq!(m.weighted_rating, Some(2.5));
    assert_eq!(m.bayesian_rating, Some(1030.0 / 410.0));
    assert_eq!(m.rating_count_total, Some(400.0));
    // Without counts both are None (the plain average still exists).
    let m = metrics_of(&with_ratings(&[("a", "4.0")]), &config);
    assert_eq!((m.weighted_rating, m.bayesian_rating), (None, None));
    assert!(m.average_rating.is_some());
}

#[test]
fn rating_spread_needs_two_channels() {
    let m = metrics_of(
        &with_ratings(&[("a", "4.1"), ("b", "1.4")]),
        &AssessConfig::default(),
    );
    assert_eq!(
        m.rating_spread.map(|d| d.to_string()).as_deref(),
        Some("2.7")
    );
    let m = metrics_of(&with_ratings(&[("a", "4.1")]), &AssessConfig::default());
    assert_eq!(m.rating_spread, None);
}

#[test]
fn coverage_follows_the_channel_universe() {
    let mut s = with_ratings(&[("a", "4.0"), ("b", "3.0")]);
    s.channels.push(store("c")); // nobody has data on c
    s.channels.push(ChannelRecord {
        code: "web".into(),
        name: "Web".into(),
        kind: ChannelKind::Web,
        vendor: String::new(),
    });
    s.platforms.push(app("y", "r"));
    s.observations
        .push(obs("y", "a", Metric::Rating, D1, "2.0"));
    let surveyed = AssessConfig::default();
    let x = metrics_of(&s, &surveyed);
    assert_eq!(x.channels_with_data(), ["a", "b"]);
    assert!(x.channels_without_data().is_empty());
    let y = metrics_for_platform(&s, "y", &surveyed).unwrap();
    assert_eq!(y.channels_without_data(), ["b"]);
    assert_eq!(
        (y.rating_coverage.cells_with_data, y.rating_coverage.cells),
        (1, 2)
    );

    let all = AssessConfig {
        channel_universe: ChannelUniverse::AllAppStores,
        ..AssessConfig::default()
    };
    assert_eq!(metrics_of(&s, &all).channels_without_data(), ["c"]);
    let no_data: Vec<Finding> = of_kind(&findings(&s, &all), FindingKind::ChannelNoData)
        .into_iter()
        .cloned()
        .collect();
    // x misses c for ratings; y misses b and c (ratings); downloads: a, b, c for both.
    assert_eq!(no_data.len(), 1 + 2 + 3 + 3);
    // Under the surveyed universe only y/b (ratings) is a gap; nobody has downloads.
    let no_data = findings(&s, &surveyed);
    let gaps = of_kind(&no_data, FindingKind::ChannelNoData);
    assert_eq!(gaps.len(), 1);
    assert_eq!(
        gaps[0].subject,
        Subject::Cell {
            platform: "y".into(),
            channel: "b".into(),
            metric: Metric::Rating
        }
    );
}

#[test]
fn downloads_per_inhabitant_uses_the_population_of_the_right_year() {
    let mut s = base();
    s.populations = vec![population("r", 2020, 1_000), population("r", 2022, 2_000)];
    s.observations
        .push(obs("x", "a", Metric::Downloads, "2021-06-01", "300"));
    s.observations
        .push(obs("x", "b", Metric::Downloads, "2021-06-01", "100"));
    let m = metrics_of(&s, &AssessConfig::default());
    assert_eq!(
        m.total_downloads.map(|d| d.to_string()).as_deref(),
        Some("400")
    );
    assert_eq!(m.population.as_ref().map(|p| p.year), Some(2020));
    assert_eq!(m.downloads_per_inhabitant, Some(0.4));
    // Before every population year: the latest population.
    for o in &mut s.observations {
        o.observed_on = "2019-06-01".into();
    }
    let m = metrics_of(&s, &AssessConfig::default());
    assert_eq!(m.population.as_ref().map(|p| p.year), Some(2022));
    assert_eq!(m.downloads_per_inhabitant, Some(0.2));
    // No (positive) population: None.
    s.populations = vec![population("r", 2020, 0)];
    let m = metrics_of(&s, &AssessConfig::default());
    assert_eq!((m.population, m.downloads_per_inhabitant), (None, None));
    assert!(m.total_downloads.is_some());
}

// ---------------------------------------------------------------------------
// Quality: reported aggregates

fn two_ratings_with_average(printed: &str) -> DataSnapshot {
    let mut s = with_ratings(&[("a", "4.0points"), ("b", "3.5points")]);
    s.aggregates.push(aggregate(
        "avg",
        AggregateKind::Average,
        "x",
        Metric::Rating,
        printed,
    ));
    s
}

#[test]
fn averages_are_compared_at_the_printed_precision() {
    for agreeing in ["3.8points", "3.75", "4"] {
        let all = findings(
            &two_ratings_with_average(agreeing),
            &AssessConfig::default(),
        );
        assert!(all.is_empty(), "{agreeing}: {:?}", kinds(&all));
    }
    let all = findings(
        &two_ratings_with_average("3.7points"),
        &AssessConfig::default(),
    );
    assert_eq!(kinds(&all), [FindingKind::AggregateMismatch]);
    let f = &all[0];
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(f.reported.as_deref(), Some("3.7points"));
    assert_eq!(f.recomputed.as_deref(), Some("3.8"));
    assert!(f.message.contains("15/4"), "{}", f.message);
    assert_eq!(f.provenance.len(), 3, "aggregate + two components");
}

fn two_downloads_with_sum(a: &str, b: &str, sum: &str) -> DataSnapshot {
    let mut s = base();
    s.populations.clear(); // keep the per-inhabitant rule out of the way
    s.observations.push(obs("x", "a", Metric::Downloads, D1, a));
    s.observations.push(obs("x", "b", Metric::Downloads, D1, b));
    s.aggregates.push(aggregate(
        "sum",
        AggregateKind::Sum,
        "x",
        Metric::Downloads,
        sum,
    ));
    s
}

#[test]
fn sums_are_compared_exactly_and_show_both_values_and_the_ratio() {
    let agree = findings(
        &two_downloads_with_sum("1.5 million", "250000", "1.75 million"),
        &AssessConfig::default(),
    );
    assert_eq!(kinds(&agree), [FindingKind::MixedPrintedUnits]);
    let same_units = findings(
        &two_downloads_with_sum("1500000", "250000", "1750000"),
        &AssessConfig::default(),
    );
    assert!(same_units.is_empty(), "{:?}", kinds(&same_units));

    let all = findings(
        &two_downloads_with_sum("1500000", "250000", "1750001"),
        &AssessConfig::default(),
    );
    assert_eq!(kinds(&all), [FindingKind::AggregateMismatch]);
    let f = &all[0];
    assert_eq!(f.reported.as_deref(), Some("1750001"));
    assert_eq!(f.recomputed.as_deref(), Some("1750000"));
    assert_eq!(f.ratio, Some(1_750_001.0 / 1_750_000.0));
    assert!(f.message.contains("1,750,000"), "{}", f.message);

    // A printed sum smaller than one of its parts says so.
    let all = findings(
        &two_downloads_with_sum("25000", "339000", "64000"),
        &AssessConfig::default(),
    );
    let f = of_kind(&all, FindingKind::AggregateMismatch)[0];
    assert!(
        f.message.contains("smaller than one of its parts"),
        "{}",
        f.message
    );
}

#[test]
fn an_aggregate_without_components_is_unverifiable() {
    let mut s = base();
    s.aggregates.push(aggregate(
        "sum",
        AggregateKind::Sum,
        "x",
        Metric::Downloads,
        "100",
    ));
    let all = findings(&s, &AssessConfig::default());
    assert_eq!(kinds(&all), [FindingKind::AggregateUnverifiable]);
    assert_eq!(all[0].severity, Severity::Info);
    // Components dated after the aggregate do not count.
    s.observations
        .push(obs("x", "a", Metric::Downloads, "2025-01-01", "100"));
    assert_eq!(
        kinds(&findings(&s, &AssessConfig::default())),
        [FindingKind::AggregateUnverifiable]
    );
}

fn share_snapshot(printed: &str, users: Option<&str>) -> DataSnapshot {
    let mut s = base();
    s.aggregates.push(aggregate(
        "share",
        AggregateKind::PopulationShare,
        "x",
        Metric::RegisteredUsers,
        printed,
    ));
    if let Some(u) = users {
        s.observations
            .push(obs("x", "a", Metric::RegisteredUsers, D1, u));
    }
    s
}

#[test]
fn population_shares_are_checked_when_user_counts_exist() {
    // 100,000 of 1,000,000 = 10.0%.
    assert!(findings(
        &share_snapshot("10.0%", Some("100000")),
        &AssessConfig::default()
    )
    .is_empty());
    let all = findings(
        &share_snapshot("12.5%", Some("100000")),
        &AssessConfig::default(),
    );
    assert_eq!(kinds(&all), [FindingKind::AggregateMismatch]);
    assert_eq!(all[0].severity, Severity::Warning);
    assert_eq!(all[0].recomputed.as_deref(), Some("0.100"));

    let all = findings(&share_snapshot("12.5%", None), &AssessConfig::default());
    assert_eq!(kinds(&all), [FindingKind::PopulationShareUnverifiable]);
    assert_eq!(all[0].severity, Severity::Info);
    assert!(
        all[0].message.contains("125,000 registered users"),
        "{}",
        all[0].message
    );

    let mut s = share_snapshot("12.5%", Some("100000"));
    s.populations.clear();
    let all = findings(&s, &AssessConfig::default());
    assert_eq!(kinds(&all), [FindingKind::PopulationShareUnverifiable]);
    assert!(
        all[0].message.contains("no population"),
        "{}",
        all[0].message
    );
}

// ---------------------------------------------------------------------------
// Quality: values

#[test]
fn ratings_outside_the_scale_and_negative_counts_are_errors() {
    let s = with_ratings(&[("a", "5.0"), ("b", "0")]);
    assert!(findings(&s, &AssessConfig::default()).is_empty());
    let mut s = with_ratings(&[("a", "5.5"), ("b", "-1")]);
    s.observations
        .push(obs("x", "a", Metric::Downloads, D1, "-5"));
    s.populations.clear();
    let all = findings(&s, &AssessConfig::default());
    let out = of_kind(&all, FindingKind::RatingOutOfRange);
    assert_eq!(out.len(), 2);
    assert!(out.iter().all(|f| f.severity == Severity::Error));
    assert_eq!(of_kind(&all, FindingKind::NegativeCount).len(), 1);
}

fn downloads(printed: &str) -> DataSnapshot {
    let mut s = base(); // population 1,000,000
    s.observations
        .push(obs("x", "a", Metric::Downloads, D1, printed));
    s
}

#[test]
fn downloads_per_inhabitant_above_the_threshold_are_flagged() {
    let all = findings(&downloads("11 million"), &AssessConfig::default());
    assert_eq!(
        kinds(&all),
        [FindingKind::ImplausibleDownloadsPerInhabitant]
    );
    assert_eq!(all[0].recomputed.as_deref(), Some("11.00"));
    assert!(all[0].hint.as_deref().unwrap().contains("万"));
    // Not above: nothing.
    assert!(findings(&downloads("9 million"), &AssessConfig::default()).is_empty());
    assert!(findings(&downloads("10 million"), &AssessConfig::default()).is_empty());
    // A configurable threshold.
    let loose = AssessConfig {
        max_downloads_per_inhabitant: 20.0,
        ..AssessConfig::default()
    };
    assert!(findings(&downloads("11 million"), &loose).is_empty());
    let off = AssessConfig {
        max_downloads_per_inhabitant: f64::INFINITY,
        ..AssessConfig::default()
    };
    assert!(findings(&downloads("11 million"), &off).is_empty());
    // Without "million" in the print, a generic hint.
    let all = findings(&downloads("11000000"), &AssessConfig::default());
    assert!(!all[0].hint.as_deref().unwrap().contains("万"));
}

// ---------------------------------------------------------------------------
// Quality: time series

fn series(metric: Metric, first: &str, second: &str) -> DataSnapshot {
    let mut s = base();
    s.populations.clear();
    s.observations.push(obs("x", "a", metric, D1, first));
    s.observations.push(obs("x", "a", metric, D2, second));
    s
}

#[test]
fn decreasing_cumulative_downloads_are_flagged() {
    let all = findings(
        &series(Metric::Downloads, "500", "400"),
        &AssessConfig::default(),
    );
    assert_eq!(kinds(&all), [FindingKind::DownloadsDecreased]);
    assert_eq!(all[0].severity, Severity::Warning);
    assert_eq!(all[0].provenance.len(), 2);
    assert!(findings(
        &series(Metric::Downloads, "400", "500"),
        &AssessConfig::default()
    )
    .is_empty());
    assert!(findings(
        &series(Metric::Downloads, "400", "400"),
        &AssessConfig::default()
    )
    .is_empty());
}

#[test]
fn rating_jumps_above_the_configured_change_are_flagged() {
    let all = findings(
        &series(Metric::Rating, "4.5", "3.0"),
        &AssessConfig::default(),
    );
    assert_eq!(kinds(&all), [FindingKind::RatingJump]);
    assert!(all[0].message.contains("-1.5"), "{}", all[0].message);
    for (before, after) in [("4.5", "3.6"), ("4.5", "3.5"), ("3.5", "4.5")] {
        let all = findings(
            &series(Metric::Rating, before, after),
            &AssessConfig::default(),
        );
        assert!(all.is_empty(), "{before} -> {after}");
    }
    let loose = AssessConfig {
        max_rating_change: 2.0,
        ..AssessConfig::default()
    };
    assert!(findings(&series(Metric::Rating, "4.5", "3.0"), &loose).is_empty());
    let off = AssessConfig {
        max_rating_change: f64::NAN,
        ..AssessConfig::default()
    };
    assert!(findings(&series(Metric::Rating, "4.5", "1.0"), &off).is_empty());
}

// ---------------------------------------------------------------------------
// Quality: integrity

#[test]
fn broken_references_invalid_dates_unreadable_values_and_duplicates() {
    let mut s = base();
    s.populations.clear();
    s.platforms.push(app("orphan", "nowhere"));
    s.observations
        .push(obs("ghost", "a", Metric::Rating, D1, "3.0"));
    s.observations
        .push(obs("x", "zz", Metric::Rating, D1, "3.0"));
    s.observations
        .push(obs("x", "a", Metric::Rating, "25/05/2023", "3.0"));
    s.observations
        .push(obs("x", "b", Metric::Rating, D1, "n/a"));
    s.observations
        .push(obs("x", "a", Metric::Downloads, D1, "10"));
    s.observations
        .push(obs("x", "a", Metric::Downloads, D1, "10"));
    s.platform_functions.push(offers("x", "not-in-catalogue"));
    s.platform_functions
        .push(offers("ghost", "not-in-catalogue"));
    s.policy_documents.push(policy("p", "nowhere", None, &[]));
    s.populations.push(population("nowhere", 2020, 5));
    let mut agg = aggregate("agg", AggregateKind::Sum, "ghost", Metric::Downloads, "n/a");
    agg.observed_on = "yesterday".into();
    s.aggregates.push(agg);

    let all = findings(&s, &AssessConfig::default());
    let unknown = of_kind(&all, FindingKind::UnknownReference);
    let subjects: Vec<String> = unknown.iter().map(|f| f.subject.to_string()).collect();
    for expected in [
        "platform orphan",
        "population nowhere/2020",
        "platform function x/not-in-catalogue",
        "platform function ghost/not-in-catalogue",
        "policy document p",
        "platform ghost",
        "channel zz",
        "aggregate agg",
    ] {
        assert!(
            subjects.iter().any(|s| s == expected),
            "{expected} not in {subjects:?}"
        );
    }
    assert_eq!(of_kind(&all, FindingKind::InvalidDate).len(), 2);
    assert_eq!(of_kind(&all, FindingKind::UnreadableValue).len(), 2);
    assert_eq!(of_kind(&all, FindingKind::DuplicateObservation).len(), 1);
    assert!(all
        .iter()
        .all(|f| f.severity <= Severity::Warning || f.kind == FindingKind::AggregateMismatch));

    // The unknown channel's rating still counts for x, outside the universe.
    let m = metrics_of(&s, &AssessConfig::default());
    assert!(m.channels_with_data().iter().any(|c| c == "zz"));
}

#[test]
fn nothing_panics_on_empty_or_messy_snapshots() {
    let empty = DataSnapshot::new();
    assert!(empty.is_empty());
    let config = AssessConfig::default();
    assert!(platform_metrics(&empty, &config).is_empty());
    assert!(findings(&empty, &config).is_empty());
    let table = region_indicators(&empty, &config);
    assert!(table.units.is_empty() && table.values.is_empty());
    assert!(platform_indicators(&empty, &config).units.is_empty());

    let mut s = base();
    s.platforms.push(app("x", "r")); // duplicate code
    s.platforms.push(app("", ""));
    let mut nan = obs("x", "a", Metric::Rating, D1, "");
    nan.value = Some(f64::NAN);
    s.observations.push(nan);
    let mut huge = obs("x", "b", Metric::Downloads, D1, "");
    huge.value = Some(1e300);
    s.observations.push(huge);
    let mut big = obs("x", "a", Metric::Downloads, D1, "");
    big.value = Some(1.7e38);
    s.observations.push(big);
    s.observations.push(obs(
        "x",
        "b",
        Metric::Downloads,
        D1,
        "170141183460469231731687303715884105727",
    ));
    s.observations.push(obs("", "", Metric::Rating, "", ""));
    s.populations.push(population("r", 2023, i64::MAX));
    s.populations.push(population("r", -5, -5));
    s.aggregates.push(aggregate(
        "s",
        AggregateKind::Sum,
        "x",
        Metric::Downloads,
        "1",
    ));
    s.aggregates.push(aggregate(
        "a",
        AggregateKind::Average,
        "x",
        Metric::Downloads,
        "1",
    ));
    let mut region_share = aggregate(
        "rs",
        AggregateKind::PopulationShare,
        "r",
        Metric::RegisteredUsers,
        "50%",
    );
    region_share.subject_kind = SubjectKind::Region;
    s.aggregates.push(region_share);
    let mut region_avg = aggregate("ra", AggregateKind::Average, "r", Metric::Rating, "3");
    region_avg.subject_kind = SubjectKind::Region;
    s.aggregates.push(region_avg);
    s.service_functions
        .push(function("edu", FunctionCategory::BasicPublicService));
    for config in [
        AssessConfig::default(),
        AssessConfig::as_of("not a date"),
        AssessConfig {
            prior_mean: f64::NAN,
            prior_strength: f64::INFINITY,
            max_downloads_per_inhabitant: -1.0,
            max_rating_change: -1.0,
            channel_universe: ChannelUniverse::AllAppStores,
            flagship: FlagshipRule::MostDownloaded,
            as_of: None,
        },
    ] {
        let metrics = platform_metrics(&s, &config);
        assert_eq!(metrics.len(), 2, "distinct platform codes");
        let _ = findings(&s, &config);
        let table = region_indicators(&s, &config);
        assert_eq!(
            table.values.len(),
            table.units.len() * table.indicators.len()
        );
        assert!(table.values.iter().flatten().all(|v| v.is_finite()));
        let _ = platform_indicators(&s, &config);
    }
}

// ---------------------------------------------------------------------------
// TOE derivation

fn toe_snapshot() -> DataSnapshot {
    let mut s = base();
    s.regions.push(region("q"));
    s.regions.push(region("empty"));
    s.populations.push(population("q", 2023, 500));
    s.platforms.push(app("y", "r"));
    s.platforms.push(app("z", "q"));
    let mut retired = app("old", "q");
    retired.status = PlatformStatus::Retired;
    s.platforms.push(retired);
    s.platforms
        .push(platform_of("portal", "q", PlatformKind::EmergencyPortal));
    for (p, a, b) in [
        ("x", "4.0", "3.0"),
        ("y", "2.0", "2.0"),
        ("z", "5.0", "1.0"),
    ] {
        s.observations.push(obs(p, "a", Metric::Rating, D1, a));
        s.observations.push(obs(p, "b", Metric::Rating, D1, b));
    }
    s.observations
        .push(obs("x", "a", Metric::Downloads, D1, "300"));
    s.observations
        .push(obs("y", "a", Metric::Downloads, D1, "700"));
    s.observations
        .push(obs("old", "a", Metric::Rating, D1, "1.0"));
    s.service_functions = vec![
        function("edu", FunctionCategory::BasicPublicService),
        function("health", FunctionCategory::BasicPublicService),
        function("news", FunctionCategory::Information),
    ];
    s.platform_functions = vec![offers("x", "edu"), offers("y", "edu"), offers("y", "news")];
    s.policy_documents = vec![
        policy("p1", "r", Some(2020), &[ToeDimension::Organization]),
        policy("p2", "r", Some(2025), &[ToeDimension::Technology]),
        policy(
            "p3",
            "r",
            None,
            &[ToeDimension::Technology, ToeDimension::Organization],
        ),
    ];
    let mut share_x = aggregate(
        "sx",
        AggregateKind::PopulationShare,
        "x",
        Metric::RegisteredUsers,
        "20%",
    );
    share_x.observed_on = D1.into();
    let mut share_y = aggregate(
        "sy",
        AggregateKind::PopulationShare,
        "y",
        Metric::RegisteredUsers,
        "30%",
    );
    share_y.observed_on = D1.into();
    s.aggregates = vec![share_x, share_y];
    s
}

#[test]
fn toe_indicators_on_a_small_snapshot() {
    let s = toe_snapshot();
    let t = region_indicators(&s, &AssessConfig::default());
    // Regions with platforms only, sorted; "empty" has none.
    assert_eq!(t.units, ["q", "r"]);
    let v = |u: &str, c: &str| t.value(u, c);
    // r: x (3.5, spread 1), y (2.0, spread 0).
    assert_eq!(v("r", "toe.t.avg_rating"), Some(2.75));
    assert_eq!(v("r", "toe.t.rating_spread"), Some(0.5));
    assert_eq!(v("r", "toe.t.store_coverage"), Some(1.0));
    assert_eq!(v("r", "toe.t.function_breadth"), Some(2.0));
    assert_eq!(v("r", "toe.t.basic_service_coverage"), Some(0.5));
    assert_eq!(v("r", "toe.o.policy_count"), Some(3.0));
    assert_eq!(v("r", "toe.o.app_fragmentation"), Some(2.0));
    assert!((v("r", "toe.o.policy_org_share").unwrap() - 2.0 / 3.0).abs() < 1e-12);
    assert_eq!(
        v("r", "toe.e.downloads_per_inhabitant"),
        Some(1000.0 / 1_000_000.0)
    );
    assert_eq!(
        v("r", "toe.e.flagship_user_share"),
        Some(0.3),
        "largest reported share"
    );
    // q: z only (the retired app does not count), portal has no functions recorded.
    assert_eq!(v("q", "toe.o.app_fragmentation"), Some(1.0));
    assert_eq!(v("q", "toe.t.avg_rating"), Some(3.0));
    assert_eq!(v("q", "toe.t.rating_spread"), Some(4.0));
    // Missing is missing, not zero.
    assert_eq!(v("q", "toe.t.function_breadth"), None);
    assert_eq!(v("q", "toe.t.basic_service_coverage"), None);
    assert_eq!(
        v("q", "toe.o.policy_count"),
        Some(0.0),
        "other regions have policies"
    );
    assert_eq!(v("q", "toe.o.policy_org_share"), None);
    assert_eq!(v("q", "toe.e.downloads_per_inhabitant"), None);
    assert_eq!(v("q", "toe.e.flagship_user_share"), None);
    assert!(t
        .provenance_of("q", "toe.e.downloads_per_inhabitant")
        .unwrap()
        .starts_with("missing"));

    // Policies issued after the as-of year drop out.
    let t = region_indicators(&s, &AssessConfig::as_of("2023-12-31"));
    assert_eq!(t.value("r", "toe.o.policy_count"), Some(2.0));

    // The most-downloaded rule: y has 700 > 300 downloads, and a 30% share.
    let most = AssessConfig {
        flagship: FlagshipRule::MostDownloaded,
        ..AssessConfig::default()
    };
    assert_eq!(
        region_indicators(&s, &most).value("r", "toe.e.flagship_user_share"),
        Some(0.3)
    );
    let mut s2 = s.clone();
    s2.aggregates.retain(|a| a.subject_code != "y");
    assert_eq!(
        region_indicators(&s2, &most).value("r", "toe.e.flagship_user_share"),
        None
    );
    assert_eq!(
        region_indicators(&s2, &AssessConfig::default()).value("r", "toe.e.flagship_user_share"),
        Some(0.2)
    );

    // Without any policy documents or platform functions at all: missing.
    let mut bare = s.clone();
    bare.policy_documents.clear();
    bare.platform_functions.clear();
    bare.service_functions.clear();
    let t = region_indicators(&bare, &AssessConfig::default());
    assert_eq!(t.value("r", "toe.o.policy_count"), None);
    assert_eq!(t.value("r", "toe.t.function_breadth"), None);
    assert_eq!(t.value("r", "toe.t.basic_service_coverage"), None);
}

#[test]
fn counting_findings_by_severity() {
    let mut s = two_ratings_with_average("3.7");
    s.channels.push(store("c"));
    let config = AssessConfig {
        channel_universe: ChannelUniverse::AllAppStores,
        ..AssessConfig::default()
    };
    let all = findings(&s, &config);
    // c (ratings) and a, b, c (downloads) are "/" cells; one average mismatch.
    assert_eq!(count_by_severity(&all), (4, 0, 1));
}
