//! The model file format: serde types mirroring a TOML or JSON model file.
//!
//! These types are deliberately loose (method names are strings, most fields are
//! optional) so that [`crate::model::Model::from_spec`] can report *every*
//! problem with its field path. See `MODEL_FORMAT.md` for the documentation of
//! the format. Parsing functions report serde errors with their path too, e.g.
//! `dimensions[0].children[2].weight: invalid type: string "x", expected f64`.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::error::{FieldError, Location, ModelError};

/// Root of a model file.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// Format version; `1` when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format_version: Option<u32>,
    /// Code of the index (the root node).
    pub code: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Aggregation of the dimensions into the index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregation: Option<AggregationSpec>,
    /// Data-availability threshold of the index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// Optional rescaling of the aggregated index across units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rescale: Option<NormalisationSpec>,
    /// Bands (rating classes) of the index.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bands: Vec<BandSpec>,
    /// Ranking options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ranking: Option<RankingSpec>,
    /// Defaults applied to nodes that do not set a field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub defaults: Option<DefaultsSpec>,
    /// Children of the index (dimensions, or indicators directly).
    #[serde(default)]
    pub dimensions: Vec<NodeSpec>,
}

/// A node of the tree: an aggregate when it has `children`, otherwise an indicator.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    /// Unique code (indicator codes must match dataset column codes).
    pub code: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Weight within the parent (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
    /// Child nodes; present (and non-empty) for aggregates only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub children: Option<Vec<NodeSpec>>,
    /// Aggregate only: aggregation method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregation: Option<AggregationSpec>,
    /// Aggregate only: minimum fraction of children with data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// Aggregate only: rescaling of the aggregated scores across units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rescale: Option<NormalisationSpec>,
    /// Aggregate only: bands of this node's score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bands: Option<Vec<BandSpec>>,
    /// Indicator only: `higher_is_better` or `lower_is_better`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<String>,
    /// Indicator only: normalisation method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalisation: Option<NormalisationSpec>,
    /// Indicator only: target value (for `distance_to_target`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<f64>,
    /// Indicator only: goalposts (for `goalposts`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goalposts: Option<GoalpostsSpec>,
    /// Indicator only: imputation method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imputation: Option<String>,
}

/// Defaults for fields a node leaves unset.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefaultsSpec {
    /// Default indicator direction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<String>,
    /// Default indicator normalisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalisation: Option<NormalisationSpec>,
    /// Default indicator imputation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imputation: Option<String>,
    /// Default aggregation of aggregate nodes (including the index).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregation: Option<AggregationSpec>,
    /// Default data-availability threshold of aggregate nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
}

/// A band (rating class): scores `>= min` get `label`; a band without `min` is the catch-all.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BandSpec {
    /// Label, e.g. `Very High` or `A`.
    pub label: String,
    /// Inclusive lower bound; omit for the "otherwise" band.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
}

/// Ranking options.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RankingSpec {
    /// Scores within this distance of a tie group's best score share its rank (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tie_tolerance: Option<f64>,
    /// Rank on scores rounded half away from zero to this many decimals (default: unrounded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decimals: Option<u32>,
}

/// Goalposts of an indicator.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoalpostsSpec {
    /// Lower goalpost (maps to 0).
    pub lower: f64,
    /// Upper goalpost (maps to 1).
    pub upper: f64,
}

/// Aggregation method: either a bare name (`"geometric"`) or a table
/// (`{ method = "power", p = 0.5, offset = 0.01 }`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AggregationTable {
    /// `arithmetic`, `geometric`, `harmonic` or `power` (alias `generalised`).
    pub method: String,
    /// Exponent of the power mean.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p: Option<f64>,
    /// Offset added to every value before a geometric/harmonic/power mean and
    /// subtracted from the result; without it zeros are an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<f64>,
}

/// Aggregation spec (string or table form).
pub type AggregationSpec = StringOrTable<AggregationTable>;

/// Normalisation method: a bare name (`"minmax"`) or a table
/// (`{ method = "minmax", scale = [0, 100] }`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NormalisationTable {
    /// Method name, see `MODEL_FORMAT.md`.
    pub method: String,
    /// Output range `[lo, hi]` for `minmax`, `zscore_minmax`, `goalposts`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<[f64; 2]>,
    /// Target mean for `zscore` (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean: Option<f64>,
    /// Target standard deviation for `zscore` (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sd: Option<f64>,
    /// Cap values beyond the target/reference at 1 (`distance_to_target`: default true;
    /// `distance_to_reference`: default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap: Option<bool>,
    /// Reference unit code for `distance_to_reference`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// Normalisation spec (string or table form).
pub type NormalisationSpec = StringOrTable<NormalisationTable>;

/// Something written either as a bare method name or as a table with a `method` key.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StringOrTable<T>(pub T);

/// Types that can be built from a bare method name.
pub trait FromMethodName {
    /// Builds the table form with only `method` set.
    fn from_method_name(name: &str) -> Self;
    /// The method name.
    fn method_name(&self) -> &str;
    /// True when only the method is set (serialised as a bare string).
    fn is_bare(&self) -> bool;
}

impl FromMethodName for AggregationTable {
    fn from_method_name(name: &str) -> Self {
        Self {
            method: name.to_string(),
            ..Default::default()
        }
    }
    fn method_name(&self) -> &str {
        &self.method
    }
    fn is_bare(&self) -> bool {
        self.p.is_none() && self.offset.is_none()
    }
}

impl FromMethodName for NormalisationTable {
    fn from_method_name(name: &str) -> Self {
        Self {
            method: name.to_string(),
            ..Default::default()
        }
    }
    fn method_name(&self) -> &str {
        &self.method
    }
    fn is_bare(&self) -> bool {
        self.scale.is_none()
            && self.mean.is_none()
            && self.sd.is_none()
            && self.cap.is_none()
            && self.reference.is_none()
    }
}

impl<T: FromMethodName> StringOrTable<T> {
    /// Spec with only a method name.
    pub fn named(name: &str) -> Self {
        StringOrTable(T::from_method_name(name))
    }
}

impl<T: Serialize + FromMethodName> Serialize for StringOrTable<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.is_bare() {
            s.serialize_str(self.0.method_name())
        } else {
            self.0.serialize(s)
        }
    }
}

impl<'de, T> Deserialize<'de> for StringOrTable<T>
where
    T: Deserialize<'de> + FromMethodName,
{
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de> + FromMethodName> Visitor<'de> for V<T> {
            type Value = StringOrTable<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a method name or a table with a `method` key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(StringOrTable(T::from_method_name(v)))
            }
            fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<Self::Value, M::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(StringOrTable)
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

fn line_col(text: &str, offset: usize) -> Location {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    Location { line, column }
}

fn path_string(path: &serde_path_to_error::Path) -> String {
    let s = path.to_string();
    if s == "." {
        String::new()
    } else {
        s
    }
}

/// Parses a TOML model file into a [`ModelSpec`] (syntax and types only; use
/// [`crate::model::Model::from_toml_str`] to also validate).
pub fn parse_toml(text: &str) -> Result<ModelSpec, ModelError> {
    let de = toml::de::Deserializer::parse(text).map_err(|e| {
        ModelError::single(FieldError {
            path: String::new(),
            message: format!("TOML syntax error: {}", e.message()),
            location: e.span().map(|s| line_col(text, s.start)),
        })
    })?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = path_string(e.path());
        let inner = e.into_inner();
        ModelError::single(FieldError {
            path,
            message: inner.message().to_string(),
            location: inner.span().map(|s| line_col(text, s.start)),
        })
    })
}

/// Parses a JSON model file into a [`ModelSpec`] (syntax and types only; use
/// [`crate::model::Model::from_json_str`] to also validate).
pub fn parse_json(text: &str) -> Result<ModelSpec, ModelError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let spec: ModelSpec = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = path_string(e.path());
        let inner = e.into_inner();
        ModelError::single(FieldError {
            path,
            message: json_message(&inner),
            location: Some(Location {
                line: inner.line(),
                column: inner.column(),
            }),
        })
    })?;
    de.end().map_err(|e| {
        ModelError::single(FieldError {
            path: String::new(),
            message: json_message(&e),
            location: Some(Location {
                line: e.line(),
                column: e.column(),
            }),
        })
    })?;
    Ok(spec)
}

/// serde_json appends " at line L column C" to messages; strip it as the
/// location is reported separately.
fn json_message(e: &serde_json::Error) -> String {
    let full = e.to_string();
    match full.rfind(" at line ") {
        Some(pos) => full[..pos].to_string(),
        None => full,
    }
}

/// Serialises a spec as TOML.
pub fn to_toml(spec: &ModelSpec) -> Result<String, ModelError> {
    toml::to_string_pretty(spec)
        .map_err(|e| ModelError::single(FieldError::new("", format!("cannot write TOML: {e}"))))
}

/// Serialises a spec as pretty JSON.
pub fn to_json(spec: &ModelSpec) -> Result<String, ModelError> {
    serde_json::to_string_pretty(spec)
        .map_err(|e| ModelError::single(FieldError::new("", format!("cannot write JSON: {e}"))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_type_error_reports_path_and_line() {
        let text = "code = \"X\"\n[[dimensions]]\ncode = \"A\"\nweight = \"heavy\"\n";
        let err = parse_toml(text).unwrap_err();
        assert_eq!(err.errors.len(), 1);
        assert_eq!(err.errors[0].path, "dimensions[0].weight");
        assert!(err.errors[0].message.contains("expected f64"), "{err}");
        assert_eq!(err.errors[0].location.map(|l| l.line), Some(4));
    }

    #[test]
    fn toml_nested_unknown_field_reports_path() {
        let text = r#"
code = "X"
[[dimensions]]
code = "A"
children = [ { code = "a1" }, { code = "a2", wieght = 2 } ]
"#;
        let err = parse_toml(text).unwrap_err();
        assert_eq!(err.errors[0].path, "dimensions[0].children[1].wieght");
        assert!(err.errors[0].message.contains("unknown field"), "{err}");
    }

    #[test]
    fn string_or_table_forms() {
        let text = r#"
code = "X"
aggregation = "geometric"
[[dimensions]]
code = "A"
normalisation = { method = "minmax", scale = [0, 100] }
"#;
        let spec = parse_toml(text).unwrap();
        assert_eq!(spec.aggregation.as_ref().unwrap().0.method, "geometric");
        let n = &spec.dimensions[0].normalisation.as_ref().unwrap().0;
        assert_eq!(n.method, "minmax");
        assert_eq!(n.scale, Some([0.0, 100.0]));
    }

    #[test]
    fn table_form_unknown_key_has_path() {
        let text = r#"
code = "X"
[[dimensions]]
code = "A"
normalisation = { method = "minmax", scael = [0, 100] }
"#;
        let err = parse_toml(text).unwrap_err();
        assert_eq!(err.errors[0].path, "dimensions[0].normalisation.scael");
    }

    #[test]
    fn json_errors_report_path_and_position() {
        let text = r#"{"code": "X", "dimensions": [{"code": "A", "weight": true}]}"#;
        let err = parse_json(text).unwrap_err();
        assert_eq!(err.errors[0].path, "dimensions[0].weight");
        assert!(err.errors[0].location.is_some());
        let err = parse_json("{\"code\": \"X\"} trailing").unwrap_err();
        assert!(err.errors[0].path.is_empty());
        let err = parse_json(r#"{"dimensions": []}"#).unwrap_err();
        assert!(
            err.errors[0].message.contains("missing field `code`"),
            "{err}"
        );
    }

    #[test]
    fn toml_syntax_error_has_location() {
        let err = parse_toml("code = \"X\"\ndimensions = [\n").unwrap_err();
        assert!(err.errors[0].message.starts_with("TOML syntax error"));
        assert!(err.errors[0].location.is_some());
    }

    #[test]
    fn spec_roundtrips_through_toml_and_json() {
        let text = r#"
code = "X"
aggregation = { method = "power", p = 0.5 }
[[bands]]
label = "Top"
min = 0.5
[[bands]]
label = "Rest"
[[dimensions]]
code = "A"
normalisation = "rank"
"#;
        let spec = parse_toml(text).unwrap();
        let again = parse_toml(&to_toml(&spec).unwrap()).unwrap();
        assert_eq!(spec, again);
        let again = parse_json(&to_json(&spec).unwrap()).unwrap();
        assert_eq!(spec, again);
    }
}
