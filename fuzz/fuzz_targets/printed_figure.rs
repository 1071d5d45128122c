//! The printed-figure parser (`govlens_dataset::printed`): "494 million",
//! "22thousand", "4.5points", "41.3%", "2590万", "1,234". Every observation, indicator
//! value, aggregate and population read from a bundle goes through it.
//!
//! Checked on any text: no panic; a figure that parses is a finite number that agrees
//! with itself; and, for plain decimal literals (an optional sign, digits, at most one
//! point, no separator or unit), the result is exactly the nearest double, i.e. what
//! Rust's own `f64` parser gives.

#![no_main]

use govlens_dataset::printed::{agrees, parse_printed};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let parsed = parse_printed(&text);
    match &parsed {
        Ok(v) => {
            assert!(v.is_finite(), "{text:?} parsed to {v}");
            assert!(
                agrees(&text, *v),
                "{text:?} disagrees with its own value {v}"
            );
        }
        Err(e) => {
            assert_eq!(e.printed, text.as_ref());
            let _ = e.to_string();
        }
    }
    if is_plain_decimal(text.trim()) {
        let expected: f64 = text.trim().parse().expect("a plain decimal literal");
        let digits = text.bytes().filter(u8::is_ascii_digit).count();
        match parsed {
            Ok(v) => assert_eq!(v, expected, "{text:?}"),
            Err(e) => assert!(digits > 30, "{text:?} rejected: {e}"),
        }
    }
});

/// `[+-]?digits[.digits]`, `[+-]?digits.` or `[+-]?.digits`.
fn is_plain_decimal(s: &str) -> bool {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    !(int.is_empty() && frac.is_empty())
        && int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
}
