//! Exact decimal helpers on top of [`govlens_engine::decimal`]: reading a record's value
//! as the exact decimal it was printed as, sums, differences, means and formatting.

use std::cmp::Ordering;

use govlens_dataset::printed::parse_printed;
use govlens_engine::decimal::{mean_of_decimals, Decimal, Ratio};

/// Powers of ten a printed unit can stand for (see `govlens_dataset::printed`): none or
/// "points", thousand, 万, million, 亿, billion, and "%".
const UNIT_POWERS: &[i32] = &[0, 3, 4, 6, 8, 9, -2];

/// True when two floats agree up to float noise (relative 1e-9).
pub fn close(a: f64, b: f64) -> bool {
    let scale = a.abs().max(b.abs()).max(1e-12);
    (a - b).abs() / scale <= 1e-9
}

/// `d * 10^power`, exactly; `None` when it does not fit.
pub fn shift(d: Decimal, power: i32) -> Option<Decimal> {
    if power >= 0 {
        let p = power.unsigned_abs();
        if p <= d.scale() {
            Decimal::new(d.units(), d.scale() - p).ok()
        } else {
            let factor = 10i128.checked_pow(p - d.scale())?;
            Decimal::new(d.units().checked_mul(factor)?, 0).ok()
        }
    } else {
        Decimal::new(d.units(), d.scale().checked_add(power.unsigned_abs())?).ok()
    }
}

/// The exact value of a printed figure, unit applied, keeping the printed precision:
/// `"4.0points"` is `4.0` (scale 1), `"931.9 million"` is `931900000`, `"41.3%"` is
/// `0.413`. `None` when the text is not a figure `govlens_dataset` can read.
pub fn printed_decimal(printed: &str) -> Option<Decimal> {
    let parsed = parse_printed(printed).ok()?;
    let text = printed.trim();
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | ',' | '-' | '+')))
        .unwrap_or(text.len());
    let number: String = text[..end].chars().filter(|c| *c != ',').collect();
    let base = Decimal::parse(&number).ok()?;
    UNIT_POWERS
        .iter()
        .filter_map(|&p| shift(base, p))
        .find(|d| close(d.to_f64(), parsed))
}

/// The text after a printed figure's number, lower-cased ("million", "points", "" for
/// a bare number).
pub fn printed_unit(printed: &str) -> String {
    let text = printed.trim();
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | ',' | '-' | '+')))
        .unwrap_or(text.len());
    text[end..].trim().to_lowercase()
}

/// The exact decimal of a record's value: the printed figure when it agrees with
/// `value` (so the printed precision is kept), else the decimal `value` prints as;
/// the printed figure when `value` is absent. `None` when neither is usable.
pub fn exact_value(value: Option<f64>, printed: &str) -> Option<Decimal> {
    match value {
        Some(v) if v.is_finite() => match printed_decimal(printed) {
            Some(d) if close(d.to_f64(), v) => Some(d),
            _ => Decimal::from_f64(v).ok(),
        },
        Some(_) => None,
        None => printed_decimal(printed),
    }
}

/// The exact sum (zero for no values); `None` on overflow.
pub fn sum<'a>(values: impl IntoIterator<Item = &'a Decimal>) -> Option<Decimal> {
    let mut total = Decimal::new(0, 0).ok()?;
    for v in values {
        total = total.checked_add(v).ok()?;
    }
    Some(total)
}

/// `a - b` exactly; `None` on overflow.
pub fn difference(a: &Decimal, b: &Decimal) -> Option<Decimal> {
    let negated = Decimal::new(-b.units(), b.scale()).ok()?;
    a.checked_add(&negated).ok()
}

/// `|d|`.
pub fn abs(d: &Decimal) -> Decimal {
    if d.units() < 0 {
        Decimal::new(-d.units(), d.scale()).unwrap_or(*d)
    } else {
        *d
    }
}

/// Exact numeric order.
pub fn cmp(a: &Decimal, b: &Decimal) -> Ordering {
    Ratio::from(*a).cmp(&Ratio::from(*b))
}

/// The exact mean; `None` for an empty list or on overflow.
pub fn mean(values: &[Decimal]) -> Option<Ratio> {
    let texts: Vec<String> = values.iter().map(Decimal::to_string).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    mean_of_decimals(&refs).ok()
}

/// The exact mean of rationals; `None` for an empty list or on overflow.
pub fn mean_of_ratios(values: &[Ratio]) -> Option<Ratio> {
    let mut total = Ratio::new(0, 1).ok()?;
    for v in values {
        let num = total
            .numer()
            .checked_mul(v.denom())?
            .checked_add(v.numer().checked_mul(total.denom())?)?;
        let den = total.denom().checked_mul(v.denom())?;
        total = Ratio::new(num, den).ok()?;
    }
    let n = i128::try_from(values.len()).ok().filter(|n| *n > 0)?;
    Ratio::new(total.numer(), total.denom().checked_mul(n)?).ok()
}

/// The largest scale (number of printed decimals) among `values`; 0 when empty.
pub fn max_scale(values: &[Decimal]) -> u32 {
    values.iter().map(Decimal::scale).max().unwrap_or(0)
}

/// `d` without trailing fractional zeros (`4.50` -> `4.5`, `3.0` -> `3`).
pub fn normalized(d: Decimal) -> Decimal {
    let (mut units, mut scale) = (d.units(), d.scale());
    while scale > 0 && units % 10 == 0 {
        units /= 10;
        scale -= 1;
    }
    Decimal::new(units, scale).unwrap_or(d)
}

/// `d` with thousands separators: `774460000` -> `774,460,000`.
pub fn grouped(d: &Decimal) -> String {
    let text = normalized(*d).to_string();
    let (sign, body) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text.as_str()),
    };
    let (int_part, frac_part) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    let mut out = String::with_capacity(text.len() + int_part.len() / 3);
    out.push_str(sign);
    for (i, c) in int_part.chars().enumerate() {
        if i > 0 && (int_part.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(f) = frac_part {
        out.push('.');
        out.push_str(f);
    }
    out
}

/// A count for messages: `774,460,000 (774.46 million)`, or just the grouped figure
/// below a million.
pub fn describe_count(d: &Decimal) -> String {
    let million = Decimal::new(1_000_000, 0).ok();
    let large = million.is_some_and(|m| cmp(&abs(d), &m) != Ordering::Less);
    match shift(*d, -6).filter(|_| large) {
        Some(m) => format!("{} ({} million)", grouped(d), normalized(m)),
        None => grouped(d),
    }
}

/// True for a `YYYY-MM-DD` date with month 01-12 and day 01-31 (the form whose text
/// order is date order).
pub fn is_iso_date(text: &str) -> bool {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    if !b
        .iter()
        .enumerate()
        .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
    {
        return false;
    }
    let month = (b[5] - b'0') * 10 + (b[6] - b'0');
    let day = (b[8] - b'0') * 10 + (b[9] - b'0');
    (1..=12).contains(&month) && (1..=31).contains(&day)
}

/// The year of a `YYYY-MM-DD` date.
pub fn year_of(date: &str) -> Option<i32> {
    if is_iso_date(date) {
        date.get(..4)?.parse().ok()
    } else {
        None
    }
}

/// A finite float, or `None`.
pub fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        Decimal::parse(text).unwrap()
    }

    #[test]
    fn printed_figures_keep_their_precision_and_units() {
        assert_eq!(printed_decimal("4.0points").unwrap().to_string(), "4.0");
        assert_eq!(
            printed_decimal("931.9 million").unwrap().to_string(),
            "931900000"
        );
        assert_eq!(printed_decimal("22thousand").unwrap().to_string(), "22000");
        assert_eq!(printed_decimal("41.3%").unwrap().to_string(), "0.413");
        assert_eq!(printed_decimal("1,234").unwrap().to_string(), "1234");
        assert_eq!(printed_decimal("2590万").unwrap().to_string(), "25900000");
        assert!(printed_decimal("/").is_none());
        assert!(printed_decimal("").is_none());
        assert_eq!(printed_unit("494 million"), "million");
        assert_eq!(printed_unit("10000"), "");
    }

    #[test]
    fn exact_value_prefers_an_agreeing_printed_figure() {
        assert_eq!(
            exact_value(Some(4.0), "4.0points").unwrap().to_string(),
            "4.0"
        );
        assert_eq!(
            exact_value(Some(4.1), "4.0points").unwrap().to_string(),
            "4.1"
        );
        assert_eq!(
            exact_value(None, "3million").unwrap().to_string(),
            "3000000"
        );
        assert_eq!(exact_value(Some(0.1), "").unwrap().to_string(), "0.1");
        assert!(exact_value(Some(f64::NAN), "4").is_none());
        assert!(exact_value(Some(1e300), "").is_none());
        assert!(exact_value(None, "n/a").is_none());
    }

    #[test]
    fn arithmetic_and_formatting() {
        assert_eq!(sum(&[d("1.5"), d("2.25")]).unwrap().to_string(), "3.75");
        assert_eq!(sum(&[]).unwrap().to_string(), "0");
        assert_eq!(difference(&d("4.1"), &d("1.4")).unwrap().to_string(), "2.7");
        assert_eq!(cmp(&d("2.50"), &d("2.5")), Ordering::Equal);
        assert_eq!(mean(&[d("2.5"), d("2.8")]).unwrap().to_string(), "53/20");
        assert!(mean(&[]).is_none());
        let r = |n, d| Ratio::new(n, d).unwrap();
        assert_eq!(
            mean_of_ratios(&[r(1, 3), r(1, 6)]).unwrap().to_string(),
            "1/4"
        );
        assert!(mean_of_ratios(&[]).is_none());
        assert_eq!(grouped(&d("774460000")), "774,460,000");
        assert_eq!(grouped(&d("-1234.50")), "-1,234.5");
        assert_eq!(
            describe_count(&d("774460000")),
            "774,460,000 (774.46 million)"
        );
        assert_eq!(describe_count(&d("64000")), "64,000");
        assert_eq!(shift(d("1.5"), 2).unwrap().to_string(), "150");
    }

    #[test]
    fn dates() {
        assert!(is_iso_date("2023-05-25"));
        assert!(!is_iso_date("2023-5-25"));
        assert!(!is_iso_date("2023-13-01"));
        assert!(!is_iso_date("２０２３-05-25"));
        assert_eq!(year_of("2022-12-31"), Some(2022));
        assert_eq!(year_of("soon"), None);
    }
}
