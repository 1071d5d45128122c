//! The validated model tree.
//!
//! A [`Model`] is a tree of [`Node`]s: the root is the index, its children are
//! the dimensions (e.g. Technology, Organization, Environment), which contain
//! factors, ..., down to indicators (the leaves). Depth is arbitrary. Every
//! node has a code, a weight within its parent and either children (an
//! [`Aggregate`]: aggregation method, data-availability threshold, optional
//! rescaling and bands) or indicator settings ([`Indicator`]: direction,
//! normalisation, optional target / goalposts, imputation).
//!
//! Build a model from a file with [`Model::from_toml_str`] /
//! [`Model::from_json_str`], or in code and check it with [`Model::validate`].
//! Validation errors carry the field path used in files, e.g.
//! `dimensions[1].children[0].weight: must be finite and >= 0`.

use std::collections::HashMap;

use serde::Serialize;

use crate::aggregate::{Aggregation, ZeroHandling};
use crate::error::{FieldError, ModelError};
use crate::missing::ImputationMethod;
use crate::normalise::{Direction, Goalposts, Normalisation, Scale};
use crate::rank::{Band, Ranking};
use crate::spec::{
    self, AggregationSpec, AggregationTable, BandSpec, DefaultsSpec, GoalpostsSpec, ModelSpec,
    NodeSpec, NormalisationSpec, NormalisationTable, RankingSpec, StringOrTable,
};

/// Highest `ranking.decimals` accepted.
pub const MAX_RANK_DECIMALS: u32 = 17;

/// A validated composite-indicator model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Model {
    /// The index (root node, always an aggregate).
    pub root: Node,
    /// Ranking options (tie tolerance, rank precision).
    pub ranking: Ranking,
}

/// A node of the model tree.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Node {
    /// Unique code.
    pub code: String,
    /// Display name.
    pub name: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// Weight within the parent (ignored for the root).
    pub weight: f64,
    /// Aggregate or indicator.
    pub kind: NodeKind,
}

/// Whether a node aggregates children or is an indicator.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum NodeKind {
    /// An inner node.
    Aggregate(Aggregate),
    /// A leaf.
    Indicator(Indicator),
}

/// Settings of an inner node.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Aggregate {
    /// Aggregation method.
    pub aggregation: Aggregation,
    /// Minimum fraction of children with data (`None`: at least one).
    pub threshold: Option<f64>,
    /// Optional rescaling of the aggregated scores across units (e.g. UN-style min-max).
    pub rescale: Option<Normalisation>,
    /// Bands of this node's score.
    pub bands: Vec<Band>,
    /// Children, in order.
    pub children: Vec<Node>,
}

/// Settings of an indicator.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Indicator {
    /// Direction.
    pub direction: Direction,
    /// Normalisation.
    pub normalisation: Normalisation,
    /// Target (for `distance_to_target`).
    pub target: Option<f64>,
    /// Goalposts (for `goalposts`).
    pub goalposts: Option<Goalposts>,
    /// Imputation.
    pub imputation: ImputationMethod,
}

impl Default for Indicator {
    fn default() -> Self {
        Indicator {
            direction: Direction::HigherIsBetter,
            normalisation: Normalisation::minmax(),
            target: None,
            goalposts: None,
            imputation: ImputationMethod::None,
        }
    }
}

impl Node {
    /// An indicator leaf with weight 1.
    pub fn indicator(code: impl Into<String>, indicator: Indicator) -> Self {
        Node {
            code: code.into(),
            name: None,
            description: None,
            weight: 1.0,
            kind: NodeKind::Indicator(indicator),
        }
    }

    /// An arithmetic-mean aggregate with weight 1.
    pub fn aggregate(code: impl Into<String>, children: Vec<Node>) -> Self {
        Node {
            code: code.into(),
            name: None,
            description: None,
            weight: 1.0,
            kind: NodeKind::Aggregate(Aggregate {
                aggregation: Aggregation::Arithmetic,
                threshold: None,
                rescale: None,
                bands: Vec::new(),
                children,
            }),
        }
    }

    /// Same node with another weight.
    pub fn with_weight(mut self, weight: f64) -> Self {
        self.weight = weight;
        self
    }

    /// Children (empty for indicators).
    pub fn children(&self) -> &[Node] {
        match &self.kind {
            NodeKind::Aggregate(a) => &a.children,
            NodeKind::Indicator(_) => &[],
        }
    }

    /// True for leaves.
    pub fn is_indicator(&self) -> bool {
        matches!(self.kind, NodeKind::Indicator(_))
    }
}

impl Model {
    /// Builds and validates a model with default ranking.
    pub fn new(root: Node) -> Result<Self, ModelError> {
        let m = Model {
            root,
            ranking: Ranking::default(),
        };
        m.validate()?;
        Ok(m)
    }

    /// Code of the index.
    pub fn code(&self) -> &str {
        &self.root.code
    }

    /// Parses and validates a TOML model file.
    pub fn from_toml_str(text: &str) -> Result<Self, ModelError> {
        Self::from_spec(&spec::parse_toml(text)?)
    }

    /// Parses and validates a JSON model file.
    pub fn from_json_str(text: &str) -> Result<Self, ModelError> {
        Self::from_spec(&spec::parse_json(text)?)
    }

    /// Converts and validates a parsed spec, reporting every problem with its path.
    pub fn from_spec(spec: &ModelSpec) -> Result<Self, ModelError> {
        let mut errs = Vec::new();
        let model = convert(spec, &mut errs);
        if let Err(e) = model.validate() {
            for e in e.errors {
                if !errs.iter().any(|x: &FieldError| x.path == e.path) {
                    errs.push(e);
                }
            }
        }
        if errs.is_empty() {
            Ok(model)
        } else {
            Err(ModelError { errors: errs })
        }
    }

    /// The model as a fully explicit spec (every field set), e.g. to write it back.
    pub fn to_spec(&self) -> ModelSpec {
        let NodeKind::Aggregate(a) = &self.root.kind else {
            return ModelSpec {
                code: self.root.code.clone(),
                ..Default::default()
            };
        };
        ModelSpec {
            format_version: Some(1),
            code: self.root.code.clone(),
            name: self.root.name.clone(),
            description: self.root.description.clone(),
            aggregation: Some(aggregation_spec(&a.aggregation)),
            threshold: a.threshold,
            rescale: a.rescale.as_ref().map(normalisation_spec),
            bands: a.bands.iter().map(band_spec).collect(),
            ranking: Some(RankingSpec {
                tie_tolerance: Some(self.ranking.tie_tolerance),
                decimals: self.ranking.decimals,
            }),
            defaults: None,
            dimensions: a.children.iter().map(node_spec).collect(),
        }
    }

    /// All nodes in pre-order (root first).
    pub fn nodes(&self) -> Vec<&Node> {
        let mut out = Vec::new();
        fn walk<'a>(n: &'a Node, out: &mut Vec<&'a Node>) {
            out.push(n);
            for c in n.children() {
                walk(c, out);
            }
        }
        walk(&self.root, &mut out);
        out
    }

    /// Indicator leaves in pre-order.
    pub fn indicators(&self) -> Vec<&Node> {
        self.nodes()
            .into_iter()
            .filter(|n| n.is_indicator())
            .collect()
    }

    /// Finds a node by code.
    pub fn find(&self, code: &str) -> Option<&Node> {
        self.nodes().into_iter().find(|n| n.code == code)
    }

    /// Checks every invariant, reporting all problems with their paths.
    pub fn validate(&self) -> Result<(), ModelError> {
        let mut errs = Vec::new();
        let mut seen: HashMap<&str, String> = HashMap::new();
        if !matches!(self.root.kind, NodeKind::Aggregate(_)) {
            errs.push(FieldError::new(
                "dimensions",
                "the index must have at least one dimension",
            ));
        }
        validate_node(&self.root, "", true, &mut seen, &mut errs);
        let t = self.ranking.tie_tolerance;
        if !(t.is_finite() && t >= 0.0) {
            errs.push(FieldError::new(
                "ranking.tie_tolerance",
                "must be finite and >= 0",
            ));
        }
        if let Some(d) = self.ranking.decimals {
            if d > MAX_RANK_DECIMALS {
                errs.push(FieldError::new(
                    "ranking.decimals",
                    format!("must be <= {MAX_RANK_DECIMALS}"),
                ));
            }
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(ModelError { errors: errs })
        }
    }
}

fn join(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_string()
    } else {
        format!("{path}.{field}")
    }
}

fn child_path(parent: &str, is_root: bool, i: usize) -> String {
    if is_root {
        format!("dimensions[{i}]")
    } else {
        format!("{parent}.children[{i}]")
    }
}

fn children_field(path: &str, is_root: bool) -> String {
    if is_root {
        "dimensions".into()
    } else {
        join(path, "children")
    }
}

fn validate_node<'a>(
    node: &'a Node,
    path: &str,
    is_root: bool,
    seen: &mut HashMap<&'a str, String>,
    errs: &mut Vec<FieldError>,
) {
    let code_path = join(path, "code");
    if node.code.trim().is_empty() {
        errs.push(FieldError::new(&code_path, "must not be empty"));
    } else if node.code.trim() != node.code {
        errs.push(FieldError::new(
            &code_path,
            "must not have leading or trailing whitespace",
        ));
    } else if let Some(first) = seen.get(node.code.as_str()) {
        let first = if first.is_empty() { "code" } else { first };
        errs.push(FieldError::new(
            &code_path,
            format!("duplicate code {:?} (first used at {first})", node.code),
        ));
    } else {
        seen.insert(
            &node.code,
            if is_root {
                String::new()
            } else {
                path.to_string()
            },
        );
    }
    let weight_ok = node.weight.is_finite() && node.weight >= 0.0;
    if !is_root && !weight_ok {
        errs.push(FieldError::new(
            join(path, "weight"),
            "must be finite and >= 0",
        ));
    }
    match &node.kind {
        NodeKind::Aggregate(a) => {
            let cf = children_field(path, is_root);
            if a.children.is_empty() {
                errs.push(FieldError::new(&cf, "must contain at least one node"));
            } else if !a.children.iter().any(|c| c.weight > 0.0) {
                errs.push(FieldError::new(
                    &cf,
                    "at least one child must have a positive weight",
                ));
            }
            if let Some(t) = a.threshold {
                if !(0.0..=1.0).contains(&t) {
                    errs.push(FieldError::new(
                        join(path, "threshold"),
                        "must be between 0 and 1",
                    ));
                }
            }
            validate_aggregation(&a.aggregation, &join(path, "aggregation"), errs);
            if let Some(r) = &a.rescale {
                let rp = join(path, "rescale");
                validate_normalisation(r, &rp, errs);
                if matches!(
                    r,
                    Normalisation::DistanceToTarget { .. } | Normalisation::Goalposts { .. }
                ) {
                    errs.push(FieldError::new(
                        rp,
                        format!(
                            "{} cannot rescale a node (it needs indicator settings)",
                            r.name()
                        ),
                    ));
                }
            }
            validate_bands(&a.bands, &join(path, "bands"), errs);
            for (i, c) in a.children.iter().enumerate() {
                validate_node(c, &child_path(path, is_root, i), false, seen, errs);
            }
        }
        NodeKind::Indicator(ind) => {
            let np = join(path, "normalisation");
            validate_normalisation(&ind.normalisation, &np, errs);
            if let Some(t) = ind.target {
                if !t.is_finite() {
                    errs.push(FieldError::new(join(path, "target"), "must be finite"));
                }
            }
            if let Some(g) = ind.goalposts {
                let gp = join(path, "goalposts");
                if !(g.lower.is_finite() && g.upper.is_finite()) {
                    errs.push(FieldError::new(gp, "lower and upper must be finite"));
                } else if g.lower >= g.upper {
                    errs.push(FieldError::new(gp, "lower must be < upper"));
                }
            }
            match ind.normalisation {
                Normalisation::DistanceToTarget { .. } if ind.target.is_none() => {
                    errs.push(FieldError::new(
                        join(path, "target"),
                        "required by normalisation distance_to_target",
                    ));
                }
                Normalisation::Goalposts { .. } if ind.goalposts.is_none() => {
                    errs.push(FieldError::new(
                        join(path, "goalposts"),
                        "required by normalisation goalposts",
                    ));
                }
                _ => {}
            }
        }
    }
}

fn validate_scale(s: &Scale, path: &str, errs: &mut Vec<FieldError>) {
    if !(s.lo.is_finite() && s.hi.is_finite()) {
        errs.push(FieldError::new(join(path, "scale"), "must be finite"));
    } else if s.lo >= s.hi {
        errs.push(FieldError::new(
            join(path, "scale"),
            "must be [lo, hi] with lo < hi",
        ));
    }
}

pub(crate) fn validate_normalisation(n: &Normalisation, path: &str, errs: &mut Vec<FieldError>) {
    match n {
        Normalisation::MinMax { scale }
        | Normalisation::ZScoreMinMax { scale }
        | Normalisation::Goalposts { scale } => validate_scale(scale, path, errs),
        Normalisation::ZScore { mean, sd } => {
            if !mean.is_finite() {
                errs.push(FieldError::new(join(path, "mean"), "must be finite"));
            }
            if !(sd.is_finite() && *sd > 0.0) {
                errs.push(FieldError::new(join(path, "sd"), "must be finite and > 0"));
            }
        }
        Normalisation::DistanceToReference { reference, .. } => {
            if reference.trim().is_empty() {
                errs.push(FieldError::new(join(path, "reference"), "must name a unit"));
            }
        }
        Normalisation::None
        | Normalisation::Rank
        | Normalisation::PercentileRank
        | Normalisation::DistanceToTarget { .. } => {}
    }
}

pub(crate) fn validate_aggregation(a: &Aggregation, path: &str, errs: &mut Vec<FieldError>) {
    if let Aggregation::Power { p, .. } = a {
        if !p.is_finite() {
            errs.push(FieldError::new(join(path, "p"), "must be finite"));
        }
    }
    if let ZeroHandling::Offset(c) = a.zeros() {
        if !(c.is_finite() && c > 0.0) {
            errs.push(FieldError::new(
                join(path, "offset"),
                "must be finite and > 0",
            ));
        }
    }
}

fn validate_bands(bands: &[Band], path: &str, errs: &mut Vec<FieldError>) {
    let mut catch_all = 0;
    for (i, b) in bands.iter().enumerate() {
        let bp = format!("{path}[{i}]");
        if b.label.trim().is_empty() {
            errs.push(FieldError::new(join(&bp, "label"), "must not be empty"));
        } else if bands[..i].iter().any(|o| o.label == b.label) {
            errs.push(FieldError::new(
                join(&bp, "label"),
                format!("duplicate band label {:?}", b.label),
            ));
        }
        match b.min {
            Some(m) if !m.is_finite() => {
                errs.push(FieldError::new(join(&bp, "min"), "must be finite"));
            }
            Some(m) if bands[..i].iter().any(|o| o.min == Some(m)) => {
                errs.push(FieldError::new(
                    join(&bp, "min"),
                    "two bands have the same min",
                ));
            }
            Some(_) => {}
            None => {
                catch_all += 1;
                if catch_all > 1 {
                    errs.push(FieldError::new(
                        join(&bp, "min"),
                        "only one band may omit min (the catch-all band)",
                    ));
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Spec -> model conversion (method names and parameters).

struct Defaults {
    direction: Direction,
    normalisation: Normalisation,
    imputation: ImputationMethod,
    aggregation: Aggregation,
    threshold: Option<f64>,
}

fn convert(spec: &ModelSpec, errs: &mut Vec<FieldError>) -> Model {
    if let Some(v) = spec.format_version {
        if v != 1 {
            errs.push(FieldError::new(
                "format_version",
                format!("unsupported version {v} (this engine reads version 1)"),
            ));
        }
    }
    let defaults = convert_defaults(spec.defaults.as_ref(), errs);
    let aggregation = spec
        .aggregation
        .as_ref()
        .map(|a| parse_aggregation(a, "aggregation", errs))
        .unwrap_or(defaults.aggregation);
    let rescale = spec
        .rescale
        .as_ref()
        .map(|r| parse_normalisation(r, "rescale", errs));
    let children = spec
        .dimensions
        .iter()
        .enumerate()
        .map(|(i, n)| convert_node(n, &format!("dimensions[{i}]"), &defaults, errs))
        .collect();
    let ranking = spec.ranking.clone().unwrap_or_default();
    Model {
        root: Node {
            code: spec.code.clone(),
            name: spec.name.clone(),
            description: spec.description.clone(),
            weight: 1.0,
            kind: NodeKind::Aggregate(Aggregate {
                aggregation,
                threshold: spec.threshold.or(defaults.threshold),
                rescale,
                bands: spec.bands.iter().map(convert_band).collect(),
                children,
            }),
        },
        ranking: Ranking {
            tie_tolerance: ranking.tie_tolerance.unwrap_or(0.0),
            decimals: ranking.decimals,
        },
    }
}

fn convert_defaults(d: Option<&DefaultsSpec>, errs: &mut Vec<FieldError>) -> Defaults {
    let d = d.cloned().unwrap_or_default();
    Defaults {
        direction: d
            .direction
            .as_deref()
            .map(|s| parse_direction(s, "defaults.direction", errs))
            .unwrap_or_default(),
        normalisation: d
            .normalisation
            .as_ref()
            .map(|n| parse_normalisation(n, "defaults.normalisation", errs))
            .unwrap_or_else(Normalisation::minmax),
        imputation: d
            .imputation
            .as_deref()
            .map(|s| parse_imputation(s, "defaults.imputation", errs))
            .unwrap_or_default(),
        aggregation: d
            .aggregation
            .as_ref()
            .map(|a| parse_aggregation(a, "defaults.aggregation", errs))
            .unwrap_or_default(),
        threshold: d.threshold,
    }
}

fn convert_band(b: &BandSpec) -> Band {
    Band {
        label: b.label.clone(),
        min: b.min,
    }
}

fn only_on(errs: &mut Vec<FieldError>, path: &str, field: &str, set: bool, what: &str) {
    if set {
        errs.push(FieldError::new(
            join(path, field),
            format!("only allowed on {what}"),
        ));
    }
}

fn convert_node(n: &NodeSpec, path: &str, d: &Defaults, errs: &mut Vec<FieldError>) -> Node {
    let kind = match &n.children {
        Some(children) => {
            const IND: &str = "indicators (nodes without children)";
            only_on(errs, path, "direction", n.direction.is_some(), IND);
            only_on(errs, path, "normalisation", n.normalisation.is_some(), IND);
            only_on(errs, path, "target", n.target.is_some(), IND);
            only_on(errs, path, "goalposts", n.goalposts.is_some(), IND);
            only_on(errs, path, "imputation", n.imputation.is_some(), IND);
            let aggregation = n
                .aggregation
                .as_ref()
                .map(|a| parse_aggregation(a, &join(path, "aggregation"), errs))
                .unwrap_or(d.aggregation);
            let rescale = n
                .rescale
                .as_ref()
                .map(|r| parse_normalisation(r, &join(path, "rescale"), errs));
            NodeKind::Aggregate(Aggregate {
                aggregation,
                threshold: n.threshold.or(d.threshold),
                rescale,
                bands: n
                    .bands
                    .as_deref()
                    .unwrap_or_default()
                    .iter()
                    .map(convert_band)
                    .collect(),
                children: children
                    .iter()
                    .enumerate()
                    .map(|(i, c)| convert_node(c, &format!("{path}.children[{i}]"), d, errs))
                    .collect(),
            })
        }
        None => {
            const AGG: &str = "nodes with children";
            only_on(errs, path, "aggregation", n.aggregation.is_some(), AGG);
            only_on(errs, path, "threshold", n.threshold.is_some(), AGG);
            only_on(errs, path, "rescale", n.rescale.is_some(), AGG);
            only_on(errs, path, "bands", n.bands.is_some(), AGG);
            NodeKind::Indicator(Indicator {
                direction: n
                    .direction
                    .as_deref()
                    .map(|s| parse_direction(s, &join(path, "direction"), errs))
                    .unwrap_or(d.direction),
                normalisation: n
                    .normalisation
                    .as_ref()
                    .map(|x| parse_normalisation(x, &join(path, "normalisation"), errs))
                    .unwrap_or_else(|| d.normalisation.clone()),
                target: n.target,
                goalposts: n.goalposts.map(|g: GoalpostsSpec| Goalposts {
                    lower: g.lower,
                    upper: g.upper,
                }),
                imputation: n
                    .imputation
                    .as_deref()
                    .map(|s| parse_imputation(s, &join(path, "imputation"), errs))
                    .unwrap_or(d.imputation),
            })
        }
    };
    Node {
        code: n.code.clone(),
        name: n.name.clone(),
        description: n.description.clone(),
        weight: n.weight.unwrap_or(1.0),
        kind,
    }
}

fn unknown(path: &str, what: &str, got: &str, expected: &[&str]) -> FieldError {
    FieldError::new(
        path,
        format!(
            "unknown {what} {got:?}; expected one of: {}",
            expected.join(", ")
        ),
    )
}

fn parse_direction(s: &str, path: &str, errs: &mut Vec<FieldError>) -> Direction {
    match s {
        "higher_is_better" => Direction::HigherIsBetter,
        "lower_is_better" => Direction::LowerIsBetter,
        _ => {
            errs.push(unknown(
                path,
                "direction",
                s,
                &["higher_is_better", "lower_is_better"],
            ));
            Direction::HigherIsBetter
        }
    }
}

fn parse_imputation(s: &str, path: &str, errs: &mut Vec<FieldError>) -> ImputationMethod {
    match s {
        "none" => ImputationMethod::None,
        "mean" => ImputationMethod::Mean,
        "median" => ImputationMethod::Median,
        "group_mean" => ImputationMethod::GroupMean,
        _ => {
            errs.push(unknown(
                path,
                "imputation method",
                s,
                &["none", "mean", "median", "group_mean"],
            ));
            ImputationMethod::None
        }
    }
}

fn method_path<T: spec::FromMethodName>(spec: &StringOrTable<T>, path: &str) -> String {
    if spec.0.is_bare() {
        path.to_string()
    } else {
        join(path, "method")
    }
}

fn unused(errs: &mut Vec<FieldError>, path: &str, field: &str, set: bool, method: &str) {
    if set {
        errs.push(FieldError::new(
            join(path, field),
            format!("not used by method {method}"),
        ));
    }
}

/// Parses an aggregation spec (string or table) reporting problems under `path`.
pub fn parse_aggregation(
    spec: &AggregationSpec,
    path: &str,
    errs: &mut Vec<FieldError>,
) -> Aggregation {
    let t: &AggregationTable = &spec.0;
    let zeros = match t.offset {
        Some(c) => ZeroHandling::Offset(c),
        None => ZeroHandling::Error,
    };
    match t.method.as_str() {
        "arithmetic" => {
            unused(errs, path, "p", t.p.is_some(), "arithmetic");
            unused(errs, path, "offset", t.offset.is_some(), "arithmetic");
            Aggregation::Arithmetic
        }
        "geometric" => {
            unused(errs, path, "p", t.p.is_some(), "geometric");
            Aggregation::Geometric { zeros }
        }
        "harmonic" => {
            unused(errs, path, "p", t.p.is_some(), "harmonic");
            Aggregation::Harmonic { zeros }
        }
        "power" | "generalised" | "generalized" => match t.p {
            Some(p) => Aggregation::Power { p, zeros },
            None => {
                errs.push(FieldError::new(join(path, "p"), "required by method power"));
                Aggregation::Arithmetic
            }
        },
        other => {
            errs.push(unknown(
                &method_path(spec, path),
                "aggregation method",
                other,
                &["arithmetic", "geometric", "harmonic", "power"],
            ));
            Aggregation::Arithmetic
        }
    }
}

/// Parses a normalisation spec (string or table) reporting problems under `path`.
pub fn parse_normalisation(
    spec: &NormalisationSpec,
    path: &str,
    errs: &mut Vec<FieldError>,
) -> Normalisation {
    let t: &NormalisationTable = &spec.0;
    let m = t.method.as_str();
    let scale = t
        .scale
        .map(|[lo, hi]| Scale { lo, hi })
        .unwrap_or(Scale::UNIT);
    let uses_scale = matches!(m, "minmax" | "zscore_minmax" | "goalposts");
    let known = matches!(
        m,
        "none"
            | "minmax"
            | "zscore"
            | "zscore_minmax"
            | "rank"
            | "percentile_rank"
            | "distance_to_target"
            | "distance_to_reference"
            | "goalposts"
    );
    if known {
        unused(errs, path, "scale", t.scale.is_some() && !uses_scale, m);
        unused(errs, path, "mean", t.mean.is_some() && m != "zscore", m);
        unused(errs, path, "sd", t.sd.is_some() && m != "zscore", m);
        unused(
            errs,
            path,
            "cap",
            t.cap.is_some() && !matches!(m, "distance_to_target" | "distance_to_reference"),
            m,
        );
        unused(
            errs,
            path,
            "reference",
            t.reference.is_some() && m != "distance_to_reference",
            m,
        );
    }
    match m {
        "none" => Normalisation::None,
        "minmax" => Normalisation::MinMax { scale },
        "zscore" => Normalisation::ZScore {
            mean: t.mean.unwrap_or(0.0),
            sd: t.sd.unwrap_or(1.0),
        },
        "zscore_minmax" => Normalisation::ZScoreMinMax { scale },
        "rank" => Normalisation::Rank,
        "percentile_rank" => Normalisation::PercentileRank,
        "distance_to_target" => Normalisation::DistanceToTarget {
            cap: t.cap.unwrap_or(true),
        },
        "distance_to_reference" => match &t.reference {
            Some(r) => Normalisation::DistanceToReference {
                reference: r.clone(),
                cap: t.cap.unwrap_or(false),
            },
            None => {
                errs.push(FieldError::new(
                    join(path, "reference"),
                    "required by method distance_to_reference",
                ));
                Normalisation::None
            }
        },
        "goalposts" => Normalisation::Goalposts { scale },
        other => {
            errs.push(unknown(
                &method_path(spec, path),
                "normalisation method",
                other,
                &[
                    "none",
                    "minmax",
                    "zscore",
                    "zscore_minmax",
                    "rank",
                    "percentile_rank",
                    "distance_to_target",
                    "distance_to_reference",
                    "goalposts",
                ],
            ));
            Normalisation::None
        }
    }
}

// ---------------------------------------------------------------------------
// Model -> spec.

/// The spec form of an aggregation.
pub fn aggregation_spec(a: &Aggregation) -> AggregationSpec {
    let offset = match a.zeros() {
        ZeroHandling::Offset(c) => Some(c),
        ZeroHandling::Error => None,
    };
    let p = match a {
        Aggregation::Power { p, .. } => Some(*p),
        _ => None,
    };
    StringOrTable(AggregationTable {
        method: a.name().to_string(),
        p,
        offset,
    })
}

/// The spec form of a normalisation.
pub fn normalisation_spec(n: &Normalisation) -> NormalisationSpec {
    let mut t = NormalisationTable {
        method: n.name().to_string(),
        ..Default::default()
    };
    match n {
        Normalisation::MinMax { scale }
        | Normalisation::ZScoreMinMax { scale }
        | Normalisation::Goalposts { scale } => {
            if *scale != Scale::UNIT {
                t.scale = Some([scale.lo, scale.hi]);
            }
        }
        Normalisation::ZScore { mean, sd } => {
            t.mean = Some(*mean);
            t.sd = Some(*sd);
        }
        Normalisation::DistanceToTarget { cap } => t.cap = Some(*cap),
        Normalisation::DistanceToReference { reference, cap } => {
            t.reference = Some(reference.clone());
            t.cap = Some(*cap);
        }
        Normalisation::None | Normalisation::Rank | Normalisation::PercentileRank => {}
    }
    StringOrTable(t)
}

fn band_spec(b: &Band) -> BandSpec {
    BandSpec {
        label: b.label.clone(),
        min: b.min,
    }
}

fn node_spec(n: &Node) -> NodeSpec {
    let mut s = NodeSpec {
        code: n.code.clone(),
        name: n.name.clone(),
        description: n.description.clone(),
        weight: Some(n.weight),
        ..Default::default()
    };
    match &n.kind {
        NodeKind::Aggregate(a) => {
            s.aggregation = Some(aggregation_spec(&a.aggregation));
            s.threshold = a.threshold;
            s.rescale = a.rescale.as_ref().map(normalisation_spec);
            if !a.bands.is_empty() {
                s.bands = Some(a.bands.iter().map(band_spec).collect());
            }
            s.children = Some(a.children.iter().map(node_spec).collect());
        }
        NodeKind::Indicator(i) => {
            s.direction = Some(i.direction.name().to_string());
            s.normalisation = Some(normalisation_spec(&i.normalisation));
            s.target = i.target;
            s.goalposts = i.goalposts.map(|g| GoalpostsSpec {
                lower: g.lower,
                upper: g.upper,
            });
            s.imputation = Some(i.imputation.name().to_string());
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOE: &str = r#"
format_version = 1
code = "TOE"
name = "Digital governance platform index"
aggregation = "arithmetic"

[defaults]
normalisation = "minmax"
imputation = "mean"

[[bands]]
label = "Leading"
min = 0.66
[[bands]]
label = "Developing"

[[dimensions]]
code = "technology"
weight = 1
threshold = 0.5
  [[dimensions.children]]
  code = "T1"
  aggregation = { method = "geometric", offset = 0.01 }
  children = [
    { code = "t_rating", direction = "higher_is_better" },
    { code = "t_outages", direction = "lower_is_better", weight = 2 },
  ]

[[dimensions]]
code = "organization"
children = [ { code = "o_staff", normalisation = { method = "goalposts", scale = [0, 100] }, goalposts = { lower = 0, upper = 50 } } ]

[[dimensions]]
code = "environment"
children = [ { code = "e_pop", normalisation = "distance_to_target", target = 100 } ]
"#;

    #[test]
    fn parses_toe_shaped_model() {
        let m = Model::from_toml_str(TOE).unwrap();
        assert_eq!(m.code(), "TOE");
        let codes: Vec<&str> = m.nodes().iter().map(|n| n.code.as_str()).collect();
        assert_eq!(
            codes,
            [
                "TOE",
                "technology",
                "T1",
                "t_rating",
                "t_outages",
                "organization",
                "o_staff",
                "environment",
                "e_pop"
            ]
        );
        let t1 = m.find("T1").unwrap();
        let NodeKind::Aggregate(a) = &t1.kind else {
            panic!("T1 is an aggregate")
        };
        assert_eq!(
            a.aggregation,
            Aggregation::Geometric {
                zeros: ZeroHandling::Offset(0.01)
            }
        );
        assert_eq!(m.find("t_outages").unwrap().weight, 2.0);
        let NodeKind::Indicator(i) = &m.find("t_outages").unwrap().kind else {
            panic!()
        };
        assert_eq!(i.direction, Direction::LowerIsBetter);
        assert_eq!(i.imputation, ImputationMethod::Mean);
        let NodeKind::Aggregate(tech) = &m.find("technology").unwrap().kind else {
            panic!()
        };
        assert_eq!(tech.threshold, Some(0.5));
        assert_eq!(m.indicators().len(), 4);
    }

    #[test]
    fn model_roundtrips_through_spec() {
        let m = Model::from_toml_str(TOE).unwrap();
        let text = spec::to_toml(&m.to_spec()).unwrap();
        let again = Model::from_toml_str(&text).unwrap();
        assert_eq!(m, again);
        let json = spec::to_json(&m.to_spec()).unwrap();
        assert_eq!(Model::from_json_str(&json).unwrap(), m);
    }

    fn errors_of(text: &str) -> ModelError {
        Model::from_toml_str(text).unwrap_err()
    }

    #[test]
    fn weight_error_has_path() {
        let e = errors_of(
            r#"
code = "X"
[[dimensions]]
code = "A"
children = [ { code = "a1" } ]
[[dimensions]]
code = "B"
children = [ { code = "b1", weight = -1 }, { code = "b2" } ]
"#,
        );
        assert_eq!(e.errors.len(), 1, "{e}");
        assert_eq!(
            e.errors[0].to_string(),
            "dimensions[1].children[0].weight: must be finite and >= 0"
        );
    }

    #[test]
    fn collects_many_errors_with_paths() {
        let e = errors_of(
            r#"
code = "X"
threshold = 1.5
ranking = { tie_tolerance = -1 }
[[bands]]
label = "A"
min = 0.5
[[bands]]
label = "A"
[[bands]]
label = "B"
[[dimensions]]
code = "A"
aggregation = "median"
children = [ { code = "a1", weight = 0 } ]
[[dimensions]]
code = "a1"
normalisation = "minmax2"
direction = "up"
imputation = "zero"
[[dimensions]]
code = "g"
normalisation = "goalposts"
goalposts = { lower = 5, upper = 1 }
[[dimensions]]
code = "t"
normalisation = "distance_to_target"
[[dimensions]]
code = "p"
threshold = 0.5
[[dimensions]]
code = "w"
weight = nan
"#,
        );
        for path in [
            "threshold",
            "ranking.tie_tolerance",
            "bands[1].label",
            "bands[2].min",
            "dimensions[0].aggregation",
            "dimensions[0].children",
            "dimensions[1].code",
            "dimensions[1].normalisation",
            "dimensions[1].direction",
            "dimensions[1].imputation",
            "dimensions[2].goalposts",
            "dimensions[3].target",
            "dimensions[4].threshold",
            "dimensions[5].weight",
        ] {
            assert!(e.has_path(path), "no error at {path}: {e}");
        }
    }

    #[test]
    fn unknown_method_in_table_points_at_method() {
        let e = errors_of(
            r#"
code = "X"
[[dimensions]]
code = "a"
normalisation = { method = "maxmin", scale = [0, 100] }
"#,
        );
        assert!(e.has_path("dimensions[0].normalisation.method"), "{e}");
    }

    #[test]
    fn parameter_errors() {
        let e = errors_of(
            r#"
code = "X"
aggregation = { method = "power" }
[[dimensions]]
code = "a"
normalisation = { method = "minmax", scale = [1, 0], cap = true }
[[dimensions]]
code = "b"
normalisation = { method = "zscore", sd = 0 }
[[dimensions]]
code = "c"
normalisation = { method = "distance_to_reference" }
[[dimensions]]
code = "d"
children = [ { code = "d1" } ]
aggregation = { method = "geometric", offset = -1 }
"#,
        );
        for path in [
            "aggregation.p",
            "dimensions[0].normalisation.scale",
            "dimensions[0].normalisation.cap",
            "dimensions[1].normalisation.sd",
            "dimensions[2].normalisation.reference",
            "dimensions[3].aggregation.offset",
        ] {
            assert!(e.has_path(path), "no error at {path}: {e}");
        }
    }

    #[test]
    fn empty_models_are_rejected() {
        let e = errors_of("code = \"X\"\n");
        assert!(e.has_path("dimensions"), "{e}");
        let e = errors_of("code = \"X\"\n[[dimensions]]\ncode = \"A\"\nchildren = []\n");
        assert!(e.has_path("dimensions[0].children"), "{e}");
        let e = errors_of("code = \"\"\n[[dimensions]]\ncode = \"A\"\n");
        assert!(e.has_path("code"), "{e}");
        let e = errors_of("format_version = 2\ncode = \"X\"\n[[dimensions]]\ncode = \"A\"\n");
        assert!(e.has_path("format_version"), "{e}");
    }

    #[test]
    fn programmatic_model_is_validated() {
        let bad = Node::aggregate(
            "I",
            vec![Node::indicator("x", Indicator::default()).with_weight(f64::INFINITY)],
        );
        let e = Model::new(bad).unwrap_err();
        assert!(e.has_path("dimensions[0].weight"), "{e}");
        let ok = Node::aggregate("I", vec![Node::indicator("x", Indicator::default())]);
        assert!(Model::new(ok).is_ok());
    }
}
