//! The World Bank GovTech Maturity Index table with group letters
//! (`gtmi_groups_2020_2022_2025.csv`):
//!
//! ```text
//! year,country_code,country_name,grp,gtmi,cgsi,psdi,dcei,gtei
//! 2020,ARG,Argentina,A,0.8680938452840153,0.7571647058823531,0.9086952380952381,0.8809416666666667,0.9255737704918033
//! ```
//!
//! Produces:
//! * one region per economy (level `country`, no parent), coded by `country_code` in
//!   lower case after replacing the World Bank's own codes that differ from ISO 3166-1
//!   (`datasets/reference/country-code-aliases.csv`: ADO, ROM, TMP, ZAR, WBG), and
//!   named by the canonical name of [`countries`](super::countries), so that a
//!   country also read from the UN table gets the identical record. A code missing
//!   there keeps the file's name (that of its latest year).
//! * the six indicators of [`indicators`], once;
//! * one indicator value per economy, year and non-empty cell: `wb.gtmi`, `wb.cgsi`,
//!   `wb.psdi`, `wb.dcei`, `wb.gtei` with `value_as_printed` the cell text exactly and
//!   `value` empty; `wb.gtmi_group` with `value` A = 4, B = 3, C = 2, D = 1 and
//!   `value_as_printed` the letter. Provenance: document `wb-gtmi-<year>`, table the file
//!   name, row the CSV line number, column the header.
//!
//! Empty cells are skipped. In the vendored file (593 rows: 198 economies in 2020 and
//! 2022, 197 in 2025) no cell is empty, so 0 cells are skipped and every row gives six
//! values (3,558 in all). Its oddities, all handled: CRLF line ends; the 2020 block uses
//! the legacy codes ADO, ROM, TMP and ZAR (later years AND, ROU, TLS, COD); West Bank and
//! Gaza is WBG in every year (ISO PSE) and Kosovo KSV (no ISO code; kept); four economies
//! change name between years (TUR Turkey/Türkiye, TWN Chinese Taipei/Taiwan, China, WBG
//! Palestine/West Bank and Gaza, FSM); 11 cells are exactly `0` or `1`.
//!
//! Every record's origin is `<file name>:<line>`; the indicators' is the header line.
//! An economy given twice for one year (after code replacement) is an error.

use std::collections::{HashMap, HashSet};

use super::countries::countries;
use super::{check_number, error, year_cell, Format, Table};
use crate::bundle::{BundleError, SourcedRecord};
use crate::records::{
    AnyRecord, Direction, IndicatorRecord, IndicatorValueRecord, SubjectKind, ToeDimension,
};

/// The header of the layout (cells may carry surrounding spaces; order is free).
pub const HEADER: [&str; 9] = [
    "year",
    "country_code",
    "country_name",
    "grp",
    "gtmi",
    "cgsi",
    "psdi",
    "dcei",
    "gtei",
];

const YEAR: &str = "year";
const CODE: &str = "country_code";
const NAME: &str = "country_name";
const GROUP: &str = "grp";

/// Indicator code and the column it is read from, in output order (the group last).
pub const COLUMNS: [(&str, &str); 6] = [
    ("wb.gtmi", "gtmi"),
    ("wb.cgsi", "cgsi"),
    ("wb.psdi", "psdi"),
    ("wb.dcei", "dcei"),
    ("wb.gtei", "gtei"),
    ("wb.gtmi_group", GROUP),
];

/// The value of a GTMI group letter: A = 4 (best) to D = 1.
pub fn group_value(letter: &str) -> Option<f64> {
    match letter.trim() {
        "A" => Some(4.0),
        "B" => Some(3.0),
        "C" => Some(2.0),
        "D" => Some(1.0),
        _ => None,
    }
}

/// The indicators this table carries. TOE dimensions (see `datasets/reference/FORMATS.md`):
/// core government systems and public service delivery are technology, digital citizen
/// engagement is organization, GovTech enablers (strategy, institutions, law, skills)
/// are environment, and the composite GTMI and its group are technology.
pub fn indicators() -> Vec<IndicatorRecord> {
    let index =
        |code: &str, name: &str, dimension, factor: &str, description: &str| IndicatorRecord {
            code: code.to_string(),
            name: name.to_string(),
            unit: "index (0-1)".to_string(),
            direction: Direction::HigherIsBetter,
            dimension,
            factor: factor.to_string(),
            description: description.to_string(),
        };
    vec![
        index(
            "wb.gtmi",
            "GovTech Maturity Index",
            ToeDimension::Technology,
            "govtech maturity (composite)",
            "World Bank GTMI: mean of CGSI, PSDI, DCEI and GTEI.",
        ),
        index(
            "wb.cgsi",
            "Core Government Systems Index",
            ToeDimension::Technology,
            "core government systems",
            "World Bank GTMI focus area: shared platforms, financial and HR systems, \
             cloud and interoperability.",
        ),
        index(
            "wb.psdi",
            "Public Service Delivery Index",
            ToeDimension::Technology,
            "online services",
            "World Bank GTMI focus area: online public services and portals.",
        ),
        index(
            "wb.dcei",
            "Digital Citizen Engagement Index",
            ToeDimension::Organization,
            "e-participation",
            "World Bank GTMI focus area: participation, feedback and open government.",
        ),
        index(
            "wb.gtei",
            "GovTech Enablers Index",
            ToeDimension::Environment,
            "govtech enablers",
            "World Bank GTMI focus area: strategy, institutions, laws and regulations, \
             digital skills and innovation policy.",
        ),
        IndicatorRecord {
            code: "wb.gtmi_group".to_string(),
            name: "GovTech Maturity Index group".to_string(),
            unit: "group (A=4, B=3, C=2, D=1)".to_string(),
            direction: Direction::HigherIsBetter,
            dimension: ToeDimension::Technology,
            factor: "govtech maturity (composite)".to_string(),
            description: "World Bank GTMI group: A (GTMI >= 0.75) = 4, B (>= 0.50) = 3, \
                          C (>= 0.25) = 2, D (< 0.25) = 1; printed as the letter."
                .to_string(),
        },
    ]
}

/// Reads a World Bank GTMI groups table. `file_name` names the file in origins and
/// provenance.
pub fn parse(file_name: &str, text: &str) -> Result<Vec<SourcedRecord>, BundleError> {
    let countries = countries()?;
    let table = Table::read(file_name, text, &HEADER, Format::WbGtmi.describe())?;

    // First pass: years and codes, and for codes without a canonical name the name of
    // their latest year, so that a file gives one name per code.
    let mut keyed = Vec::with_capacity(table.rows.len());
    let mut fallback: HashMap<String, (String, String)> = HashMap::new();
    let mut given: HashMap<(String, String), u64> = HashMap::new();
    for row in &table.rows {
        let origin = format!("{file_name}:{}", row.line);
        let year = year_cell(&origin, YEAR, table.cell(row, YEAR))?;
        let printed_code = table.cell(row, CODE).trim();
        if !(printed_code.len() == 3 && printed_code.bytes().all(|b| b.is_ascii_alphabetic())) {
            return Err(error(
                origin,
                format!("column {CODE}: {printed_code:?} is not a three-letter country code"),
            ));
        }
        let alpha3 = countries.resolve_code(printed_code);
        let name = table.cell(row, NAME).trim();
        if countries.canonical_name(&alpha3).is_none() {
            if name.is_empty() {
                return Err(error(
                    origin,
                    format!("column {NAME} is empty and {alpha3} has no name in the country table"),
                ));
            }
            let entry = fallback
                .entry(alpha3.clone())
                .or_insert_with(|| (year.clone(), name.to_string()));
            if year >= entry.0 {
                *entry = (year.clone(), name.to_string());
            }
        }
        if let Some(first) = given.insert((alpha3.clone(), year.clone()), row.line) {
            return Err(error(
                origin,
                format!(
                    "{printed_code} ({alpha3}) is given twice for {year}: also on line {first}"
                ),
            ));
        }
        keyed.push((row, origin, year, alpha3));
    }

    let mut regions = Vec::new();
    let mut region_codes = HashSet::new();
    let mut values = Vec::new();
    for (row, origin, year, alpha3) in keyed {
        let fallback_name = fallback
            .get(&alpha3)
            .map(|(_, n)| n.as_str())
            .unwrap_or_default();
        let region = countries.region(&alpha3, fallback_name);
        if region_codes.insert(region.code.clone()) {
            regions.push(SourcedRecord {
                origin: origin.clone(),
                record: AnyRecord::Region(region.clone()),
            });
        }
        for (indicator, column) in COLUMNS {
            let cell = table.cell(row, column);
            if cell.trim().is_empty() {
                continue;
            }
            let value = if column == GROUP {
                Some(group_value(cell).ok_or_else(|| {
                    error(
                        origin.clone(),
                        format!("column {GROUP}: {cell:?} is not a group A, B, C or D"),
                    )
                })?)
            } else {
                check_number(&origin, column, cell)?;
                None
            };
            values.push(SourcedRecord {
                origin: origin.clone(),
                record: AnyRecord::IndicatorValue(IndicatorValueRecord {
                    indicator_code: indicator.to_string(),
                    subject_kind: SubjectKind::Region,
                    subject_code: region.code.clone(),
                    period: year.clone(),
                    value,
                    value_as_printed: cell.to_string(),
                    source_document: format!("wb-gtmi-{year}"),
                    source_table: file_name.to_string(),
                    source_row: row.line.to_string(),
                    source_column: column.to_string(),
                }),
            });
        }
    }
    let header_origin = format!("{file_name}:1");
    let indicators = indicators().into_iter().map(|i| SourcedRecord {
        origin: header_origin.clone(),
        record: AnyRecord::Indicator(i),
    });
    Ok(regions
        .into_iter()
        .chain(indicators)
        .chain(values)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "year,country_code,country_name,grp,gtmi,cgsi,psdi,dcei,gtei\r\n\
2020,ROM,Romania,B,0.6470844962001194,0.5594305882352941,0.7,0.6,0.7\r\n\
2020,TUR,Turkey,A,0.78,0.66,1,0.8,0.7\r\n\
2022,TUR,Türkiye,A,0.87,0.84,0.9,0.8,0.9\r\n\
2022,XYZ,Nowhere Old,,0.1,,0.1,0.1,0.1\r\n\
2025,XYZ,Nowhere,D,0.1,0.1,0.1,0.1,0.1\r\n";

    fn regions(rows: &[SourcedRecord]) -> Vec<(String, String)> {
        rows.iter()
            .filter_map(|r| match &r.record {
                AnyRecord::Region(x) => Some((x.code.clone(), x.name.clone())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn codes_are_iso_and_names_canonical() {
        let rows = parse("g.csv", TABLE).unwrap();
        assert_eq!(
            regions(&rows),
            [
                ("rou".to_string(), "Romania".to_string()),
                ("tur".to_string(), "Türkiye".to_string()),
                ("xyz".to_string(), "Nowhere".to_string()),
            ]
        );
        // 5 rows x 6 cells, less the two empty cells of line 5.
        assert_eq!(rows.len(), 3 + 6 + 28);
        let AnyRecord::IndicatorValue(group) = &rows[3 + 6 + 5].record else {
            panic!()
        };
        assert_eq!(group.indicator_code, "wb.gtmi_group");
        assert_eq!(
            (group.value, group.value_as_printed.as_str()),
            (Some(3.0), "B")
        );
        assert_eq!(
            (group.source_row.as_str(), group.source_column.as_str()),
            ("2", "grp")
        );
        assert_eq!(group.source_document, "wb-gtmi-2020");
    }

    #[test]
    fn bad_groups_codes_and_repeats_are_errors_with_their_line() {
        let e = parse("g.csv", &TABLE.replace(",A,0.87", ",E,0.87")).unwrap_err();
        assert_eq!(e.origin, "g.csv:4");
        let e = parse("g.csv", &TABLE.replace("XYZ,Nowhere,", "X1,Nowhere,")).unwrap_err();
        assert_eq!(e.origin, "g.csv:6");
        let e = parse("g.csv", &TABLE.replace("2020,TUR", "2020,ROU")).unwrap_err();
        assert_eq!(e.origin, "g.csv:3");
        assert!(e.message.contains("line 2"), "{}", e.message);
    }
}
