//! Reads the vendored reference tables (`datasets/reference/`) through the adapters
//! of `govlens_dataset::formats`, by way of `fs::read_bundle` as `govlens import` does,
//! and checks every record against the raw files, re-read here line by line.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use govlens_dataset::formats::{self, countries::countries};
use govlens_dataset::fs::read_bundle;
use govlens_dataset::{
    prepare, AdminLevel, AnyRecord, IndicatorRecord, IndicatorValueRecord, RegionRecord,
    ResourceKind, SourcedRecord, SubjectKind,
};

const UN_YEARS: [&str; 5] = ["2014", "2016", "2018", "2020", "2022"];
const GTMI_FILE: &str = "gtmi_groups_2020_2022_2025.csv";

fn reference() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/reference")
}

fn un_dir() -> PathBuf {
    reference().join("un-egdi")
}

fn un_file(year: &str) -> PathBuf {
    un_dir().join(format!("EGOV_DATA_{year}.csv"))
}

fn gtmi_file() -> PathBuf {
    reference().join("worldbank-gtmi").join(GTMI_FILE)
}

fn read(path: &Path) -> Vec<SourcedRecord> {
    read_bundle(path).unwrap_or_else(|e| panic!("{} reads: {e}", path.display()))
}

/// Records by kind, after `prepare`, which must accept every one.
#[derive(Default)]
struct Typed {
    regions: Vec<RegionRecord>,
    indicators: Vec<IndicatorRecord>,
    values: Vec<IndicatorValueRecord>,
}

fn prepared(records: Vec<SourcedRecord>) -> Typed {
    let mut typed = Typed::default();
    let mut rejected = Vec::new();
    for SourcedRecord { origin, mut record } in records {
        if let Err(v) = prepare(&mut record) {
            rejected.push(format!("{origin}: {v:?}"));
            continue;
        }
        match record {
            AnyRecord::Region(r) => typed.regions.push(r),
            AnyRecord::Indicator(i) => typed.indicators.push(i),
            AnyRecord::IndicatorValue(v) => typed.values.push(v),
            other => panic!("{origin}: unexpected record {other:?}"),
        }
    }
    assert!(
        rejected.is_empty(),
        "prepare rejected:\n{}",
        rejected.join("\n")
    );
    typed
}

/// Cell `column` of line `line` (1-based) of a CSV file, read independently of the
/// adapters: the header and that one line, parsed on their own.
struct RawFile {
    header: Vec<String>,
    lines: Vec<String>,
}

impl RawFile {
    fn open(path: &Path) -> RawFile {
        let text = std::fs::read_to_string(path).unwrap();
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        let header = Self::cells(&lines[0]);
        RawFile { header, lines }
    }

    fn cells(line: &str) -> Vec<String> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(line.as_bytes());
        let record = reader.records().next().unwrap().unwrap();
        record.iter().map(str::to_string).collect()
    }

    fn cell(&self, line: &str, column: &str) -> String {
        let line: usize = line.parse().unwrap();
        let i = self.header.iter().position(|h| h.trim() == column).unwrap();
        Self::cells(&self.lines[line - 1])[i].clone()
    }

    fn rows(&self) -> Vec<Vec<String>> {
        self.lines[1..]
            .iter()
            .filter(|l| !l.trim().is_empty())
            .map(|l| Self::cells(l))
            .collect()
    }
}

/// Every value equals its cell in the raw file, read back through its provenance,
/// and `value` is, bit for bit, the double nearest the number printed there.
fn check_values_against(raw: &RawFile, file_name: &str, values: &[IndicatorValueRecord]) {
    for v in values {
        assert_eq!(v.source_table, file_name);
        let cell = raw.cell(&v.source_row, &v.source_column);
        assert_eq!(v.value_as_printed, cell, "{v:?}");
        let value = v.value.expect("prepare fills the value");
        if v.indicator_code == "wb.gtmi_group" {
            assert_eq!(Some(value), formats::wb_gtmi::group_value(&cell), "{v:?}");
            continue;
        }
        let printed: f64 = cell.trim().parse().unwrap();
        assert_eq!(
            value.to_bits(),
            printed.to_bits(),
            "{v:?}: {value} vs {printed}"
        );
    }
}

fn natural_keys_are_unique(records: &[SourcedRecord]) {
    let mut seen = HashMap::new();
    for r in records {
        let key = match &r.record {
            AnyRecord::Region(x) => format!("region {}", x.code),
            AnyRecord::Indicator(x) => format!("indicator {}", x.code),
            AnyRecord::IndicatorValue(x) => format!(
                "value {}/{}/{}/{}",
                x.indicator_code, x.subject_kind, x.subject_code, x.period
            ),
            other => panic!("unexpected {other:?}"),
        };
        if let Some(first) = seen.insert(key.clone(), r.origin.clone()) {
            panic!("{key} at {} repeats {first}", r.origin);
        }
    }
}

fn kinds_in_import_order(records: &[SourcedRecord]) {
    let kinds: Vec<ResourceKind> = records.iter().map(|r| r.record.kind()).collect();
    assert!(
        kinds.windows(2).all(|w| w[0] <= w[1]),
        "regions, then indicators, then values"
    );
}

fn regions_by_code(regions: &[RegionRecord]) -> BTreeMap<String, RegionRecord> {
    regions
        .iter()
        .map(|r| (r.code.clone(), r.clone()))
        .collect()
}

// ---------------------------------------------------------------------------
// UN E-Government Survey

#[test]
fn every_un_year_reads_193_countries_with_six_values_each() {
    for year in UN_YEARS {
        let path = un_file(year);
        let file_name = format!("EGOV_DATA_{year}.csv");
        let records = read(&path);
        kinds_in_import_order(&records);
        natural_keys_are_unique(&records);
        for r in &records {
            assert!(
                r.origin.starts_with(&format!("{file_name}:")),
                "{}",
                r.origin
            );
        }
        let typed = prepared(records);
        assert_eq!(typed.regions.len(), 193, "{year}");
        assert!(typed
            .regions
            .iter()
            .all(|r| r.level == AdminLevel::Country && r.parent_code.is_empty()));
        assert!(typed
            .regions
            .iter()
            .all(|r| r.code.len() == 3 && r.code.bytes().all(|b| b.is_ascii_lowercase())));
        let codes: Vec<&str> = typed.indicators.iter().map(|i| i.code.as_str()).collect();
        assert_eq!(
            codes,
            [
                "un.egdi",
                "un.osi",
                "un.tii",
                "un.hci",
                "un.epi",
                "un.egdi_rank"
            ]
        );
        assert_eq!(typed.values.len(), 193 * 6, "{year}: no cell is empty");
        for v in &typed.values {
            assert_eq!(v.period, year);
            assert_eq!(v.subject_kind, SubjectKind::Region);
            assert_eq!(v.source_document, format!("un-egdi-{year}"));
        }
        let raw = RawFile::open(&path);
        check_values_against(&raw, &file_name, &typed.values);
        // Every raw row is one country of the file.
        assert_eq!(raw.rows().len(), 193);
    }
}

#[test]
fn every_un_name_maps_to_its_canonical_region() {
    let table = countries().unwrap();
    for year in UN_YEARS {
        let raw = RawFile::open(&un_file(year));
        let mut codes = BTreeSet::new();
        for row in raw.rows() {
            let name = row[1].trim();
            let code = table
                .code_of_name(name)
                .unwrap_or_else(|| panic!("{year}: {name:?} unmapped"));
            assert!(codes.insert(code.to_string()), "{year}: {code} twice");
            let canonical = table.canonical_name(code).unwrap();
            // The UN names are the canonical names, except the UN's "Georgia (Country)".
            let expected = if name == "Georgia (Country)" {
                "Georgia"
            } else {
                name
            };
            assert_eq!(canonical, expected);
        }
        assert_eq!(codes.len(), 193);
    }
    let regions = prepared(read(&un_file("2022"))).regions;
    let by_code = regions_by_code(&regions);
    for (code, name) in [
        ("irq", "Iraq"),
        ("civ", "Côte d'Ivoire"),
        ("kor", "Republic of Korea"),
        ("prk", "Democratic People's Republic of Korea"),
        ("tza", "United Republic of Tanzania"),
        ("fsm", "Micronesia (Federated States of)"),
        ("tur", "Türkiye"),
        ("geo", "Georgia"),
        (
            "gbr",
            "United Kingdom of Great Britain and Northern Ireland",
        ),
    ] {
        assert_eq!(by_code[code].name, name);
    }
}

#[test]
fn an_unknown_country_name_is_an_error_naming_its_line() {
    let text = std::fs::read_to_string(un_file("2022")).unwrap();
    let iraq_line = text.lines().position(|l| l.contains("\"Iraq \"")).unwrap() + 1;
    let bad = text.replacen("\"Iraq \"", "\"Atlantis \"", 1);
    let err = formats::un_egdi::parse("EGOV_DATA_2022.csv", &bad).unwrap_err();
    assert_eq!(err.origin, format!("EGOV_DATA_2022.csv:{iraq_line}"));
    assert!(err.message.contains("\"Atlantis\""), "{}", err.message);
    assert!(err.message.contains("country-codes.csv"), "{}", err.message);
    // The same through read_bundle, with the file name of the file read.
    let dir = TempDir::new("unknown-name");
    let path = dir.path().join("EGOV_DATA_2022.csv");
    std::fs::write(&path, &bad).unwrap();
    let err = read_bundle(&path).unwrap_err();
    assert_eq!(err.origin, format!("EGOV_DATA_2022.csv:{iraq_line}"));
    let last_line = text.lines().count();
    let bad_last = format!("{}2022,\"Narnia \",1,0.5,0.5,0.5,0.5,0.5\n", text);
    let err = formats::un_egdi::parse("x.csv", &bad_last).unwrap_err();
    assert_eq!(err.origin, format!("x.csv:{}", last_line + 1));
}

#[test]
fn the_un_directory_reads_as_one_bundle() {
    let records = read(&un_dir());
    kinds_in_import_order(&records);
    natural_keys_are_unique(&records);
    let typed = prepared(records.clone());
    assert_eq!(typed.regions.len(), 193, "regions kept once");
    assert_eq!(typed.indicators.len(), 6, "indicators kept once");
    assert_eq!(typed.values.len(), 5 * 193 * 6);
    let periods: BTreeSet<&str> = typed.values.iter().map(|v| v.period.as_str()).collect();
    assert_eq!(periods.into_iter().collect::<Vec<_>>(), UN_YEARS);
    // The same as combining the five files read one by one.
    let parts = UN_YEARS.iter().map(|y| read(&un_file(y))).collect();
    assert_eq!(formats::combine(parts).unwrap(), records);
}

// ---------------------------------------------------------------------------
// World Bank GTMI

#[test]
fn the_gtmi_file_reads_198_198_197_economies() {
    let path = gtmi_file();
    let records = read(&path);
    kinds_in_import_order(&records);
    natural_keys_are_unique(&records);
    let typed = prepared(records);
    let codes: Vec<&str> = typed.indicators.iter().map(|i| i.code.as_str()).collect();
    assert_eq!(
        codes,
        [
            "wb.gtmi",
            "wb.cgsi",
            "wb.psdi",
            "wb.dcei",
            "wb.gtei",
            "wb.gtmi_group"
        ]
    );
    let mut per_year: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for v in &typed.values {
        per_year
            .entry(v.period.as_str())
            .or_default()
            .insert(v.subject_code.as_str());
        assert_eq!(v.source_document, format!("wb-gtmi-{}", v.period));
    }
    let counts: Vec<(&str, usize)> = per_year.iter().map(|(y, s)| (*y, s.len())).collect();
    assert_eq!(counts, [("2020", 198), ("2022", 198), ("2025", 197)]);
    assert_eq!(
        typed.values.len(),
        (198 + 198 + 197) * 6,
        "no cell is empty"
    );
    // Legacy World Bank codes are replaced by ISO ones: one region per country.
    let regions = regions_by_code(&typed.regions);
    assert_eq!(regions.len(), typed.regions.len());
    for legacy in ["ado", "rom", "tmp", "zar", "wbg"] {
        assert!(!regions.contains_key(legacy), "{legacy}");
    }
    for code in ["and", "rou", "tls", "cod", "pse"] {
        let years: BTreeSet<&str> = typed
            .values
            .iter()
            .filter(|v| v.subject_code == code && v.indicator_code == "wb.gtmi")
            .map(|v| v.period.as_str())
            .collect();
        assert_eq!(
            years.into_iter().collect::<Vec<_>>(),
            ["2020", "2022", "2025"],
            "{code}"
        );
    }
    assert_eq!(regions.len(), 198);
    assert_eq!(regions["twn"].name, "Taiwan, China");
    assert_eq!(regions["pse"].name, "West Bank and Gaza");
    assert_eq!(regions["ksv"].name, "Kosovo");
    let raw = RawFile::open(&path);
    check_values_against(&raw, GTMI_FILE, &typed.values);
}

#[test]
fn gtmi_groups_are_four_to_one_and_match_the_thresholds() {
    let typed = prepared(read(&gtmi_file()));
    let gtmi: HashMap<(&str, &str), f64> = typed
        .values
        .iter()
        .filter(|v| v.indicator_code == "wb.gtmi")
        .map(|v| {
            (
                (v.subject_code.as_str(), v.period.as_str()),
                v.value.unwrap(),
            )
        })
        .collect();
    let mut groups = 0;
    for v in typed
        .values
        .iter()
        .filter(|v| v.indicator_code == "wb.gtmi_group")
    {
        let score = gtmi[&(v.subject_code.as_str(), v.period.as_str())];
        let expected = if score >= 0.75 {
            4.0
        } else if score >= 0.5 {
            3.0
        } else if score >= 0.25 {
            2.0
        } else {
            1.0
        };
        assert_eq!(v.value, Some(expected), "{v:?} (GTMI {score})");
        groups += 1;
    }
    assert_eq!(groups, 593);
}

#[test]
fn the_name_table_agrees_with_the_world_bank_pairs() {
    let table = countries().unwrap();
    let raw = RawFile::open(&gtmi_file());
    for row in raw.rows() {
        let code = table.resolve_code(&row[1]);
        if let Some(by_name) = table.code_of_name(&row[2]) {
            assert_eq!(by_name, code, "{row:?}");
        }
        assert!(table.canonical_name(&code).is_some(), "{row:?}");
    }
    // Every row of the name table has a source.
    let text = std::fs::read_to_string(reference().join("country-codes.csv")).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    for row in reader.records() {
        let row = row.unwrap();
        assert!(!row[2].trim().is_empty(), "{row:?}");
    }
}

// ---------------------------------------------------------------------------
// Both

#[test]
fn a_country_in_both_tables_gets_the_identical_region() {
    let un = regions_by_code(&prepared(read(&un_dir())).regions);
    let wb = regions_by_code(&prepared(read(&gtmi_file())).regions);
    let shared: Vec<&String> = un.keys().filter(|c| wb.contains_key(*c)).collect();
    assert_eq!(shared.len(), 193, "every UN member is in the GTMI");
    for code in shared {
        assert_eq!(un[code], wb[code]);
    }
    // Where the two files print different names, the records are still the same.
    assert_eq!(wb["kor"].name, "Republic of Korea");
    assert_eq!(wb["tur"].name, "Türkiye");
    assert_eq!(wb["cod"].name, "Democratic Republic of the Congo");
    let only_wb: Vec<&str> = wb
        .keys()
        .filter(|c| !un.contains_key(*c))
        .map(String::as_str)
        .collect();
    assert_eq!(only_wb, ["hkg", "ksv", "mac", "pse", "twn"]);
}

#[test]
fn the_combined_bundle_has_unique_natural_keys() {
    let combined = formats::combine(vec![read(&un_dir()), read(&gtmi_file())]).unwrap();
    kinds_in_import_order(&combined);
    natural_keys_are_unique(&combined);
    let typed = prepared(combined);
    assert_eq!(typed.regions.len(), 198);
    assert_eq!(typed.indicators.len(), 12);
    assert_eq!(typed.values.len(), 5 * 193 * 6 + 593 * 6);
    let regions: HashSet<&str> = typed.regions.iter().map(|r| r.code.as_str()).collect();
    let indicators: HashSet<&str> = typed.indicators.iter().map(|i| i.code.as_str()).collect();
    for v in &typed.values {
        assert!(regions.contains(v.subject_code.as_str()), "{v:?}");
        assert!(indicators.contains(v.indicator_code.as_str()), "{v:?}");
    }
    // A directory holding both kinds of table reads the same way.
    let dir = TempDir::new("both");
    for year in UN_YEARS {
        std::fs::copy(
            un_file(year),
            dir.path().join(format!("EGOV_DATA_{year}.csv")),
        )
        .unwrap();
    }
    std::fs::copy(gtmi_file(), dir.path().join(GTMI_FILE)).unwrap();
    let from_dir = prepared(read(dir.path()));
    assert_eq!(from_dir.regions.len(), 198);
    assert_eq!(from_dir.values.len(), typed.values.len());
}

#[test]
fn combining_rejects_conflicting_regions_and_repeated_values() {
    let un = read(&un_file("2022"));
    let mut renamed = un.clone();
    if let AnyRecord::Region(r) = &mut renamed[0].record {
        r.name = "Somewhere Else".into();
    }
    let err = formats::combine(vec![un.clone(), renamed]).unwrap_err();
    assert!(err.message.contains("differs"), "{}", err.message);
    let err = formats::combine(vec![un.clone(), un]).unwrap_err();
    assert!(
        err.message.contains("repeats the indicator value"),
        "{}",
        err.message
    );
}

#[test]
fn detection_goes_by_header_not_file_name() {
    let dir = TempDir::new("detect");
    let path = dir.path().join("whatever.csv");
    std::fs::copy(un_file("2014"), &path).unwrap();
    let records = read(&path);
    assert!(records
        .iter()
        .all(|r| r.origin.starts_with("whatever.csv:")));
    assert_eq!(records.len(), 193 + 6 + 193 * 6);
    assert_eq!(
        formats::detect(&std::fs::read_to_string(gtmi_file()).unwrap()),
        Some(formats::Format::WbGtmi)
    );
    // A bundle file keeps its meaning, and a directory mixing bundle files with
    // published tables is still refused.
    std::fs::write(
        dir.path().join("regions.csv"),
        "code,name,level,parent_code\nx,X,country,\n",
    )
    .unwrap();
    let regions = read(&dir.path().join("regions.csv"));
    assert_eq!(regions.len(), 1);
    let err = read_bundle(dir.path()).unwrap_err();
    assert!(err.origin.ends_with("whatever.csv"), "{}", err.origin);
    // A file with another header is not a published table, alone or in a directory.
    std::fs::write(dir.path().join("other.csv"), "a,b\n1,2\n").unwrap();
    assert!(read_bundle(&dir.path().join("other.csv")).is_err());
    std::fs::remove_file(dir.path().join("regions.csv")).unwrap();
    let err = read_bundle(dir.path()).unwrap_err();
    assert!(err.origin.ends_with("other.csv"), "{}", err.origin);
}

/// A directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let path =
            std::env::temp_dir().join(format!("govlens-reference-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
