//! Country names and codes shared by the adapters, compiled in from
//! `datasets/reference/country-codes.csv` (`name,alpha3,source`: every name a source
//! uses for a country, with its ISO 3166-1 alpha-3 code) and
//! `datasets/reference/country-code-aliases.csv` (`code,alpha3,source`: publishers'
//! own codes that differ from ISO 3166-1, e.g. the World Bank's legacy `ROM`).
//!
//! The first row of a code in `country-codes.csv` gives its canonical name: the name
//! every adapter puts on that country's region record, whatever the table it reads
//! calls it, so that importing several tables never renames a region back and forth.
//!
//! Names are matched ignoring case, surrounding and repeated whitespace, and the kind
//! of apostrophe (`’` reads as `'`). A name that is not in the table is never guessed.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::bundle::BundleError;
use crate::records::{AdminLevel, RegionRecord};

/// The file names the tables are read from, for messages.
pub const CODES_FILE: &str = "datasets/reference/country-codes.csv";
/// See [`CODES_FILE`].
pub const ALIASES_FILE: &str = "datasets/reference/country-code-aliases.csv";

const CODES_CSV: &str = include_str!("../../../../datasets/reference/country-codes.csv");
const ALIASES_CSV: &str = include_str!("../../../../datasets/reference/country-code-aliases.csv");

/// The name and code tables.
#[derive(Debug, Clone, Default)]
pub struct Countries {
    /// Normalised name -> ISO alpha-3 (upper case).
    by_name: HashMap<String, String>,
    /// ISO alpha-3 -> canonical name.
    canonical: HashMap<String, String>,
    /// Publisher code (upper case) -> ISO alpha-3.
    code_aliases: HashMap<String, String>,
}

/// The embedded tables, read once.
pub fn countries() -> Result<&'static Countries, BundleError> {
    static TABLE: OnceLock<Result<Countries, BundleError>> = OnceLock::new();
    TABLE
        .get_or_init(|| Countries::parse(CODES_CSV, ALIASES_CSV))
        .as_ref()
        .map_err(Clone::clone)
}

/// The key a name is matched on: trimmed, inner whitespace collapsed, apostrophes
/// unified, lower case.
pub fn normalize_name(name: &str) -> String {
    let unified: String = name
        .chars()
        .map(|c| match c {
            '\u{2019}' | '\u{2018}' | '`' | '\u{00b4}' => '\'',
            c => c,
        })
        .collect();
    unified
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn is_alpha3(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

impl Countries {
    /// Reads the two tables (as in `country-codes.csv` and `country-code-aliases.csv`).
    pub fn parse(codes_csv: &str, aliases_csv: &str) -> Result<Countries, BundleError> {
        let mut table = Countries::default();
        for (line, row) in rows(CODES_FILE, codes_csv, ["name", "alpha3", "source"])? {
            let origin = format!("{CODES_FILE}:{line}");
            let (name, alpha3) = (row[0].trim(), row[1].trim());
            if name.is_empty() || !is_alpha3(alpha3) {
                return Err(err(
                    origin,
                    "needs a name and a three-letter upper-case alpha3",
                ));
            }
            let key = normalize_name(name);
            if let Some(other) = table.by_name.get(&key) {
                if other != alpha3 {
                    return Err(err(
                        origin,
                        format!("{name:?} is already mapped to {other}"),
                    ));
                }
            }
            table.by_name.insert(key, alpha3.to_string());
            table
                .canonical
                .entry(alpha3.to_string())
                .or_insert_with(|| name.to_string());
        }
        for (line, row) in rows(ALIASES_FILE, aliases_csv, ["code", "alpha3", "source"])? {
            let origin = format!("{ALIASES_FILE}:{line}");
            let (code, alpha3) = (row[0].trim(), row[1].trim());
            if !is_alpha3(code) || !is_alpha3(alpha3) {
                return Err(err(origin, "needs two three-letter upper-case codes"));
            }
            if !table.canonical.contains_key(alpha3) {
                return Err(err(origin, format!("{alpha3} is not in {CODES_FILE}")));
            }
            if table.canonical.contains_key(code) {
                return Err(err(
                    origin,
                    format!("{code} is itself a code of {CODES_FILE}"),
                ));
            }
            if table
                .code_aliases
                .insert(code.to_string(), alpha3.to_string())
                .is_some()
            {
                return Err(err(origin, format!("{code} is given twice")));
            }
        }
        Ok(table)
    }

    /// The ISO alpha-3 code (upper case) of a country name, if the name is known.
    pub fn code_of_name(&self, name: &str) -> Option<&str> {
        self.by_name.get(&normalize_name(name)).map(String::as_str)
    }

    /// The canonical name of an ISO alpha-3 code (either case), if the code is known.
    pub fn canonical_name(&self, alpha3: &str) -> Option<&str> {
        self.canonical
            .get(&alpha3.to_ascii_uppercase())
            .map(String::as_str)
    }

    /// A publisher's country code as the code GovLens uses (upper case): its ISO
    /// alpha-3 replacement from the alias table, else the code itself.
    pub fn resolve_code(&self, code: &str) -> String {
        let upper = code.trim().to_ascii_uppercase();
        self.code_aliases.get(&upper).cloned().unwrap_or(upper)
    }

    /// Every known code with its canonical name.
    pub fn canonical_names(&self) -> impl Iterator<Item = (&str, &str)> {
        self.canonical.iter().map(|(c, n)| (c.as_str(), n.as_str()))
    }

    /// The region record of a country: code in lower case, the canonical name when
    /// the code is known, else `fallback_name`.
    pub fn region(&self, alpha3: &str, fallback_name: &str) -> RegionRecord {
        RegionRecord {
            code: alpha3.to_ascii_lowercase(),
            name: self
                .canonical_name(alpha3)
                .unwrap_or(fallback_name.trim())
                .to_string(),
            level: AdminLevel::Country,
            parent_code: String::new(),
        }
    }
}

fn err(origin: String, message: impl Into<String>) -> BundleError {
    BundleError {
        origin,
        message: message.into(),
    }
}

/// The data rows of a three-column table with the given header, with their lines.
fn rows(
    file: &str,
    text: &str,
    header: [&str; 3],
) -> Result<Vec<(u64, csv::StringRecord)>, BundleError> {
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| err(format!("{file}:1"), e.to_string()))?;
    if headers.iter().map(str::trim).ne(header) {
        return Err(err(
            format!("{file}:1"),
            format!("expected the header {}", header.join(",")),
        ));
    }
    let mut out = Vec::new();
    for row in reader.records() {
        let row = row.map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            err(format!("{file}:{line}"), e.to_string())
        })?;
        let line = row.position().map(|p| p.line()).unwrap_or(0);
        out.push((line, row));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_tables_read() {
        let t = countries().unwrap();
        assert_eq!(t.code_of_name("Iraq "), Some("IRQ"));
        assert_eq!(t.code_of_name("  cÔTE  d’ivoire"), Some("CIV"));
        assert_eq!(t.code_of_name("Côte d’Ivoire"), Some("CIV"));
        assert_eq!(t.code_of_name("Turkey"), Some("TUR"));
        assert_eq!(t.canonical_name("tur"), Some("Türkiye"));
        assert_eq!(t.resolve_code("rom"), "ROU");
        assert_eq!(t.resolve_code("FRA"), "FRA");
        assert_eq!(t.code_of_name("Atlantis"), None);
    }

    #[test]
    fn conflicting_names_are_rejected() {
        let codes = "name,alpha3,source\nCongo,COG,x\ncongo,COD,y\n";
        let e = Countries::parse(codes, "code,alpha3,source\n").unwrap_err();
        assert_eq!(e.origin, format!("{CODES_FILE}:3"));
        let aliases = "code,alpha3,source\nZAR,XXX,z\n";
        assert!(Countries::parse("name,alpha3,source\nCongo,COG,x\n", aliases).is_err());
    }
}
