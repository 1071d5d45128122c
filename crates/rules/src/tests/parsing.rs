//! Rulebook parsing and validation.

use super::support::book;
use crate::{
    Actor, Dimension, Op, Rulebook, RulesError, Severity, TargetValue, UnitKind,
    DEFAULT_RULEBOOK_TOML,
};

fn errors(r: Result<Rulebook, RulesError>) -> Vec<String> {
    match r {
        Ok(_) => panic!("expected errors"),
        Err(e) => e.field_errors().iter().map(|f| f.to_string()).collect(),
    }
}

fn has(errs: &[String], needle: &str) -> bool {
    errs.iter().any(|e| e.contains(needle))
}

#[track_caller]
fn assert_has(errs: &[String], needle: &str) {
    assert!(
        has(errs, needle),
        "missing {needle:?} in\n{}",
        errs.join("\n")
    );
}

const HEAD: &str = r#"
format_version = 1
id = "t"
name = "T"
"#;

const D1: &str = r#"
[[dilemmas]]
code = "3.1.1"
title = "A"
section = "3.1.1"
dimension = "technology"
summary = "S."
severity = "medium"
applies_to = "region"
"#;

#[test]
fn default_rulebook_shape() {
    let b = book();
    assert_eq!(b.id, "pan2023-toe-default");
    let region: Vec<&str> = b
        .dilemmas
        .iter()
        .filter(|d| d.applies_to == UnitKind::Region)
        .map(|d| d.code.as_str())
        .collect();
    assert_eq!(
        region,
        ["3.1.1", "3.1.2", "3.2.1", "3.2.2", "3.3.1", "3.3.2"]
    );
    let platform: Vec<&str> = b
        .dilemmas
        .iter()
        .filter(|d| d.applies_to == UnitKind::Platform)
        .map(|d| d.code.as_str())
        .collect();
    assert_eq!(
        platform,
        ["3.1.1-store-gap", "3.1.1-store-absence", "3.1.2-low-rating"]
    );
    let paths: Vec<&str> = b.paths.iter().map(|p| p.code.as_str()).collect();
    assert_eq!(
        paths,
        ["4.1.1", "4.1.2", "4.2.1", "4.2.2", "4.3.1", "4.3.2"]
    );
    // Every rule cites its section; every dilemma is answered by some path; every path's
    // own section dilemma (4.x.y answers 3.x.y) is among its answers.
    for d in &b.dilemmas {
        assert!(d.section.starts_with(&d.code[..5]), "{}", d.code);
        assert!(
            b.paths.iter().any(|p| p.answers.contains(&d.code)),
            "{} unanswered",
            d.code
        );
    }
    for p in &b.paths {
        assert_eq!(p.section, p.code);
        let own = format!("3{}", &p.code[1..]);
        assert!(p.answers.contains(&own), "{} does not answer {own}", p.code);
        assert!(!p.actions.is_empty() && !p.actors.is_empty());
        assert_eq!(p.importance, None);
        assert!((b.importance(p) - 1.0 / 3.0).abs() < 1e-12);
        let dim = match &p.code[..3] {
            "4.1" => Dimension::Technology,
            "4.2" => Dimension::Organization,
            _ => Dimension::Environment,
        };
        assert_eq!(p.dimension, dim);
    }
    assert!(b
        .path("4.2.1")
        .unwrap()
        .actors
        .contains(&Actor::SocialOrganisations));
    assert_eq!(
        b.path("4.1.1").unwrap().targets[1].target,
        TargetValue::Best
    );
    // The unmeasurable dilemmas have no condition.
    assert!(b.dilemma("3.2.2").unwrap().conditions.is_empty());
    assert!(b.dilemma("3.3.2").unwrap().conditions.is_empty());
    let c = &b.dilemma("3.1.1").unwrap().conditions;
    assert_eq!((c[0].op, c[0].value), (Op::Below, 0.9));
    assert_eq!(c[2].severity, Some(Severity::Low));
}

#[test]
fn toml_and_json_round_trip() {
    let b = book();
    let toml = b.to_toml().unwrap();
    assert_eq!(Rulebook::from_toml_str(&toml).unwrap(), b, "{toml}");
    let json = b.to_json().unwrap();
    assert_eq!(Rulebook::from_json_str(&json).unwrap(), b, "{json}");
    assert_eq!(Rulebook::from_toml_str(DEFAULT_RULEBOOK_TOML).unwrap(), b);
}

#[test]
fn unknown_operator_points_at_the_field() {
    let text = format!(
        "{HEAD}{D1}{}{}",
        D1.replace("3.1.1", "3.1.2"),
        r#"
[[dilemmas]]
code = "3.2.1"
title = "C"
section = "3.2.1"
dimension = "organization"
summary = "S."
severity = "low"
applies_to = "region"
  [[dilemmas.conditions]]
  fact = "indicator.toe.o.app_fragmentation"
  op = "belowx"
  value = 3
"#
    );
    let errs = errors(Rulebook::from_toml_str(&text));
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with(r#"dilemmas[2].conditions[0].op: unknown operator "belowx""#),
        "{}",
        errs[0]
    );
}

#[test]
fn all_errors_at_once_with_paths() {
    let text = r#"
format_version = 2
id = "bad id!"
name = ""
colour = "red"

[[dilemmas]]
code = "3.1.1"
title = "A"
section = "3.1.1"
dimension = "tech"
summary = "S."
severity = "urgent"
applies_to = "region"
mode = "most"
context = ["metric.rating_min"]
  [[dilemmas.conditions]]
  fact = "indicator.toe.t..store_coverage"
  op = "below"
  value = nan
  [[dilemmas.conditions]]
  fact = "score.technology"
  op = "gap_to_peer_above"
  value = -0.1
  [[dilemmas.conditions]]
  fact = "score.technology"
  op = "below"
  value = 0.5
  peer = "cn-gz"
  lower_is_better = true
  threshold = 3
  [[dilemmas.conditions]]
  fact = "score.technology"
  op = "rank_worse_than"
  value = 1.5
  [[dilemmas.conditions]]
  fact = "indicator.toe.t.avg_rating"
  op = "trend_below"
  value = "low"

[[dilemmas]]
code = "3.1.1"
title = "Duplicate"
section = "3.1.1"
dimension = "technology"
summary = "S."
severity = "low"
applies_to = "platform"
  [[dilemmas.conditions]]
  fact = "region.app_count"
  op = "at_least"
  value = 2

[[paths]]
code = "4.1.1"
title = "P"
section = "4.1.1"
dimension = "technology"
answers = ["3.1.1", "3.9.9", "3.1.1"]
actions = []
actors = ["government", "aliens"]
importance = 1.5
performance_fact = "indicator.toe.t.avg_rating"
performance_target = 2
targets = [
  { fact = "indicator.toe.t.store_coverage", target = "worst" },
  { fact = "score.technology", target = 1.0 },
  { fact = "indicator.toe.t.avg_rating", target = inf },
]

[[paths]]
code = "4.1.1"
title = "P2"
section = "4.1.2"
dimension = "technology"
answers = []
actions = ["Do."]
actors = []
"#;
    let errs = errors(Rulebook::from_toml_str(text));
    for needle in [
        "format_version: unsupported format version 2",
        r#"id: bad code "bad id!""#,
        "name: must not be empty",
        r#"colour: unknown key "colour""#,
        r#"dilemmas[0].dimension: unknown dimension "tech""#,
        r#"dilemmas[0].severity: unknown severity "urgent""#,
        r#"dilemmas[0].mode: unknown mode "most""#,
        r#"dilemmas[0].context[0]: fact "metric.rating_min" exists only for platforms"#,
        r#"dilemmas[0].conditions[0].fact: bad fact key "indicator.toe.t..store_coverage""#,
        "dilemmas[0].conditions[0].value: must be a finite number, found NaN",
        "dilemmas[0].conditions[1].peer: missing required key",
        "dilemmas[0].conditions[1].value: a gap threshold must be >= 0",
        "dilemmas[0].conditions[2].peer: peer only applies to gap_to_peer_above",
        "dilemmas[0].conditions[2].lower_is_better: lower_is_better only applies to gap operators",
        r#"dilemmas[0].conditions[2].threshold: unknown key "threshold""#,
        "dilemmas[0].conditions[3].fact: rank_worse_than needs a rank.* fact",
        "dilemmas[0].conditions[3].value: a rank threshold must be a whole number >= 1",
        "dilemmas[0].conditions[4].fact: trend_below needs a trend.* fact",
        "dilemmas[0].conditions[4].value: expected a number, found a string",
        r#"dilemmas[1].conditions[0].fact: fact "region.app_count" exists only for regions"#,
        r#"paths[0].answers[1]: unknown dilemma "3.9.9""#,
        r#"paths[0].answers[2]: dilemma "3.1.1" listed twice"#,
        "paths[0].actions: must list at least one action",
        r#"paths[0].actors[1]: unknown actor "aliens""#,
        "paths[0].importance: must be in [0, 1], found 1.5",
        "paths[0].performance_fact: must be a score.* fact",
        "paths[0].performance_target: must be in [0, 1], found 2",
        r#"paths[0].targets[0].target: expected a number or "best", found "worst""#,
        "paths[0].targets[1].fact: must be an indicator.* fact",
        "paths[0].targets[2].target: must be a finite number, found inf",
        "paths[1].answers: must list at least one dilemma",
        "paths[1].actors: must list at least one actor",
    ] {
        assert_has(&errs, needle);
    }
    // The duplicate dilemma (itself invalid) and the duplicate path are both reported.
    assert_has(
        &errs,
        r#"paths[1].code: duplicate path code "4.1.1" (first at paths[0])"#,
    );
    let ok = Rulebook::from_toml_str(&format!(
        "{HEAD}{D1}{}",
        D1.replace("title = \"A\"", "title = \"B\"")
    ));
    assert_has(
        &errors(ok),
        r#"dilemmas[1].code: duplicate dilemma code "3.1.1" (first at dilemmas[0])"#,
    );
}

#[test]
fn missing_required_keys_and_types() {
    let errs = errors(Rulebook::from_toml_str("dilemmas = 3\npaths = [1]"));
    assert_has(&errs, "format_version: missing required key");
    assert_has(&errs, "id: missing required key");
    assert_has(&errs, "name: missing required key");
    assert_has(&errs, "dilemmas: expected an array, found an integer");
    assert_has(&errs, "paths[0]: expected a table, found an integer");
    let errs = errors(Rulebook::from_toml_str(&format!("{HEAD}dilemmas = []")));
    assert_has(&errs, "dilemmas: at least one dilemma is required");
    let errs = errors(Rulebook::from_toml_str(&format!(
        "{HEAD}{}",
        r#"
[[dilemmas]]
code = "x"
conditions = [{ op = "below" }]
"#
    )));
    for k in [
        "title",
        "section",
        "dimension",
        "summary",
        "severity",
        "applies_to",
    ] {
        assert_has(&errs, &format!("dilemmas[0].{k}: missing required key"));
    }
    assert_has(
        &errs,
        "dilemmas[0].conditions[0].fact: missing required key",
    );
    assert_has(
        &errs,
        "dilemmas[0].conditions[0].value: missing required key",
    );
}

#[test]
fn dimension_weights() {
    let text = format!(
        "{HEAD}[dimension_weights]\ntechnology = 2\norganization = 1\nenvironment = 1\n{D1}\n{}",
        r#"
[[paths]]
code = "4.1.1"
title = "P"
section = "4.1.1"
dimension = "technology"
answers = ["3.1.1"]
actions = ["Do."]
actors = ["government"]

[[paths]]
code = "4.2.1"
title = "Q"
section = "4.2.1"
dimension = "organization"
answers = ["3.1.1"]
actions = ["Do."]
actors = ["government"]
importance = 0.9
"#
    );
    let b = Rulebook::from_toml_str(&text).unwrap();
    assert!((b.importance(&b.paths[0]) - 0.5).abs() < 1e-12);
    assert!((b.importance(&b.paths[1]) - 0.9).abs() < 1e-12);
    assert!((b.mean_importance() - 0.7).abs() < 1e-12);
    let errs = errors(Rulebook::from_toml_str(&format!(
        "{HEAD}[dimension_weights]\ntechnology = -1\norganization = 0\nenvironment = 0\nsocial = 1\n{D1}"
    )));
    assert_has(&errs, "dimension_weights.technology: must be >= 0");
    assert_has(&errs, r#"dimension_weights.social: unknown key "social""#);
    let errs = errors(Rulebook::from_toml_str(&format!(
        "{HEAD}[dimension_weights]\ntechnology = 0\norganization = 0\nenvironment = 0\n{D1}"
    )));
    assert_has(
        &errs,
        "dimension_weights: at least one weight must be positive",
    );
}

#[test]
fn json_rulebooks_validate_the_same_way() {
    let json = r#"{
      "format_version": 1, "id": "j", "name": "J",
      "dilemmas": [{
        "code": "3.1.1", "title": "A", "section": "3.1.1", "dimension": "technology",
        "summary": "S.", "severity": "medium", "applies_to": "region",
        "conditions": [
          {"fact": "score.technology", "op": "gap_to_peer_above", "value": 0.1, "peer": "cn-gz"},
          {"fact": "score.technology", "op": "belowx", "value": 0.5, "extra": true}
        ]
      }],
      "paths": [{"code": "4.1.1", "title": "P", "section": "4.1.1", "dimension": "technology",
                 "answers": ["3.1.1"], "actions": ["Do."], "actors": ["government"],
                 "importance": null}]
    }"#;
    let errs = errors(Rulebook::from_json_str(json));
    assert_has(
        &errs,
        r#"dilemmas[0].conditions[1].op: unknown operator "belowx""#,
    );
    assert_has(
        &errs,
        r#"dilemmas[0].conditions[1].extra: unknown key "extra""#,
    );
    assert_has(&errs, "paths[0].importance: expected a number, found null");
    assert_eq!(errs.len(), 3, "{errs:?}");
    let ok = json
        .replace("belowx", "below")
        .replace(", \"extra\": true", "")
        .replace(",\n                 \"importance\": null", "");
    let b = Rulebook::from_json_str(&ok).unwrap();
    assert_eq!(b.dilemmas[0].conditions[0].peer.as_deref(), Some("cn-gz"));
}

#[test]
fn syntax_errors_have_locations() {
    let e = Rulebook::from_toml_str("format_version = 1\nid = \n").unwrap_err();
    let f = &e.field_errors()[0];
    assert!(f.message.starts_with("TOML syntax error"), "{f}");
    assert_eq!(f.location.map(|l| l.line), Some(2));
    let e = Rulebook::from_json_str("{\n \"id\": }").unwrap_err();
    let f = &e.field_errors()[0];
    assert!(f.message.starts_with("JSON syntax error"), "{f}");
    assert_eq!(f.location.map(|l| l.line), Some(2));
    let e = Rulebook::from_json_str("[1, 2]").unwrap_err();
    assert_eq!(
        e.field_errors()[0].message,
        "expected a table, found an array"
    );
    // Display lists every error.
    let text = e.to_string();
    assert!(text.starts_with("invalid rulebook (1 error)"), "{text}");
}
