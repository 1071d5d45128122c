//! Adapters for published tables that are not GovLens bundles: each reads the
//! publisher's own CSV layout, recognised by its header line, into GovLens records.
//!
//! * [`un_egdi`]: UN E-Government Survey country table (`EGOV_DATA_<year>.csv`).
//! * [`wb_gtmi`]: World Bank GovTech Maturity Index groups table.
//!
//! Both name countries by lowercase ISO 3166-1 alpha-3 code and take one canonical name
//! per code from [`countries`], so a country present in both tables yields identical
//! region records. Pure: every function takes text and returns records.

pub mod countries;
pub mod un_egdi;
pub mod wb_gtmi;

use std::collections::HashMap;

use crate::bundle::{BundleError, SourcedRecord};
use crate::records::{AnyRecord, IndicatorValueRecord, ResourceKind};

/// A published table layout an adapter reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// UN E-Government Survey country table.
    UnEgdi,
    /// World Bank GovTech Maturity Index groups table.
    WbGtmi,
}

impl Format {
    /// Every format, in detection order.
    pub const ALL: &'static [Format] = &[Format::UnEgdi, Format::WbGtmi];

    /// A short description for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Format::UnEgdi => "UN E-Government Survey country table",
            Format::WbGtmi => "World Bank GovTech Maturity Index table",
        }
    }

    /// The header columns of the layout.
    pub fn header(self) -> &'static [&'static str] {
        match self {
            Format::UnEgdi => &un_egdi::HEADER,
            Format::WbGtmi => &wb_gtmi::HEADER,
        }
    }

    /// Reads a table of this layout.
    pub fn parse(self, file_name: &str, text: &str) -> Result<Vec<SourcedRecord>, BundleError> {
        match self {
            Format::UnEgdi => un_egdi::parse(file_name, text),
            Format::WbGtmi => wb_gtmi::parse(file_name, text),
        }
    }
}

/// The layout whose header the text starts with, if any. The header's cells are
/// compared trimmed and in any order; a byte-order mark is ignored.
pub fn detect(text: &str) -> Option<Format> {
    let text = strip_bom(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader.headers().ok()?;
    let mut got: Vec<&str> = headers.iter().map(str::trim).collect();
    got.sort_unstable();
    Format::ALL.iter().copied().find(|f| {
        let mut want = f.header().to_vec();
        want.sort_unstable();
        want == got
    })
}

/// Reads a table in whichever supported layout its header shows; `None` when the
/// header is none of them.
pub fn parse(file_name: &str, text: &str) -> Option<Result<Vec<SourcedRecord>, BundleError>> {
    detect(text).map(|f| f.parse(file_name, text))
}

/// Joins the records read from several tables into one bundle: identical regions and
/// indicators are kept once (a code given two different ways is an error, naming both
/// origins), an indicator value repeated for the same indicator, subject and period is
/// an error, and records come out in import order (regions, indicators, values).
pub fn combine(parts: Vec<Vec<SourcedRecord>>) -> Result<Vec<SourcedRecord>, BundleError> {
    let mut out: Vec<SourcedRecord> = Vec::new();
    // (kind, key) -> index in `out`
    let mut seen: HashMap<(ResourceKind, String), usize> = HashMap::new();
    for record in parts.into_iter().flatten() {
        let kind = record.record.kind();
        let key = match &record.record {
            AnyRecord::Region(r) => Some(r.code.clone()),
            AnyRecord::Indicator(i) => Some(i.code.clone()),
            AnyRecord::IndicatorValue(v) => Some(value_key(v)),
            _ => None,
        };
        let Some(key) = key else {
            out.push(record);
            continue;
        };
        match seen.get(&(kind, key.clone())) {
            None => {
                seen.insert((kind, key), out.len());
                out.push(record);
            }
            Some(&first) => {
                let earlier = &out[first];
                let same = earlier.record == record.record;
                if kind == ResourceKind::IndicatorValue {
                    return Err(error(
                        record.origin.clone(),
                        format!(
                            "repeats the indicator value {key} given at {}",
                            earlier.origin
                        ),
                    ));
                }
                if !same {
                    return Err(error(
                        record.origin.clone(),
                        format!(
                            "{} {key:?} differs from the one given at {}: {:?} here, {:?} there",
                            kind.as_str().trim_end_matches('s'),
                            earlier.origin,
                            record.record,
                            earlier.record
                        ),
                    ));
                }
            }
        }
    }
    // Stable: within a kind, the order of the files and their rows is kept.
    out.sort_by_key(|r| r.record.kind());
    Ok(out)
}

/// The natural key of an indicator value, as text.
fn value_key(v: &IndicatorValueRecord) -> String {
    format!(
        "{}/{}/{}/{}",
        v.indicator_code, v.subject_kind, v.subject_code, v.period
    )
}

fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

fn error(origin: impl Into<String>, message: impl Into<String>) -> BundleError {
    BundleError {
        origin: origin.into(),
        message: message.into(),
    }
}

/// One data row of a table: its line and its cells.
struct Row {
    line: u64,
    cells: csv::StringRecord,
}

/// A table read with its header: the column index of every expected header name.
struct Table {
    columns: HashMap<&'static str, usize>,
    rows: Vec<Row>,
}

impl Table {
    /// Reads `text` as CSV whose header holds exactly `header` (trimmed, any order).
    fn read(
        file_name: &str,
        text: &str,
        header: &'static [&'static str],
        what: &str,
    ) -> Result<Table, BundleError> {
        // The csv crate ends a record at the '\r' of a CRLF and counts its line only
        // when it meets the '\n', so with CRLF line ends every row would be reported
        // one line early; rows are read from LF text instead (a CRLF inside a quoted
        // cell becomes LF, which none of the supported layouts has).
        let text = strip_bom(text).replace("\r\n", "\n");
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(text.as_bytes());
        let headers = reader
            .headers()
            .map_err(|e| error(format!("{file_name}:1"), e.to_string()))?
            .clone();
        let mut columns = HashMap::new();
        for name in header {
            let found: Vec<usize> = headers
                .iter()
                .enumerate()
                .filter(|(_, h)| h.trim() == *name)
                .map(|(i, _)| i)
                .collect();
            if found.len() != 1 {
                return Err(error(
                    format!("{file_name}:1"),
                    format!("not a {what}: expected the header {}", header.join(",")),
                ));
            }
            columns.insert(*name, found[0]);
        }
        if headers.len() != header.len() {
            return Err(error(
                format!("{file_name}:1"),
                format!("not a {what}: expected the header {}", header.join(",")),
            ));
        }
        let mut rows = Vec::new();
        let mut cells = csv::StringRecord::new();
        loop {
            let line = reader.position().line();
            match reader.read_record(&mut cells) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    let line = e.position().map(|p| p.line()).unwrap_or(line);
                    return Err(error(format!("{file_name}:{line}"), e.to_string()));
                }
            }
            let line = cells.position().map(|p| p.line()).unwrap_or(line);
            // A line with nothing on it (e.g. a trailing blank line) is not a row.
            if cells.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            rows.push(Row {
                line,
                cells: cells.clone(),
            });
        }
        Ok(Table { columns, rows })
    }

    /// The cell of `row` under header `column`, exactly as written.
    fn cell<'a>(&self, row: &'a Row, column: &str) -> &'a str {
        self.columns
            .get(column)
            .and_then(|&i| row.cells.get(i))
            .unwrap_or("")
    }
}

/// A survey year as written in a cell: four digits.
fn year_cell(origin: &str, column: &str, cell: &str) -> Result<String, BundleError> {
    let year = cell.trim();
    if year.len() == 4 && year.bytes().all(|b| b.is_ascii_digit()) {
        Ok(year.to_string())
    } else {
        Err(error(
            origin,
            format!("column {column}: {cell:?} is not a year YYYY"),
        ))
    }
}

/// Checks that a non-empty value cell reads as a number, so a bad cell is reported
/// with its line and column here rather than after import.
fn check_number(origin: &str, column: &str, cell: &str) -> Result<(), BundleError> {
    crate::printed::parse_printed(cell)
        .map(|_| ())
        .map_err(|e| error(origin, format!("column {column}: {e}")))
}
