//! Reading and writing bundles on disk: a directory of CSV files or one JSON file, or
//! published reference tables read through their [`formats`] adapter.

use std::path::Path;

use crate::bundle::{self, BundleError, SourcedRecord};
use crate::formats;
use crate::records::{AnyRecord, ResourceKind};

/// Reads a bundle from a directory of `<kind>.csv` files or from a `.json` file.
/// Unknown `.csv` files in a directory are an error, so a misspelt name is not skipped.
///
/// A single `.csv` file whose header is that of a supported published table (see
/// [`formats`]; recognised by its header, whatever the file name) is read through its
/// adapter, and so is a directory whose `.csv` files are all such tables: their records
/// are joined by [`formats::combine`] (shared regions and indicators kept once).
pub fn read_bundle(path: &Path) -> Result<Vec<SourcedRecord>, BundleError> {
    let io_err = |p: &Path, e: std::io::Error| BundleError {
        origin: p.display().to_string(),
        message: e.to_string(),
    };
    if path.is_file() {
        let text = std::fs::read_to_string(path).map_err(|e| io_err(path, e))?;
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        return if name.ends_with(".json") {
            bundle::parse_json(&text)
        } else if let Some(records) = is_csv(name).then(|| formats::parse(name, &text)).flatten() {
            records
        } else {
            bundle::parse_csv(name, &text)
        };
    }
    let mut names: Vec<String> = std::fs::read_dir(path)
        .map_err(|e| io_err(path, e))?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".csv"))
        .collect();
    if !names.is_empty() && names.iter().all(|n| bundle::kind_of_csv_file(n).is_none()) {
        return read_reference_dir(path, &mut names);
    }
    if let Some(unknown) = names.iter().find(|n| bundle::kind_of_csv_file(n).is_none()) {
        return Err(BundleError {
            origin: path.join(unknown).display().to_string(),
            message: format!(
                "not a bundle file; expected one of: {} (or a directory holding only published \
                 tables: {})",
                ResourceKind::ALL
                    .iter()
                    .map(|k| bundle::csv_file_name(*k))
                    .collect::<Vec<_>>()
                    .join(", "),
                formats::Format::ALL
                    .iter()
                    .map(|f| f.describe())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
    // Apply kinds in import order whatever the directory order.
    names.sort_by_key(|n| bundle::kind_of_csv_file(n));
    let mut out = Vec::new();
    for name in names {
        let file = path.join(&name);
        let text = std::fs::read_to_string(&file).map_err(|e| io_err(&file, e))?;
        out.extend(bundle::parse_csv(&name, &text)?);
    }
    Ok(out)
}

/// Reads a directory of published tables (no bundle file among them); a `.csv` file
/// with no supported header is an error naming it.
fn read_reference_dir(dir: &Path, names: &mut [String]) -> Result<Vec<SourcedRecord>, BundleError> {
    names.sort();
    let mut parts = Vec::new();
    for name in names.iter() {
        let file = dir.join(name);
        let text = std::fs::read_to_string(&file).map_err(|e| BundleError {
            origin: file.display().to_string(),
            message: e.to_string(),
        })?;
        let Some(format) = formats::detect(&text) else {
            return Err(BundleError {
                origin: file.display().to_string(),
                message: format!(
                    "neither a bundle file (named e.g. regions.csv) nor a published table with \
                     a known header ({})",
                    formats::Format::ALL
                        .iter()
                        .map(|f| f.describe())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        };
        parts.push(format.parse(name, &text)?);
    }
    formats::combine(parts)
}

fn is_csv(name: &str) -> bool {
    Path::new(name)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

/// Writes records as a directory of CSV files (one per kind, every kind present).
pub fn write_csv_dir(dir: &Path, records: &[AnyRecord]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for kind in ResourceKind::ALL {
        std::fs::write(
            dir.join(bundle::csv_file_name(*kind)),
            bundle::write_csv(*kind, records),
        )?;
    }
    Ok(())
}
