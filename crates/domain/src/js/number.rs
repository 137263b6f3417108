//! Numbers: ECMAScript `Number::toString` (radix 10) and `Number(string)`.

use std::fmt::Write as _;

use serde_json::Number;

use super::text;

/// Appends `String(x)` to `out`.
///
/// `ryu-js` implements the specification's algorithm (shortest digits that read back as `x`,
/// the closest of them, exact ties to the even digit, plain notation while the decimal exponent
/// is in `-7 < e < 21`, `-0` as `0`), as V8 does; its buffer lives on the stack.
pub fn push_number(out: &mut String, x: f64) {
    out.push_str(ryu_js::Buffer::new().format(x));
}

/// `String(x)`.
pub fn number_string(x: f64) -> String {
    ryu_js::Buffer::new().format(x).to_owned()
}

/// Appends `String(n)` for a JSON number. JavaScript holds every number as a double: integers
/// up to 2^53 print as they are, larger ones (which serde_json keeps exactly) as the double
/// Directus would have parsed them into (`18446744073709551615` gives `18446744073709552000`).
pub fn push_json_number(out: &mut String, n: &Number) {
    const MAX_SAFE: u64 = 1 << 53;
    // Writing into a String cannot fail.
    if let Some(u) = n.as_u64()
        && u <= MAX_SAFE
    {
        let _ = write!(out, "{u}");
    } else if let Some(i) = n.as_i64()
        && i.unsigned_abs() <= MAX_SAFE
    {
        let _ = write!(out, "{i}");
    } else if let Some(f) = n.as_f64() {
        push_number(out, f);
    }
}

/// `!!x` for a number: false for `0`, `-0` and `NaN`.
pub fn truthy(x: f64) -> bool {
    x != 0.0 && !x.is_nan()
}

/// `[+-]? (digits [. digits?]? | . digits) ([eE] [+-]? digits)?`: the decimal literal that
/// `Number()` reads (and that Joi's number coercion accepts).
pub fn is_decimal_literal(t: &str) -> bool {
    let b = t.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = i - int_start;
    let mut frac_digits = 0;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let s = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        frac_digits = i - s;
    }
    if int_digits == 0 && frac_digits == 0 {
        return false;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let s = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == s {
            return false;
        }
    }
    i == b.len()
}

/// `Number(s)`: JavaScript whitespace trimmed, empty is `0`, `Infinity`, `0x` / `0o` / `0b`
/// integers, decimal literals; anything else is `NaN`.
pub fn string_to_number(s: &str) -> f64 {
    let t = text::trim(s);
    if t.is_empty() {
        return 0.0;
    }
    match t {
        "Infinity" | "+Infinity" => return f64::INFINITY,
        "-Infinity" => return f64::NEG_INFINITY,
        _ => {}
    }
    for (prefix, radix) in [
        ("0x", 16),
        ("0X", 16),
        ("0o", 8),
        ("0O", 8),
        ("0b", 2),
        ("0B", 2),
    ] {
        if let Some(digits) = t.strip_prefix(prefix) {
            if digits.is_empty() {
                return f64::NAN;
            }
            let mut acc = 0.0f64;
            for c in digits.chars() {
                let Some(d) = c.to_digit(radix) else {
                    return f64::NAN;
                };
                acc = acc * f64::from(radix) + f64::from(d);
            }
            return acc;
        }
    }
    if is_decimal_literal(t) {
        t.parse::<f64>().unwrap_or(f64::NAN)
    } else {
        f64::NAN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_follows_the_specification() {
        for (n, s) in [
            (0.0, "0"),
            (-0.0, "0"),
            (100.0, "100"),
            (-5.5, "-5.5"),
            (0.1, "0.1"),
            (123.456, "123.456"),
            (1e20, "100000000000000000000"),
            (1e21, "1e+21"),
            (1.5e22, "1.5e+22"),
            (1e-7, "1e-7"),
            (0.000001, "0.000001"),
            (f64::MAX, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
        ] {
            assert_eq!(number_string(n), s, "{n:e}");
        }
    }

    /// The condition's old formatter (Rust's `{:e}` digits) broke exact ties between two
    /// shortest digit strings upwards; V8 takes the even digit. Values as bit patterns,
    /// expected text from Node.
    #[test]
    fn ties_go_to_the_even_digit() {
        let rows: [(u64, &str); 6] = [
            (0x4300_6ceb_23e0_5422, "577919600298628.2"),
            (0xc312_58f3_45e9_45a5, "-1291087863501161.2"),
            (0xc2df_2ee0_75c8_19e8, "-137144779087975.62"),
            (0x42d1_1d77_ce8e_34c8, "75273046997203.12"),
            (0x3ee2_5f6b_2efe_ef54, "0.0000087608"),
            (0x0ece_59f5_7be3_faad, "2.3305165277855885e-237"),
        ];
        for (bits, expected) in rows {
            assert_eq!(number_string(f64::from_bits(bits)), expected, "{bits:#x}");
        }
    }

    #[test]
    fn json_numbers_print_as_the_double_javascript_holds() {
        let print = |n: Number| {
            let mut out = String::new();
            push_json_number(&mut out, &n);
            out
        };
        assert_eq!(
            print(Number::from(9_007_199_254_740_992u64)),
            "9007199254740992"
        );
        assert_eq!(print(Number::from(u64::MAX)), "18446744073709552000");
        assert_eq!(print(Number::from(-42i64)), "-42");
        assert_eq!(
            print(Number::from_f64(0.1).unwrap_or(Number::from(0))),
            "0.1"
        );
    }

    #[test]
    fn strings_read_as_number_does() {
        assert_eq!(string_to_number(" 0x1A "), 26.0);
        assert_eq!(string_to_number(""), 0.0);
        assert_eq!(string_to_number("\u{feff}7\u{2029}"), 7.0);
        assert_eq!(string_to_number("-Infinity"), f64::NEG_INFINITY);
        assert_eq!(string_to_number(".5e1"), 5.0);
        assert!(string_to_number("1_0").is_nan());
        assert!(string_to_number("inf").is_nan());
        // U+0085 is not JavaScript whitespace (Rust's `char::is_whitespace` says it is).
        assert!(string_to_number("\u{85}5").is_nan());
    }
}
