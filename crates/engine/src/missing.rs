//! Imputation of missing indicator values.
//!
//! Imputation runs per indicator on the raw values, before normalisation:
//!
//! * `none`: missing values stay missing (the aggregation then renormalises the
//!   weights over the children with data, subject to each node's threshold);
//! * `mean` / `median`: the mean / median of the units that have a value;
//! * `group_mean`: the mean of the units of the same group (units carry an
//!   optional group label, e.g. a region or income group). A unit without a
//!   group, or whose group has no observed value, is left missing; there is no
//!   silent fallback to the overall mean.
//!
//! Every imputed value is reported as an [`Imputed`] record.

use serde::{Deserialize, Serialize};

/// How missing values of an indicator are filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImputationMethod {
    /// Leave missing (default).
    #[default]
    None,
    /// Mean of the observed values.
    Mean,
    /// Median of the observed values (mean of the two middle values for even counts).
    Median,
    /// Mean of the observed values in the unit's group.
    GroupMean,
}

impl ImputationMethod {
    /// The name used in model files.
    pub fn name(self) -> &'static str {
        match self {
            ImputationMethod::None => "none",
            ImputationMethod::Mean => "mean",
            ImputationMethod::Median => "median",
            ImputationMethod::GroupMean => "group_mean",
        }
    }
}

/// One imputed value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Imputed {
    /// Unit code.
    pub unit: String,
    /// Indicator code.
    pub indicator: String,
    /// The value filled in (raw scale, before normalisation).
    pub value: f64,
    /// The method used.
    pub method: ImputationMethod,
}

/// Median of the non-missing values, `None` when there are none.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return None;
    }
    let n = v.len();
    let mid = n / 2;
    let (_, &mut hi, _) = v.select_nth_unstable_by(mid, f64::total_cmp);
    if n % 2 == 1 {
        Some(hi)
    } else {
        let lo = v[..mid].iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Some((lo + hi) / 2.0)
    }
}

/// Mean of the non-missing values, `None` when there are none.
pub fn mean(values: &[f64]) -> Option<f64> {
    let (n, s) = values
        .iter()
        .filter(|x| !x.is_nan())
        .fold((0usize, 0.0), |(n, s), &x| (n + 1, s + x));
    (n > 0).then(|| s / n as f64)
}

/// Fills missing values of one column in place and returns `(row, value)` for
/// each imputed cell. `groups[row]` is the group id of each unit (`None` for no
/// group) and is only used by `GroupMean`.
pub fn impute_column(
    values: &mut [f64],
    method: ImputationMethod,
    groups: Option<&[Option<u32>]>,
) -> Vec<(usize, f64)> {
    let mut filled = Vec::new();
    if !values.iter().any(|v| v.is_nan()) {
        return filled;
    }
    let fill_all = |values: &mut [f64], with: Option<f64>, filled: &mut Vec<(usize, f64)>| {
        if let Some(f) = with {
            for (i, v) in values.iter_mut().enumerate() {
                if v.is_nan() {
                    *v = f;
                    filled.push((i, f));
                }
            }
        }
    };
    match method {
        ImputationMethod::None => {}
        ImputationMethod::Mean => {
            let m = mean(values);
            fill_all(values, m, &mut filled);
        }
        ImputationMethod::Median => {
            let m = median(values);
            fill_all(values, m, &mut filled);
        }
        ImputationMethod::GroupMean => {
            let Some(groups) = groups else {
                return filled;
            };
            let n_groups = groups
                .iter()
                .flatten()
                .map(|&g| g as usize + 1)
                .max()
                .unwrap_or(0);
            let mut sum = vec![0.0; n_groups];
            let mut cnt = vec![0usize; n_groups];
            for (v, g) in values.iter().zip(groups) {
                if let (false, Some(g)) = (v.is_nan(), g) {
                    sum[*g as usize] += v;
                    cnt[*g as usize] += 1;
                }
            }
            for (i, (v, g)) in values.iter_mut().zip(groups).enumerate() {
                if let (true, Some(g)) = (v.is_nan(), g) {
                    let g = *g as usize;
                    if cnt[g] > 0 {
                        let f = sum[g] / cnt[g] as f64;
                        *v = f;
                        filled.push((i, f));
                    }
                }
            }
        }
    }
    filled
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAN: f64 = f64::NAN;

    #[test]
    fn mean_and_median_ignore_missing() {
        assert_eq!(mean(&[1.0, NAN, 4.0]), Some(2.5));
        assert_eq!(median(&[5.0, 1.0, NAN, 3.0]), Some(3.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 10.0]), Some(3.5));
        assert_eq!(median(&[NAN]), None);
        assert_eq!(mean(&[]), None);
    }

    #[test]
    fn impute_mean_and_median() {
        let mut v = [1.0, NAN, 2.0, 9.0, NAN];
        let filled = impute_column(&mut v, ImputationMethod::Mean, None);
        assert_eq!(filled, vec![(1, 4.0), (4, 4.0)]);
        assert_eq!(v, [1.0, 4.0, 2.0, 9.0, 4.0]);
        let mut v = [1.0, NAN, 2.0, 9.0];
        let filled = impute_column(&mut v, ImputationMethod::Median, None);
        assert_eq!(filled, vec![(1, 2.0)]);
    }

    #[test]
    fn impute_none_leaves_missing() {
        let mut v = [1.0, NAN];
        assert!(impute_column(&mut v, ImputationMethod::None, None).is_empty());
        assert!(v[1].is_nan());
    }

    #[test]
    fn impute_group_mean() {
        // groups: 0 = {1, 3, missing}, 1 = {10, missing}, 2 = {missing}, none = {missing}
        let mut v = [1.0, 3.0, NAN, 10.0, NAN, NAN, NAN];
        let g = [Some(0), Some(0), Some(0), Some(1), Some(1), Some(2), None];
        let filled = impute_column(&mut v, ImputationMethod::GroupMean, Some(&g));
        assert_eq!(filled, vec![(2, 2.0), (4, 10.0)]);
        assert!(v[5].is_nan() && v[6].is_nan());
    }

    #[test]
    fn all_missing_column_stays_missing() {
        let mut v = [NAN, NAN];
        assert!(impute_column(&mut v, ImputationMethod::Mean, None).is_empty());
    }
}
