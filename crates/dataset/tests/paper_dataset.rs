//! Checks the paper bundle (`datasets/paper`) against the paper's own text
//! (`datasets/paper/source/pan2023-toe.txt`): the expected figures are read from the
//! vendored text at test time, never typed into this file.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use govlens_dataset::fs::read_bundle;
use govlens_dataset::printed::parse_printed;
use govlens_dataset::{
    prepare, AggregateKind, AnyRecord, ChannelRecord, HasProvenance, Metric, ObservationRecord,
    PlatformFunctionRecord, PlatformRecord, PolicyDocumentRecord, PopulationRecord, Provenance,
    RegionRecord, ReportedAggregateRecord, ResourceKind, ServiceFunctionRecord, SourcedRecord,
    SubjectKind,
};

/// The `source_document` of everything transcribed from the paper.
const PAPER: &str = "pan2023-toe";
/// The shared seed copy of the paper, relative to the workspace root.
const SEED: &str = "../shared/seed/000_fc29a0958dd941d1.txt";
/// Which channel each store column of Tables 2 and 3 stands for (headers as printed).
const STORE_COLUMNS: &[(&str, &str)] = &[
    ("Huawei App Store", "huawei-appgallery"),
    ("VIVO App Store", "vivo-app-store"),
    ("OPPO App Store", "oppo-app-store"),
    ("iPhone store IF none store", "apple-app-store"),
];

// ---------------------------------------------------------------------------
// Files

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn bundle_dir() -> PathBuf {
    workspace_root().join("datasets/paper")
}

fn paper_path() -> PathBuf {
    bundle_dir().join("source/pan2023-toe.txt")
}

fn paper_text() -> String {
    std::fs::read_to_string(paper_path()).expect("the vendored paper text is readable")
}

fn raw_records() -> Vec<SourcedRecord> {
    read_bundle(&bundle_dir()).unwrap_or_else(|e| panic!("the paper bundle reads: {e}"))
}

/// The bundle's records, typed by kind, after `prepare` (which must accept every one).
#[derive(Default)]
struct Bundle {
    regions: Vec<RegionRecord>,
    populations: Vec<PopulationRecord>,
    channels: Vec<ChannelRecord>,
    platforms: Vec<PlatformRecord>,
    functions: Vec<ServiceFunctionRecord>,
    platform_functions: Vec<PlatformFunctionRecord>,
    policies: Vec<PolicyDocumentRecord>,
    observations: Vec<ObservationRecord>,
    aggregates: Vec<ReportedAggregateRecord>,
}

impl Bundle {
    fn load() -> Self {
        let mut bundle = Bundle::default();
        let mut rejected = Vec::new();
        for SourcedRecord { origin, mut record } in raw_records() {
            if let Err(violations) = prepare(&mut record) {
                rejected.push(format!("{origin}: {violations:?}"));
                continue;
            }
            match record {
                AnyRecord::Region(r) => bundle.regions.push(r),
                AnyRecord::Population(r) => bundle.populations.push(r),
                AnyRecord::Channel(r) => bundle.channels.push(r),
                AnyRecord::Platform(r) => bundle.platforms.push(r),
                AnyRecord::ServiceFunction(r) => bundle.functions.push(r),
                AnyRecord::PlatformFunction(r) => bundle.platform_functions.push(r),
                AnyRecord::PolicyDocument(r) => bundle.policies.push(r),
                AnyRecord::Observation(r) => bundle.observations.push(r),
                AnyRecord::ReportedAggregate(r) => bundle.aggregates.push(r),
                other => panic!(
                    "{origin}: unexpected {} record in the paper bundle",
                    other.kind()
                ),
            }
        }
        assert!(
            rejected.is_empty(),
            "prepare rejected:\n{}",
            rejected.join("\n")
        );
        bundle
    }

    /// Every record's provenance, labelled with what the record is (for messages).
    fn provenances(&self) -> Vec<(String, Provenance)> {
        fn labelled<T: HasProvenance>(kind: &str, records: &[T]) -> Vec<(String, Provenance)> {
            let label = |(i, r): (usize, &T)| (format!("{kind}[{i}]"), r.provenance());
            records.iter().enumerate().map(label).collect()
        }
        [
            labelled("population", &self.populations),
            labelled("platform", &self.platforms),
            labelled("platform_function", &self.platform_functions),
            labelled("policy_document", &self.policies),
            labelled("observation", &self.observations),
            labelled("reported_aggregate", &self.aggregates),
        ]
        .concat()
    }

    fn region_name(&self, code: &str) -> &str {
        let region = self.regions.iter().find(|r| r.code == code);
        &region.unwrap_or_else(|| panic!("no region {code}")).name
    }

    /// The platform a row of Table 2 names (platforms cite the table they come from).
    fn platform_of_row(&self, row: &str) -> &PlatformRecord {
        let named: Vec<_> = self
            .platforms
            .iter()
            .filter(|p| {
                p.source_document == PAPER && p.source_table == "Table 2" && p.source_row == row
            })
            .collect();
        assert_eq!(
            named.len(),
            1,
            "exactly one platform should cite Table 2 row {row:?}"
        );
        named[0]
    }
}

// ---------------------------------------------------------------------------
// Reading the paper's text

fn normalize_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn is_figure(cell: &str) -> bool {
    cell == "/" || parse_printed(cell).is_ok()
}

/// A table as printed: headers (wrapped header lines joined) and body rows of cells.
struct PrintedTable {
    name: String,
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

/// One cell of a printed table: the provenance a record citing it must carry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct CellRef {
    table: String,
    row: String,
    column: String,
}

impl PrintedTable {
    /// The tab-separated block next to the caption line "Table N: ..." (the paper puts
    /// some captions above their table and some below, blank lines in between).
    fn read(text: &str, number: u32, header_lines: impl Fn(&[&str]) -> usize) -> Self {
        let name = format!("Table {number}");
        let lines: Vec<&str> = text.lines().collect();
        let captions: Vec<usize> = (0..lines.len())
            .filter(|&i| lines[i].starts_with(&format!("{name}:")))
            .collect();
        assert_eq!(captions.len(), 1, "one caption line for {name}");
        let at = captions[0];
        fn adjacent<'t>(side: impl Iterator<Item = &'t str>) -> Vec<&'t str> {
            side.skip_while(|l| l.trim().is_empty())
                .take_while(|l| l.contains('\t'))
                .collect()
        }
        let mut above = adjacent(lines[..at].iter().rev().copied());
        above.reverse();
        let below = adjacent(lines[at + 1..].iter().copied());
        let block = match (above.is_empty(), below.is_empty()) {
            (false, true) => above,
            (true, false) => below,
            _ => panic!("{name}: expected one tab-separated block next to its caption"),
        };
        let split = |line: &str| -> Vec<String> {
            let mut cells: Vec<String> = line.split('\t').map(|c| c.trim().to_string()).collect();
            while cells.last().is_some_and(|c| c.is_empty()) {
                cells.pop();
            }
            cells
        };
        let header_count = header_lines(&block);
        assert!(
            header_count >= 1 && header_count < block.len(),
            "{name}: header and body"
        );
        let header_rows: Vec<Vec<String>> =
            block[..header_count].iter().map(|l| split(l)).collect();
        let width = header_rows.iter().map(Vec::len).max().unwrap_or(0);
        let headers = (0..width)
            .map(|i| {
                let parts = header_rows
                    .iter()
                    .filter_map(|r| r.get(i))
                    .filter(|c| !c.is_empty());
                parts.cloned().collect::<Vec<_>>().join(" ")
            })
            .collect();
        let rows = block[header_count..].iter().map(|l| split(l)).collect();
        PrintedTable {
            name,
            headers,
            rows,
        }
    }

    /// A table of figures: its header is every line before the first row whose cells
    /// after the name column are all figures ("/" or a printed number).
    fn read_figures(text: &str, number: u32) -> Self {
        let is_body = |line: &&str| line.split('\t').skip(2).all(is_figure);
        let table = PrintedTable::read(text, number, |block| {
            block.iter().position(is_body).expect("a body row")
        });
        for row in &table.rows {
            assert_eq!(
                row.len(),
                table.headers.len(),
                "{}: ragged row {row:?}",
                table.name
            );
            assert!(
                row[2..].iter().all(|c| is_figure(c)),
                "{}: non-figure in {row:?}",
                table.name
            );
        }
        table
    }

    fn row_labels(&self) -> Vec<&str> {
        self.rows.iter().map(|r| r[1].as_str()).collect()
    }

    /// Every figure cell (the columns after province and name) with its reference.
    fn figure_cells(&self) -> Vec<(CellRef, &str)> {
        let mut cells = Vec::new();
        for row in &self.rows {
            for (column, text) in self.headers.iter().zip(row).skip(2) {
                let at = CellRef {
                    table: self.name.clone(),
                    row: row[1].clone(),
                    column: column.clone(),
                };
                cells.push((at, text.as_str()));
            }
        }
        cells
    }

    /// The text of a cell, by its row label and column header.
    fn cell(&self, at: &CellRef) -> Option<&str> {
        self.figure_cells()
            .into_iter()
            .find(|(c, _)| c == at)
            .map(|(_, text)| text)
    }
}

fn tables_2_and_3(text: &str) -> [PrintedTable; 2] {
    [
        PrintedTable::read_figures(text, 2),
        PrintedTable::read_figures(text, 3),
    ]
}

/// What a figure cell must be recorded as, by its table and column header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Recorded {
    Observation(Metric),
    Aggregate(AggregateKind),
}

fn expected_record(table: &str, column: &str) -> Recorded {
    match (table, column) {
        (_, "Average score") => Recorded::Aggregate(AggregateKind::Average),
        (_, "Sum") => Recorded::Aggregate(AggregateKind::Sum),
        ("Table 2", _) => Recorded::Observation(Metric::Rating),
        ("Table 3", _) => Recorded::Observation(Metric::Downloads),
        _ => panic!("no figures expected in {table}"),
    }
}

/// The body text of section `number` ("2.3"), from its heading to the next heading.
fn section_text(text: &str, number: &str) -> String {
    fn heading_number(line: &str) -> Option<&str> {
        let (first, rest) = line.split_once(' ')?;
        let numbered = first.starts_with(|c: char| c.is_ascii_digit())
            && first.chars().all(|c| c.is_ascii_digit() || c == '.');
        (numbered && rest.starts_with(|c: char| c.is_ascii_uppercase()))
            .then(|| first.trim_end_matches('.'))
    }
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| heading_number(l) == Some(number))
        .unwrap_or_else(|| panic!("no section {number} in the paper"));
    let end = lines[start + 1..]
        .iter()
        .position(|l| heading_number(l).is_some())
        .map_or(lines.len(), |i| start + 1 + i);
    normalize_whitespace(&lines[start + 1..end].join(" "))
}

/// The dates the paper's references were accessed, e.g. "[2023-05-25]".
fn access_dates(text: &str) -> HashSet<&str> {
    let is_date = |s: &str| {
        s.len() == 10
            && s.char_indices().all(|(i, c)| {
                if i == 4 || i == 7 {
                    c == '-'
                } else {
                    c.is_ascii_digit()
                }
            })
    };
    text.split('[')
        .filter_map(|s| s.split_once(']'))
        .map(|(d, _)| d)
        .filter(|d| is_date(d))
        .collect()
}

// ---------------------------------------------------------------------------
// 1. Tables 2 and 3, cell for cell

/// A record that cites a figure cell.
#[derive(Debug)]
struct Citation {
    recorded: Recorded,
    printed: String,
    platform: String,
    channel: Option<String>,
}

fn citations_of_tables(bundle: &Bundle) -> BTreeMap<CellRef, Vec<Citation>> {
    let mut out: BTreeMap<CellRef, Vec<Citation>> = BTreeMap::new();
    let at = |p: Provenance| CellRef {
        table: p.table,
        row: p.row,
        column: p.column,
    };
    let cites_table = |p: &Provenance| p.document == PAPER && p.table.starts_with("Table");
    for o in bundle
        .observations
        .iter()
        .filter(|o| cites_table(&o.provenance()))
    {
        out.entry(at(o.provenance())).or_default().push(Citation {
            recorded: Recorded::Observation(o.metric),
            printed: o.value_as_printed.clone(),
            platform: o.platform_code.clone(),
            channel: Some(o.channel_code.clone()),
        });
    }
    for a in bundle
        .aggregates
        .iter()
        .filter(|a| cites_table(&a.provenance()))
    {
        assert_eq!(
            a.subject_kind,
            SubjectKind::Platform,
            "{}: table rows are apps",
            a.code
        );
        out.entry(at(a.provenance())).or_default().push(Citation {
            recorded: Recorded::Aggregate(a.kind),
            printed: a.value_as_printed.clone(),
            platform: a.subject_code.clone(),
            channel: None,
        });
    }
    out
}

#[test]
fn every_figure_of_tables_2_and_3_is_recorded_once_and_slashes_never() {
    let text = paper_text();
    let bundle = Bundle::load();
    let mut citations = citations_of_tables(&bundle);
    let channel_of = |column: &str| {
        STORE_COLUMNS
            .iter()
            .find(|(c, _)| *c == column)
            .map(|(_, ch)| ch.to_string())
    };
    for table in tables_2_and_3(&text) {
        for (at, text) in table.figure_cells() {
            let found = citations.remove(&at).unwrap_or_default();
            if text == "/" {
                assert!(
                    found.is_empty(),
                    "{at:?} prints \"/\" (no data) but is recorded: {found:?}"
                );
                continue;
            }
            assert_eq!(
                found.len(),
                1,
                "{at:?} ({text:?}) should be recorded exactly once: {found:?}"
            );
            let c = &found[0];
            assert_eq!(c.printed, text, "{at:?}: value_as_printed");
            assert_eq!(
                c.recorded,
                expected_record(&at.table, &at.column),
                "{at:?}: record kind"
            );
            assert_eq!(
                c.platform,
                bundle.platform_of_row(&at.row).code,
                "{at:?}: platform"
            );
            if let Recorded::Observation(_) = c.recorded {
                let channel = channel_of(&at.column);
                assert!(channel.is_some(), "{at:?}: column is not a known store");
                assert_eq!(c.channel, channel, "{at:?}: channel");
            }
        }
    }
    assert!(
        citations.is_empty(),
        "records cite cells the paper does not print: {citations:?}"
    );
    for o in &bundle.observations {
        let p = o.provenance();
        assert!(
            p.document == PAPER && p.table.starts_with("Table "),
            "uncited observation {o:?}"
        );
    }
}

#[test]
fn tables_2_and_3_list_the_same_apps_and_each_is_a_platform_of_its_province() {
    let text = paper_text();
    let bundle = Bundle::load();
    let [ratings, downloads] = tables_2_and_3(&text);
    assert_eq!(ratings.row_labels(), downloads.row_labels());
    let labels: HashSet<&str> = ratings.row_labels().into_iter().collect();
    assert_eq!(labels.len(), ratings.rows.len(), "row labels are unique");
    // The province column labels "Sichuan Province" at its first row; the rows above it
    // are Guizhou's (the extraction lost that label).
    let sichuan_from = ratings
        .rows
        .iter()
        .position(|r| r[0] == "Sichuan Province")
        .expect("label");
    for (i, row) in ratings.rows.iter().enumerate() {
        let platform = bundle.platform_of_row(&row[1]);
        let province = if i >= sichuan_from {
            "Sichuan"
        } else {
            "Guizhou"
        };
        assert_eq!(
            bundle.region_name(&platform.region_code),
            province,
            "{}",
            platform.code
        );
        assert_eq!(
            platform.source_column, ratings.headers[1],
            "{}",
            platform.code
        );
    }
    for p in bundle
        .platforms
        .iter()
        .filter(|p| p.source_table.starts_with("Table"))
    {
        assert!(
            labels.contains(p.source_row.as_str()),
            "{} cites no printed row",
            p.code
        );
    }
}

// ---------------------------------------------------------------------------
// 2. Table 1

#[test]
fn policy_documents_are_the_rows_of_table_1() {
    let text = paper_text();
    let bundle = Bundle::load();
    let table = PrintedTable::read(&text, 1, |_| 1);
    let printed: BTreeMap<String, String> = (1..)
        .zip(&table.rows)
        .map(|(n, row)| (n.to_string(), normalize_whitespace(&row[1])))
        .collect();
    let recorded: BTreeMap<String, String> = bundle
        .policies
        .iter()
        .map(|d| (d.source_row.clone(), normalize_whitespace(&d.title)))
        .collect();
    assert_eq!(
        recorded.len(),
        bundle.policies.len(),
        "one document per row"
    );
    assert_eq!(recorded, printed);

    // Province labels of the first column, wrapped over consecutive lines.
    let labels: Vec<String> = table
        .rows
        .chunk_by(|a, b| a[0].is_empty() == b[0].is_empty())
        .filter(|run| !run[0][0].is_empty())
        .map(|run| {
            run.iter()
                .map(|r| r[0].as_str())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    for d in &bundle.policies {
        assert_eq!(
            (d.source_document.as_str(), d.source_table.as_str()),
            (PAPER, "Table 1")
        );
        assert_eq!(d.source_column, table.headers[1], "{}", d.code);
        let province = bundle.region_name(&d.region_code);
        let label = labels
            .iter()
            .find(|l| l.starts_with(province))
            .expect("a province label");
        assert!(
            label.contains(&format!("\"{}\"", d.programme)),
            "{}: programme",
            d.code
        );
        for other in ["Sichuan", "Guizhou"]
            .into_iter()
            .filter(|p| *p != province)
        {
            assert!(!d.title.contains(other), "{}: title names {other}", d.code);
        }
        let printed_year = d
            .title
            .split(|c: char| !c.is_ascii_digit())
            .find(|w| w.len() == 4 && (w.starts_with("19") || w.starts_with("20")));
        assert_eq!(
            d.year,
            printed_year.map(|y| y.parse().unwrap()),
            "{}: year",
            d.code
        );
        let squash = |s: &str| s.split_whitespace().collect::<String>();
        assert!(
            squash(&d.title).contains(&squash(&d.issuer)),
            "{}: issuer not in title",
            d.code
        );
        assert!(!d.toe_tags.is_empty(), "{}: TOE tags", d.code);
    }
}

// ---------------------------------------------------------------------------
// 3. The bundle as a whole

fn natural_key(record: &AnyRecord) -> String {
    match record {
        AnyRecord::Region(r) => r.code.clone(),
        AnyRecord::Population(p) => format!("{}/{}", p.region_code, p.year),
        AnyRecord::Channel(c) => c.code.clone(),
        AnyRecord::Platform(p) => p.code.clone(),
        AnyRecord::ServiceFunction(f) => f.code.clone(),
        AnyRecord::PlatformFunction(f) => format!("{}/{}", f.platform_code, f.function_code),
        AnyRecord::Indicator(i) => i.code.clone(),
        AnyRecord::PolicyDocument(d) => d.code.clone(),
        AnyRecord::Observation(o) => {
            format!(
                "{}/{}/{}/{}",
                o.platform_code, o.channel_code, o.metric, o.observed_on
            )
        }
        AnyRecord::IndicatorValue(v) => {
            format!(
                "{}/{}/{}/{}",
                v.indicator_code, v.subject_kind, v.subject_code, v.period
            )
        }
        AnyRecord::ReportedAggregate(a) => a.code.clone(),
    }
}

#[test]
fn natural_keys_are_unique() {
    let mut seen: HashMap<(ResourceKind, String), String> = HashMap::new();
    for SourcedRecord { origin, record } in raw_records() {
        let key = (record.kind(), natural_key(&record));
        if let Some(first) = seen.insert(key.clone(), origin.clone()) {
            panic!("{origin} repeats {key:?} of {first}");
        }
    }
}

#[test]
fn every_reference_resolves_inside_the_bundle() {
    let b = Bundle::load();
    let regions: HashSet<&str> = b.regions.iter().map(|r| r.code.as_str()).collect();
    let platforms: HashSet<&str> = b.platforms.iter().map(|p| p.code.as_str()).collect();
    let channels: HashSet<&str> = b.channels.iter().map(|c| c.code.as_str()).collect();
    let functions: HashSet<&str> = b.functions.iter().map(|f| f.code.as_str()).collect();
    let mut missing = Vec::new();
    let mut check = |what: &str, set: &HashSet<&str>, code: &str| {
        if !set.contains(code) {
            missing.push(format!("{what} {code:?}"));
        }
    };
    for r in b.regions.iter().filter(|r| !r.parent_code.is_empty()) {
        check("parent_code", &regions, &r.parent_code);
    }
    b.populations
        .iter()
        .for_each(|p| check("region_code", &regions, &p.region_code));
    b.platforms
        .iter()
        .for_each(|p| check("region_code", &regions, &p.region_code));
    b.policies
        .iter()
        .for_each(|d| check("region_code", &regions, &d.region_code));
    for f in &b.platform_functions {
        check("platform_code", &platforms, &f.platform_code);
        check("function_code", &functions, &f.function_code);
    }
    for o in &b.observations {
        check("platform_code", &platforms, &o.platform_code);
        check("channel_code", &channels, &o.channel_code);
    }
    for a in &b.aggregates {
        let set = match a.subject_kind {
            SubjectKind::Platform => &platforms,
            SubjectKind::Region => &regions,
        };
        check("subject_code", set, &a.subject_code);
    }
    assert!(missing.is_empty(), "unresolved references: {missing:?}");
}

#[test]
fn section_citations_quote_the_paper_and_dates_follow_its_access_date() {
    let text = paper_text();
    let bundle = Bundle::load();
    for (what, p) in bundle
        .provenances()
        .into_iter()
        .filter(|(_, p)| p.document == PAPER)
    {
        if let Some(number) = p.table.strip_prefix("Section ") {
            let quote = normalize_whitespace(&p.row);
            assert!(!quote.is_empty(), "{what}: empty quote");
            assert!(
                section_text(&text, number).contains(&quote),
                "{what}: {quote:?} not in {}",
                p.table
            );
        } else {
            assert!(p.table.starts_with("Table "), "{what}: cites {:?}", p.table);
        }
    }
    let dates = access_dates(&text);
    assert_eq!(
        dates.len(),
        1,
        "the paper's references share one access date: {dates:?}"
    );
    let observed = bundle
        .observations
        .iter()
        .map(|o| (&o.source_document, &o.observed_on));
    let aggregated = bundle
        .aggregates
        .iter()
        .map(|a| (&a.source_document, &a.observed_on));
    for (document, date) in observed
        .chain(aggregated)
        .filter(|(d, _)| d.as_str() == PAPER)
    {
        assert!(
            dates.contains(date.as_str()),
            "{document} figure observed on {date}"
        );
    }
}

// ---------------------------------------------------------------------------
// 4. Printed units

#[test]
fn values_are_left_to_the_parser_and_read_as_printed() {
    let raw = raw_records();
    for SourcedRecord { origin, record } in &raw {
        let value = match record {
            AnyRecord::Observation(o) => o.value,
            AnyRecord::ReportedAggregate(a) => a.value,
            _ => None,
        };
        assert_eq!(
            value, None,
            "{origin}: leave value empty; the importer reads value_as_printed"
        );
    }
    let text = paper_text();
    let bundle = Bundle::load();
    let [_, downloads] = tables_2_and_3(&text);
    let table_3 = bundle
        .observations
        .iter()
        .filter(|o| o.source_table == downloads.name);
    let mut checked = 0;
    for o in table_3 {
        let at = CellRef {
            table: o.source_table.clone(),
            row: o.source_row.clone(),
            column: o.source_column.clone(),
        };
        let cell = downloads
            .cell(&at)
            .unwrap_or_else(|| panic!("{at:?} is not printed"));
        let denoted = parse_printed(cell).expect("a printed number");
        assert_eq!(o.value, Some(denoted), "{at:?}: {cell:?}");
        assert_eq!(denoted.fract(), 0.0, "{at:?}: downloads are whole");
        checked += 1;
    }
    assert!(checked > 0, "Table 3 has observations");

    let shares: Vec<_> = bundle
        .aggregates
        .iter()
        .filter(|a| a.kind == AggregateKind::PopulationShare)
        .collect();
    assert_eq!(shares.len(), 1);
    let share = shares[0];
    assert!(section_text(&text, "2.2").contains(&share.source_row));
    let printed = share
        .source_row
        .split_whitespace()
        .find(|w| w.ends_with('%'))
        .expect("a % figure");
    assert_eq!(share.value_as_printed, printed);
    assert_eq!(share.value, Some(parse_printed(printed).unwrap()));
    assert_eq!(share.value, Some(0.413));
    assert!(
        share.description.contains(&share.source_row),
        "the description quotes the sentence"
    );
}

// ---------------------------------------------------------------------------
// 5. The vendored copy

#[test]
fn vendored_paper_is_the_shared_seed_copy() {
    let seed = workspace_root().join(SEED);
    if !seed.exists() {
        eprintln!("skipped: {} not present", seed.display());
        return;
    }
    let seed_bytes = std::fs::read(&seed).expect("seed readable");
    let vendored = std::fs::read(paper_path()).expect("vendored copy readable");
    assert!(
        seed_bytes == vendored,
        "{} differs from {}",
        paper_path().display(),
        seed.display()
    );
}
