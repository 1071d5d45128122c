//! The UN E-Government Survey country table, in the CSV layout the UN E-Government
//! Data Center exports (`EGOV_DATA_<year>.csv`):
//!
//! ```text
//! Survey Year,Country Name,E-Government Rank,E-Government Index,E-Participation Index,Online Service Index,Human Capital Index,Telecommunication Infrastructure Index
//! 2022,"Iraq ",146,0.43830,0.21590,0.20600,0.58880,0.52010
//! ```
//!
//! Produces, for a table of N countries:
//! * N regions (level `country`, no parent), coded by the lowercase ISO 3166-1 alpha-3
//!   code that [`countries`](super::countries) gives for the country name (names are
//!   matched trimmed: the UN pads most with a trailing space) and named by its
//!   canonical name. An unknown name is an error naming its line; no code is guessed.
//! * the six indicators of [`indicators`], once;
//! * one indicator value per country and non-empty cell: subject the country, period
//!   the survey year, `value_as_printed` the cell text exactly, `value` empty (import
//!   reads it from the printed text), provenance document `un-egdi-<year>`, table the
//!   file name, row the CSV line number, column the header as printed.
//!
//! Every record's origin is `<file name>:<line>`; the indicators' is the header line.
//! A country given twice for one year is an error.

use std::collections::{HashMap, HashSet};

use super::countries::{countries, CODES_FILE};
use super::{check_number, error, year_cell, Format, Table};
use crate::bundle::{BundleError, SourcedRecord};
use crate::records::{
    AnyRecord, Direction, IndicatorRecord, IndicatorValueRecord, SubjectKind, ToeDimension,
};

/// The header of the layout (cells may carry surrounding spaces; order is free).
pub const HEADER: [&str; 8] = [
    "Survey Year",
    "Country Name",
    "E-Government Rank",
    "E-Government Index",
    "E-Participation Index",
    "Online Service Index",
    "Human Capital Index",
    "Telecommunication Infrastructure Index",
];

const YEAR: &str = "Survey Year";
const NAME: &str = "Country Name";

/// Indicator code and the column it is read from, in output order.
pub const COLUMNS: [(&str, &str); 6] = [
    ("un.egdi", "E-Government Index"),
    ("un.osi", "Online Service Index"),
    ("un.tii", "Telecommunication Infrastructure Index"),
    ("un.hci", "Human Capital Index"),
    ("un.epi", "E-Participation Index"),
    ("un.egdi_rank", "E-Government Rank"),
];

/// The indicators this table carries. TOE dimensions (see `datasets/reference/FORMATS.md`):
/// online services and telecommunication infrastructure are technology, human capital
/// (the population's education) is environment, e-participation (how government
/// engages citizens) is organization, and the composite EGDI and its rank, two thirds
/// technology, are technology.
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
            "un.egdi",
            "E-Government Development Index",
            ToeDimension::Technology,
            "e-government development (composite)",
            "UN E-Government Survey: EGDI = (OSI + TII + HCI) / 3.",
        ),
        index(
            "un.osi",
            "Online Service Index",
            ToeDimension::Technology,
            "online services",
            "UN E-Government Survey: scope and quality of national online services, \
             min-max scaled to [0, 1] across the UN member states.",
        ),
        index(
            "un.tii",
            "Telecommunication Infrastructure Index",
            ToeDimension::Technology,
            "infrastructure",
            "UN E-Government Survey: internet use and mobile and broadband subscriptions, \
             min-max scaled to [0, 1] across the UN member states.",
        ),
        index(
            "un.hci",
            "Human Capital Index",
            ToeDimension::Environment,
            "human capital",
            "UN E-Government Survey: adult literacy, enrolment and years of schooling, \
             min-max scaled to [0, 1] across the UN member states.",
        ),
        index(
            "un.epi",
            "E-Participation Index",
            ToeDimension::Organization,
            "e-participation",
            "UN E-Government Survey: e-information, e-consultation and e-decision-making \
             offered by government.",
        ),
        IndicatorRecord {
            code: "un.egdi_rank".to_string(),
            name: "E-Government Development Index rank".to_string(),
            unit: "rank".to_string(),
            direction: Direction::LowerIsBetter,
            dimension: ToeDimension::Technology,
            factor: "e-government development (composite)".to_string(),
            description: "UN E-Government Survey: rank of the EGDI among the UN member states \
                          (1 = highest)."
                .to_string(),
        },
    ]
}

/// Reads a UN E-Government Survey country table. `file_name` names the file in
/// origins and provenance.
pub fn parse(file_name: &str, text: &str) -> Result<Vec<SourcedRecord>, BundleError> {
    let countries = countries()?;
    let table = Table::read(file_name, text, &HEADER, Format::UnEgdi.describe())?;
    let mut regions = Vec::new();
    let mut region_codes = HashSet::new();
    let mut values = Vec::new();
    let mut given: HashMap<(String, String), u64> = HashMap::new();
    for row in &table.rows {
        let origin = format!("{file_name}:{}", row.line);
        let year = year_cell(&origin, YEAR, table.cell(row, YEAR))?;
        let name = table.cell(row, NAME).trim();
        if name.is_empty() {
            return Err(error(origin, format!("column {NAME} is empty")));
        }
        let alpha3 = countries.code_of_name(name).ok_or_else(|| {
            error(
                origin.clone(),
                format!(
                    "unknown country name {name:?} (column {NAME}): add it with its ISO 3166-1 \
                     alpha-3 code to {CODES_FILE}"
                ),
            )
        })?;
        if let Some(first) = given.insert((alpha3.to_string(), year.clone()), row.line) {
            return Err(error(
                origin,
                format!("{name:?} ({alpha3}) is given twice for {year}: also on line {first}"),
            ));
        }
        let region = countries.region(alpha3, name);
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
            check_number(&origin, column, cell)?;
            values.push(SourcedRecord {
                origin: origin.clone(),
                record: AnyRecord::IndicatorValue(IndicatorValueRecord {
                    indicator_code: indicator.to_string(),
                    subject_kind: SubjectKind::Region,
                    subject_code: region.code.clone(),
                    period: year.clone(),
                    value: None,
                    value_as_printed: cell.to_string(),
                    source_document: format!("un-egdi-{year}"),
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

    const TABLE: &str = "Survey Year,Country Name,E-Government Rank,E-Government Index,E-Participation Index,Online Service Index,Human Capital Index,Telecommunication Infrastructure Index\n\
2020,\"Iraq \",143,0.43600,0.30950,0.33530,0.43580,0.53700\n\
2020,Türkiye,53,0.77180,0.82140,0.79410,0.80060,0.72060\n";

    #[test]
    fn reads_regions_indicators_and_values() {
        let rows = parse("EGOV_DATA_2020.csv", TABLE).unwrap();
        assert_eq!(rows.len(), 2 + 6 + 12);
        assert_eq!(rows[0].origin, "EGOV_DATA_2020.csv:2");
        let AnyRecord::Region(iraq) = &rows[0].record else {
            panic!()
        };
        assert_eq!((iraq.code.as_str(), iraq.name.as_str()), ("irq", "Iraq"));
        let AnyRecord::IndicatorValue(v) = &rows[8].record else {
            panic!()
        };
        assert_eq!(v.indicator_code, "un.egdi");
        assert_eq!(v.value_as_printed, "0.43600");
        assert_eq!(v.value, None);
        assert_eq!(v.period, "2020");
        assert_eq!(
            (
                v.source_document.as_str(),
                v.source_table.as_str(),
                v.source_row.as_str(),
                v.source_column.as_str()
            ),
            (
                "un-egdi-2020",
                "EGOV_DATA_2020.csv",
                "2",
                "E-Government Index"
            )
        );
        assert_eq!(rows[19].origin, "EGOV_DATA_2020.csv:3");
    }

    #[test]
    fn unknown_names_and_repeats_are_errors_with_their_line() {
        let bad = TABLE.replace("Türkiye", "Atlantis");
        let e = parse("t.csv", &bad).unwrap_err();
        assert_eq!(e.origin, "t.csv:3");
        assert!(e.message.contains("\"Atlantis\""), "{}", e.message);
        let twice = format!("{TABLE}2020,Turkey,53,0.7,0.8,0.7,0.8,0.7\n");
        let e = parse("t.csv", &twice).unwrap_err();
        assert_eq!(e.origin, "t.csv:4");
        assert!(e.message.contains("line 3"), "{}", e.message);
        let e = parse("t.csv", &TABLE.replace("0.33530", "n/a")).unwrap_err();
        assert_eq!(e.origin, "t.csv:2");
    }

    #[test]
    fn empty_cells_give_no_value() {
        let rows = parse("t.csv", &TABLE.replace("0.33530", "")).unwrap();
        assert_eq!(rows.len(), 2 + 6 + 11);
    }
}
