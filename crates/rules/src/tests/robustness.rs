//! Operators in isolation, odd inputs, and no panics.

use super::support::{book, check, diag, mini_book, platform, region};
use crate::{
    diagnose, recommend, FactSheet, Outcome, Rulebook, RulesError, Severity, Status, UnitFacts,
    UnitKind, DEFAULT_RULEBOOK_TOML,
};

const SRC: &str = "test fixture";

use Status::{Absent, InsufficientData, Present};

#[test]
fn absolute_operators() {
    let b = mini_book(
        "any",
        &[
            r#"{ fact = "score.x", op = "above", value = 0.5 }"#,
            r#"{ fact = "score.x", op = "at_most", value = 0.5 }"#,
            r#"{ fact = "score.x", op = "below", value = 0.5 }"#,
            r#"{ fact = "score.x", op = "at_least", value = 0.5 }"#,
        ],
    );
    let f = |v: f64| diag(&b, vec![region("a").with("score.x", v, SRC)], "a").findings[0].clone();
    check(
        &f(0.6),
        Present,
        Some(Severity::Medium),
        &[true, false, false, true],
    );
    check(
        &f(0.5),
        Present,
        Some(Severity::Medium),
        &[false, true, false, true],
    );
    check(
        &f(0.4),
        Present,
        Some(Severity::Medium),
        &[false, true, true, false],
    );
}

#[test]
fn gap_to_peer() {
    let b = mini_book(
        "any",
        &[
            r#"{ fact = "score.x", op = "gap_to_peer_above", value = 0.1, peer = "b" }"#,
            r#"{ fact = "indicator.apps", op = "gap_to_peer_above", value = 1, peer = "b", lower_is_better = true }"#,
        ],
    );
    let units = |ax: f64, bx: f64, aa: f64, ba: f64| {
        vec![
            region("a")
                .with("score.x", ax, SRC)
                .with("indicator.apps", aa, SRC),
            region("b")
                .with("score.x", bx, "b's score")
                .with("indicator.apps", ba, SRC),
        ]
    };
    let f = diag(&b, units(0.5, 0.7, 3.0, 3.0), "a").findings[0].clone();
    check(&f, Present, Some(Severity::Medium), &[true, false]);
    let r = f.evidence[0].reference.as_ref().unwrap();
    assert_eq!(
        (r.code.as_str(), r.value, r.source.as_str()),
        ("b", 0.7, "b's score")
    );
    assert!(
        f.evidence[0].detail.contains("vs peer Region b (b) = 0.7"),
        "{}",
        f.evidence[0].detail
    );
    // Ahead of the peer: negative gap, not fired.
    let f = diag(&b, units(0.9, 0.7, 3.0, 3.0), "a").findings[0].clone();
    check(&f, Absent, None, &[false, false]);
    assert!((f.evidence[0].gap.unwrap() + 0.2).abs() < 1e-12);
    // Lower is better: 5 apps vs the peer's 3 is a gap of 2.
    let f = diag(&b, units(0.7, 0.7, 5.0, 3.0), "a").findings[0].clone();
    check(&f, Present, Some(Severity::Medium), &[false, true]);
    assert_eq!(f.evidence[1].gap, Some(2.0));
    // The peer missing from the sheet, lacking the fact, or of another kind.
    let f = diag(&b, vec![region("a").with("score.x", 0.1, SRC)], "a").findings[0].clone();
    check(&f, InsufficientData, None, &[false, false]);
    assert!(f.evidence[0].detail.contains("not in the fact sheet"));
    let f = diag(
        &b,
        vec![region("a").with("score.x", 0.1, SRC), region("b")],
        "a",
    )
    .findings[0]
        .clone();
    assert!(
        f.evidence[0].detail.contains("has no data"),
        "{}",
        f.evidence[0].detail
    );
    let f = diag(
        &b,
        vec![
            region("a").with("score.x", 0.1, SRC),
            platform("b", "a").with("score.x", 0.9, SRC),
        ],
        "a",
    )
    .findings[0]
        .clone();
    assert_eq!(f.evidence[0].outcome, Outcome::MissingData);
    assert!(
        f.evidence[0].detail.contains("is a platform"),
        "{}",
        f.evidence[0].detail
    );
}

#[test]
fn gap_to_best_lower_is_better() {
    let b = mini_book(
        "any",
        &[
            r#"{ fact = "indicator.apps", op = "gap_to_best_above", value = 1, lower_is_better = true }"#,
        ],
    );
    let units = vec![
        region("a").with("indicator.apps", 4.0, SRC),
        region("b").with("indicator.apps", 2.0, SRC),
        region("c").with("indicator.apps", 1.0, SRC),
    ];
    let d = diag(&b, units.clone(), "a");
    check(&d.findings[0], Present, Some(Severity::Medium), &[true]);
    assert_eq!(
        d.findings[0].evidence[0].reference.as_ref().unwrap().code,
        "c"
    );
    check(
        &diag(&b, units.clone(), "b").findings[0],
        Absent,
        None,
        &[false],
    );
    check(&diag(&b, units, "c").findings[0], Absent, None, &[false]);
}

#[test]
fn rank_and_trend() {
    let b = mini_book(
        "any",
        &[
            r#"{ fact = "rank.TOE", op = "rank_worse_than", value = 2 }"#,
            r#"{ fact = "trend.toe.t.avg_rating", op = "trend_below", value = -0.1, severity = "high" }"#,
        ],
    );
    let f = |rank: f64, trend: f64| {
        diag(
            &b,
            vec![region("a").with("rank.TOE", rank, SRC).with(
                "trend.toe.t.avg_rating",
                trend,
                SRC,
            )],
            "a",
        )
        .findings[0]
            .clone()
    };
    check(
        &f(3.0, 0.0),
        Present,
        Some(Severity::Medium),
        &[true, false],
    );
    check(&f(2.0, 0.0), Absent, None, &[false, false]);
    check(&f(1.0, -0.3), Present, Some(Severity::High), &[false, true]);
    check(&f(3.0, -0.3), Present, Some(Severity::High), &[true, true]);
    check(&f(1.0, -0.1), Absent, None, &[false, false]);
}

#[test]
fn mode_all() {
    let b = mini_book(
        "all",
        &[
            r#"{ fact = "score.x", op = "below", value = 0.5, severity = "low" }"#,
            r#"{ fact = "score.y", op = "below", value = 0.5 }"#,
        ],
    );
    let f = |units: Vec<UnitFacts>| diag(&b, units, "a").findings[0].clone();
    let both = region("a")
        .with("score.x", 0.1, SRC)
        .with("score.y", 0.1, SRC);
    // Severity: the highest of the fired conditions' (own "low", or the base "medium").
    check(
        &f(vec![both]),
        Present,
        Some(Severity::Medium),
        &[true, true],
    );
    let one = region("a")
        .with("score.x", 0.1, SRC)
        .with("score.y", 0.9, SRC);
    check(&f(vec![one]), Absent, None, &[true, false]);
    // In `all` mode any missing fact makes it insufficient data.
    let missing = region("a").with("score.x", 0.9, SRC);
    check(&f(vec![missing]), InsufficientData, None, &[false, false]);
    // A condition's severity can lower the base when only it fires.
    let b = mini_book(
        "any",
        &[
            r#"{ fact = "score.x", op = "below", value = 0.5, severity = "low" }"#,
            r#"{ fact = "score.y", op = "below", value = 0.5 }"#,
        ],
    );
    let d = diag(
        &b,
        vec![region("a")
            .with("score.x", 0.1, SRC)
            .with("score.y", 0.9, SRC)],
        "a",
    );
    check(&d.findings[0], Present, Some(Severity::Low), &[true, false]);
}

#[test]
fn non_finite_facts_are_missing() {
    let b = mini_book(
        "any",
        &[
            r#"{ fact = "score.x", op = "below", value = 0.5 }"#,
            r#"{ fact = "score.y", op = "gap_to_best_above", value = 0.1 }"#,
        ],
    );
    let d = diag(
        &b,
        vec![
            region("a")
                .with("score.x", f64::NAN, SRC)
                .with("score.y", 0.1, SRC),
            region("b").with("score.y", f64::INFINITY, SRC),
        ],
        "a",
    );
    let f = &d.findings[0];
    check(f, InsufficientData, None, &[false, false]);
    assert!(f.evidence[0].detail.contains("not a finite number"));
    assert!(f.evidence[1].detail.contains("no other region"));
}

#[test]
fn fact_sheet_errors() {
    let b = book();
    let e = diagnose(&b, &FactSheet::default(), "x").unwrap_err();
    assert_eq!(e, RulesError::UnknownUnit("x".into()));
    let sheet = FactSheet::new(vec![region("a"), region("a")]);
    assert_eq!(
        diagnose(&b, &sheet, "a").unwrap_err(),
        RulesError::DuplicateUnit("a".into())
    );
    let sheet = FactSheet::new(vec![region("a"), region("")]);
    assert_eq!(
        diagnose(&b, &sheet, "a").unwrap_err(),
        RulesError::EmptyUnitCode(1)
    );
}

#[test]
fn recommend_with_a_foreign_fact_sheet_does_not_panic() {
    let b = book();
    let sheet = FactSheet::new(vec![region("a").with(
        "indicator.toe.t.store_coverage",
        0.1,
        SRC,
    )]);
    let d = diagnose(&b, &sheet, "a").unwrap();
    let recs = recommend(&b, &FactSheet::default(), &d);
    assert!(!recs.is_empty());
    assert!(recs.iter().all(|r| r.performance.is_none()));
}

#[test]
fn no_panics_on_truncated_or_mangled_rulebooks() {
    let text = DEFAULT_RULEBOOK_TOML;
    let cuts: Vec<usize> = (0..text.len())
        .step_by(97)
        .filter(|i| text.is_char_boundary(*i))
        .collect();
    for cut in cuts {
        let _ = Rulebook::from_toml_str(&text[..cut]);
        let mangled = format!("{}x{}", &text[..cut], &text[cut..]);
        let _ = Rulebook::from_toml_str(&mangled);
    }
    let json = book().to_json().unwrap();
    for cut in (0..json.len()).step_by(89) {
        if json.is_char_boundary(cut) {
            let _ = Rulebook::from_json_str(&json[..cut]);
        }
    }
    for odd in [
        "",
        "{}",
        "null",
        "[]",
        "1e999",
        "\"x\"",
        "{\"dilemmas\": [null, {}, []]}",
    ] {
        assert!(Rulebook::from_json_str(odd).is_err(), "{odd}");
    }
    for odd in [
        "",
        "dilemmas = [[]]",
        "id = 1979-05-27",
        "format_version = 1.0",
    ] {
        assert!(Rulebook::from_toml_str(odd).is_err(), "{odd}");
    }
}

#[test]
fn odd_fact_sheets_do_not_panic() {
    let b = book();
    let mut units = vec![
        UnitFacts::new("r", "R", UnitKind::Region, "r"),
        UnitFacts::new("p", "P", UnitKind::Platform, "r"),
        UnitFacts::new("q", "Q", UnitKind::Platform, "nowhere"),
    ];
    for (i, k) in [
        "score.TOE",
        "indicator.toe.t.store_coverage",
        "metric.rating_spread",
        "region.app_count",
        "not a key",
        "",
    ]
    .iter()
    .enumerate()
    {
        for u in &mut units {
            let v = [
                f64::NAN,
                f64::INFINITY,
                -0.0,
                1e308,
                -1e308,
                f64::MIN_POSITIVE,
            ][i];
            u.values.insert((*k).to_string(), crate::Fact::new(v, ""));
        }
    }
    let sheet = FactSheet::new(units);
    for code in ["r", "p", "q"] {
        let d = diagnose(&b, &sheet, code).unwrap();
        let recs = recommend(&b, &sheet, &d);
        let _ = serde_json::to_string(&d).unwrap();
        let _ = serde_json::to_string(&recs).unwrap();
    }
    let d = diag(&b, vec![region("a")], "a");
    assert!(d.findings.iter().all(|f| f.status == InsufficientData));
}
