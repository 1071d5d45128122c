//! Parsing of figures as sources print them: "494 million", "22thousand", "4.5points",
//! "41.3%", "10000". Parsing is exact in decimal: "931.9 million" is 931,900,000.

/// A printed figure could not be read as a number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read {printed:?} as a number: {reason}")]
pub struct PrintedValueError {
    pub printed: String,
    pub reason: &'static str,
}

/// Units accepted after the number, with their power of ten (negative for "%").
const UNITS: &[(&str, i32)] = &[
    ("points", 0),
    ("point", 0),
    ("pts", 0),
    ("thousand", 3),
    ("k", 3),
    ("million", 6),
    ("m", 6),
    ("billion", 9),
    ("bn", 9),
    ("%", -2),
    ("万", 4),
    ("亿", 8),
];

/// Parses a printed figure into its value. Thousands separators are accepted.
pub fn parse_printed(printed: &str) -> Result<f64, PrintedValueError> {
    let err = |reason| PrintedValueError {
        printed: printed.to_string(),
        reason,
    };
    let text = printed.trim();
    if text.is_empty() {
        return Err(err("empty"));
    }
    let number_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ',' || c == '-' || c == '+'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(number_end);
    let unit = unit.trim().to_lowercase();
    let power = if unit.is_empty() {
        0
    } else {
        UNITS
            .iter()
            .find(|(name, _)| *name == unit)
            .map(|(_, p)| *p)
            .ok_or_else(|| err("unknown unit"))?
    };
    let (negative, digits) = match number.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, number.strip_prefix('+').unwrap_or(number)),
    };
    let digits: String = digits.chars().filter(|c| *c != ',').collect();
    let (int_part, frac_part) = match digits.split_once('.') {
        Some((i, f)) => (i, f),
        None => (digits.as_str(), ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(err("no digits"));
    }
    if !int_part
        .chars()
        .chain(frac_part.chars())
        .all(|c| c.is_ascii_digit())
    {
        return Err(err("malformed number"));
    }
    if int_part.len() + frac_part.len() > 30 {
        return Err(err("too many digits"));
    }
    // mantissa * 10^(power - decimals), rounded once by the float parser: dividing
    // two already-rounded floats would round twice and miss by one unit in the last place.
    let digits = format!("{int_part}{frac_part}");
    let digits = digits.trim_start_matches('0');
    let exponent = power - frac_part.len() as i32;
    let magnitude: f64 = if digits.is_empty() {
        0.0
    } else {
        format!("{digits}e{exponent}")
            .parse()
            .map_err(|_| err("malformed number"))?
    };
    Ok(if negative { -magnitude } else { magnitude })
}

/// True when a printed figure and a value agree, up to float noise.
pub fn agrees(printed: &str, value: f64) -> bool {
    match parse_printed(printed) {
        Ok(parsed) => {
            let scale = parsed.abs().max(value.abs()).max(1e-12);
            (parsed - value).abs() / scale <= 1e-9
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_papers_table_3_units() {
        assert_eq!(parse_printed("494 million").unwrap(), 494_000_000.0);
        assert_eq!(parse_printed("22thousand").unwrap(), 22_000.0);
        assert_eq!(parse_printed("10000").unwrap(), 10_000.0);
        assert_eq!(parse_printed("3million").unwrap(), 3_000_000.0);
        assert_eq!(parse_printed("931.9 million").unwrap(), 931_900_000.0);
        assert_eq!(parse_printed("10113million").unwrap(), 10_113_000_000.0);
    }

    #[test]
    fn reads_ratings_percentages_and_chinese_units() {
        assert_eq!(parse_printed("4.5points").unwrap(), 4.5);
        assert_eq!(parse_printed("41.3%").unwrap(), 0.413);
        assert_eq!(parse_printed("83.74 million").unwrap(), 83_740_000.0);
        assert_eq!(parse_printed("2590万").unwrap(), 25_900_000.0);
        assert_eq!(parse_printed("1,234").unwrap(), 1234.0);
        // One rounding only: the nearest double to the printed decimal.
        assert_eq!(
            parse_printed("0.9086952380952381").unwrap(),
            0.9086952380952381
        );
        assert_eq!(parse_printed("0.43600").unwrap(), 0.436);
    }

    #[test]
    fn rejects_what_is_not_a_number() {
        for bad in ["", "/", "abc", "4.5 parsecs", "1.2.3", "--4", "."] {
            assert!(parse_printed(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn agreement_tolerates_only_float_noise() {
        assert!(agrees("931.9 million", 931_900_000.0));
        assert!(!agrees("931.9 million", 931_800_000.0));
        assert!(!agrees("/", 0.0));
    }
}
