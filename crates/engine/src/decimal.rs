//! Exact decimal arithmetic for published-table style rounding.
//!
//! Binary floating point cannot represent most decimal fractions, so "round half
//! away from zero" applied to an `f64` silently rounds the wrong way at exact
//! halves: `(2.5 + 2.8) / 2` is `2.65` in decimal but `2.649999...` in `f64`, and
//! rounds to `2.6` instead of the `2.7` a published table prints.
//!
//! This module computes on exact representations instead:
//! * [`Decimal`] is an exact decimal number (`units * 10^-scale`, `i128` units);
//! * [`Ratio`] is an exact rational number (what a mean of decimals is, e.g. `28/3`);
//! * [`mean_of_decimals`] averages decimal strings exactly;
//! * [`round_half_up`] rounds a [`Ratio`] (or [`Decimal`]) half away from zero to a
//!   number of places and formats it, using long division, so it cannot overflow;
//! * [`round_f64_half_up`] rounds an `f64` as the decimal it prints as (its shortest
//!   round-trip representation), which is what the engine uses for rank precision.
//!
//! ```
//! use govlens_engine::decimal::{mean_of_decimals, round_half_up};
//! let mean = mean_of_decimals(&["2.5", "2.8"]).unwrap();
//! assert_eq!(round_half_up(mean, 1), "2.7");
//! ```

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use crate::error::{EngineError, Result};

/// Largest number of fractional digits a [`Decimal`] may carry.
pub const MAX_SCALE: u32 = 30;

/// An exact decimal number `units * 10^-scale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decimal {
    units: i128,
    scale: u32,
}

impl Decimal {
    /// Builds `units * 10^-scale`.
    pub fn new(units: i128, scale: u32) -> Result<Self> {
        if units == i128::MIN {
            return Err(EngineError::Decimal("value out of range".into()));
        }
        if scale > MAX_SCALE {
            return Err(EngineError::Decimal(format!(
                "scale {scale} exceeds the maximum of {MAX_SCALE}"
            )));
        }
        Ok(Self { units, scale })
    }

    /// Parses a plain decimal literal such as `4.5`, `-0.25`, `+3` or `.5`.
    /// Exponents, separators and surrounding text are rejected; surrounding
    /// whitespace is ignored.
    pub fn parse(text: &str) -> Result<Self> {
        let bad = || EngineError::Decimal(format!("not a decimal number: {text:?}"));
        let s = text.trim();
        let (negative, body) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let (int_part, frac_part) = match body.split_once('.') {
            Some((i, f)) => (i, f),
            None => (body, ""),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(bad());
        }
        if !int_part.bytes().all(|b| b.is_ascii_digit())
            || !frac_part.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let scale = u32::try_from(frac_part.len()).map_err(|_| bad())?;
        if scale > MAX_SCALE {
            return Err(EngineError::Decimal(format!(
                "{text:?} has more than {MAX_SCALE} decimal places"
            )));
        }
        let overflow = || EngineError::Decimal(format!("{text:?} is too large"));
        let mut units: i128 = 0;
        for b in int_part.bytes().chain(frac_part.bytes()) {
            units = units
                .checked_mul(10)
                .and_then(|u| u.checked_add(i128::from(b - b'0')))
                .ok_or_else(overflow)?;
        }
        if negative {
            units = -units;
        }
        Ok(Self { units, scale })
    }

    /// The decimal an `f64` prints as (its shortest round-trip representation),
    /// e.g. `0.1_f64` gives exactly `0.1`. Errors for non-finite values and for
    /// magnitudes that do not fit.
    pub fn from_f64(x: f64) -> Result<Self> {
        if !x.is_finite() {
            return Err(EngineError::Decimal(format!("{x} is not finite")));
        }
        Self::parse(&format!("{x}"))
    }

    /// The integer mantissa.
    pub fn units(&self) -> i128 {
        self.units
    }

    /// The number of fractional digits.
    pub fn scale(&self) -> u32 {
        self.scale
    }

    /// Exact sum (rescaling to the larger scale). Errors on overflow.
    pub fn checked_add(&self, other: &Decimal) -> Result<Decimal> {
        let scale = self.scale.max(other.scale);
        let a = rescale(self.units, scale - self.scale)?;
        let b = rescale(other.units, scale - other.scale)?;
        let units = a
            .checked_add(b)
            .ok_or_else(|| EngineError::Decimal("sum overflows".into()))?;
        Ok(Decimal { units, scale })
    }

    /// The nearest `f64`.
    pub fn to_f64(&self) -> f64 {
        // Parsing the printed form gives the correctly rounded value.
        self.to_string().parse().unwrap_or(f64::NAN)
    }

    /// This value as an exact [`Ratio`].
    pub fn to_ratio(&self) -> Result<Ratio> {
        Ratio::new(self.units, pow10(self.scale)?)
    }
}

impl FromStr for Decimal {
    type Err = EngineError;
    fn from_str(s: &str) -> Result<Self> {
        Decimal::parse(s)
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.units.unsigned_abs().to_string();
        let sign = if self.units < 0 { "-" } else { "" };
        let scale = self.scale as usize;
        if scale == 0 {
            return write!(f, "{sign}{digits}");
        }
        let padded = if digits.len() <= scale {
            format!("{}{}", "0".repeat(scale + 1 - digits.len()), digits)
        } else {
            digits
        };
        let (i, fr) = padded.split_at(padded.len() - scale);
        write!(f, "{sign}{i}.{fr}")
    }
}

/// An exact rational number `num / den` in lowest terms with `den > 0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ratio {
    num: i128,
    den: i128,
}

impl Ratio {
    /// Builds `num / den` reduced to lowest terms. `den` must be non-zero and,
    /// in absolute value, at most `i128::MAX / 10` (so that rounding cannot overflow).
    pub fn new(num: i128, den: i128) -> Result<Self> {
        if den == 0 {
            return Err(EngineError::Decimal("division by zero".into()));
        }
        if num == i128::MIN || den == i128::MIN {
            return Err(EngineError::Decimal("value out of range".into()));
        }
        let (mut num, mut den) = if den < 0 { (-num, -den) } else { (num, den) };
        let g = gcd(num.unsigned_abs(), den.unsigned_abs());
        if g > 1 {
            // g divides both, and both are < 2^127, so g fits.
            let g = g as i128;
            num /= g;
            den /= g;
        }
        if den > i128::MAX / 10 {
            return Err(EngineError::Decimal("denominator too large".into()));
        }
        Ok(Self { num, den })
    }

    /// Numerator (carries the sign).
    pub fn numer(&self) -> i128 {
        self.num
    }

    /// Denominator (always positive).
    pub fn denom(&self) -> i128 {
        self.den
    }

    /// The nearest `f64` (approximate).
    pub fn to_f64(&self) -> f64 {
        self.num as f64 / self.den as f64
    }
}

impl From<Decimal> for Ratio {
    /// Panic-free conversion for decimals whose scale keeps `10^scale` within
    /// range (always true as `scale <= MAX_SCALE`).
    fn from(d: Decimal) -> Self {
        // 10^30 < i128::MAX / 10, so this cannot fail for a valid Decimal.
        d.to_ratio().unwrap_or(Ratio { num: 0, den: 1 })
    }
}

impl PartialOrd for Ratio {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ratio {
    fn cmp(&self, other: &Self) -> Ordering {
        // Compare a/b with c/d via (a*d) vs (c*b), falling back to f64 on overflow.
        match (
            self.num.checked_mul(other.den),
            other.num.checked_mul(self.den),
        ) {
            (Some(l), Some(r)) => l.cmp(&r),
            _ => self.to_f64().total_cmp(&other.to_f64()),
        }
    }
}

impl fmt::Display for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.den == 1 {
            write!(f, "{}", self.num)
        } else {
            write!(f, "{}/{}", self.num, self.den)
        }
    }
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        let t = a % b;
        a = b;
        b = t;
    }
    a
}

fn pow10(exp: u32) -> Result<i128> {
    10i128
        .checked_pow(exp)
        .ok_or_else(|| EngineError::Decimal(format!("10^{exp} overflows")))
}

fn rescale(units: i128, extra: u32) -> Result<i128> {
    units
        .checked_mul(pow10(extra)?)
        .ok_or_else(|| EngineError::Decimal("value too large to rescale".into()))
}

/// The exact arithmetic mean of decimal literals, e.g. `["2.5", "2.8"]` -> `53/20`.
/// Errors on an empty list, an unparsable literal or overflow.
pub fn mean_of_decimals(values: &[&str]) -> Result<Ratio> {
    if values.is_empty() {
        return Err(EngineError::Decimal("mean of an empty list".into()));
    }
    let mut sum = Decimal { units: 0, scale: 0 };
    for v in values {
        sum = sum.checked_add(&Decimal::parse(v)?)?;
    }
    let count =
        i128::try_from(values.len()).map_err(|_| EngineError::Decimal("too many values".into()))?;
    let den = pow10(sum.scale)?
        .checked_mul(count)
        .ok_or_else(|| EngineError::Decimal("denominator overflows".into()))?;
    Ratio::new(sum.units, den)
}

/// Rounds `value` half away from zero to `places` decimals and formats it with
/// exactly `places` fractional digits (no decimal point when `places == 0`).
/// Exact: the decision is taken on the rational value, never on a binary float.
/// A result that rounds to zero is printed without a minus sign.
pub fn round_half_up(value: impl Into<Ratio>, places: u32) -> String {
    let r: Ratio = value.into();
    let negative = r.num < 0;
    let num = r.num.unsigned_abs();
    let den = r.den.unsigned_abs();
    let int_part = num / den;
    let mut rem = num % den;
    let mut frac: Vec<u8> = Vec::with_capacity(places as usize);
    for _ in 0..places {
        // rem < den <= i128::MAX / 10, so rem * 10 cannot overflow u128.
        rem *= 10;
        frac.push((rem / den) as u8);
        rem %= den;
    }
    // Round up when the discarded remainder is at least one half.
    let round_up = rem >= den - rem;
    let mut int_digits: Vec<u8> = int_part.to_string().bytes().map(|b| b - b'0').collect();
    if round_up {
        let mut carry = true;
        for d in frac.iter_mut().rev() {
            if *d == 9 {
                *d = 0;
            } else {
                *d += 1;
                carry = false;
                break;
            }
        }
        if carry {
            for d in int_digits.iter_mut().rev() {
                if *d == 9 {
                    *d = 0;
                } else {
                    *d += 1;
                    carry = false;
                    break;
                }
            }
            if carry {
                int_digits.insert(0, 1);
            }
        }
    }
    let is_zero = int_digits.iter().all(|&d| d == 0) && frac.iter().all(|&d| d == 0);
    let mut out = String::with_capacity(int_digits.len() + frac.len() + 2);
    if negative && !is_zero {
        out.push('-');
    }
    out.extend(int_digits.iter().map(|&d| char::from(b'0' + d)));
    if places > 0 {
        out.push('.');
        out.extend(frac.iter().map(|&d| char::from(b'0' + d)));
    }
    out
}

/// Rounds the decimal literal `text` half away from zero to `places` decimals.
pub fn round_decimal_str(text: &str, places: u32) -> Result<String> {
    Ok(round_half_up(Decimal::parse(text)?.to_ratio()?, places))
}

/// Rounds an `f64` half away from zero to `places` decimals, deciding on the
/// decimal the value prints as (its shortest round-trip representation), and
/// returns the nearest `f64` to the rounded decimal. `2.675_f64` (stored as
/// `2.67499999...`) therefore rounds to `2.68`, like the printed number would.
/// Non-finite values are returned unchanged; `places` above 17 is treated as 17.
pub fn round_f64_half_up(x: f64, places: u32) -> f64 {
    if !x.is_finite() {
        return x;
    }
    let places = places.min(17);
    // Fast path: far from a half, the binary product decides correctly.
    let scale = 10f64.powi(places as i32);
    let y = x.abs() * scale;
    if y < 1e9 {
        let frac = y - y.floor();
        if (frac - 0.5).abs() > 1e-6 {
            let r = y.round() / scale;
            return if x < 0.0 { -r } else { r };
        }
    }
    round_printed(x, places)
}

/// Digit-string rounding of the printed form of `x` (no exponent in `Display`).
fn round_printed(x: f64, places: u32) -> f64 {
    let printed = format!("{}", x.abs());
    let (int_part, frac_part) = printed.split_once('.').unwrap_or((printed.as_str(), ""));
    let places = places as usize;
    if frac_part.len() <= places {
        return x;
    }
    let mut digits: Vec<u8> = int_part
        .bytes()
        .chain(frac_part.bytes().take(places))
        .map(|b| b - b'0')
        .collect();
    let next = frac_part.as_bytes()[places] - b'0';
    if next >= 5 {
        let mut carry = true;
        for d in digits.iter_mut().rev() {
            if *d == 9 {
                *d = 0;
            } else {
                *d += 1;
                carry = false;
                break;
            }
        }
        if carry {
            digits.insert(0, 1);
        }
    }
    let split = digits.len() - places;
    let mut s = String::with_capacity(digits.len() + 2);
    if x < 0.0 {
        s.push('-');
    }
    s.extend(digits[..split].iter().map(|&d| char::from(b'0' + d)));
    if places > 0 {
        s.push('.');
        s.extend(digits[split..].iter().map(|&d| char::from(b'0' + d)));
    }
    s.parse().unwrap_or(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mean_rounded(values: &[&str]) -> String {
        round_half_up(mean_of_decimals(values).unwrap(), 1)
    }

    #[test]
    fn paper_table_2_averages() {
        // Rows of Table 2 (app-store ratings, "/" cells omitted) and the printed average.
        assert_eq!(mean_rounded(&["4.5", "4.7", "4.9", "4.6"]), "4.7"); // Duocaibao
        assert_eq!(mean_rounded(&["4.0", "3.7", "1.7"]), "3.1"); // Gui Ren Service
        assert_eq!(mean_rounded(&["1.0", "2.8", "3.9"]), "2.6"); // Guizhou Tong
        assert_eq!(mean_rounded(&["2.4", "1.7", "1.4", "4.1"]), "2.4"); // Tianfu Tongban
        assert_eq!(mean_rounded(&["1.9", "4.5", "3.9", "4.0"]), "3.6"); // Tianfu Citizen Cloud
        assert_eq!(mean_rounded(&["2.3", "3.4", "2.8"]), "2.8"); // Sichuan earthquake early warning
        assert_eq!(mean_rounded(&["2.5", "2.8"]), "2.7"); // Emergency earthquake information
    }

    #[test]
    fn naive_f64_rounding_fails_where_exact_succeeds() {
        // The f64 mean is stored as 2.64999999999999991..., which formats to 2.6.
        let naive = (2.5f64 + 2.8) / 2.0;
        assert_eq!(format!("{naive:.1}"), "2.6");
        assert_eq!(mean_rounded(&["2.5", "2.8"]), "2.7");
    }

    #[test]
    fn mean_is_exact_rational() {
        let m = mean_of_decimals(&["4.0", "3.7", "1.7"]).unwrap();
        // 9.4 / 3 = 94/30 = 47/15
        assert_eq!((m.numer(), m.denom()), (47, 15));
        assert_eq!(m.to_string(), "47/15");
        let m = mean_of_decimals(&["2.5", "2.8"]).unwrap();
        assert_eq!((m.numer(), m.denom()), (53, 20));
    }

    #[test]
    fn rounding_rules() {
        let r = |n, d, p| round_half_up(Ratio::new(n, d).unwrap(), p);
        assert_eq!(r(5, 2, 0), "3"); // 2.5 -> 3
        assert_eq!(r(-5, 2, 0), "-3"); // -2.5 -> -3 (away from zero)
        assert_eq!(r(-1, 40, 1), "0.0"); // -0.025 -> -0.0 printed as 0.0
        assert_eq!(r(-3, 40, 1), "-0.1"); // -0.075 -> -0.1
        assert_eq!(r(1999, 200, 1), "10.0"); // 9.995 -> 10.0 (carry into integer)
        assert_eq!(r(2, 3, 4), "0.6667");
        assert_eq!(r(1, 3, 4), "0.3333");
        assert_eq!(r(7, 1, 2), "7.00");
        assert_eq!(r(1, 8, 2), "0.13"); // 0.125 -> 0.13
    }

    #[test]
    fn parse_and_display() {
        assert_eq!(Decimal::parse("4.50").unwrap().to_string(), "4.50");
        assert_eq!(Decimal::parse("-0.05").unwrap().to_string(), "-0.05");
        assert_eq!(Decimal::parse(".5").unwrap().to_string(), "0.5");
        assert_eq!(Decimal::parse(" +3 ").unwrap().to_string(), "3");
        for bad in ["", "-", ".", "1e5", "1.2.3", "abc", "1,5", "--1"] {
            assert!(Decimal::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(Decimal::parse("999999999999999999999999999999999999999999").is_err());
        assert!(mean_of_decimals(&[]).is_err());
        assert!(Ratio::new(1, 0).is_err());
    }

    #[test]
    fn decimal_sum_and_ratio() {
        let a = Decimal::parse("1.25").unwrap();
        let b = Decimal::parse("0.5").unwrap();
        assert_eq!(a.checked_add(&b).unwrap().to_string(), "1.75");
        assert_eq!(round_half_up(a, 1), "1.3");
        assert_eq!(Decimal::from_f64(0.1).unwrap().to_string(), "0.1");
        assert_eq!(round_decimal_str("2.65", 1).unwrap(), "2.7");
        assert!(Ratio::new(1, 3).unwrap() < Ratio::new(1, 2).unwrap());
    }

    #[test]
    fn f64_rounding_uses_printed_decimal() {
        assert_eq!(round_f64_half_up(2.675, 2), 2.68); // stored 2.67499999...
        assert_eq!(round_f64_half_up(-2.675, 2), -2.68);
        assert_eq!(round_f64_half_up(0.33759999999999996, 4), 0.3376);
        assert_eq!(round_f64_half_up(0.55206666666, 4), 0.5521);
        assert_eq!(round_f64_half_up(0.12344, 4), 0.1234);
        assert_eq!(round_f64_half_up(9.99995, 4), 10.0);
        assert_eq!(round_f64_half_up(1e12 + 0.5, 0), 1e12 + 1.0);
        assert!(round_f64_half_up(f64::NAN, 2).is_nan());
        assert_eq!(round_f64_half_up(3.0, 2), 3.0);
    }
}
