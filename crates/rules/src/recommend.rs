//! Recommendation: the optimisation paths answering a unit's dilemmas, prioritised by an
//! importance-performance analysis (IPA, Martilla & James 1977).
//!
//! * importance: the path's `importance`, else its dimension's share of the rulebook's
//!   dimension weights (1/3 each, as in `models/toe-default.toml`);
//! * performance: the unit's value of the path's `performance_fact` (a 0..1 score);
//! * gap = max(0, performance_target - performance), target 1 by default;
//! * priority = importance x gap;
//! * quadrant: importance is *high* when >= the mean importance of the rulebook's paths,
//!   performance is *low* when < 0.5 (the midpoint of the score scale):
//!   high/low "Concentrate here", high/high "Keep up the good work", low/low "Low
//!   priority", low/high "Possible overkill".
//!
//! Paths backed by a present dilemma (of the unit or, for a region, of one of its
//! platforms) come first; paths backed only by insufficient-data dilemmas follow. Within
//! each group: priority descending (paths without a performance measure last), ties
//! broken by path code (natural order: 4.2.1 < 4.10.1).

use std::cmp::Ordering;

use serde::Serialize;

use crate::diagnose::{best_unit, fmt_num, Diagnosis, Finding, PeerValue, Status, UnitRef};
use crate::facts::{FactSheet, UnitFacts, UnitKind};
use crate::rulebook::{
    Actor, Dimension, OptimisationPath, Rulebook, Severity, Target, TargetValue,
};

/// Performance below this is "low" in the IPA.
pub const PERFORMANCE_THRESHOLD: f64 = 0.5;

/// An importance-performance-analysis quadrant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Quadrant {
    /// High importance, low performance.
    #[serde(rename = "Concentrate here")]
    ConcentrateHere,
    /// High importance, high performance.
    #[serde(rename = "Keep up the good work")]
    KeepUpTheGoodWork,
    /// Low importance, low performance.
    #[serde(rename = "Low priority")]
    LowPriority,
    /// Low importance, high performance.
    #[serde(rename = "Possible overkill")]
    PossibleOverkill,
}

impl Quadrant {
    /// The quadrant's name, e.g. `Concentrate here`.
    pub fn label(self) -> &'static str {
        match self {
            Quadrant::ConcentrateHere => "Concentrate here",
            Quadrant::KeepUpTheGoodWork => "Keep up the good work",
            Quadrant::LowPriority => "Low priority",
            Quadrant::PossibleOverkill => "Possible overkill",
        }
    }

    /// The quadrant of an importance and a performance, given the mean importance.
    pub fn of(importance: f64, performance: f64, mean_importance: f64) -> Self {
        let high_importance = importance >= mean_importance - crate::diagnose::EPSILON;
        let low_performance = performance < PERFORMANCE_THRESHOLD;
        match (high_importance, low_performance) {
            (true, true) => Quadrant::ConcentrateHere,
            (true, false) => Quadrant::KeepUpTheGoodWork,
            (false, true) => Quadrant::LowPriority,
            (false, false) => Quadrant::PossibleOverkill,
        }
    }
}

/// Why a path is recommended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// It answers at least one present dilemma.
    Present,
    /// It answers only dilemmas the facts cannot decide.
    InsufficientData,
}

/// A dilemma a recommendation answers, as found on the unit or one of its platforms.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DilemmaLink {
    /// Dilemma code.
    pub code: String,
    /// Dilemma title.
    pub title: String,
    /// Where it was found (the unit or one of its platforms).
    pub unit: UnitRef,
    /// Present or insufficient data.
    pub status: Status,
    /// Severity when present.
    pub severity: Option<Severity>,
    /// The fired (present) or missing-data (insufficient) evidence in words.
    pub evidence: Vec<String>,
}

/// A what-if target resolved to a number.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResolvedTarget {
    /// The fact (an `indicator.*` fact).
    pub fact: String,
    /// As written in the rulebook (a number or `best`).
    pub spec: TargetValue,
    /// Lower values are better.
    pub lower_is_better: bool,
    /// The unit's current value.
    pub current: Option<f64>,
    /// The target value (None when `best` cannot be resolved).
    pub target: Option<f64>,
    /// For `best`: the unit holding the best value (may be the unit itself).
    pub best_unit: Option<PeerValue>,
    /// Whether the current value already reaches the target.
    pub already_met: Option<bool>,
    /// The value a caller should set to re-score: the target, or the current value
    /// when that is already better.
    pub what_if: Option<f64>,
    /// The target's note.
    pub note: Option<String>,
}

/// One recommended optimisation path.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendation {
    /// Path code.
    pub code: String,
    /// Title.
    pub title: String,
    /// Paper section.
    pub section: String,
    /// TOE dimension.
    pub dimension: Dimension,
    /// Present or insufficient data.
    pub basis: Basis,
    /// The dilemmas behind the recommendation.
    pub answers: Vec<DilemmaLink>,
    /// Highest severity among the present dilemmas answered.
    pub severity: Option<Severity>,
    /// Importance in [0, 1].
    pub importance: f64,
    /// The mean importance of the rulebook's paths (the IPA threshold).
    pub mean_importance: f64,
    /// The performance fact.
    pub performance_fact: Option<String>,
    /// The unit's performance (None: not measured).
    pub performance: Option<f64>,
    /// The performance fact's source citation.
    pub performance_source: Option<String>,
    /// The performance aimed at (1 by default).
    pub performance_target: f64,
    /// max(0, performance_target - performance).
    pub gap: Option<f64>,
    /// importance x gap.
    pub priority: Option<f64>,
    /// The IPA quadrant (None without performance).
    pub quadrant: Option<Quadrant>,
    /// The other unit of the same kind doing best on the performance fact.
    pub best_peer: Option<PeerValue>,
    /// Whether that peer is ahead of the unit.
    pub best_peer_ahead: Option<bool>,
    /// Actions.
    pub actions: Vec<String>,
    /// Actors.
    pub actors: Vec<Actor>,
    /// What-if targets resolved to numbers.
    pub targets: Vec<ResolvedTarget>,
    /// Why, in words: dilemmas, evidence, performance, peer, quadrant.
    pub rationale: String,
}

/// Natural order of dotted codes: numeric segments compare as numbers.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let mut x = a.split(['.', '-']);
    let mut y = b.split(['.', '-']);
    loop {
        match (x.next(), y.next()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(p), Some(q)) => {
                let o = match (p.parse::<u64>(), q.parse::<u64>()) {
                    (Ok(m), Ok(n)) => m.cmp(&n),
                    _ => p.cmp(q),
                };
                if o != Ordering::Equal {
                    return o;
                }
            }
        }
    }
}

fn link(f: &Finding) -> DilemmaLink {
    let wanted = match f.status {
        Status::Present => crate::diagnose::Outcome::Fired,
        _ => crate::diagnose::Outcome::MissingData,
    };
    let mut evidence: Vec<String> = f
        .evidence
        .iter()
        .filter(|e| e.outcome == wanted)
        .map(|e| e.detail.clone())
        .collect();
    if f.status == Status::Present {
        for c in &f.context {
            if let Some(v) = c.value {
                evidence.push(format!(
                    "{} = {} [{}]",
                    c.fact,
                    fmt_num(v),
                    c.source.as_deref().unwrap_or("")
                ));
            }
        }
    }
    DilemmaLink {
        code: f.code.clone(),
        title: f.title.clone(),
        unit: f.unit.clone(),
        status: f.status,
        severity: f.severity,
        evidence,
    }
}

/// Resolves a what-if target for a unit.
pub fn resolve_target(t: &Target, facts: &FactSheet, unit: Option<&UnitFacts>) -> ResolvedTarget {
    let current = unit.and_then(|u| u.value(&t.fact));
    let kind = unit.map_or(UnitKind::Region, |u| u.kind);
    let (target, best) = match t.target {
        TargetValue::Value(v) => (Some(v), None),
        TargetValue::Best => match best_unit(facts, kind, &t.fact, t.lower_is_better, None) {
            Some((u, v, s)) => (
                Some(v),
                Some(PeerValue {
                    code: u.code.clone(),
                    name: u.name.clone(),
                    value: v,
                    source: s.to_string(),
                }),
            ),
            None => (None, None),
        },
    };
    let already_met = match (current, target) {
        (Some(c), Some(tv)) => Some(if t.lower_is_better {
            c <= tv + crate::diagnose::EPSILON
        } else {
            c >= tv - crate::diagnose::EPSILON
        }),
        _ => None,
    };
    let what_if = match (already_met, current, target) {
        (Some(true), Some(c), _) => Some(c),
        (_, _, tv) => tv,
    };
    ResolvedTarget {
        fact: t.fact.clone(),
        spec: t.target,
        lower_is_better: t.lower_is_better,
        current,
        target,
        best_unit: best,
        already_met,
        what_if,
        note: t.note.clone(),
    }
}

/// The optimisation paths answering the diagnosis's present (then insufficient-data)
/// dilemmas, prioritised. `facts` should be the sheet the diagnosis was made on.
pub fn recommend(book: &Rulebook, facts: &FactSheet, diagnosis: &Diagnosis) -> Vec<Recommendation> {
    let unit = facts.unit(&diagnosis.unit.code);
    let kind = unit.map_or(diagnosis.unit.kind, |u| u.kind);
    let mean_importance = book.mean_importance();
    let mut out: Vec<Recommendation> = book
        .paths
        .iter()
        .filter_map(|p| recommend_path(book, p, facts, diagnosis, unit, kind, mean_importance))
        .collect();
    out.sort_by(|a, b| {
        a.basis
            .cmp(&b.basis)
            .then_with(|| match (a.priority, b.priority) {
                (Some(x), Some(y)) => y.total_cmp(&x),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            })
            .then_with(|| natural_cmp(&a.code, &b.code))
    });
    out
}

fn recommend_path(
    book: &Rulebook,
    p: &OptimisationPath,
    facts: &FactSheet,
    diagnosis: &Diagnosis,
    unit: Option<&UnitFacts>,
    kind: UnitKind,
    mean_importance: f64,
) -> Option<Recommendation> {
    let linked: Vec<&Finding> = diagnosis
        .all_findings()
        .filter(|f| p.answers.contains(&f.code))
        .collect();
    let present: Vec<&Finding> = linked
        .iter()
        .copied()
        .filter(|f| f.status == Status::Present)
        .collect();
    let insufficient: Vec<&Finding> = linked
        .iter()
        .copied()
        .filter(|f| f.status == Status::InsufficientData)
        .collect();
    let (basis, backing) = if !present.is_empty() {
        (Basis::Present, present)
    } else if !insufficient.is_empty() {
        (Basis::InsufficientData, insufficient)
    } else {
        return None;
    };
    let answers: Vec<DilemmaLink> = backing.iter().map(|f| link(f)).collect();
    let severity = backing.iter().filter_map(|f| f.severity).max();

    let importance = book.importance(p);
    let performance_target = p.performance_target.unwrap_or(1.0);
    let perf_fact = p
        .performance_fact
        .as_deref()
        .and_then(|k| unit.and_then(|u| u.fact(k)));
    let performance = perf_fact.map(|f| f.value);
    let gap = performance.map(|v| (performance_target - v).max(0.0));
    let priority = gap.map(|g| importance * g);
    let quadrant = performance.map(|v| Quadrant::of(importance, v, mean_importance));
    let best = p.performance_fact.as_deref().and_then(|k| {
        best_unit(facts, kind, k, false, Some(&diagnosis.unit.code)).map(|(u, v, s)| PeerValue {
            code: u.code.clone(),
            name: u.name.clone(),
            value: v,
            source: s.to_string(),
        })
    });
    let best_peer_ahead = match (&best, performance) {
        (Some(b), Some(v)) => Some(b.value > v + crate::diagnose::EPSILON),
        _ => None,
    };
    let targets: Vec<ResolvedTarget> = p
        .targets
        .iter()
        .map(|t| resolve_target(t, facts, unit))
        .collect();

    // Rationale.
    let mut r = String::new();
    r.push_str(&format!(
        "{} {} (section {}) answers ",
        p.code, p.title, p.section
    ));
    let parts: Vec<String> = answers
        .iter()
        .map(|a| {
            let sev = a.severity.map(|s| format!(", {s}")).unwrap_or_default();
            let on = if a.unit.code == diagnosis.unit.code {
                String::new()
            } else {
                format!(" on {} {}", a.unit.kind.as_str(), a.unit.name)
            };
            let ev = if a.evidence.is_empty() {
                "no condition can measure it with the available facts".to_string()
            } else {
                a.evidence.join("; ")
            };
            format!(
                "{} {}{on} ({}{sev}: {ev})",
                a.code,
                a.title,
                a.status.label()
            )
        })
        .collect();
    r.push_str(&parts.join(" | "));
    r.push_str(". ");
    match (&p.performance_fact, performance) {
        (Some(k), Some(v)) => {
            r.push_str(&format!(
                "Performance {k} = {} (gap {} to {}), importance {}, priority {}",
                fmt_num(v),
                fmt_num(gap.unwrap_or(0.0)),
                fmt_num(performance_target),
                fmt_num(importance),
                fmt_num(priority.unwrap_or(0.0))
            ));
            if let Some(q) = quadrant {
                r.push_str(&format!(
                    "; IPA: {} (importance {} {} mean {}, performance {} {} {})",
                    q.label(),
                    fmt_num(importance),
                    if matches!(q, Quadrant::ConcentrateHere | Quadrant::KeepUpTheGoodWork) {
                        ">="
                    } else {
                        "<"
                    },
                    fmt_num(mean_importance),
                    fmt_num(v),
                    if v < PERFORMANCE_THRESHOLD { "<" } else { ">=" },
                    fmt_num(PERFORMANCE_THRESHOLD)
                ));
            }
            r.push('.');
        }
        (Some(k), None) => r.push_str(&format!(
            "Performance {k}: no data, so no gap, priority or quadrant."
        )),
        (None, _) => r.push_str(
            "No score measures this path (the rulebook names no performance fact), so no gap, priority or quadrant.",
        ),
    }
    if let (Some(b), Some(k)) = (&best, &p.performance_fact) {
        let cmp = match best_peer_ahead {
            Some(true) => "ahead",
            Some(false) => "not ahead",
            None => "",
        };
        r.push_str(&format!(
            " Best peer on {k}: {} ({}) = {}{}.",
            b.name,
            b.code,
            fmt_num(b.value),
            if cmp.is_empty() {
                String::new()
            } else {
                format!(", {cmp}")
            }
        ));
    }

    Some(Recommendation {
        code: p.code.clone(),
        title: p.title.clone(),
        section: p.section.clone(),
        dimension: p.dimension,
        basis,
        answers,
        severity,
        importance,
        mean_importance,
        performance_fact: p.performance_fact.clone(),
        performance,
        performance_source: perf_fact.map(|f| f.source.clone()),
        performance_target,
        gap,
        priority,
        quadrant,
        best_peer: best,
        best_peer_ahead,
        actions: p.actions.clone(),
        actors: p.actors.clone(),
        targets,
        rationale: r,
    })
}
