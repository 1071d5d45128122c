//! Golden test: the shipped UN EGDI model reproduces the published E-Government
//! Survey tables (2014-2022): index values, competition ranks and rating classes.

mod common;

use std::collections::BTreeSet;

use common::{egov_dataset, load_egov, load_model, published_decimals};
use govlens_engine::{Ranking, ScoreOptions};

const YEARS: [u32; 5] = [2014, 2016, 2018, 2020, 2022];

/// Rows of the 2020 table whose published rank differs from the competition rank
/// of the published (rounded) EGDI: each ties at 4 decimals with another country
/// and the UN broke the tie with unrounded values. (country, published rank,
/// competition rank computed by the engine).
const UN_TIE_BREAKS_2020: [(&str, u32, u32); 4] = [
    ("Hungary", 52, 51),
    ("North Macedonia", 72, 71),
    ("Andorra", 80, 79),
    ("Timor-Leste", 134, 133),
];

/// Rating class by the published thresholds, written independently of the model.
fn un_class(x: f64) -> &'static str {
    if x >= 0.75 {
        "Very High"
    } else if x >= 0.50 {
        "High"
    } else if x >= 0.25 {
        "Middle"
    } else {
        "Low"
    }
}

#[test]
fn model_file_is_the_published_methodology() {
    let m = load_model("un-egdi.toml");
    assert_eq!(m.code(), "EGDI");
    let codes: Vec<&str> = m.indicators().iter().map(|n| n.code.as_str()).collect();
    assert_eq!(codes, ["un.osi", "un.tii", "un.hci"]);
    assert_eq!(m.ranking.decimals, Some(4));
}

#[test]
fn egdi_values_ranks_and_classes_match_every_year() {
    let model = load_model("un-egdi.toml");
    for year in YEARS {
        let rows = load_egov(year);
        assert_eq!(rows.len(), 193, "{year}: row count");
        let names: BTreeSet<&str> = rows.iter().map(|r| r.country.as_str()).collect();
        assert_eq!(names.len(), 193, "{year}: trimmed names are unique");

        // Rank at the precision the table is published with.
        let decimals = published_decimals(rows.iter().map(|r| r.egdi_text.clone()));
        let expected_decimals = if year <= 2016 { 5 } else { 4 };
        assert_eq!(decimals, expected_decimals, "{year}: published precision");
        let opts = ScoreOptions {
            ranking: Some(Ranking {
                tie_tolerance: 0.0,
                decimals: Some(decimals),
            }),
        };
        let results = govlens_engine::score(&model, &egov_dataset(&rows), &opts).unwrap();
        let idx = results.node_index("EGDI").unwrap();

        let mut max_diff: f64 = 0.0;
        let mut rank_mismatches = Vec::new();
        for (u, row) in rows.iter().enumerate() {
            let egdi = results.score(u, idx).expect("every country has a score");
            let diff = (egdi - row.egdi).abs();
            max_diff = max_diff.max(diff);
            assert!(
                diff <= 1e-4,
                "{year} line {} {}: computed {egdi} vs published {}",
                row.line,
                row.country,
                row.egdi
            );
            assert_eq!(
                results.band(u, idx),
                Some(un_class(row.egdi)),
                "{year} line {} {}: class of {egdi} (published {})",
                row.line,
                row.country,
                row.egdi
            );
            let rank = results.rank(u, idx).expect("every country is ranked");
            if rank != row.rank {
                rank_mismatches.push((row.country.as_str(), row.rank, rank));
            }
        }
        assert!(max_diff < 1e-4, "{year}: max diff {max_diff}");

        let mut expected: Vec<(&str, u32, u32)> = if year == 2020 {
            UN_TIE_BREAKS_2020.to_vec()
        } else {
            Vec::new()
        };
        expected.sort();
        rank_mismatches.sort();
        assert_eq!(rank_mismatches, expected, "{year}: rank mismatches");
    }
}

#[test]
fn the_2020_exceptions_are_ties_broken_by_the_un() {
    let rows = load_egov(2020);
    for (country, published, computed) in UN_TIE_BREAKS_2020 {
        let row = rows.iter().find(|r| r.country == country).unwrap();
        assert_eq!(row.rank, published);
        // Another country has the same published EGDI and holds the shared rank.
        let partner = rows
            .iter()
            .find(|r| r.country != country && r.egdi_text == row.egdi_text)
            .unwrap_or_else(|| panic!("{country}: no tie partner"));
        assert_eq!(
            partner.rank, computed,
            "{country} ties with {}",
            partner.country
        );
        assert!(published > computed);
    }
}

#[test]
fn model_default_precision_reproduces_recent_editions() {
    // 2018-2022 with the model's own ranking options (4 decimals), no override.
    let model = load_model("un-egdi.toml");
    for year in [2018, 2022] {
        let rows = load_egov(year);
        let results = model.score(&egov_dataset(&rows)).unwrap();
        for (u, row) in rows.iter().enumerate() {
            assert_eq!(results.rank(u, 0), Some(row.rank), "{year} {}", row.country);
        }
    }
}

#[test]
fn unrounded_ranking_differs_from_published_tables() {
    // Documents why rank precision matters: ranking the exact means of the
    // rounded components does not reproduce the 2022 table.
    let model = load_model("un-egdi.toml");
    let rows = load_egov(2022);
    let opts = ScoreOptions {
        ranking: Some(Ranking::default()),
    };
    let results = govlens_engine::score(&model, &egov_dataset(&rows), &opts).unwrap();
    let mismatches = rows
        .iter()
        .enumerate()
        .filter(|(u, r)| results.rank(*u, 0) != Some(r.rank))
        .count();
    assert!(mismatches > 0);
}

#[test]
fn time_series_rank_changes_match_published_ranks() {
    let model = load_model("un-egdi.toml");
    let r2018 = load_egov(2018);
    let r2022 = load_egov(2022);
    let d2018 = egov_dataset(&r2018);
    let d2022 = egov_dataset(&r2022);
    let ts = govlens_engine::score_periods(
        &model,
        &[("2018", &d2018), ("2022", &d2022)],
        &ScoreOptions::default(),
    )
    .unwrap();
    let changes = ts.index_changes().unwrap();
    let mut checked = 0;
    for c in &changes {
        let (Some(a), Some(b)) = (
            r2018.iter().find(|r| r.country == c.unit),
            r2022.iter().find(|r| r.country == c.unit),
        ) else {
            continue;
        };
        assert_eq!(
            c.places_gained,
            Some(i64::from(a.rank) - i64::from(b.rank)),
            "{}",
            c.unit
        );
        let published_change = b.egdi - a.egdi;
        assert!(
            (c.score_change.unwrap() - published_change).abs() < 2e-4,
            "{}",
            c.unit
        );
        checked += 1;
    }
    assert!(
        checked > 180,
        "only {checked} countries matched across editions"
    );
}
