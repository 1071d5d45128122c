//! Parsing and validation of rulebook files.
//!
//! The text is first read by serde into a generic value tree (TOML or JSON, so the two
//! syntaxes are equivalent), then walked by a validator that collects **every** problem
//! with its field path (`dilemmas[2].conditions[0].op: unknown operator "belowx"`)
//! instead of stopping at the first one. Unknown keys are rejected at every level.

use std::collections::BTreeMap;

use crate::error::{FieldError, Location, RulesError};
use crate::facts::UnitKind;
use crate::keys::{code_ok, parse_fact_key};
use crate::rulebook::{
    Actor, Condition, Dilemma, Dimension, DimensionWeights, Mode, Op, OptimisationPath, Rulebook,
    Severity, Target, TargetValue, FORMAT_VERSION,
};

/// A generic document value.
#[derive(Debug, Clone, PartialEq)]
enum Raw {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Array(Vec<Raw>),
    Table(Vec<(String, Raw)>),
    Datetime,
}

impl Raw {
    fn type_name(&self) -> &'static str {
        match self {
            Raw::Null => "null",
            Raw::Bool(_) => "a boolean",
            Raw::Int(_) => "an integer",
            Raw::Float(_) => "a float",
            Raw::Str(_) => "a string",
            Raw::Array(_) => "an array",
            Raw::Table(_) => "a table",
            Raw::Datetime => "a datetime",
        }
    }

    fn from_toml(v: toml::Value) -> Raw {
        match v {
            toml::Value::String(s) => Raw::Str(s),
            toml::Value::Integer(i) => Raw::Int(i),
            toml::Value::Float(f) => Raw::Float(f),
            toml::Value::Boolean(b) => Raw::Bool(b),
            toml::Value::Datetime(_) => Raw::Datetime,
            toml::Value::Array(a) => Raw::Array(a.into_iter().map(Raw::from_toml).collect()),
            toml::Value::Table(t) => {
                Raw::Table(t.into_iter().map(|(k, v)| (k, Raw::from_toml(v))).collect())
            }
        }
    }

    fn from_json(v: serde_json::Value) -> Raw {
        match v {
            serde_json::Value::Null => Raw::Null,
            serde_json::Value::Bool(b) => Raw::Bool(b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Raw::Int(i),
                None => Raw::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Raw::Str(s),
            serde_json::Value::Array(a) => Raw::Array(a.into_iter().map(Raw::from_json).collect()),
            serde_json::Value::Object(o) => {
                Raw::Table(o.into_iter().map(|(k, v)| (k, Raw::from_json(v))).collect())
            }
        }
    }
}

fn line_col(text: &str, offset: usize) -> Location {
    let offset = offset.min(text.len());
    let before = text.as_bytes().get(..offset).unwrap_or_default();
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(before.get(line_start..).unwrap_or_default())
        .chars()
        .count()
        + 1;
    Location { line, column }
}

/// Parses and validates a TOML rulebook.
pub fn parse_toml(text: &str) -> Result<Rulebook, RulesError> {
    let table: toml::Table = toml::from_str(text).map_err(|e| {
        RulesError::Invalid(vec![FieldError {
            path: String::new(),
            message: format!("TOML syntax error: {}", e.message().trim()),
            location: e.span().map(|s| line_col(text, s.start)),
        }])
    })?;
    validate(&Raw::from_toml(toml::Value::Table(table)))
}

/// Parses and validates a JSON rulebook.
pub fn parse_json(text: &str) -> Result<Rulebook, RulesError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        let full = e.to_string();
        let message = match full.rfind(" at line ") {
            Some(pos) => full.get(..pos).unwrap_or(&full).to_string(),
            None => full,
        };
        RulesError::Invalid(vec![FieldError {
            path: String::new(),
            message: format!("JSON syntax error: {message}"),
            location: Some(Location {
                line: e.line(),
                column: e.column(),
            }),
        }])
    })?;
    validate(&Raw::from_json(value))
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

/// Collects errors while walking the tree.
#[derive(Default)]
struct Checker {
    errors: Vec<FieldError>,
}

/// A table being read: its path and entries.
struct Tbl<'a> {
    path: String,
    entries: &'a [(String, Raw)],
}

impl<'a> Tbl<'a> {
    fn get(&self, key: &str) -> Option<&'a Raw> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
    fn at(&self, key: &str) -> String {
        join(&self.path, key)
    }
}

impl Checker {
    fn err(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError::new(path, message));
    }

    /// Views `v` as a table, checking its keys against `allowed`.
    fn table<'a>(&mut self, v: &'a Raw, path: String, allowed: &[&str]) -> Option<Tbl<'a>> {
        match v {
            Raw::Table(entries) => {
                for (k, _) in entries {
                    if !allowed.contains(&k.as_str()) {
                        self.err(
                            join(&path, k),
                            format!(
                                "unknown key {k:?} (expected one of: {})",
                                allowed.join(", ")
                            ),
                        );
                    }
                }
                Some(Tbl { path, entries })
            }
            other => {
                self.err(
                    path,
                    format!("expected a table, found {}", other.type_name()),
                );
                None
            }
        }
    }

    fn string(&mut self, t: &Tbl<'_>, key: &str, required: bool) -> Option<String> {
        match t.get(key) {
            None => {
                if required {
                    self.err(t.at(key), "missing required key");
                }
                None
            }
            Some(Raw::Str(s)) => {
                if s.trim().is_empty() {
                    self.err(t.at(key), "must not be empty");
                    None
                } else {
                    Some(s.clone())
                }
            }
            Some(other) => {
                self.err(
                    t.at(key),
                    format!("expected a string, found {}", other.type_name()),
                );
                None
            }
        }
    }

    fn enumerated<T>(
        &mut self,
        t: &Tbl<'_>,
        key: &str,
        required: bool,
        what: &str,
        parse: fn(&str) -> Option<T>,
        names: &[&str],
    ) -> Option<T> {
        let s = self.string(t, key, required)?;
        match parse(&s) {
            Some(v) => Some(v),
            None => {
                self.err(
                    t.at(key),
                    format!(
                        "unknown {what} {s:?} (expected one of: {})",
                        names.join(", ")
                    ),
                );
                None
            }
        }
    }

    fn number_value(&mut self, path: String, v: &Raw) -> Option<f64> {
        let x = match v {
            Raw::Int(i) => *i as f64,
            Raw::Float(f) => *f,
            other => {
                self.err(
                    path,
                    format!("expected a number, found {}", other.type_name()),
                );
                return None;
            }
        };
        if x.is_finite() {
            Some(x)
        } else {
            self.err(path, format!("must be a finite number, found {x}"));
            None
        }
    }

    fn number(&mut self, t: &Tbl<'_>, key: &str, required: bool) -> Option<f64> {
        match t.get(key) {
            None => {
                if required {
                    self.err(t.at(key), "missing required key");
                }
                None
            }
            Some(v) => self.number_value(t.at(key), v),
        }
    }

    fn boolean(&mut self, t: &Tbl<'_>, key: &str) -> Option<bool> {
        match t.get(key) {
            None => None,
            Some(Raw::Bool(b)) => Some(*b),
            Some(other) => {
                self.err(
                    t.at(key),
                    format!("expected a boolean, found {}", other.type_name()),
                );
                None
            }
        }
    }

    fn array<'a>(&mut self, t: &Tbl<'a>, key: &str, required: bool) -> Option<&'a [Raw]> {
        match t.get(key) {
            None => {
                if required {
                    self.err(t.at(key), "missing required key");
                }
                None
            }
            Some(Raw::Array(a)) => Some(a),
            Some(other) => {
                self.err(
                    t.at(key),
                    format!("expected an array, found {}", other.type_name()),
                );
                None
            }
        }
    }

    /// A list of non-empty strings.
    fn strings(&mut self, t: &Tbl<'_>, key: &str, required: bool) -> Vec<(String, String)> {
        let Some(items) = self.array(t, key, required) else {
            return Vec::new();
        };
        let base = t.at(key);
        let mut out = Vec::new();
        for (i, v) in items.iter().enumerate() {
            let p = index(&base, i);
            match v {
                Raw::Str(s) if !s.trim().is_empty() => out.push((p, s.clone())),
                Raw::Str(_) => self.err(p, "must not be empty"),
                other => self.err(p, format!("expected a string, found {}", other.type_name())),
            }
        }
        out
    }

    /// Checks a fact key; `kind` restricts `metric.*`/`region.*` facts.
    fn fact(&mut self, path: &str, key: &str, kind: Option<UnitKind>) -> bool {
        match parse_fact_key(key) {
            Err(m) => {
                self.err(path, m);
                false
            }
            Ok(k) => match (k.only_for(), kind) {
                (Some(only), Some(kind)) if only != kind => {
                    self.err(
                        path,
                        format!(
                            "fact {key:?} exists only for {}s, but the dilemma applies to {}s",
                            only.as_str(),
                            kind.as_str()
                        ),
                    );
                    false
                }
                _ => true,
            },
        }
    }

    fn code(&mut self, t: &Tbl<'_>, key: &str) -> Option<String> {
        let s = self.string(t, key, true)?;
        if code_ok(&s) {
            Some(s)
        } else {
            self.err(
                t.at(key),
                format!("bad code {s:?}: use 1-64 letters, digits, '.', '_' or '-'"),
            );
            None
        }
    }
}

const TOP_KEYS: &[&str] = &[
    "format_version",
    "id",
    "name",
    "description",
    "dimension_weights",
    "dilemmas",
    "paths",
];
const WEIGHT_KEYS: &[&str] = &["technology", "organization", "environment"];
const DILEMMA_KEYS: &[&str] = &[
    "code",
    "title",
    "section",
    "dimension",
    "summary",
    "severity",
    "applies_to",
    "mode",
    "note",
    "context",
    "conditions",
];
const CONDITION_KEYS: &[&str] = &[
    "fact",
    "op",
    "value",
    "peer",
    "lower_is_better",
    "severity",
    "note",
];
const PATH_KEYS: &[&str] = &[
    "code",
    "title",
    "section",
    "dimension",
    "answers",
    "actions",
    "actors",
    "importance",
    "performance_fact",
    "performance_target",
    "targets",
    "note",
];
const TARGET_KEYS: &[&str] = &["fact", "target", "lower_is_better", "note"];

fn names<T: Copy>(all: &[T], f: fn(T) -> &'static str) -> Vec<&'static str> {
    all.iter().map(|x| f(*x)).collect()
}

fn validate(doc: &Raw) -> Result<Rulebook, RulesError> {
    let mut c = Checker::default();
    let Some(top) = c.table(doc, String::new(), TOP_KEYS) else {
        return Err(RulesError::Invalid(c.errors));
    };

    match top.get("format_version") {
        None => c.err("format_version", "missing required key (must be 1)"),
        Some(Raw::Int(FORMAT_VERSION)) => {}
        Some(Raw::Int(v)) => c.err(
            "format_version",
            format!("unsupported format version {v} (expected {FORMAT_VERSION})"),
        ),
        Some(other) => c.err(
            "format_version",
            format!("expected an integer, found {}", other.type_name()),
        ),
    }
    let id = c.code(&top, "id");
    let name = c.string(&top, "name", true);
    let description = match top.get("description") {
        Some(Raw::Str(s)) => s.clone(),
        None => String::new(),
        Some(other) => {
            c.err(
                "description",
                format!("expected a string, found {}", other.type_name()),
            );
            String::new()
        }
    };

    let mut weights = DimensionWeights::default();
    if let Some(w) = top.get("dimension_weights") {
        if let Some(t) = c.table(w, "dimension_weights".to_string(), WEIGHT_KEYS) {
            for (key, slot) in [
                ("technology", &mut weights.technology),
                ("organization", &mut weights.organization),
                ("environment", &mut weights.environment),
            ] {
                if let Some(x) = c.number(&t, key, false) {
                    if x < 0.0 {
                        c.err(t.at(key), format!("must be >= 0, found {x}"));
                    } else {
                        *slot = x;
                    }
                }
            }
            if weights.technology + weights.organization + weights.environment <= 0.0 {
                c.err("dimension_weights", "at least one weight must be positive");
            }
        }
    }

    let mut dilemmas = Vec::new();
    match c.array(&top, "dilemmas", true) {
        Some([]) => c.err("dilemmas", "at least one dilemma is required"),
        Some(items) => {
            for (i, item) in items.iter().enumerate() {
                if let Some(d) = dilemma(&mut c, item, index("dilemmas", i)) {
                    dilemmas.push((i, d));
                }
            }
        }
        None => {}
    }

    let mut paths = Vec::new();
    if let Some(items) = c.array(&top, "paths", false) {
        for (i, item) in items.iter().enumerate() {
            if let Some(p) = parse_path(&mut c, item, index("paths", i)) {
                paths.push((i, p));
            }
        }
    }

    // Cross-checks on the codes as written (so that an item with other errors still
    // takes part): unique codes, paths answering known dilemmas.
    let dilemma_codes = raw_codes(&top, "dilemmas");
    let path_codes = raw_codes(&top, "paths");
    for (what, list, codes) in [
        ("dilemma", "dilemmas", &dilemma_codes),
        ("path", "paths", &path_codes),
    ] {
        let mut first: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, code) in codes {
            if let Some(j) = first.get(code.as_str()) {
                c.err(
                    join(&index(list, *i), "code"),
                    format!("duplicate {what} code {code:?} (first at {list}[{j}])"),
                );
            } else {
                first.insert(code, *i);
            }
        }
    }
    if let Some(Raw::Array(items)) = top.get("paths") {
        for (i, item) in items.iter().enumerate() {
            let Raw::Table(entries) = item else { continue };
            let Some((_, Raw::Array(answers))) = entries.iter().find(|(k, _)| k == "answers")
            else {
                continue;
            };
            for (k, a) in answers.iter().enumerate() {
                if let Raw::Str(a) = a {
                    if !a.trim().is_empty() && !dilemma_codes.iter().any(|(_, d)| d == a) {
                        c.err(
                            index(&join(&index("paths", i), "answers"), k),
                            format!("unknown dilemma {a:?}"),
                        );
                    }
                }
            }
        }
    }

    if !c.errors.is_empty() {
        return Err(RulesError::Invalid(c.errors));
    }
    Ok(Rulebook {
        format_version: FORMAT_VERSION,
        id: id.unwrap_or_default(),
        name: name.unwrap_or_default(),
        description,
        dimension_weights: weights,
        dilemmas: dilemmas.into_iter().map(|(_, d)| d).collect(),
        paths: paths.into_iter().map(|(_, p)| p).collect(),
    })
}

/// The `code` strings of the tables of an array of tables, with their index.
fn raw_codes(top: &Tbl<'_>, key: &str) -> Vec<(usize, String)> {
    let Some(Raw::Array(items)) = top.get(key) else {
        return Vec::new();
    };
    items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| match item {
            Raw::Table(e) => e.iter().find_map(|(k, v)| match (k.as_str(), v) {
                ("code", Raw::Str(s)) => Some((i, s.clone())),
                _ => None,
            }),
            _ => None,
        })
        .collect()
}

fn dilemma(c: &mut Checker, v: &Raw, path: String) -> Option<Dilemma> {
    let t = c.table(v, path, DILEMMA_KEYS)?;
    let before = c.errors.len();
    let code = c.code(&t, "code");
    let title = c.string(&t, "title", true);
    let section = c.string(&t, "section", true);
    let dimension = c.enumerated(
        &t,
        "dimension",
        true,
        "dimension",
        Dimension::parse,
        &names(&Dimension::ALL, Dimension::as_str),
    );
    let summary = c.string(&t, "summary", true);
    let severity = c.enumerated(
        &t,
        "severity",
        true,
        "severity",
        Severity::parse,
        &names(&Severity::ALL, Severity::as_str),
    );
    let applies_to = c.enumerated(
        &t,
        "applies_to",
        true,
        "unit kind",
        |s| match s {
            "region" => Some(UnitKind::Region),
            "platform" => Some(UnitKind::Platform),
            _ => None,
        },
        &["region", "platform"],
    );
    let mode = c
        .enumerated(&t, "mode", false, "mode", Mode::parse, &["any", "all"])
        .unwrap_or_default();
    let note = c.string(&t, "note", false);

    let mut context = Vec::new();
    for (p, f) in c.strings(&t, "context", false) {
        if c.fact(&p, &f, applies_to) {
            context.push(f);
        }
    }

    let mut conditions = Vec::new();
    if let Some(items) = c.array(&t, "conditions", false) {
        let base = t.at("conditions");
        for (i, item) in items.iter().enumerate() {
            if let Some(cond) = condition(c, item, index(&base, i), applies_to) {
                conditions.push(cond);
            }
        }
    }

    if c.errors.len() != before {
        return None;
    }
    Some(Dilemma {
        code: code?,
        title: title?,
        section: section?,
        dimension: dimension?,
        summary: summary?,
        severity: severity?,
        applies_to: applies_to?,
        mode,
        note,
        context,
        conditions,
    })
}

fn condition(c: &mut Checker, v: &Raw, path: String, kind: Option<UnitKind>) -> Option<Condition> {
    let t = c.table(v, path, CONDITION_KEYS)?;
    let before = c.errors.len();
    let fact = c.string(&t, "fact", true);
    if let Some(f) = &fact {
        c.fact(&t.at("fact"), f, kind);
    }
    let op = c.enumerated(
        &t,
        "op",
        true,
        "operator",
        Op::parse,
        &names(&Op::ALL, Op::as_str),
    );
    let value = c.number(&t, "value", true);
    let peer = c.string(&t, "peer", false);
    let lower_is_better = c.boolean(&t, "lower_is_better");
    let severity = c.enumerated(
        &t,
        "severity",
        false,
        "severity",
        Severity::parse,
        &names(&Severity::ALL, Severity::as_str),
    );
    let note = c.string(&t, "note", false);

    if let Some(op) = op {
        if op == Op::GapToPeerAbove {
            if t.get("peer").is_none() {
                c.err(
                    t.at("peer"),
                    "missing required key (gap_to_peer_above needs a peer)",
                );
            }
        } else if t.get("peer").is_some() {
            c.err(
                t.at("peer"),
                format!("peer only applies to gap_to_peer_above, not {op}"),
            );
        }
        if !op.is_gap() && t.get("lower_is_better").is_some() {
            c.err(
                t.at("lower_is_better"),
                format!("lower_is_better only applies to gap operators, not {op}"),
            );
        }
        if let (Some(f), true) = (&fact, op == Op::RankWorseThan) {
            if !f.starts_with("rank.") {
                c.err(
                    t.at("fact"),
                    format!("rank_worse_than needs a rank.* fact, not {f:?}"),
                );
            }
        }
        if let (Some(f), true) = (&fact, op == Op::TrendBelow) {
            if !f.starts_with("trend.") {
                c.err(
                    t.at("fact"),
                    format!("trend_below needs a trend.* fact, not {f:?}"),
                );
            }
        }
        if let Some(x) = value {
            if op.is_gap() && x < 0.0 {
                c.err(
                    t.at("value"),
                    format!("a gap threshold must be >= 0, found {x}"),
                );
            }
            if op == Op::RankWorseThan && (x < 1.0 || x.fract() != 0.0) {
                c.err(
                    t.at("value"),
                    format!("a rank threshold must be a whole number >= 1, found {x}"),
                );
            }
        }
    }
    if let Some(p) = &peer {
        if !code_ok(p) {
            c.err(t.at("peer"), format!("bad unit code {p:?}"));
        }
    }

    if c.errors.len() != before {
        return None;
    }
    Some(Condition {
        fact: fact?,
        op: op?,
        value: value?,
        peer,
        lower_is_better: lower_is_better.unwrap_or(false),
        severity,
        note,
    })
}

fn is_empty_array(v: Option<&Raw>) -> bool {
    matches!(v, Some(Raw::Array(a)) if a.is_empty())
}

fn parse_path(c: &mut Checker, v: &Raw, path: String) -> Option<OptimisationPath> {
    let t = c.table(v, path, PATH_KEYS)?;
    let before = c.errors.len();
    let code = c.code(&t, "code");
    let title = c.string(&t, "title", true);
    let section = c.string(&t, "section", true);
    let dimension = c.enumerated(
        &t,
        "dimension",
        true,
        "dimension",
        Dimension::parse,
        &names(&Dimension::ALL, Dimension::as_str),
    );

    let mut answers: Vec<String> = Vec::new();
    let answer_items = c.strings(&t, "answers", true);
    if is_empty_array(t.get("answers")) {
        c.err(t.at("answers"), "must list at least one dilemma");
    }
    for (p, a) in answer_items {
        if answers.contains(&a) {
            c.err(p, format!("dilemma {a:?} listed twice"));
        } else {
            answers.push(a);
        }
    }

    let action_items = c.strings(&t, "actions", true);
    if is_empty_array(t.get("actions")) {
        c.err(t.at("actions"), "must list at least one action");
    }
    let actions: Vec<String> = action_items.into_iter().map(|(_, a)| a).collect();

    let mut actors = Vec::new();
    let actor_items = c.strings(&t, "actors", true);
    if is_empty_array(t.get("actors")) {
        c.err(t.at("actors"), "must list at least one actor");
    }
    for (p, a) in actor_items {
        match Actor::parse(&a) {
            Some(x) if actors.contains(&x) => c.err(p, format!("actor {a:?} listed twice")),
            Some(x) => actors.push(x),
            None => c.err(
                p,
                format!(
                    "unknown actor {a:?} (expected one of: {})",
                    names(&Actor::ALL, Actor::as_str).join(", ")
                ),
            ),
        }
    }

    let importance = c.number(&t, "importance", false);
    if let Some(x) = importance {
        if !(0.0..=1.0).contains(&x) {
            c.err(t.at("importance"), format!("must be in [0, 1], found {x}"));
        }
    }
    let performance_fact = c.string(&t, "performance_fact", false);
    if let Some(f) = &performance_fact {
        if c.fact(&t.at("performance_fact"), f, None) && !f.starts_with("score.") {
            c.err(
                t.at("performance_fact"),
                format!("must be a score.* fact (a 0..1 engine score), not {f:?}"),
            );
        }
    }
    let performance_target = c.number(&t, "performance_target", false);
    if let Some(x) = performance_target {
        if !(0.0..=1.0).contains(&x) {
            c.err(
                t.at("performance_target"),
                format!("must be in [0, 1], found {x}"),
            );
        }
    }

    let mut targets: Vec<Target> = Vec::new();
    if let Some(items) = c.array(&t, "targets", false) {
        let base = t.at("targets");
        for (i, item) in items.iter().enumerate() {
            let p = index(&base, i);
            if let Some(tg) = target(c, item, p.clone()) {
                if targets.iter().any(|x| x.fact == tg.fact) {
                    c.err(
                        join(&p, "fact"),
                        format!("fact {:?} has two targets", tg.fact),
                    );
                } else {
                    targets.push(tg);
                }
            }
        }
    }
    let note = c.string(&t, "note", false);

    if c.errors.len() != before {
        return None;
    }
    Some(OptimisationPath {
        code: code?,
        title: title?,
        section: section?,
        dimension: dimension?,
        answers,
        actions,
        actors,
        importance,
        performance_fact,
        performance_target,
        targets,
        note,
    })
}

fn target(c: &mut Checker, v: &Raw, path: String) -> Option<Target> {
    let t = c.table(v, path, TARGET_KEYS)?;
    let before = c.errors.len();
    let fact = c.string(&t, "fact", true);
    if let Some(f) = &fact {
        if c.fact(&t.at("fact"), f, None) && !f.starts_with("indicator.") {
            c.err(
                t.at("fact"),
                format!("must be an indicator.* fact (what a caller re-scores), not {f:?}"),
            );
        }
    }
    let value = match t.get("target") {
        None => {
            c.err(
                t.at("target"),
                "missing required key (a number or \"best\")",
            );
            None
        }
        Some(Raw::Str(s)) if s == "best" => Some(TargetValue::Best),
        Some(Raw::Str(s)) => {
            c.err(
                t.at("target"),
                format!("expected a number or \"best\", found {s:?}"),
            );
            None
        }
        Some(other) => c
            .number_value(t.at("target"), other)
            .map(TargetValue::Value),
    };
    let lower_is_better = c.boolean(&t, "lower_is_better");
    let note = c.string(&t, "note", false);
    if c.errors.len() != before {
        return None;
    }
    Some(Target {
        fact: fact?,
        target: value?,
        lower_is_better: lower_is_better.unwrap_or(false),
        note,
    })
}
