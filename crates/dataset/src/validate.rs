//! Validation rules for records, with no I/O: every rule a record must satisfy on its
//! own. References between records are checked by the service, which sees the store.

use crate::printed::{agrees, parse_printed};
use crate::records::*;

/// Longest code accepted.
pub const MAX_CODE_LEN: usize = 64;
/// Longest name accepted.
pub const MAX_NAME_LEN: usize = 200;
/// Longest free text (titles, descriptions) accepted.
pub const MAX_TEXT_LEN: usize = 4000;
/// Highest rating on the 0-5 scale.
pub const MAX_RATING: f64 = 5.0;
/// Deepest region hierarchy accepted (a root is level 1). With codes of at most
/// `MAX_CODE_LEN` characters a region's materialised path ("/cn/cn-gz/.../") then stays
/// under 2.1 KB, which PostgreSQL can index (a longer one was an internal error).
pub const MAX_REGION_DEPTH: usize = 32;

/// The level of a region from its materialised path: "/cn/" is 1, "/cn/cn-gz/" is 2.
pub fn path_depth(path: &str) -> usize {
    path.matches('/').count().saturating_sub(1)
}

/// One broken rule: the field (relative to the record) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub field: String,
    pub description: String,
}

impl Violation {
    pub fn new(field: &str, description: impl Into<String>) -> Self {
        Violation {
            field: field.to_string(),
            description: description.into(),
        }
    }
}

#[derive(Default)]
struct Checker {
    violations: Vec<Violation>,
}

impl Checker {
    fn fail(&mut self, field: &str, description: impl Into<String>) {
        self.violations.push(Violation::new(field, description));
    }

    fn code(&mut self, field: &str, value: &str) {
        if value.is_empty() {
            self.fail(field, "must not be empty");
        } else if value.chars().count() > MAX_CODE_LEN {
            self.fail(field, format!("must be at most {MAX_CODE_LEN} characters"));
        } else if !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            self.fail(
                field,
                "may contain only ASCII letters, digits, '.', '_' and '-'",
            );
        }
    }

    fn optional_code(&mut self, field: &str, value: &str) {
        if !value.is_empty() {
            self.code(field, value);
        }
    }

    fn name(&mut self, field: &str, value: &str) {
        if value.trim().is_empty() {
            self.fail(field, "must not be empty");
        } else {
            self.text(field, value, MAX_NAME_LEN);
        }
    }

    fn text(&mut self, field: &str, value: &str, max: usize) {
        if value.chars().count() > max {
            self.fail(field, format!("must be at most {max} characters"));
        } else if value
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            self.fail(field, "must not contain control characters");
        }
    }

    fn date(&mut self, field: &str, value: &str, required: bool) {
        if value.is_empty() {
            if required {
                self.fail(field, "must be a date YYYY-MM-DD");
            }
            return;
        }
        match chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d") {
            Ok(d) if value.len() == 10 && (1900..=2100).contains(&chrono::Datelike::year(&d)) => {}
            Ok(_) => self.fail(field, "must be a date YYYY-MM-DD between 1900 and 2100"),
            Err(_) => self.fail(field, format!("{value:?} is not a valid date YYYY-MM-DD")),
        }
    }

    fn year(&mut self, field: &str, year: i32) {
        if !(1900..=2100).contains(&year) {
            self.fail(field, "must be a year between 1900 and 2100");
        }
    }

    fn provenance(&mut self, p: &Provenance) {
        for (field, value) in [
            ("source_document", &p.document),
            ("source_table", &p.table),
            ("source_row", &p.row),
            ("source_column", &p.column),
        ] {
            self.text(field, value, MAX_NAME_LEN);
        }
    }

    /// Fills `value` from `value_as_printed` when absent; checks they agree when both are given.
    fn value(&mut self, value: &mut Option<f64>, printed: &str) -> Option<f64> {
        self.text("value_as_printed", printed, MAX_NAME_LEN);
        match *value {
            Some(v) if !v.is_finite() => {
                self.fail("value", "must be a finite number");
                None
            }
            Some(v) => {
                if !printed.is_empty() && parse_printed(printed).is_ok() && !agrees(printed, v) {
                    self.fail(
                        "value",
                        format!("{v} disagrees with value_as_printed {printed:?}"),
                    );
                }
                Some(v)
            }
            None if printed.is_empty() => {
                self.fail("value", "is required (or a parseable value_as_printed)");
                None
            }
            None => match parse_printed(printed) {
                Ok(v) => {
                    *value = Some(v);
                    Some(v)
                }
                Err(e) => {
                    self.fail("value_as_printed", e.to_string());
                    None
                }
            },
        }
    }

    fn metric_value(&mut self, metric: Metric, value: f64) {
        match metric {
            Metric::Rating if !(0.0..=MAX_RATING).contains(&value) => {
                self.fail(
                    "value",
                    format!("a rating must be between 0 and {MAX_RATING}"),
                );
            }
            Metric::Rating => {}
            _ if value < 0.0 => self.fail("value", "a count must not be negative"),
            _ if value.fract() != 0.0 => self.fail("value", "a count must be a whole number"),
            _ => {}
        }
    }

    fn period(&mut self, field: &str, period: &str) {
        if !is_valid_period(period) {
            self.fail(
                field,
                "must be a period YYYY, YYYY-Qn, YYYY-MM or YYYY-MM-DD",
            );
        }
    }
}

/// Periods sort as text: YYYY, YYYY-Qn (n in 1..4), YYYY-MM, YYYY-MM-DD, with years
/// 1900-2100 as for dates (a period "9999" would otherwise be every model's latest).
pub fn is_valid_period(period: &str) -> bool {
    let bytes = period.as_bytes();
    let digits = |r: std::ops::Range<usize>| bytes[r].iter().all(u8::is_ascii_digit);
    let year_ok = period
        .get(..4)
        .and_then(|y| y.parse::<i32>().ok())
        .is_some_and(|y| (1900..=2100).contains(&y));
    if !year_ok {
        return false;
    }
    match bytes.len() {
        4 => digits(0..4),
        7 if bytes[4] == b'-' && bytes[5] == b'Q' => {
            digits(0..4) && (b'1'..=b'4').contains(&bytes[6])
        }
        7 if bytes[4] == b'-' => {
            digits(0..4)
                && digits(5..7)
                && (1..=12).contains(&period[5..7].parse::<u32>().unwrap_or(0))
        }
        10 => chrono::NaiveDate::parse_from_str(period, "%Y-%m-%d").is_ok(),
        _ => false,
    }
}

/// Checks a record on its own, filling values read from their printed form.
/// Returns every violation, not just the first.
pub fn prepare(record: &mut AnyRecord) -> Result<(), Vec<Violation>> {
    let mut c = Checker::default();
    match record {
        AnyRecord::Region(r) => {
            c.code("code", &r.code);
            c.name("name", &r.name);
            c.optional_code("parent_code", &r.parent_code);
            if r.parent_code == r.code && !r.code.is_empty() {
                c.fail("parent_code", "a region cannot be its own parent");
            }
        }
        AnyRecord::Population(p) => {
            c.code("region_code", &p.region_code);
            c.year("year", p.year);
            if p.population <= 0 {
                c.fail("population", "must be positive");
            }
            c.text("value_as_printed", &p.value_as_printed, MAX_NAME_LEN);
            if !p.value_as_printed.is_empty()
                && parse_printed(&p.value_as_printed).is_ok()
                && !agrees(&p.value_as_printed, p.population as f64)
            {
                c.fail(
                    "population",
                    format!(
                        "{} disagrees with value_as_printed {:?}",
                        p.population, p.value_as_printed
                    ),
                );
            }
            c.provenance(&p.provenance());
        }
        AnyRecord::Channel(ch) => {
            c.code("code", &ch.code);
            c.name("name", &ch.name);
            c.text("vendor", &ch.vendor, MAX_NAME_LEN);
        }
        AnyRecord::Platform(p) => {
            c.code("code", &p.code);
            c.name("name", &p.name);
            c.code("region_code", &p.region_code);
            c.text("operator", &p.operator, MAX_NAME_LEN);
            c.date("launch_date", &p.launch_date, false);
            c.text("url", &p.url, 2000);
            if !(p.url.is_empty() || p.url.starts_with("https://") || p.url.starts_with("http://"))
            {
                c.fail("url", "must start with http:// or https://");
            }
            c.provenance(&p.provenance());
        }
        AnyRecord::ServiceFunction(f) => {
            c.code("code", &f.code);
            c.name("name", &f.name);
            c.text("description", &f.description, MAX_TEXT_LEN);
        }
        AnyRecord::PlatformFunction(pf) => {
            c.code("platform_code", &pf.platform_code);
            c.code("function_code", &pf.function_code);
            c.provenance(&pf.provenance());
        }
        AnyRecord::Indicator(i) => {
            c.code("code", &i.code);
            c.name("name", &i.name);
            c.text("unit", &i.unit, MAX_NAME_LEN);
            c.text("factor", &i.factor, MAX_NAME_LEN);
            c.text("description", &i.description, MAX_TEXT_LEN);
        }
        AnyRecord::PolicyDocument(d) => {
            c.code("code", &d.code);
            c.code("region_code", &d.region_code);
            if d.title.trim().is_empty() {
                c.fail("title", "must not be empty");
            }
            c.text("title", &d.title, 1000);
            c.text("issuer", &d.issuer, MAX_NAME_LEN);
            if let Some(y) = d.year {
                c.year("year", y);
            }
            c.text("programme", &d.programme, MAX_NAME_LEN);
            let mut tags = d.toe_tags.clone();
            tags.sort();
            tags.dedup();
            if tags.len() != d.toe_tags.len() {
                c.fail("toe_tags", "must not repeat a dimension");
            }
            c.provenance(&d.provenance());
        }
        AnyRecord::Observation(o) => {
            c.code("platform_code", &o.platform_code);
            c.code("channel_code", &o.channel_code);
            c.date("observed_on", &o.observed_on, true);
            if let Some(v) = c.value(&mut o.value, &o.value_as_printed) {
                c.metric_value(o.metric, v);
            }
            c.provenance(&o.provenance());
        }
        AnyRecord::IndicatorValue(v) => {
            c.code("indicator_code", &v.indicator_code);
            c.code("subject_code", &v.subject_code);
            c.period("period", &v.period);
            c.value(&mut v.value, &v.value_as_printed);
            c.provenance(&v.provenance());
        }
        AnyRecord::ReportedAggregate(a) => {
            c.code("code", &a.code);
            c.code("subject_code", &a.subject_code);
            c.date("observed_on", &a.observed_on, false);
            if let Some(v) = c.value(&mut a.value, &a.value_as_printed) {
                if v < 0.0 {
                    c.fail("value", "must not be negative");
                }
            }
            c.text("description", &a.description, MAX_TEXT_LEN);
            c.provenance(&a.provenance());
        }
    }
    if c.violations.is_empty() {
        Ok(())
    } else {
        Err(c.violations)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observation(metric: Metric, value: Option<f64>, printed: &str) -> AnyRecord {
        AnyRecord::Observation(ObservationRecord {
            platform_code: "duocaibao".into(),
            channel_code: "huawei".into(),
            metric,
            observed_on: "2023-05-25".into(),
            value,
            value_as_printed: printed.into(),
            source_document: String::new(),
            source_table: String::new(),
            source_row: String::new(),
            source_column: String::new(),
        })
    }

    fn fields(r: Result<(), Vec<Violation>>) -> Vec<String> {
        r.err()
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.field)
            .collect()
    }

    #[test]
    fn fills_value_from_its_printed_form() {
        let mut r = observation(Metric::Downloads, None, "494 million");
        prepare(&mut r).unwrap();
        let AnyRecord::Observation(o) = r else {
            unreachable!()
        };
        assert_eq!(o.value, Some(494e6));
    }

    #[test]
    fn rejects_ratings_outside_zero_to_five() {
        assert_eq!(
            fields(prepare(&mut observation(Metric::Rating, Some(5.1), ""))),
            ["value"]
        );
        assert_eq!(
            fields(prepare(&mut observation(Metric::Rating, Some(-0.1), ""))),
            ["value"]
        );
        assert!(prepare(&mut observation(Metric::Rating, Some(5.0), "")).is_ok());
    }

    #[test]
    fn rejects_negative_fractional_and_non_finite_counts() {
        for v in [-1.0, 2.5, f64::NAN, f64::INFINITY] {
            assert_eq!(
                fields(prepare(&mut observation(Metric::Downloads, Some(v), ""))),
                ["value"],
                "{v}"
            );
        }
    }

    #[test]
    fn rejects_a_value_that_contradicts_its_printed_form() {
        let mut r = observation(Metric::Downloads, Some(1.0), "494 million");
        assert_eq!(fields(prepare(&mut r)), ["value"]);
    }

    #[test]
    fn rejects_bad_dates_codes_and_names() {
        let mut r = observation(Metric::Rating, Some(4.0), "");
        if let AnyRecord::Observation(o) = &mut r {
            o.observed_on = "2023-02-30".into();
            o.platform_code = "bad code".into();
        }
        assert_eq!(fields(prepare(&mut r)), ["platform_code", "observed_on"]);
        let mut region = AnyRecord::Region(RegionRecord {
            code: "51".into(),
            name: " ".into(),
            level: AdminLevel::Province,
            parent_code: "51".into(),
        });
        assert_eq!(fields(prepare(&mut region)), ["name", "parent_code"]);
        let mut long = AnyRecord::Region(RegionRecord {
            code: "x".repeat(65),
            name: "n".repeat(201),
            level: AdminLevel::Province,
            parent_code: String::new(),
        });
        assert_eq!(fields(prepare(&mut long)), ["code", "name"]);
    }

    #[test]
    fn periods_are_years_quarters_months_or_days() {
        for ok in ["2022", "2022-Q3", "2022-07", "2022-07-31"] {
            assert!(is_valid_period(ok), "{ok}");
        }
        for bad in [
            "",
            "22",
            "2022-Q5",
            "2022-13",
            "2022-02-30",
            "2022/07",
            "abcd",
            "0000",
            "9999",
            "1899-12",
        ] {
            assert!(!is_valid_period(bad), "{bad}");
        }
    }
}
