//! Escaping and number formatting shared by the renderers.

/// Escapes text for XML/HTML text content and attribute values.
///
/// `&`, `<`, `>`, `"` and `'` become character references; characters that are
/// not allowed in XML 1.0 (most C0 controls, lone surrogates cannot occur in a
/// Rust string, U+FFFE, U+FFFF) become U+FFFD so the output stays well-formed.
pub fn escape_xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for inline GitHub-flavoured Markdown, including table cells.
///
/// Line breaks become spaces; `&`, `<` and `>` become character references (so no
/// raw HTML survives); Markdown metacharacters and `|` are backslash-escaped; a
/// leading list/heading marker is neutralised.
pub fn escape_md(s: &str) -> String {
    let lead = s.len() - s.trim_start().len();
    let rest = &s[lead..];
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let marker_follows = |at: usize| rest.as_bytes().get(at).is_none_or(u8::is_ascii_whitespace);
    // "1. foo" or "1) foo" at the start would start an ordered list.
    let list_delim = (digits > 0
        && matches!(rest.as_bytes().get(digits), Some(b'.' | b')'))
        && marker_follows(digits + 1))
    .then_some(lead + digits);
    // "- foo", "+ foo", "---", "===" at the start would start a list or a rule.
    let lead_marker = match rest.as_bytes() {
        [c @ (b'-' | b'+' | b'='), ..] => marker_follows(1) || rest.as_bytes().get(1) == Some(c),
        _ => false,
    };
    let mut out = String::with_capacity(s.len() + 8);
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\r' => {
                if chars.peek().map(|&(_, n)| n) == Some('\n') {
                    chars.next();
                }
                out.push(' ');
            }
            '\n' => out.push(' '),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '~' | '!' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            '-' | '+' | '=' if i == lead && lead_marker => {
                out.push('\\');
                out.push(c);
            }
            '.' | ')' if Some(i) == list_delim => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 && c != '\t' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Rounds to `decimals` places and formats; `-0` prints as `0`. Non-finite
/// values print as "n/a".
pub fn fixed(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        return "n/a".to_string();
    }
    let s = format!("{v:.decimals$}");
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_string()
    } else {
        s
    }
}

/// A score in 0..=1 with three decimals, or "n/a".
pub fn score(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".to_string(), |v| fixed(v, 3))
}

/// A signed difference with three decimals ("+0.050", "-0.010", "±0.000"), or "n/a".
pub fn delta(before: Option<f64>, after: Option<f64>) -> String {
    match (before, after) {
        (Some(b), Some(a)) if (a - b).is_finite() => {
            let d = fixed(a - b, 3);
            if d.starts_with('-') {
                d
            } else if d.chars().all(|c| c == '0' || c == '.') {
                format!("\u{00B1}{d}")
            } else {
                format!("+{d}")
            }
        }
        _ => "n/a".to_string(),
    }
}

/// A rank ("#1"), or "unranked".
pub fn rank(r: Option<u32>) -> String {
    r.map_or_else(|| "unranked".to_string(), |r| format!("#{r}"))
}

/// An SVG coordinate with one decimal.
pub fn coord(v: f64) -> String {
    fixed(v, 1)
}

/// Splits `s` into lines of at most about `width` characters at whitespace
/// (a word longer than `width` stays whole), at most `max_lines` lines; the
/// last line gets an ellipsis when text was cut.
pub fn wrap(s: &str, width: usize, max_lines: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    for word in s.split_whitespace() {
        if cur.is_empty() {
            cur.push_str(word);
        } else if cur.chars().count() + 1 + word.chars().count() <= width {
            cur.push(' ');
            cur.push_str(word);
        } else {
            lines.push(std::mem::take(&mut cur));
            cur.push_str(word);
        }
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    if lines.len() > max_lines.max(1) {
        lines.truncate(max_lines.max(1));
        if let Some(last) = lines.last_mut() {
            last.push('\u{2026}');
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escapes_all_five_and_controls() {
        assert_eq!(
            escape_xml("<a href=\"x\">'&'</a>\u{1}"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;\u{FFFD}"
        );
    }

    #[test]
    fn md_escapes_pipes_html_and_markers() {
        assert_eq!(escape_md("a|b"), "a\\|b");
        assert_eq!(escape_md("<script>"), "&lt;script&gt;");
        assert_eq!(escape_md("&amp;"), "&amp;amp;");
        assert_eq!(escape_md("# h"), "\\# h");
        assert_eq!(escape_md("- x"), "\\- x");
        assert_eq!(escape_md("12. x"), "12\\. x");
        assert_eq!(escape_md("3.1.1"), "3.1.1");
        assert_eq!(escape_md("4.5points"), "4.5points");
        assert_eq!(escape_md("1."), "1\\.");
        assert_eq!(escape_md("-x"), "-x");
        assert_eq!(escape_md("---"), "\\---");
        assert_eq!(escape_md("a\r\nb\nc"), "a b c");
        assert_eq!(escape_md("a-b 1. c"), "a-b 1. c");
        assert_eq!(escape_md("*_`[x]"), "\\*\\_\\`\\[x\\]");
    }

    #[test]
    fn numbers_are_stable() {
        assert_eq!(fixed(-0.0001, 3), "0.000");
        assert_eq!(fixed(0.6125, 1), "0.6");
        assert_eq!(score(None), "n/a");
        assert_eq!(score(Some(f64::NAN)), "n/a");
        assert_eq!(delta(Some(0.5), Some(0.55)), "+0.050");
        assert_eq!(delta(Some(0.5), Some(0.45)), "-0.050");
        assert_eq!(delta(Some(0.5), Some(0.5)), "\u{00B1}0.000");
        assert_eq!(rank(Some(2)), "#2");
    }

    #[test]
    fn wrap_breaks_at_words() {
        assert_eq!(
            wrap("\"Tianfu Citizen Cloud\" App", 14, 3),
            vec!["\"Tianfu", "Citizen Cloud\"", "App"]
        );
        assert_eq!(wrap("a b c d", 1, 2), vec!["a", "b\u{2026}"]);
    }
}
