//! Golden test: the shipped World Bank GTMI model reproduces the published
//! GovTech Maturity Index and group letters for 2020, 2022 and 2025.

mod common;

use std::collections::BTreeMap;

use common::{load_gtmi, load_model};
use govlens_engine::Dataset;

#[test]
fn gtmi_values_and_groups_match_every_year() {
    let model = load_model("worldbank-gtmi.toml");
    let rows = load_gtmi();

    // What the file contains: every row has a group and a GTMI value (the summary
    // rows at the end of the 2025 block were dropped before vendoring). Rows without
    // them would be scored but not compared; there are none.
    let incomplete: Vec<usize> = rows
        .iter()
        .filter(|r| r.group.is_none() || r.gtmi.is_none())
        .map(|r| r.line)
        .collect();
    assert_eq!(
        incomplete,
        Vec::<usize>::new(),
        "rows without group or gtmi"
    );

    let mut by_year: BTreeMap<u32, Vec<&common::GtmiRow>> = BTreeMap::new();
    for r in &rows {
        by_year.entry(r.year).or_default().push(r);
    }
    let counts: Vec<(u32, usize)> = by_year.iter().map(|(y, v)| (*y, v.len())).collect();
    assert_eq!(counts, [(2020, 198), (2022, 198), (2025, 197)]);

    for (year, rows) in &by_year {
        let part = |k: usize| rows.iter().map(|r| r.parts[k]).collect::<Vec<f64>>();
        let data = Dataset::from_columns(
            rows.iter().map(|r| r.code.clone()).collect(),
            vec![
                ("wb.cgsi".into(), part(0)),
                ("wb.psdi".into(), part(1)),
                ("wb.dcei".into(), part(2)),
                ("wb.gtei".into(), part(3)),
            ],
        )
        .unwrap_or_else(|e| panic!("{year}: {e}"));
        let results = model.score(&data).unwrap();
        let idx = results.node_index("GTMI").unwrap();
        let mut compared = 0;
        for (u, row) in rows.iter().enumerate() {
            let score = results.score(u, idx).expect("complete rows are scored");
            let band = results.band(u, idx);
            if let Some(published) = row.gtmi {
                assert!(
                    (score - published).abs() <= 1e-9,
                    "{year} line {} {}: {score} vs {published}",
                    row.line,
                    row.name
                );
            }
            if let Some(group) = &row.group {
                assert_eq!(
                    band,
                    Some(group.as_str()),
                    "{year} line {} {}",
                    row.line,
                    row.name
                );
            }
            compared += 1;
        }
        assert_eq!(compared, rows.len());
    }
}

#[test]
fn model_file_is_the_published_methodology() {
    let m = load_model("worldbank-gtmi.toml");
    assert_eq!(m.code(), "GTMI");
    let codes: Vec<&str> = m.indicators().iter().map(|n| n.code.as_str()).collect();
    assert_eq!(codes, ["wb.cgsi", "wb.psdi", "wb.dcei", "wb.gtei"]);
    let govlens_engine::NodeKind::Aggregate(root) = &m.root.kind else {
        panic!("the index is an aggregate");
    };
    let bands: Vec<(&str, Option<f64>)> = root
        .bands
        .iter()
        .map(|b| (b.label.as_str(), b.min))
        .collect();
    assert_eq!(
        bands,
        [
            ("A", Some(0.75)),
            ("B", Some(0.5)),
            ("C", Some(0.25)),
            ("D", None)
        ]
    );
    assert_eq!(root.aggregation, govlens_engine::Aggregation::Arithmetic);
}
