//! Every rule of the default rulebook on hand-made fact sheets: firing, not firing and
//! insufficient data.

use super::support::{book, check, diag, finding, platform, region};
use crate::{Outcome, Severity, Status, UnitKind};

const SRC: &str = "test fixture";

use Severity::{High, Low, Medium};
use Status::{Absent, InsufficientData, Present};

// ---- 3.1.1 ------------------------------------------------------------------------

/// A region with good infrastructure, level with its peer.
fn good_311(code: &str) -> crate::UnitFacts {
    region(code)
        .with("indicator.toe.t.store_coverage", 0.95, SRC)
        .with("indicator.toe.t.rating_spread", 1.0, SRC)
        .with("score.technology.infrastructure", 0.8, SRC)
}

#[test]
fn d311_absent_when_all_fine() {
    let f = finding(vec![good_311("a"), good_311("b")], "a", "3.1.1");
    check(&f, Absent, None, &[false, false, false]);
}

#[test]
fn d311_store_coverage_below_0_9_fires() {
    let a = good_311("a").with("indicator.toe.t.store_coverage", 0.8, SRC);
    let f = finding(vec![a, good_311("b")], "a", "3.1.1");
    check(&f, Present, Some(Medium), &[true, false, false]);
    let e = &f.evidence[0];
    assert_eq!(e.value, Some(0.8));
    assert_eq!(e.threshold, 0.9);
    assert_eq!(e.source.as_deref(), Some(SRC));
    assert!(e.detail.contains("0.8 < 0.9: fired"), "{}", e.detail);
    // Exactly 0.9 is not below 0.9.
    let a = good_311("a").with("indicator.toe.t.store_coverage", 0.9, SRC);
    check(
        &finding(vec![a, good_311("b")], "a", "3.1.1"),
        Absent,
        None,
        &[false, false, false],
    );
}

#[test]
fn d311_rating_spread_at_least_1_5_fires() {
    let a = good_311("a").with("indicator.toe.t.rating_spread", 1.5, SRC);
    let f = finding(vec![a, good_311("b")], "a", "3.1.1");
    check(&f, Present, Some(Medium), &[false, true, false]);
    let a = good_311("a").with("indicator.toe.t.rating_spread", 1.49, SRC);
    check(
        &finding(vec![a, good_311("b")], "a", "3.1.1"),
        Absent,
        None,
        &[false, false, false],
    );
}

#[test]
fn d311_infrastructure_gap_to_best_fires_low() {
    let a = good_311("a").with("score.technology.infrastructure", 0.7, SRC);
    let b = good_311("b").with("score.technology.infrastructure", 0.8, "engine run 7");
    let d = diag(&book(), vec![a, b], "a");
    let f = d.finding("3.1.1").unwrap();
    check(f, Present, Some(Low), &[false, false, true]);
    let e = &f.evidence[2];
    let r = e.reference.as_ref().unwrap();
    assert_eq!(
        (r.code.as_str(), r.value, r.source.as_str()),
        ("b", 0.8, "engine run 7")
    );
    assert!((e.gap.unwrap() - 0.1).abs() < 1e-12);
    // The best unit itself does not lag.
    let f = finding(
        vec![
            good_311("a").with("score.technology.infrastructure", 0.7, SRC),
            good_311("b"),
        ],
        "b",
        "3.1.1",
    );
    check(&f, Absent, None, &[false, false, false]);
    assert_eq!(f.evidence[2].gap, Some(0.0));
    assert_eq!(f.evidence[2].reference.as_ref().unwrap().code, "b");
}

#[test]
fn d311_gap_of_exactly_0_05_does_not_fire() {
    // 0.8 - 0.75 is 0.05000000000000004 in floating point: the tolerance keeps it out.
    let a = good_311("a").with("score.technology.infrastructure", 0.75, SRC);
    check(
        &finding(vec![a, good_311("b")], "a", "3.1.1"),
        Absent,
        None,
        &[false, false, false],
    );
}

#[test]
fn d311_insufficient_data() {
    // Nothing known.
    let f = finding(vec![region("a")], "a", "3.1.1");
    check(&f, InsufficientData, None, &[false, false, false]);
    assert!(f.evidence.iter().all(|e| e.outcome == Outcome::MissingData));
    // One condition evaluable and not firing, the others unknown: cannot rule it out.
    let a = region("a").with("indicator.toe.t.store_coverage", 0.95, SRC);
    let f = finding(vec![a], "a", "3.1.1");
    check(&f, InsufficientData, None, &[false, false, false]);
    assert_eq!(f.evidence[0].outcome, Outcome::NotFired);
    // A lone region cannot lag behind the best: the gap condition lacks data.
    let f = finding(vec![good_311("a")], "a", "3.1.1");
    check(&f, InsufficientData, None, &[false, false, false]);
    assert_eq!(f.evidence[2].outcome, Outcome::MissingData);
    assert!(f.evidence[2].detail.contains("no other region"));
    // A firing condition is enough in `any` mode even with others missing.
    let a = region("a").with("indicator.toe.t.store_coverage", 0.5, SRC);
    check(
        &finding(vec![a], "a", "3.1.1"),
        Present,
        Some(Medium),
        &[true, false, false],
    );
}

// ---- 3.1.2 ------------------------------------------------------------------------

fn good_312(code: &str) -> crate::UnitFacts {
    region(code)
        .with("region.basic_services_missing", 0.0, SRC)
        .with("indicator.toe.t.basic_service_coverage", 1.0, SRC)
        .with("indicator.toe.t.function_breadth", 10.0, SRC)
        .with("indicator.toe.t.avg_rating", 3.5, SRC)
        .with("score.technology.service_functions", 0.7, SRC)
}

#[test]
fn d312_absent_when_all_fine() {
    let f = finding(vec![good_312("a"), good_312("b")], "a", "3.1.2");
    check(&f, Absent, None, &[false; 5]);
}

#[test]
fn d312_basic_services_missing() {
    let a = good_312("a")
        .with("region.basic_services_missing", 1.0, SRC)
        .with("indicator.toe.t.basic_service_coverage", 2.0 / 3.0, SRC);
    let f = finding(vec![a, good_312("b")], "a", "3.1.2");
    check(
        &f,
        Present,
        Some(Medium),
        &[true, false, false, false, false],
    );
    // None offered at all: high.
    let a = good_312("a")
        .with("region.basic_services_missing", 3.0, SRC)
        .with("indicator.toe.t.basic_service_coverage", 0.0, SRC);
    let f = finding(vec![a, good_312("b")], "a", "3.1.2");
    check(&f, Present, Some(High), &[true, true, false, false, false]);
}

#[test]
fn d312_function_breadth_gap() {
    let a = good_312("a").with("indicator.toe.t.function_breadth", 7.0, SRC);
    let f = finding(vec![a, good_312("b")], "a", "3.1.2");
    check(&f, Present, Some(Low), &[false, false, true, false, false]);
    // 2 functions behind is within the threshold.
    let a = good_312("a").with("indicator.toe.t.function_breadth", 8.0, SRC);
    check(
        &finding(vec![a, good_312("b")], "a", "3.1.2"),
        Absent,
        None,
        &[false; 5],
    );
}

#[test]
fn d312_low_average_rating_and_score_gap() {
    let a = good_312("a").with("indicator.toe.t.avg_rating", 2.9, SRC);
    check(
        &finding(vec![a, good_312("b")], "a", "3.1.2"),
        Present,
        Some(Medium),
        &[false, false, false, true, false],
    );
    let a = good_312("a").with("indicator.toe.t.avg_rating", 3.0, SRC);
    check(
        &finding(vec![a, good_312("b")], "a", "3.1.2"),
        Absent,
        None,
        &[false; 5],
    );
    let a = good_312("a").with("score.technology.service_functions", 0.6, SRC);
    check(
        &finding(vec![a, good_312("b")], "a", "3.1.2"),
        Present,
        Some(Low),
        &[false, false, false, false, true],
    );
}

#[test]
fn d312_insufficient_data() {
    check(
        &finding(vec![region("a"), region("b")], "a", "3.1.2"),
        InsufficientData,
        None,
        &[false; 5],
    );
}

// ---- 3.2.1 ------------------------------------------------------------------------

fn good_321(code: &str) -> crate::UnitFacts {
    region(code)
        .with("indicator.toe.o.app_fragmentation", 2.0, SRC)
        .with("region.overlapping_functions", 0.0, SRC)
        .with("score.organization.coordination", 0.6, SRC)
}

#[test]
fn d321_absent_when_all_fine() {
    check(
        &finding(vec![good_321("a"), good_321("b")], "a", "3.2.1"),
        Absent,
        None,
        &[false; 3],
    );
}

#[test]
fn d321_fragmentation_overlap_and_coordination_gap() {
    let a = good_321("a").with("indicator.toe.o.app_fragmentation", 3.0, SRC);
    check(
        &finding(vec![a, good_321("b")], "a", "3.2.1"),
        Present,
        Some(Medium),
        &[true, false, false],
    );
    let a = good_321("a").with("region.overlapping_functions", 1.0, SRC);
    check(
        &finding(vec![a, good_321("b")], "a", "3.2.1"),
        Present,
        Some(Medium),
        &[false, true, false],
    );
    let a = good_321("a").with("score.organization.coordination", 0.5, SRC);
    check(
        &finding(vec![a, good_321("b")], "a", "3.2.1"),
        Present,
        Some(Low),
        &[false, false, true],
    );
}

#[test]
fn d321_insufficient_data() {
    let a = region("a").with("indicator.toe.o.app_fragmentation", 1.0, SRC);
    check(
        &finding(vec![a], "a", "3.2.1"),
        InsufficientData,
        None,
        &[false; 3],
    );
}

// ---- 3.2.2 and 3.3.2: not measurable ------------------------------------------------

#[test]
fn d322_and_d332_are_always_insufficient_data() {
    // Even a region with every fact of the other rules.
    let mut a = good_311("a");
    for (k, v) in good_312("a").values.into_iter().chain(good_321("a").values) {
        a.values.insert(k, v);
    }
    let a = a
        .with("score.organization", 0.1, SRC)
        .with("score.environment", 0.1, SRC)
        .with("indicator.toe.o.policy_count", 0.0, SRC)
        .with("indicator.toe.e.downloads_per_inhabitant", 0.0, SRC);
    let d = diag(&book(), vec![a, good_311("b")], "a");
    for code in ["3.2.2", "3.3.2"] {
        let f = d.finding(code).unwrap();
        assert_eq!(f.status, InsufficientData, "{code}");
        assert!(f.evidence.is_empty());
        assert!(f.severity.is_none());
        assert!(f.note.as_deref().unwrap().starts_with("No "), "{code}");
        assert!(f.explanation.contains("no condition"), "{}", f.explanation);
    }
}

// ---- 3.3.1 ------------------------------------------------------------------------

fn good_331(code: &str) -> crate::UnitFacts {
    region(code)
        .with("indicator.toe.e.downloads_per_inhabitant", 1.5, SRC)
        .with("score.environment", 0.8, SRC)
        .with("indicator.toe.e.flagship_user_share", 0.6, SRC)
}

#[test]
fn d331_absent_when_all_fine() {
    check(
        &finding(vec![good_331("a"), good_331("b")], "a", "3.3.1"),
        Absent,
        None,
        &[false; 3],
    );
}

#[test]
fn d331_downloads_environment_and_flagship() {
    let a = good_331("a").with("indicator.toe.e.downloads_per_inhabitant", 1.2, SRC);
    check(
        &finding(vec![a, good_331("b")], "a", "3.3.1"),
        Present,
        Some(Low),
        &[true, false, false],
    );
    let a = good_331("a").with("indicator.toe.e.downloads_per_inhabitant", 1.4, SRC);
    check(
        &finding(vec![a, good_331("b")], "a", "3.3.1"),
        Absent,
        None,
        &[false; 3],
    );
    let a = good_331("a").with("score.environment", 0.7, SRC);
    check(
        &finding(vec![a, good_331("b")], "a", "3.3.1"),
        Present,
        Some(Low),
        &[false, true, false],
    );
    let a = good_331("a").with("indicator.toe.e.flagship_user_share", 0.413, SRC);
    check(
        &finding(vec![a, good_331("b")], "a", "3.3.1"),
        Present,
        Some(Medium),
        &[false, false, true],
    );
}

#[test]
fn d331_missing_flagship_share_is_insufficient_not_zero() {
    // Best on every measured condition, but no flagship share reported.
    let mut a = good_331("a");
    a.values.remove("indicator.toe.e.flagship_user_share");
    let f = finding(vec![a, good_331("b")], "a", "3.3.1");
    check(&f, InsufficientData, None, &[false; 3]);
    assert_eq!(f.evidence[2].outcome, Outcome::MissingData);
    assert_eq!(f.evidence[2].value, None);
}

// ---- platform rules ----------------------------------------------------------------

fn good_app(code: &str) -> crate::UnitFacts {
    platform(code, "a")
        .with("metric.rating_spread", 0.4, SRC)
        .with("metric.rating_min", 4.5, "Table 2 / Huawei App Store")
        .with("metric.rating_max", 4.9, "Table 2 / OPPO App Store")
        .with("metric.stores_without_data", 0.0, SRC)
        .with("metric.average_rating", 4.7, SRC)
}

fn platform_finding(app: crate::UnitFacts, code: &str) -> crate::Finding {
    let code_of_app = app.code.clone();
    let d = diag(&book(), vec![region("a"), app], "a");
    d.platform_finding(&code_of_app, code).unwrap().clone()
}

#[test]
fn store_gap_rule() {
    check(
        &platform_finding(good_app("p"), "3.1.1-store-gap"),
        Absent,
        None,
        &[false, false],
    );
    let f = platform_finding(
        good_app("p").with("metric.rating_spread", 2.0, SRC),
        "3.1.1-store-gap",
    );
    check(&f, Present, Some(Medium), &[true, false]);
    // Context facts name the stores.
    let ctx: Vec<(&str, Option<f64>)> = f
        .context
        .iter()
        .map(|c| (c.fact.as_str(), c.value))
        .collect();
    assert_eq!(
        ctx,
        vec![
            ("metric.rating_min", Some(4.5)),
            ("metric.rating_max", Some(4.9))
        ]
    );
    assert!(f.explanation.contains("Huawei") && f.explanation.contains("OPPO"));
    check(
        &platform_finding(
            good_app("p").with("metric.rating_spread", 3.0, SRC),
            "3.1.1-store-gap",
        ),
        Present,
        Some(High),
        &[true, true],
    );
    check(
        &platform_finding(
            good_app("p").with("metric.rating_spread", 1.99, SRC),
            "3.1.1-store-gap",
        ),
        Absent,
        None,
        &[false, false],
    );
    check(
        &platform_finding(platform("p", "a"), "3.1.1-store-gap"),
        InsufficientData,
        None,
        &[false, false],
    );
}

#[test]
fn store_absence_rule() {
    check(
        &platform_finding(good_app("p"), "3.1.1-store-absence"),
        Absent,
        None,
        &[false],
    );
    check(
        &platform_finding(
            good_app("p").with("metric.stores_without_data", 1.0, SRC),
            "3.1.1-store-absence",
        ),
        Present,
        Some(Low),
        &[true],
    );
    check(
        &platform_finding(platform("p", "a"), "3.1.1-store-absence"),
        InsufficientData,
        None,
        &[false],
    );
}

#[test]
fn low_rating_rule() {
    check(
        &platform_finding(good_app("p"), "3.1.2-low-rating"),
        Absent,
        None,
        &[false, false],
    );
    check(
        &platform_finding(
            good_app("p").with("metric.average_rating", 3.0, SRC),
            "3.1.2-low-rating",
        ),
        Absent,
        None,
        &[false, false],
    );
    check(
        &platform_finding(
            good_app("p").with("metric.average_rating", 2.9, SRC),
            "3.1.2-low-rating",
        ),
        Present,
        Some(Medium),
        &[true, false],
    );
    check(
        &platform_finding(
            good_app("p").with("metric.average_rating", 1.9, SRC),
            "3.1.2-low-rating",
        ),
        Present,
        Some(High),
        &[true, true],
    );
    check(
        &platform_finding(platform("p", "a"), "3.1.2-low-rating"),
        InsufficientData,
        None,
        &[false, false],
    );
}

#[test]
fn rules_apply_to_their_kind_only() {
    let b = book();
    // A region: the six region dilemmas; its platform: the three platform rules.
    let d = diag(&b, vec![region("a"), good_app("p"), good_app("q")], "a");
    let codes: Vec<&str> = d.findings.iter().map(|f| f.code.as_str()).collect();
    assert_eq!(
        codes,
        ["3.1.1", "3.1.2", "3.2.1", "3.2.2", "3.3.1", "3.3.2"]
    );
    assert_eq!(d.platform_findings.len(), 2);
    let pcodes: Vec<&str> = d.platform_findings[0]
        .findings
        .iter()
        .map(|f| f.code.as_str())
        .collect();
    assert_eq!(
        pcodes,
        ["3.1.1-store-gap", "3.1.1-store-absence", "3.1.2-low-rating"]
    );
    // Diagnosing a platform directly: platform rules only, no nested findings.
    let d = diag(&b, vec![region("a"), good_app("p")], "p");
    assert_eq!(d.unit.kind, UnitKind::Platform);
    assert_eq!(d.findings.len(), 3);
    assert!(d.platform_findings.is_empty());
    // Platforms of other regions are not included.
    let other = platform("x", "elsewhere").with("metric.rating_spread", 3.5, SRC);
    let d = diag(&b, vec![region("a"), good_app("p"), other], "a");
    assert_eq!(d.platform_findings.len(), 1);
    assert_eq!(d.platform_findings[0].platform.code, "p");
}
