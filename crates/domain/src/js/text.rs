//! The one whitespace set: ECMAScript's WhiteSpace and LineTerminator productions, which `\s`,
//! `String.prototype.trim`, `Number(string)` and `Date` parsing all use.

/// Whether `c` is JavaScript whitespace.
///
/// Rust's `char::is_whitespace` is the Unicode White_Space property: it counts U+0085 (NEXT
/// LINE), which JavaScript does not, and misses U+FEFF, which JavaScript counts.
pub fn is_whitespace(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202f}'
                | '\u{205f}'
                | '\u{3000}'
                | '\u{feff}'
    )
}

/// `String.prototype.trim`.
pub fn trim(s: &str) -> &str {
    s.trim_matches(is_whitespace)
}

/// The first non-empty parenthesised group, as `/\(([^)]+)\)/` captures it: the adjustment of
/// `$NOW(...)` and the field of a `fn(field)` filter key.
pub fn parenthesised(s: &str) -> Option<&str> {
    for (i, _) in s.match_indices('(') {
        let rest = &s[i + 1..];
        if let Some(j) = rest.find(')')
            && j > 0
        {
            return Some(&rest[..j]);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_line_is_not_whitespace_and_bom_is() {
        assert!(!is_whitespace('\u{85}'));
        assert!(is_whitespace('\u{feff}'));
        assert!(is_whitespace('\u{3000}'));
        assert!(!is_whitespace('\u{200b}'));
        assert_eq!(trim("\u{feff} \t x \u{2028}"), "x");
        assert_eq!(trim("\u{85}x\u{85}"), "\u{85}x\u{85}");
    }

    #[test]
    fn first_non_empty_group() {
        assert_eq!(parenthesised("$NOW(-1 day)"), Some("-1 day"));
        assert_eq!(parenthesised("f()(x)"), Some("x"));
        assert_eq!(parenthesised("year(date)"), Some("date"));
        assert_eq!(parenthesised("f(("), None);
    }
}
