//! Recommendations: IPA quadrants, ordering, best peers and what-if targets.

use super::support::{book, region};
use crate::recommend::natural_cmp;
use crate::{recommend, Basis, FactSheet, Quadrant, Rulebook, Status, TargetValue, UnitFacts};

const SRC: &str = "test fixture";

/// Four paths, each answering its own always-firing dilemma, with the given importance
/// and performance fact.
fn ipa_book(importances: &[(&str, f64)]) -> Rulebook {
    let mut text = String::from("format_version = 1\nid = \"ipa\"\nname = \"IPA\"\n");
    for (code, imp) in importances {
        text.push_str(&format!(
            r#"
[[dilemmas]]
code = "D{code}"
title = "Dilemma {code}"
section = "3"
dimension = "technology"
summary = "S."
severity = "medium"
applies_to = "region"
conditions = [{{ fact = "indicator.x.fires", op = "at_least", value = 1 }}]

[[paths]]
code = "{code}"
title = "Path {code}"
section = "4"
dimension = "technology"
answers = ["D{code}"]
actions = ["Do."]
actors = ["government"]
importance = {imp}
performance_fact = "score.p{}"
"#,
            code.replace('.', "_")
        ));
    }
    Rulebook::from_toml_str(&text).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn quadrant_boundaries() {
    use Quadrant::*;
    assert_eq!(Quadrant::of(0.5, 0.49, 0.5), ConcentrateHere);
    assert_eq!(Quadrant::of(0.5, 0.5, 0.5), KeepUpTheGoodWork);
    assert_eq!(Quadrant::of(0.4, 0.2, 0.5), LowPriority);
    assert_eq!(Quadrant::of(0.4, 0.9, 0.5), PossibleOverkill);
    assert_eq!(ConcentrateHere.label(), "Concentrate here");
    assert_eq!(
        serde_json::to_string(&PossibleOverkill).unwrap(),
        "\"Possible overkill\""
    );
}

#[test]
fn ipa_quadrants_priorities_and_order() {
    // Importances 0.8, 0.8, 0.2, 0.2 (mean 0.5); performances 0.3, 0.7, 0.1, 0.9.
    let b = ipa_book(&[("4.1", 0.8), ("4.2", 0.8), ("4.3", 0.2), ("4.4", 0.2)]);
    let a = region("a")
        .with("indicator.x.fires", 1.0, SRC)
        .with("score.p4_1", 0.3, "engine: 4.1")
        .with("score.p4_2", 0.7, SRC)
        .with("score.p4_3", 0.1, SRC)
        .with("score.p4_4", 0.9, SRC);
    let sheet = FactSheet::new(vec![a]);
    let d = crate::diagnose(&b, &sheet, "a").unwrap();
    let recs = recommend(&b, &sheet, &d);
    let got: Vec<(&str, Option<Quadrant>)> =
        recs.iter().map(|r| (r.code.as_str(), r.quadrant)).collect();
    // Priorities: 0.8*0.7=0.56, 0.2*0.9=0.18, 0.8*0.3=0.24, 0.2*0.1=0.02.
    assert_eq!(
        got,
        vec![
            ("4.1", Some(Quadrant::ConcentrateHere)),
            ("4.2", Some(Quadrant::KeepUpTheGoodWork)),
            ("4.3", Some(Quadrant::LowPriority)),
            ("4.4", Some(Quadrant::PossibleOverkill)),
        ]
    );
    let p: Vec<f64> = recs.iter().map(|r| r.priority.unwrap()).collect();
    for (x, y) in p.iter().zip([0.56, 0.24, 0.18, 0.02]) {
        assert!((x - y).abs() < 1e-12, "{p:?}");
    }
    let r = &recs[0];
    assert_eq!(r.performance, Some(0.3));
    assert_eq!(r.performance_source.as_deref(), Some("engine: 4.1"));
    assert!((r.gap.unwrap() - 0.7).abs() < 1e-12);
    assert!((r.mean_importance - 0.5).abs() < 1e-12);
    assert!(r.rationale.contains("Concentrate here"), "{}", r.rationale);
    assert!(r.rationale.contains("D4.1"), "{}", r.rationale);
    assert_eq!(r.basis, Basis::Present);
}

#[test]
fn ties_are_broken_by_code_and_missing_performance_goes_last() {
    let b = ipa_book(&[("4.10", 0.5), ("4.2", 0.5), ("4.9", 0.5), ("4.1", 0.5)]);
    let a = region("a")
        .with("indicator.x.fires", 1.0, SRC)
        .with("score.p4_10", 0.4, SRC)
        .with("score.p4_2", 0.4, SRC)
        .with("score.p4_1", 0.4, SRC);
    let sheet = FactSheet::new(vec![a]);
    let d = crate::diagnose(&b, &sheet, "a").unwrap();
    let codes: Vec<String> = recommend(&b, &sheet, &d)
        .into_iter()
        .map(|r| r.code)
        .collect();
    assert_eq!(codes, ["4.1", "4.2", "4.10", "4.9"]);
    assert_eq!(natural_cmp("4.2.1", "4.10.1"), std::cmp::Ordering::Less);
    assert_eq!(natural_cmp("4.1.1", "4.1.1"), std::cmp::Ordering::Equal);
}

#[test]
fn present_before_insufficient_data_and_absent_not_recommended() {
    let b = book();
    // 3.1.1 present (coverage), 3.2.1 absent, 3.3.1 insufficient (nothing known);
    // 3.2.2/3.3.2 always insufficient.
    let a = region("a")
        .with("indicator.toe.t.store_coverage", 0.5, SRC)
        .with("indicator.toe.o.app_fragmentation", 1.0, SRC)
        .with("region.overlapping_functions", 0.0, SRC)
        .with("score.organization.coordination", 0.9, SRC)
        .with("score.technology.infrastructure", 0.9, SRC)
        .with("score.environment.digital_divide", 0.1, SRC);
    let b2 = region("b").with("score.organization.coordination", 0.9, SRC);
    let sheet = FactSheet::new(vec![a, b2]);
    let d = crate::diagnose(&b, &sheet, "a").unwrap();
    assert_eq!(d.finding("3.2.1").unwrap().status, Status::Absent);
    let recs = recommend(&b, &sheet, &d);
    let got: Vec<(&str, Basis)> = recs.iter().map(|r| (r.code.as_str(), r.basis)).collect();
    // 4.1.1 (answers present 3.1.1) and 4.3.1 (also answers 3.1.1) are backed by a
    // present dilemma; 4.3.1 has the larger gap (0.9 vs 0.1 performance).
    // 4.1.2 (3.1.2 insufficient), 4.2.1 (3.1.2 insufficient, 3.2.1 absent), 4.2.2 and
    // 4.3.2 follow; the last two have no performance fact.
    assert_eq!(
        got,
        vec![
            ("4.3.1", Basis::Present),
            ("4.1.1", Basis::Present),
            ("4.2.1", Basis::InsufficientData),
            ("4.1.2", Basis::InsufficientData),
            ("4.2.2", Basis::InsufficientData),
            ("4.3.2", Basis::InsufficientData),
        ]
    );
    // 4.2.1 is backed only by 3.1.2's insufficient data, not by the absent 3.2.1.
    let r = recs.iter().find(|r| r.code == "4.2.1").unwrap();
    let links: Vec<&str> = r.answers.iter().map(|l| l.code.as_str()).collect();
    assert_eq!(links, ["3.1.2"]);
    // 4.2.1 has a coordination score of 0.9 and 4.1.2 none: 4.2.1 first.
    assert_eq!(r.performance, Some(0.9));
    let r = recs.iter().find(|r| r.code == "4.3.2").unwrap();
    assert_eq!((r.performance, r.priority, r.quadrant), (None, None, None));
    assert!(
        r.rationale.contains("No score measures this path"),
        "{}",
        r.rationale
    );
    assert!(r.rationale.contains("3.3.2"), "{}", r.rationale);
    // Nothing present or insufficient: nothing recommended.
    let b = super::support::mini_book(
        "any",
        &[r#"{ fact = "score.x", op = "below", value = 0.5 }"#],
    );
    let sheet = FactSheet::new(vec![region("a").with("score.x", 0.9, SRC)]);
    let d = crate::diagnose(&b, &sheet, "a").unwrap();
    assert!(recommend(&b, &sheet, &d).is_empty());
}

#[test]
fn best_peer_and_best_targets() {
    let b = book();
    let mk = |code: &str, coord: f64, frag: f64, share: f64| {
        region(code)
            .with(
                "indicator.toe.o.app_fragmentation",
                frag,
                format!("{code} apps"),
            )
            .with(
                "indicator.toe.o.policy_org_share",
                share,
                format!("{code} policies"),
            )
            .with(
                "score.organization.coordination",
                coord,
                format!("{code} score"),
            )
    };
    let sheet = FactSheet::new(vec![
        mk("a", 0.4, 4.0, 0.5),
        mk("b", 0.7, 2.0, 0.9),
        mk("c", 0.6, 1.0, 0.95),
        // A platform with a better score is not a peer of a region.
        UnitFacts::new("p", "App", crate::UnitKind::Platform, "a").with(
            "score.organization.coordination",
            1.0,
            SRC,
        ),
    ]);
    let d = crate::diagnose(&b, &sheet, "a").unwrap();
    let recs = recommend(&b, &sheet, &d);
    let r = recs.iter().find(|r| r.code == "4.2.1").unwrap();
    let peer = r.best_peer.as_ref().unwrap();
    assert_eq!((peer.code.as_str(), peer.value), ("b", 0.7));
    assert_eq!(r.best_peer_ahead, Some(true));
    assert!(
        r.rationale
            .contains("Best peer on score.organization.coordination: Region b (b) = 0.7"),
        "{}",
        r.rationale
    );
    // Targets: app fragmentation to 1 (a number, lower is better), org share to the best
    // unit's (c, 0.95).
    let t = &r.targets[0];
    assert_eq!(t.fact, "indicator.toe.o.app_fragmentation");
    assert_eq!(
        (t.current, t.target, t.what_if, t.already_met),
        (Some(4.0), Some(1.0), Some(1.0), Some(false))
    );
    let t = &r.targets[1];
    assert_eq!(t.spec, TargetValue::Best);
    assert_eq!(
        (t.current, t.target, t.what_if),
        (Some(0.5), Some(0.95), Some(0.95))
    );
    let bu = t.best_unit.as_ref().unwrap();
    assert_eq!((bu.code.as_str(), bu.source.as_str()), ("c", "c policies"));

    // The best unit itself: its target is its own value, already met; its best peer is
    // the next one and not ahead.
    let d = crate::diagnose(&b, &sheet, "b").unwrap();
    let recs = recommend(&b, &sheet, &d);
    let r = recs.iter().find(|r| r.code == "4.2.1").unwrap();
    assert_eq!(r.best_peer.as_ref().unwrap().code, "c");
    assert_eq!(r.best_peer_ahead, Some(false));
    let d = crate::diagnose(&b, &sheet, "c").unwrap();
    let recs = recommend(&b, &sheet, &d);
    let r = recs.iter().find(|r| r.code == "4.2.1").unwrap();
    let t = &r.targets[1];
    assert_eq!(
        (t.target, t.already_met, t.what_if),
        (Some(0.95), Some(true), Some(0.95))
    );
    assert_eq!(t.best_unit.as_ref().unwrap().code, "c");
    let t = &r.targets[0];
    assert_eq!((t.already_met, t.what_if), (Some(true), Some(1.0)));
}

#[test]
fn best_target_lower_is_better_and_unresolvable() {
    let b = book();
    let sheet = FactSheet::new(vec![
        region("a")
            .with("indicator.toe.t.store_coverage", 0.5, SRC)
            .with("indicator.toe.t.rating_spread", 2.0, SRC),
        region("b").with("indicator.toe.t.rating_spread", 0.7, "b spread"),
        region("c").with("indicator.toe.t.rating_spread", 1.2, SRC),
    ]);
    let d = crate::diagnose(&b, &sheet, "a").unwrap();
    let recs = recommend(&b, &sheet, &d);
    let r = recs.iter().find(|r| r.code == "4.1.1").unwrap();
    let t = &r.targets[1];
    assert!(t.lower_is_better);
    assert_eq!(
        (t.current, t.target, t.what_if),
        (Some(2.0), Some(0.7), Some(0.7))
    );
    assert_eq!(t.best_unit.as_ref().unwrap().code, "b");
    // No performance data: no gap, but the targets still resolve.
    assert_eq!((r.performance, r.priority, r.quadrant), (None, None, None));
    // 4.3.1 (answers 3.1.1 too): nobody has downloads, the best target is unresolved.
    let r = recs.iter().find(|r| r.code == "4.3.1").unwrap();
    let t = &r.targets[0];
    assert_eq!(
        (t.current, t.target, t.best_unit.is_none(), t.what_if),
        (None, None, true, None)
    );
}

#[test]
fn platform_findings_back_region_recommendations() {
    let b = book();
    let sheet = FactSheet::new(vec![
        region("a").with("score.technology.infrastructure", 0.4, SRC),
        UnitFacts::new("p", "Bad App", crate::UnitKind::Platform, "a")
            .with("metric.rating_spread", 2.5, SRC)
            .with("metric.rating_min", 1.0, "Huawei App Store")
            .with("metric.rating_max", 3.5, "OPPO App Store"),
    ]);
    let d = crate::diagnose(&b, &sheet, "a").unwrap();
    let recs = recommend(&b, &sheet, &d);
    let r = &recs[0];
    assert_eq!((r.code.as_str(), r.basis), ("4.1.1", Basis::Present));
    let l = r
        .answers
        .iter()
        .find(|l| l.code == "3.1.1-store-gap")
        .unwrap();
    assert_eq!(l.unit.code, "p");
    assert!(l.evidence.iter().any(|e| e.contains("Huawei")));
    assert!(
        r.rationale.contains("on platform Bad App"),
        "{}",
        r.rationale
    );
    assert_eq!(r.quadrant, Some(Quadrant::ConcentrateHere));
    assert!((r.priority.unwrap() - 0.6 / 3.0).abs() < 1e-12);
}
