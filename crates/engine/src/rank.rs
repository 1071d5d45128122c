//! Competition ranks ("1224") and bands.
//!
//! **Ranks.** Units are sorted by score, best (highest) first. A unit whose
//! score is within `tie_tolerance` of the best score of the current tie group
//! joins that group and shares its rank; the next group's rank skips the
//! places taken ("1224" ranking, as published by the UN and most indices).
//! Tie groups are anchored on their first (best) member, so ties do not chain:
//! with tolerance 0.1 the scores 1.0, 0.95, 0.9 rank 1, 1, 1 but 1.0, 0.95, 0.85
//! rank 1, 1, 3. The default tolerance is 0 (exact equality). With `decimals`
//! set, scores are first rounded half away from zero to that many decimals (on
//! their printed decimal form, see [`crate::decimal::round_f64_half_up`]), which
//! reproduces tables that rank on published, rounded values. Missing scores get
//! no rank.
//!
//! **Bands.** A band list such as `Very High >= 0.75, High >= 0.5, Middle >=
//! 0.25, Low otherwise` assigns each score the label of the band with the highest
//! `min` that the score reaches; a band without `min` catches everything below.

use rayon::slice::ParallelSliceMut;
use serde::{Deserialize, Serialize};

use crate::decimal::round_f64_half_up;

/// Ranking options.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Ranking {
    /// Scores within this distance of a tie group's best score share its rank.
    pub tie_tolerance: f64,
    /// Rank on scores rounded to this many decimals.
    pub decimals: Option<u32>,
}

/// A band (rating class).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Band {
    /// Label, e.g. `Very High`.
    pub label: String,
    /// Inclusive lower bound; `None` is the catch-all band.
    pub min: Option<f64>,
}

impl Band {
    /// A band `label >= min`.
    pub fn new(label: impl Into<String>, min: f64) -> Self {
        Band {
            label: label.into(),
            min: Some(min),
        }
    }

    /// The catch-all band.
    pub fn otherwise(label: impl Into<String>) -> Self {
        Band {
            label: label.into(),
            min: None,
        }
    }
}

/// Competition ranks of `scores` (`NaN` = missing, gets `None`); 1 is best.
pub fn competition_ranks(scores: &[f64], ranking: &Ranking) -> Vec<Option<u32>> {
    let mut out = vec![0u32; scores.len()];
    let mut scratch = Vec::new();
    ranks_into(scores, ranking, &mut scratch, &mut out);
    out.into_iter().map(|r| (r > 0).then_some(r)).collect()
}

/// Order-reversing map from `f64` (not NaN) to `u64`: larger values get smaller keys.
#[inline]
fn key_desc(x: f64) -> u64 {
    let b = (x + 0.0).to_bits(); // -0.0 becomes 0.0
    let asc = if b >> 63 == 1 { !b } else { b | (1 << 63) };
    !asc
}

/// Inverse of [`key_desc`].
#[inline]
fn from_key_desc(k: u64) -> f64 {
    let asc = !k;
    let b = if asc >> 63 == 1 {
        asc & !(1 << 63)
    } else {
        !asc
    };
    f64::from_bits(b)
}

/// Writes competition ranks into `out` (0 = missing). `scratch` is reused.
pub(crate) fn ranks_into(
    scores: &[f64],
    ranking: &Ranking,
    scratch: &mut Vec<(u64, u32)>,
    out: &mut [u32],
) {
    scratch.clear();
    out.fill(0);
    let present = scores.iter().enumerate().filter(|(_, s)| !s.is_nan());
    match ranking.decimals {
        Some(d) => {
            scratch.extend(present.map(|(i, &s)| (key_desc(round_f64_half_up(s, d)), i as u32)))
        }
        None => scratch.extend(present.map(|(i, &s)| (key_desc(s), i as u32))),
    }
    // Equal keys share a rank, so their relative order does not matter.
    if scratch.len() >= 1 << 15 {
        scratch.par_sort_unstable_by_key(|p| p.0);
    } else {
        scratch.sort_unstable_by_key(|p| p.0);
    }
    let tol = ranking.tie_tolerance;
    let mut prev_key = 0u64;
    let mut leader = f64::NAN;
    let mut rank = 0u32;
    for (pos, &(k, i)) in scratch.iter().enumerate() {
        if pos == 0 || k != prev_key {
            let same_group = tol > 0.0 && {
                let s = from_key_desc(k);
                leader - s <= tol
            };
            if pos == 0 || !same_group {
                leader = from_key_desc(k);
                rank = pos as u32 + 1;
            }
            prev_key = k;
        }
        out[i as usize] = rank;
    }
}

/// Index of the band `score` falls in, given bands sorted by `min` descending with
/// the catch-all (if any) last. `None` for missing scores or scores below every band.
pub fn band_index(score: f64, bands: &[Band]) -> Option<usize> {
    if score.is_nan() {
        return None;
    }
    bands.iter().position(|b| match b.min {
        Some(m) => score >= m,
        None => true,
    })
}

/// Sorts bands by `min` descending with the catch-all last.
pub fn sort_bands(bands: &mut [Band]) {
    bands.sort_by(|a, b| match (a.min, b.min) {
        (Some(x), Some(y)) => y.total_cmp(&x),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAN: f64 = f64::NAN;

    fn r(scores: &[f64], tol: f64, decimals: Option<u32>) -> Vec<Option<u32>> {
        competition_ranks(
            scores,
            &Ranking {
                tie_tolerance: tol,
                decimals,
            },
        )
    }

    #[test]
    fn competition_ranking_1224() {
        assert_eq!(
            r(&[0.5, 0.9, 0.7, 0.7, NAN, 0.1], 0.0, None),
            vec![Some(4), Some(1), Some(2), Some(2), None, Some(5)]
        );
        assert_eq!(r(&[], 0.0, None), vec![]);
        assert_eq!(r(&[1.0, 1.0, 1.0], 0.0, None), vec![Some(1); 3]);
    }

    #[test]
    fn tolerance_anchors_on_group_leader() {
        assert_eq!(
            r(&[1.0, 0.95, 0.9], 0.1 + 1e-12, None),
            vec![Some(1), Some(1), Some(1)]
        );
        assert_eq!(
            r(&[1.0, 0.95, 0.85], 0.1, None),
            vec![Some(1), Some(1), Some(3)]
        );
    }

    #[test]
    fn decimals_round_before_ranking() {
        // 0.55206667 and 0.5521 tie at 4 decimals; 0.94097 rounds to 0.9410
        assert_eq!(
            r(&[0.552066667, 0.5521, 0.94097, 0.941], 0.0, Some(4)),
            vec![Some(3), Some(3), Some(1), Some(1)]
        );
        assert_eq!(r(&[0.552066667, 0.5521], 0.0, None), vec![Some(2), Some(1)]);
    }

    #[test]
    fn sort_keys_preserve_order() {
        let xs = [-1e300, -2.5, -0.0, 0.0, 1e-300, 0.5, 7.0, f64::MAX];
        for w in xs.windows(2) {
            assert!(key_desc(w[0]) >= key_desc(w[1]), "{} {}", w[0], w[1]);
        }
        for &x in &xs {
            assert_eq!(from_key_desc(key_desc(x)), x + 0.0);
        }
        assert_eq!(r(&[0.0, -0.0], 0.0, None), vec![Some(1), Some(1)]);
        assert_eq!(
            r(&[-1.0, -3.0, -2.0], 0.0, None),
            vec![Some(1), Some(3), Some(2)]
        );
    }

    #[test]
    fn bands_with_catch_all() {
        let mut bands = vec![
            Band::otherwise("Low"),
            Band::new("High", 0.5),
            Band::new("Very High", 0.75),
            Band::new("Middle", 0.25),
        ];
        sort_bands(&mut bands);
        let label = |s: f64| band_index(s, &bands).map(|i| bands[i].label.as_str());
        assert_eq!(label(0.75), Some("Very High"));
        assert_eq!(label(0.7499), Some("High"));
        assert_eq!(label(0.5), Some("High"));
        assert_eq!(label(0.25), Some("Middle"));
        assert_eq!(label(0.0), Some("Low"));
        assert_eq!(label(-3.0), Some("Low"));
        assert_eq!(label(NAN), None);
        let no_catch_all = vec![Band::new("A", 0.75)];
        assert_eq!(band_index(0.1, &no_catch_all), None);
    }
}
