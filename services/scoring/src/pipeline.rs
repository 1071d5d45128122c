//! From a data snapshot to the engine's input: which units a model scores, which
//! values each indicator takes (derived TOE indicators or stored indicator values), at
//! which period; then scoring.

use std::collections::{BTreeSet, HashMap};

use govlens_assess::{toe, AssessConfig, DataSnapshot};
use govlens_dataset::SubjectKind;
use govlens_engine::{Dataset, Model, Results};
use govlens_kit::{ServiceError, ServiceResult};

/// Regions or platforms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Units {
    Regions,
    Platforms,
}

impl Units {
    fn subject_kind(self) -> SubjectKind {
        match self {
            Units::Regions => SubjectKind::Region,
            Units::Platforms => SubjectKind::Platform,
        }
    }
}

/// What to score.
#[derive(Debug, Clone)]
pub struct Scope {
    pub units: Units,
    /// Empty: the latest period with data for the model's stored indicators.
    pub period: String,
    /// Empty: every unit.
    pub region_code: String,
}

/// The engine's input for one model and scope, with what is needed to present it.
pub struct Inputs {
    pub dataset: Dataset,
    pub names: HashMap<String, String>,
    /// The period scored ("" when every indicator is derived from the latest data).
    pub period: String,
    /// How each derived value was computed, by (unit, indicator).
    pub provenance: HashMap<(String, String), String>,
}

/// Codes of `root` and every region below it.
fn subtree(snapshot: &DataSnapshot, root: &str) -> ServiceResult<BTreeSet<String>> {
    if !snapshot.regions.iter().any(|r| r.code == root) {
        return Err(ServiceError::not_found("region", root));
    }
    let mut inside = BTreeSet::from([root.to_string()]);
    // Regions arrive parents first, but loop until stable to be safe with any order.
    loop {
        let before = inside.len();
        for r in &snapshot.regions {
            if inside.contains(&r.parent_code) {
                inside.insert(r.code.clone());
            }
        }
        if inside.len() == before {
            return Ok(inside);
        }
    }
}

/// Assembles the engine's dataset for `model` over `snapshot`.
pub fn assemble(model: &Model, snapshot: &DataSnapshot, scope: &Scope) -> ServiceResult<Inputs> {
    let leaves: Vec<String> = model.indicators().iter().map(|n| n.code.clone()).collect();
    let derived = match scope.units {
        Units::Regions => toe::region_indicators(snapshot, &AssessConfig::default()),
        Units::Platforms => toe::platform_indicators(snapshot, &AssessConfig::default()),
    };
    let derived_codes: BTreeSet<String> = derived.indicator_codes().into_iter().collect();
    let kind = scope.units.subject_kind();
    let stored_codes: BTreeSet<&str> = leaves
        .iter()
        .map(String::as_str)
        .filter(|c| !derived_codes.contains(*c))
        .collect();

    let periods: BTreeSet<&str> = snapshot
        .indicator_values
        .iter()
        .filter(|v| v.subject_kind == kind && stored_codes.contains(v.indicator_code.as_str()))
        .map(|v| v.period.as_str())
        .collect();
    let period = if !scope.period.is_empty() {
        if !stored_codes.is_empty() && !periods.contains(scope.period.as_str()) {
            return Err(ServiceError::invalid_field(
                "scope.period",
                format!(
                    "no data for period {:?}; periods with data: {:?}",
                    scope.period, periods
                ),
            ));
        }
        scope.period.clone()
    } else {
        periods.last().map(|p| p.to_string()).unwrap_or_default()
    };

    let in_scope: Option<BTreeSet<String>> = if scope.region_code.is_empty() {
        None
    } else {
        Some(subtree(snapshot, &scope.region_code)?)
    };
    let region_of: HashMap<&str, &str> = snapshot
        .platforms
        .iter()
        .map(|p| (p.code.as_str(), p.region_code.as_str()))
        .collect();
    let keep = |unit: &str| match &in_scope {
        None => true,
        Some(set) => match scope.units {
            Units::Regions => set.contains(unit),
            Units::Platforms => region_of.get(unit).is_some_and(|r| set.contains(*r)),
        },
    };

    // Units: those with any value for the model's indicators.
    let mut units = BTreeSet::new();
    let uses_derived = leaves.iter().any(|c| derived_codes.contains(c));
    if uses_derived {
        units.extend(derived.units.iter().filter(|u| keep(u)).cloned());
    }
    let mut stored: HashMap<(&str, &str), f64> = HashMap::new();
    for v in &snapshot.indicator_values {
        if v.subject_kind == kind
            && v.period == period
            && stored_codes.contains(v.indicator_code.as_str())
            && keep(&v.subject_code)
        {
            if let Some(value) = v.value {
                stored.insert((v.subject_code.as_str(), v.indicator_code.as_str()), value);
                units.insert(v.subject_code.clone());
            }
        }
    }
    if units.is_empty() {
        return Err(ServiceError::precondition(format!(
            "no {} have data for model {:?}{}",
            if scope.units == Units::Regions {
                "regions"
            } else {
                "platforms"
            },
            model.code(),
            if period.is_empty() {
                String::new()
            } else {
                format!(" in period {period}")
            }
        )));
    }
    let units: Vec<String> = units.into_iter().collect();

    let mut provenance = HashMap::new();
    let mut columns = Vec::with_capacity(leaves.len());
    for code in &leaves {
        let column: Vec<f64> = units
            .iter()
            .map(|u| {
                if derived_codes.contains(code) {
                    if let Some(p) = derived.provenance_of(u, code) {
                        provenance.insert((u.clone(), code.clone()), p.to_string());
                    }
                    derived.value(u, code).unwrap_or(f64::NAN)
                } else {
                    stored
                        .get(&(u.as_str(), code.as_str()))
                        .copied()
                        .unwrap_or(f64::NAN)
                }
            })
            .collect();
        columns.push((code.clone(), column));
    }
    let dataset = Dataset::from_columns(units.clone(), columns)
        .map_err(|e| ServiceError::internal(anyhow::anyhow!("{e}")))?;
    let names = units
        .iter()
        .map(|u| {
            let name = match scope.units {
                Units::Regions => snapshot
                    .regions
                    .iter()
                    .find(|r| &r.code == u)
                    .map(|r| r.name.clone()),
                Units::Platforms => snapshot
                    .platforms
                    .iter()
                    .find(|p| &p.code == u)
                    .map(|p| p.name.clone()),
            };
            (u.clone(), name.unwrap_or_else(|| u.clone()))
        })
        .collect();
    Ok(Inputs {
        dataset,
        names,
        period,
        provenance,
    })
}

/// Replaces indicator values for what-if scoring; every override must name a scored
/// unit and an indicator of the model.
pub fn apply_overrides(
    inputs: &mut Inputs,
    overrides: &[(String, String, f64)],
) -> ServiceResult<()> {
    if overrides.is_empty() {
        return Ok(());
    }
    let units = inputs.dataset.units().to_vec();
    let indicators = inputs.dataset.indicators().to_vec();
    let mut columns: Vec<(String, Vec<f64>)> = indicators
        .iter()
        .map(|code| {
            (
                code.clone(),
                inputs
                    .dataset
                    .column(code)
                    .map(<[f64]>::to_vec)
                    .unwrap_or_default(),
            )
        })
        .collect();
    for (i, (unit, indicator, value)) in overrides.iter().enumerate() {
        let field = |name: &str| format!("overrides[{i}].{name}");
        if !value.is_finite() {
            return Err(ServiceError::invalid_field(
                field("value"),
                "must be a finite number",
            ));
        }
        let u = units.iter().position(|x| x == unit).ok_or_else(|| {
            ServiceError::invalid_field(
                field("unit_code"),
                format!("{unit:?} is not scored by this model"),
            )
        })?;
        let column = columns
            .iter_mut()
            .find(|(code, _)| code == indicator)
            .ok_or_else(|| {
                ServiceError::invalid_field(
                    field("indicator_code"),
                    format!("{indicator:?} is not an indicator of this model"),
                )
            })?;
        column.1[u] = *value;
    }
    inputs.dataset = Dataset::from_columns(units, columns)
        .map_err(|e| ServiceError::internal(anyhow::anyhow!("{e}")))?;
    Ok(())
}

/// Scores the inputs with the model; engine errors on valid models and data are bugs.
pub fn score(model: &Model, inputs: &Inputs) -> ServiceResult<Results> {
    model
        .score(&inputs.dataset)
        .map_err(|e| ServiceError::precondition(format!("the model cannot score this data: {e}")))
}
