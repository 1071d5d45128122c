//! Helpers shared by the golden tests: locating and parsing the vendored
//! reference CSVs and the shipped models.

#![allow(dead_code)]

use std::path::PathBuf;

use govlens_engine::{Dataset, Model};

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn load_model(file: &str) -> Model {
    let path = repo_root().join("models").join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    Model::from_toml_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One row of an `EGOV_DATA_<year>.csv` file.
#[derive(Debug, Clone)]
pub struct EgovRow {
    pub line: usize,
    pub country: String,
    pub rank: u32,
    pub egdi: f64,
    pub egdi_text: String,
    pub osi: f64,
    pub hci: f64,
    pub tii: f64,
}

fn num(rec: &csv::StringRecord, idx: usize, line: usize, what: &str) -> f64 {
    rec.get(idx)
        .unwrap_or_else(|| panic!("line {line}: no {what} column"))
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("line {line}: bad {what} {:?}: {e}", rec.get(idx)))
}

pub fn load_egov(year: u32) -> Vec<EgovRow> {
    let path = repo_root().join(format!("datasets/reference/un-egdi/EGOV_DATA_{year}.csv"));
    let mut rdr = csv::Reader::from_path(&path)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    let headers = rdr.headers().unwrap().clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim() == name)
            .unwrap_or_else(|| panic!("{}: no column {name:?}", path.display()))
    };
    let (c_year, c_name, c_rank, c_egdi) = (
        col("Survey Year"),
        col("Country Name"),
        col("E-Government Rank"),
        col("E-Government Index"),
    );
    let (c_osi, c_hci, c_tii) = (
        col("Online Service Index"),
        col("Human Capital Index"),
        col("Telecommunication Infrastructure Index"),
    );
    let mut rows = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let line = i + 2;
        let rec = rec.unwrap_or_else(|e| panic!("line {line}: {e}"));
        assert_eq!(num(&rec, c_year, line, "year") as u32, year, "line {line}");
        rows.push(EgovRow {
            line,
            country: rec[c_name].trim().to_string(),
            rank: rec[c_rank]
                .trim()
                .parse()
                .unwrap_or_else(|e| panic!("line {line}: bad rank: {e}")),
            egdi: num(&rec, c_egdi, line, "EGDI"),
            egdi_text: rec[c_egdi].trim().to_string(),
            osi: num(&rec, c_osi, line, "OSI"),
            hci: num(&rec, c_hci, line, "HCI"),
            tii: num(&rec, c_tii, line, "TII"),
        });
    }
    rows
}

pub fn egov_dataset(rows: &[EgovRow]) -> Dataset {
    Dataset::from_columns(
        rows.iter().map(|r| r.country.clone()).collect(),
        vec![
            ("un.osi".into(), rows.iter().map(|r| r.osi).collect()),
            ("un.tii".into(), rows.iter().map(|r| r.tii).collect()),
            ("un.hci".into(), rows.iter().map(|r| r.hci).collect()),
        ],
    )
    .expect("valid dataset")
}

/// Number of significant decimals the column is published with (trailing zeros
/// do not count: "0.43600" has 3, a column of such values published to 4 decimals
/// has max 4).
pub fn published_decimals(texts: impl Iterator<Item = String>) -> u32 {
    texts
        .map(|t| match t.split_once('.') {
            Some((_, f)) => f.trim_end_matches('0').len() as u32,
            None => 0,
        })
        .max()
        .unwrap_or(0)
}

/// One row of the GTMI groups file.
#[derive(Debug, Clone)]
pub struct GtmiRow {
    pub line: usize,
    pub year: u32,
    pub code: String,
    pub name: String,
    pub group: Option<String>,
    pub gtmi: Option<f64>,
    pub parts: [f64; 4],
}

fn opt_num(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.is_empty() || s.eq_ignore_ascii_case("na") || s.eq_ignore_ascii_case("nan") {
        None
    } else {
        Some(
            s.parse()
                .unwrap_or_else(|e| panic!("bad number {s:?}: {e}")),
        )
    }
}

pub fn load_gtmi() -> Vec<GtmiRow> {
    let path = repo_root().join("datasets/reference/worldbank-gtmi/gtmi_groups_2020_2022_2025.csv");
    let mut rdr = csv::Reader::from_path(&path)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    let headers: Vec<String> = rdr
        .headers()
        .unwrap()
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    assert_eq!(
        headers,
        [
            "year",
            "country_code",
            "country_name",
            "grp",
            "gtmi",
            "cgsi",
            "psdi",
            "dcei",
            "gtei"
        ]
    );
    rdr.records()
        .enumerate()
        .map(|(i, rec)| {
            let line = i + 2;
            let rec = rec.unwrap_or_else(|e| panic!("line {line}: {e}"));
            let part = |k: usize| {
                opt_num(&rec[k]).unwrap_or_else(|| panic!("line {line}: missing {}", headers[k]))
            };
            GtmiRow {
                line,
                year: rec[0]
                    .trim()
                    .parse()
                    .unwrap_or_else(|e| panic!("line {line}: {e}")),
                code: rec[1].trim().to_string(),
                name: rec[2].trim().to_string(),
                group: Some(rec[3].trim().to_string()).filter(|g| !g.is_empty()),
                gtmi: opt_num(&rec[4]),
                parts: [part(5), part(6), part(7), part(8)],
            }
        })
        .collect()
}
