//! Diagnosis: which dilemmas of a rulebook a unit shows, with the evidence.

use std::cmp::Ordering;

use serde::Serialize;

use crate::error::RulesError;
use crate::facts::{FactSheet, UnitFacts, UnitKind};
use crate::rulebook::{Condition, Dilemma, Dimension, Mode, Op, Rulebook, Severity};

/// Tolerance of every comparison (so that `0.9 - 0.85 > 0.05` does not fire on
/// floating-point noise).
pub const EPSILON: f64 = 1e-9;

/// A unit, by code and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitRef {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Region or platform.
    pub kind: UnitKind,
}

impl UnitRef {
    /// The reference of a unit.
    pub fn of(u: &UnitFacts) -> Self {
        Self {
            code: u.code.clone(),
            name: u.name.clone(),
            kind: u.kind,
        }
    }
}

/// Another unit's value of a fact (the best unit or a named peer).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeerValue {
    /// Unit code.
    pub code: String,
    /// Unit name.
    pub name: String,
    /// Its value of the fact.
    pub value: f64,
    /// The fact's source citation.
    pub source: String,
}

/// Outcome of one condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The condition holds.
    Fired,
    /// The condition was evaluated and does not hold.
    NotFired,
    /// A fact needed by the condition is missing.
    MissingData,
}

/// The evidence of one condition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    /// Index of the condition in the dilemma.
    pub condition: usize,
    /// The fact key.
    pub fact: String,
    /// The operator.
    pub op: Op,
    /// The threshold (value, gap, rank or change).
    pub threshold: f64,
    /// Direction of gap operators.
    pub lower_is_better: bool,
    /// The unit's value (None: no data).
    pub value: Option<f64>,
    /// The source citation of the unit's value.
    pub source: Option<String>,
    /// The best unit of the same kind or the named peer (gap operators).
    pub reference: Option<PeerValue>,
    /// The direction-adjusted gap to the reference (gap operators; positive = behind).
    pub gap: Option<f64>,
    /// Fired, not fired or missing data.
    pub outcome: Outcome,
    /// Whether the condition fired.
    pub fired: bool,
    /// Severity this condition gives the dilemma when it fires.
    pub severity: Severity,
    /// The condition's note from the rulebook.
    pub note: Option<String>,
    /// One line in words, e.g. `indicator.toe.t.store_coverage = 0.8125 < 0.9: fired`.
    pub detail: String,
}

/// A fact reported with a finding without being tested.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContextFact {
    /// Fact key.
    pub fact: String,
    /// Value (None: no data).
    pub value: Option<f64>,
    /// Source citation.
    pub source: Option<String>,
}

/// Status of a dilemma for a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The dilemma is present.
    Present,
    /// The dilemma is absent.
    Absent,
    /// The facts do not allow a conclusion.
    InsufficientData,
}

impl Status {
    /// `present`, `absent` or `insufficient data`.
    pub fn label(self) -> &'static str {
        match self {
            Status::Present => "present",
            Status::Absent => "absent",
            Status::InsufficientData => "insufficient data",
        }
    }
}

/// One dilemma evaluated on one unit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Dilemma code.
    pub code: String,
    /// Dilemma title.
    pub title: String,
    /// Paper section.
    pub section: String,
    /// TOE dimension.
    pub dimension: Dimension,
    /// The paper's sentence.
    pub summary: String,
    /// The unit evaluated.
    pub unit: UnitRef,
    /// Status.
    pub status: Status,
    /// Severity (present only): the highest severity among fired conditions, each
    /// condition's own or else the dilemma's base.
    pub severity: Option<Severity>,
    /// How conditions combine.
    pub mode: Mode,
    /// One entry per condition.
    pub evidence: Vec<Evidence>,
    /// Context facts.
    pub context: Vec<ContextFact>,
    /// The dilemma's note (e.g. why it cannot be measured).
    pub note: Option<String>,
    /// The finding in words.
    pub explanation: String,
}

/// The findings on the platforms of a region.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlatformFindings {
    /// The platform.
    pub platform: UnitRef,
    /// Its findings (platform dilemmas).
    pub findings: Vec<Finding>,
}

/// The diagnosis of one unit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnosis {
    /// The rulebook's id.
    pub rulebook: String,
    /// The unit diagnosed.
    pub unit: UnitRef,
    /// One finding per dilemma that applies to the unit's kind, in rulebook order.
    pub findings: Vec<Finding>,
    /// For a region: the platform dilemmas evaluated on each of its platforms (by code).
    pub platform_findings: Vec<PlatformFindings>,
}

impl Diagnosis {
    /// The unit's own finding for a dilemma.
    pub fn finding(&self, code: &str) -> Option<&Finding> {
        self.findings.iter().find(|f| f.code == code)
    }

    /// The finding of a dilemma on one of the region's platforms.
    pub fn platform_finding(&self, platform: &str, code: &str) -> Option<&Finding> {
        self.platform_findings
            .iter()
            .find(|p| p.platform.code == platform)
            .and_then(|p| p.findings.iter().find(|f| f.code == code))
    }

    /// Every finding: the unit's, then its platforms'.
    pub fn all_findings(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().chain(
            self.platform_findings
                .iter()
                .flat_map(|p| p.findings.iter()),
        )
    }

    /// Present findings (unit and platforms).
    pub fn present(&self) -> impl Iterator<Item = &Finding> {
        self.all_findings().filter(|f| f.status == Status::Present)
    }
}

/// Formats a number compactly (up to 4 decimals, trailing zeros trimmed).
pub fn fmt_num(x: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    let s = format!("{x:.4}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" {
        "0".to_string()
    } else {
        s
    }
}

/// Diagnoses `unit`: every dilemma that applies to its kind, and for a region the
/// platform dilemmas on each of its platforms.
pub fn diagnose(book: &Rulebook, facts: &FactSheet, unit: &str) -> Result<Diagnosis, RulesError> {
    facts.check()?;
    let u = facts
        .unit(unit)
        .ok_or_else(|| RulesError::UnknownUnit(unit.to_string()))?;
    let findings = evaluate_unit(book, facts, u);
    let platform_findings = if u.kind == UnitKind::Region {
        facts
            .platforms_of(&u.code)
            .into_iter()
            .map(|p| PlatformFindings {
                platform: UnitRef::of(p),
                findings: evaluate_unit(book, facts, p),
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(Diagnosis {
        rulebook: book.id.clone(),
        unit: UnitRef::of(u),
        findings,
        platform_findings,
    })
}

fn evaluate_unit(book: &Rulebook, facts: &FactSheet, u: &UnitFacts) -> Vec<Finding> {
    book.dilemmas
        .iter()
        .filter(|d| d.applies_to == u.kind)
        .map(|d| evaluate_dilemma(d, facts, u))
        .collect()
}

/// Evaluates one dilemma on one unit (whatever its kind).
pub fn evaluate_dilemma(d: &Dilemma, facts: &FactSheet, u: &UnitFacts) -> Finding {
    let evidence: Vec<Evidence> = d
        .conditions
        .iter()
        .enumerate()
        .map(|(i, c)| evaluate_condition(i, c, d.severity, facts, u))
        .collect();
    let fired = evidence
        .iter()
        .filter(|e| e.outcome == Outcome::Fired)
        .count();
    let missing = evidence
        .iter()
        .filter(|e| e.outcome == Outcome::MissingData)
        .count();
    let status = if evidence.is_empty() || missing == evidence.len() {
        Status::InsufficientData
    } else {
        match d.mode {
            Mode::Any if fired > 0 => Status::Present,
            Mode::Any if missing > 0 => Status::InsufficientData,
            Mode::Any => Status::Absent,
            Mode::All if missing > 0 => Status::InsufficientData,
            Mode::All if fired == evidence.len() => Status::Present,
            Mode::All => Status::Absent,
        }
    };
    let severity = if status == Status::Present {
        evidence
            .iter()
            .filter(|e| e.fired)
            .map(|e| e.severity)
            .max()
    } else {
        None
    };
    let context: Vec<ContextFact> = d
        .context
        .iter()
        .map(|k| {
            let f = u.fact(k);
            ContextFact {
                fact: k.clone(),
                value: f.map(|f| f.value),
                source: f.map(|f| f.source.clone()),
            }
        })
        .collect();

    let mut explanation = format!(
        "{} {} on {} ({}): {}",
        d.code,
        d.title,
        u.name,
        u.code,
        status.label()
    );
    if let Some(s) = severity {
        explanation.push_str(&format!(" ({s})"));
    }
    if evidence.is_empty() {
        explanation.push_str(": no condition can measure this dilemma with the available facts");
    } else {
        let shown: Vec<&Evidence> = match status {
            Status::Present => evidence.iter().filter(|e| e.fired).collect(),
            _ => evidence.iter().collect(),
        };
        let parts: Vec<String> = shown.iter().map(|e| e.detail.clone()).collect();
        explanation.push_str(": ");
        explanation.push_str(&parts.join("; "));
    }
    let ctx: Vec<String> = context
        .iter()
        .filter_map(|c| {
            c.value.map(|v| {
                format!(
                    "{} = {} [{}]",
                    c.fact,
                    fmt_num(v),
                    c.source.as_deref().unwrap_or("")
                )
            })
        })
        .collect();
    if !ctx.is_empty() {
        explanation.push_str("; context: ");
        explanation.push_str(&ctx.join("; "));
    }

    Finding {
        code: d.code.clone(),
        title: d.title.clone(),
        section: d.section.clone(),
        dimension: d.dimension,
        summary: d.summary.clone(),
        unit: UnitRef::of(u),
        status,
        severity,
        mode: d.mode,
        evidence,
        context,
        note: d.note.clone(),
        explanation,
    }
}

/// Orders values so that the best comes first (ties: unit code).
fn better(a: (f64, &str), b: (f64, &str), lower_is_better: bool) -> Ordering {
    let by_value = if lower_is_better {
        a.0.total_cmp(&b.0)
    } else {
        b.0.total_cmp(&a.0)
    };
    by_value.then_with(|| a.1.cmp(b.1))
}

/// The best unit of `kind` on `fact` (ties broken by code), optionally excluding one.
pub fn best_unit<'a>(
    facts: &'a FactSheet,
    kind: UnitKind,
    fact: &str,
    lower_is_better: bool,
    exclude: Option<&str>,
) -> Option<(&'a UnitFacts, f64, &'a str)> {
    facts
        .of_kind(kind)
        .filter(|u| Some(u.code.as_str()) != exclude)
        .filter_map(|u| u.fact(fact).map(|f| (u, f.value, f.source.as_str())))
        .min_by(|a, b| better((a.1, &a.0.code), (b.1, &b.0.code), lower_is_better))
}

fn peer_value(u: &UnitFacts, value: f64, source: &str) -> PeerValue {
    PeerValue {
        code: u.code.clone(),
        name: u.name.clone(),
        value,
        source: source.to_string(),
    }
}

fn evaluate_condition(
    index: usize,
    c: &Condition,
    base: Severity,
    facts: &FactSheet,
    u: &UnitFacts,
) -> Evidence {
    let own = u.fact(&c.fact);
    let mut e = Evidence {
        condition: index,
        fact: c.fact.clone(),
        op: c.op,
        threshold: c.value,
        lower_is_better: c.lower_is_better,
        value: own.map(|f| f.value),
        source: own.map(|f| f.source.clone()),
        reference: None,
        gap: None,
        outcome: Outcome::MissingData,
        fired: false,
        severity: c.severity.unwrap_or(base),
        note: c.note.clone(),
        detail: String::new(),
    };
    let t = c.value;
    let Some(v) = e.value else {
        let why = if u.values.contains_key(&c.fact) {
            "not a finite number"
        } else {
            "no data"
        };
        e.detail = format!("{} {} {}: {why}", c.fact, c.op.phrase(), fmt_num(t));
        return e;
    };

    let fired = match c.op {
        Op::Below | Op::TrendBelow => Some(v < t - EPSILON),
        Op::Above | Op::RankWorseThan => Some(v > t + EPSILON),
        Op::AtMost => Some(v <= t + EPSILON),
        Op::AtLeast => Some(v >= t - EPSILON),
        Op::GapToBestAbove | Op::GapToPeerAbove => {
            let reference = if c.op == Op::GapToBestAbove {
                // The best of all units of the kind (the unit included), provided some
                // other unit has the fact: a unit alone cannot lag behind itself.
                let others = best_unit(facts, u.kind, &c.fact, c.lower_is_better, Some(&u.code));
                match others {
                    None => {
                        e.detail = format!(
                            "{} = {}: no other {} has this fact to compare with",
                            c.fact,
                            fmt_num(v),
                            u.kind.as_str()
                        );
                        None
                    }
                    Some((pu, pv, ps)) => {
                        if better((v, &u.code), (pv, &pu.code), c.lower_is_better) == Ordering::Less
                        {
                            Some(peer_value(u, v, e.source.as_deref().unwrap_or("")))
                        } else {
                            Some(peer_value(pu, pv, ps))
                        }
                    }
                }
            } else {
                let peer = c.peer.as_deref().unwrap_or("");
                match facts.unit(peer) {
                    None => {
                        e.detail = format!(
                            "{} = {}: peer {peer:?} is not in the fact sheet",
                            c.fact,
                            fmt_num(v)
                        );
                        None
                    }
                    Some(p) if p.kind != u.kind => {
                        e.detail = format!(
                            "{} = {}: peer {peer:?} is a {}, not a {}",
                            c.fact,
                            fmt_num(v),
                            p.kind.as_str(),
                            u.kind.as_str()
                        );
                        None
                    }
                    Some(p) => match p.fact(&c.fact) {
                        None => {
                            e.detail = format!(
                                "{} = {}: peer {} ({}) has no data",
                                c.fact,
                                fmt_num(v),
                                p.name,
                                p.code
                            );
                            None
                        }
                        Some(f) => Some(peer_value(p, f.value, &f.source)),
                    },
                }
            };
            reference.map(|r| {
                let gap = if c.lower_is_better {
                    v - r.value
                } else {
                    r.value - v
                };
                e.gap = Some(gap);
                e.reference = Some(r);
                gap > t + EPSILON
            })
        }
    };

    match fired {
        None => {
            e.outcome = Outcome::MissingData;
        }
        Some(f) => {
            e.outcome = if f { Outcome::Fired } else { Outcome::NotFired };
            e.fired = f;
            let verdict = if f { "fired" } else { "not fired" };
            e.detail = match (&e.reference, e.gap) {
                (Some(r), Some(gap)) => {
                    let role = if c.op == Op::GapToBestAbove {
                        "best"
                    } else {
                        "peer"
                    };
                    format!(
                        "{} = {} vs {role} {} ({}) = {}{}: gap {} {} {}: {verdict}",
                        c.fact,
                        fmt_num(v),
                        r.name,
                        r.code,
                        fmt_num(r.value),
                        if c.lower_is_better {
                            " (lower is better)"
                        } else {
                            ""
                        },
                        fmt_num(gap),
                        if f { ">" } else { "<=" },
                        fmt_num(t),
                    )
                }
                _ => format!(
                    "{} = {} {} {}: {verdict}",
                    c.fact,
                    fmt_num(v),
                    c.op.phrase(),
                    fmt_num(t)
                ),
            };
            if let Some(s) = &e.source {
                e.detail.push_str(&format!(" [{s}]"));
            }
        }
    }
    e
}
