//! Fact keys: their syntax and the families the scoring service provides.
//!
//! | key | units | meaning |
//! |---|---|---|
//! | `score.<node>` | regions (platforms when scored) | engine score of any model node, 0..1 (`score.TOE`, `score.technology`, `score.technology.infrastructure`) |
//! | `rank.<node>` | same | competition rank of the node's score (1 = best) |
//! | `indicator.<code>` | regions, platforms | raw TOE indicator value (`indicator.toe.t.store_coverage`) |
//! | `trend.<code>` | regions, platforms | change of `<code>` vs the previous period, when known |
//! | `metric.<name>` | platforms | see [`PLATFORM_METRICS`] |
//! | `region.<name>` | regions | see [`REGION_FACTS`] |

use crate::facts::UnitKind;

/// The `metric.*` facts of platforms.
pub const PLATFORM_METRICS: &[&str] = &[
    "average_rating",
    "rating_spread",
    "rating_min",
    "rating_max",
    "stores_without_data",
    "downloads_per_inhabitant",
];

/// The `region.*` facts of regions.
pub const REGION_FACTS: &[&str] = &[
    "app_count",
    "basic_services_missing",
    "overlapping_functions",
];

/// The key families (prefix before the first dot).
pub const FAMILIES: &[&str] = &["score", "rank", "indicator", "trend", "metric", "region"];

/// A parsed fact key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FactKey<'a> {
    /// `score`, `rank`, `indicator`, `trend`, `metric` or `region`.
    pub family: &'a str,
    /// The rest after the first dot (node, indicator code or name).
    pub name: &'a str,
}

impl FactKey<'_> {
    /// The only unit kind that has facts of this family, when restricted.
    pub fn only_for(&self) -> Option<UnitKind> {
        match self.family {
            "metric" => Some(UnitKind::Platform),
            "region" => Some(UnitKind::Region),
            _ => None,
        }
    }
}

fn segment_ok(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Parses a fact key, explaining what is wrong with it.
pub fn parse_fact_key(key: &str) -> Result<FactKey<'_>, String> {
    let Some((family, name)) = key.split_once('.') else {
        return Err(format!(
            "bad fact key {key:?}: expected <family>.<name> with family one of {}",
            FAMILIES.join(", ")
        ));
    };
    if !FAMILIES.contains(&family) {
        return Err(format!(
            "bad fact key {key:?}: unknown family {family:?} (expected one of {})",
            FAMILIES.join(", ")
        ));
    }
    if !name.split('.').all(segment_ok) {
        return Err(format!(
            "bad fact key {key:?}: segments must be non-empty and use only letters, digits, '_' and '-', separated by single dots"
        ));
    }
    match family {
        "metric" if !PLATFORM_METRICS.contains(&name) => Err(format!(
            "bad fact key {key:?}: unknown platform metric {name:?} (expected one of {})",
            PLATFORM_METRICS.join(", ")
        )),
        "region" if !REGION_FACTS.contains(&name) => Err(format!(
            "bad fact key {key:?}: unknown region fact {name:?} (expected one of {})",
            REGION_FACTS.join(", ")
        )),
        _ => Ok(FactKey { family, name }),
    }
}

/// Whether a code (dilemma, path, rulebook id) is well formed: 1-64 characters among
/// letters, digits, `.`, `_` and `-`.
pub fn code_ok(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 64
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fact_keys() {
        assert!(parse_fact_key("score.TOE").is_ok());
        assert!(parse_fact_key("score.technology.infrastructure").is_ok());
        assert!(parse_fact_key("indicator.toe.t.store_coverage").is_ok());
        assert!(parse_fact_key("metric.rating_spread").is_ok());
        assert!(parse_fact_key("region.basic_services_missing").is_ok());
        for bad in [
            "",
            "score",
            "score.",
            "score..x",
            "score.a b",
            "scores.TOE",
            "metric.rating",
            "region.apps",
            ".x",
            "indicator.toe.t.",
        ] {
            assert!(parse_fact_key(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_fact_key("metric.rating_min").unwrap().only_for(),
            Some(UnitKind::Platform)
        );
        assert_eq!(parse_fact_key("score.TOE").unwrap().only_for(), None);
    }

    #[test]
    fn codes() {
        assert!(code_ok("3.1.1"));
        assert!(code_ok("3.1.1-store-gap"));
        assert!(!code_ok(""));
        assert!(!code_ok("3.1 1"));
        assert!(!code_ok(&"x".repeat(65)));
    }
}
