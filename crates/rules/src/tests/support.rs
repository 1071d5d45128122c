//! Helpers shared by the tests.

use crate::{diagnose, Diagnosis, FactSheet, Finding, Rulebook, Status, UnitFacts, UnitKind};

/// The shipped default rulebook.
pub fn book() -> Rulebook {
    Rulebook::default_rulebook().expect("the default rulebook is valid")
}

/// A region without facts.
pub fn region(code: &str) -> UnitFacts {
    UnitFacts::new(code, format!("Region {code}"), UnitKind::Region, "")
}

/// A platform of a region, without facts.
pub fn platform(code: &str, region: &str) -> UnitFacts {
    UnitFacts::new(code, format!("App {code}"), UnitKind::Platform, region)
}

/// Diagnoses `unit` with `book` on `units`.
pub fn diag(book: &Rulebook, units: Vec<UnitFacts>, unit: &str) -> Diagnosis {
    diagnose(book, &FactSheet::new(units), unit).expect("diagnosis")
}

/// The finding of dilemma `code` for `unit` with the default rulebook.
pub fn finding(units: Vec<UnitFacts>, unit: &str, code: &str) -> Finding {
    let d = diag(&book(), units, unit);
    d.finding(code)
        .unwrap_or_else(|| panic!("no finding {code}"))
        .clone()
}

/// Asserts status, severity and the fired flags of the conditions.
#[track_caller]
pub fn check(f: &Finding, status: Status, severity: Option<crate::Severity>, fired: &[bool]) {
    assert_eq!(f.status, status, "{}", f.explanation);
    assert_eq!(f.severity, severity, "{}", f.explanation);
    let got: Vec<bool> = f.evidence.iter().map(|e| e.fired).collect();
    assert_eq!(got, fired, "{}", f.explanation);
}

/// A compact rulebook with one region dilemma made of `conditions` (TOML inline
/// tables) in `mode`, and one path answering it.
pub fn mini_book(mode: &str, conditions: &[&str]) -> Rulebook {
    let conds: Vec<String> = conditions.iter().map(|c| format!("  {c},")).collect();
    let text = format!(
        r#"
format_version = 1
id = "mini"
name = "Mini"

[[dilemmas]]
code = "D"
title = "A dilemma"
section = "3.1.1"
dimension = "technology"
summary = "Test."
severity = "medium"
applies_to = "region"
mode = "{mode}"
conditions = [
{}
]

[[paths]]
code = "P"
title = "A path"
section = "4.1.1"
dimension = "technology"
answers = ["D"]
actions = ["Act."]
actors = ["government"]
performance_fact = "score.technology"
"#,
        conds.join("\n")
    );
    Rulebook::from_toml_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}
