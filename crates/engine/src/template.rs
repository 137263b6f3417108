//! `{{ path }}` rendering of operation options, exactly as Directus does it (templating.md).
//!
//! Directus renders every option with `applyOptionsData` / `renderMustache` / `resolveFn`
//! (`packages/utils/shared/apply-options-data.ts`, `@directus/utils`), built on
//! **micromustache 8.0.3** (`renderFn`, `get`), with no skip keys. This module reproduces it:
//!
//! * a string that is **one whole tag** (`^\{\{\s*([^}\s]+)\s*\}\}$`, JS `\s`) whose path is
//!   found keeps the raw JSON value (object, array, number, bool, null, string);
//! * anything else is tokenized (`{{` … `}}`, at most 1000 UTF-16 code units between them) and
//!   each tag is replaced by its value: missing → `undefined`, objects/arrays/null →
//!   `JSON.stringify` text, strings verbatim, numbers and booleans as JavaScript prints them;
//! * arrays and objects are walked to any depth (keys are never rendered), everything else
//!   passes through unchanged.
//!
//! Paths follow micromustache's `toPath`/`get`: dot and bracket segments, quoted bracket keys,
//! at most [`MAX_PATH_DEPTH`] segments, and only objects and arrays have properties.
//!
//! Error messages are micromustache's `message` texts (without the `SyntaxError: ` prefix; see
//! [`TemplateError::js_name`]). Positions in messages count UTF-16 code units, as JavaScript does.
//!
//! Deliberate differences from Directus, all on paths nobody writes on purpose:
//! * **Inherited properties** (templating.md §2, "guard against this"): JavaScript's `in`
//!   reaches prototype members, so `{{ a.constructor }}` gives a function, `{{ a.__proto__ }}`
//!   gives `Object.prototype` and `{{ arr.map }}` a function. Here only own keys of objects and
//!   the indices and `length` of arrays exist; everything else is missing (`undefined`).
//! * micromustache caches parsed paths in a plain `{}` keyed by the path text, so a *whole* path
//!   equal to an `Object.prototype` member name (`{{ toString }}`, `{{ constructor }}`,
//!   `{{ __proto__ }}`…) hits the prototype instead of the cache and resolves to the whole
//!   scope or to nothing. Here such paths are ordinary keys.
//! * Bounds Directus does not have, so a template can never hang or exhaust memory:
//!   [`MAX_TEMPLATE_BYTES`], [`MAX_TAGS`], [`MAX_OUTPUT_BYTES`].

use std::borrow::Cow;

use serde_json::{Map, Number, Value};

/// Most segments a path may have (micromustache `get` default `depth`); exactly this many is allowed.
pub const MAX_PATH_DEPTH: usize = 10;
/// Most UTF-16 code units between `{{` and `}}` (micromustache `maxVarNameLength`).
pub const MAX_VAR_NAME_LEN: usize = 1000;
/// Longest string (in bytes) that is rendered when it contains `{{`. Not in Directus.
///
/// Strings without `{{` are returned unchanged whatever their length: they are not templates
/// and cost one scan.
pub const MAX_TEMPLATE_BYTES: usize = 1 << 20;
/// Most tags in one string. Not in Directus.
pub const MAX_TAGS: usize = 10_000;
/// Longest rendered string (in bytes). Not in Directus (V8 gives up near 512 MiB).
pub const MAX_OUTPUT_BYTES: usize = 64 << 20;

/// Why a template could not be rendered; the operation that owns it rejects.
///
/// The messages are micromustache 8.0.3's, byte for byte, for every case it has; positions are
/// UTF-16 code-unit offsets of the opening `{{`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// A `{{` with no `}}` within [`MAX_VAR_NAME_LEN`] UTF-16 code units after it.
    #[error(
        "Missing \"}}}}\" in the template for the \"{{{{\" at position {position} within 1000 characters"
    )]
    UnclosedTag { position: usize },
    /// `{{}}` or `{{ }}`: a tag with an empty (or all-whitespace) path.
    #[error("Unexpected \"}}}}\" tag found at position {position}")]
    EmptyTag { position: usize },
    /// A `{{` inside a tag, e.g. `{{ {{ a }} }}`. `name` is the trimmed text of the tag.
    #[error("Variable names cannot have \"{{{{\". But at position {position}. Got \"{name}\"")]
    NestedOpen { position: usize, name: String },
    /// A `[` without a `]` (`a[0`), or a `[` inside unquoted brackets (`a[[0]`).
    #[error("Missing ] in varName \"{name}\"")]
    MissingBracket { name: String },
    /// Empty brackets: `a[]`, `a[ ]`.
    #[error("Unexpected token ]")]
    EmptyBracket,
    /// Quotes in brackets that do not pair up: `a["b]`, `a['b"]`, `a["]`.
    #[error("Mismatching string quotation: \"{name}\"")]
    MismatchedQuote { name: String },
    /// A path that starts with a dot: `.a`.
    #[error("Unexpected . at the start of \"{name}\"")]
    LeadingDot { name: String },
    /// Text right after a `]` without a dot: `a[0]b`.
    #[error("Missing . at the start of \"{name}\"")]
    MissingDot { name: String },
    /// A path that ends with a dot: `a.`, `a.[0]`.
    #[error("Unexpected \".\" at the end of \"{name}\"")]
    TrailingDot { name: String },
    /// Two dots in a row: `a..b`.
    #[error("Empty prop name when parsing \"{name}\"")]
    EmptyPropName { name: String },
    /// More than [`MAX_PATH_DEPTH`] segments; `path` is the segments joined with `" > "`.
    #[error("The path cannot be deeper than 10 levels. Got \"{path}\"")]
    TooDeep { path: String },
    /// A string containing `{{` longer than [`MAX_TEMPLATE_BYTES`]. Not in Directus.
    #[error("The template is {len} bytes long, more than the limit of 1048576")]
    TemplateTooLong { len: usize },
    /// More than [`MAX_TAGS`] tags in one string. Not in Directus.
    #[error("The template has more than 10000 tags")]
    TooManyTags,
    /// The rendered string grew past [`MAX_OUTPUT_BYTES`]. Not in Directus.
    #[error("The rendered template is longer than 67108864 bytes")]
    OutputTooLong,
}

impl TemplateError {
    /// The JavaScript error class Directus throws in this case (`SyntaxError` or
    /// `ReferenceError`); the limits Directus does not have answer `RangeError`.
    pub fn js_name(&self) -> &'static str {
        match self {
            TemplateError::TooDeep { .. } => "ReferenceError",
            TemplateError::TemplateTooLong { .. }
            | TemplateError::TooManyTags
            | TemplateError::OutputTooLong => "RangeError",
            _ => "SyntaxError",
        }
    }
}

/// Renders every string inside `options` (at any depth: objects, arrays) against the chain `data`.
/// Non-string values pass through unchanged.
///
/// Object keys are never rendered. Values are rendered in JavaScript key order (array-index keys
/// such as `"1"` ascending first, then the others in insertion order), which decides which error
/// wins when several strings are broken, and the result keeps that order.
///
/// Directus calls `Object.entries(options)`, so top-level options must be an object (the loader
/// turns a null column into `{}`). For any other top-level value this renders it like a nested
/// value (an array element-wise, null and scalars unchanged) instead of imitating
/// `Object.entries` on it.
pub fn render_options(options: &Value, data: &Value) -> Result<Value, TemplateError> {
    render_value(options, data)
}

/// Renders one string: a whole-string placeholder (`"{{ a.b }}"`, exact rules per templating.md) keeps the raw JSON value
/// (object, number, null...); embedded placeholders render as text (JSON text for objects/arrays, the rules for
/// null/undefined/missing as templating.md says).
///
/// * Whole-string route: the string must match `^\{\{\s*([^}\s]+)\s*\}\}$` (JavaScript `\s`).
///   When the path is found (even as `null`, `false`, `0` or `""`) the value is returned as is;
///   a string value is not rendered again. A missing path falls through to the text route.
/// * Text route: missing → `undefined`; `null` → `null`; objects and arrays → compact
///   `JSON.stringify` text; strings verbatim (no escaping of any kind); numbers as
///   JavaScript's `String(n)` (`1e+21`, `0.1`, `100`); booleans `true`/`false`.
/// * Errors: tag syntax first (the whole string is tokenized before any lookup), then path
///   errors in tag order.
pub fn render_str(template: &str, data: &Value) -> Result<Value, TemplateError> {
    if !template.contains("{{") {
        return Ok(Value::String(template.to_owned()));
    }
    if template.len() > MAX_TEMPLATE_BYTES {
        return Err(TemplateError::TemplateTooLong {
            len: template.len(),
        });
    }
    if let Some(path) = whole_tag_path(template)
        && let Some(value) = lookup(data, path)?
    {
        return Ok(value.into_owned());
    }
    let tokens = tokenize(template)?;
    let mut out = String::with_capacity(template.len());
    for (text, name) in &tokens.parts {
        out.push_str(text);
        let value = lookup(data, name)?;
        append_value(&mut out, value.as_deref());
        if out.len() > MAX_OUTPUT_BYTES {
            return Err(TemplateError::OutputTooLong);
        }
    }
    out.push_str(tokens.tail);
    if out.len() > MAX_OUTPUT_BYTES {
        return Err(TemplateError::OutputTooLong);
    }
    Ok(Value::String(out))
}

/// Looks a path up in `data` (`$trigger.body.items[0].id`, `op_key.field`), as micromustache's `get` does:
/// `Ok(None)` when missing (JS undefined), `Err` when the path is invalid or deeper than the limit.
///
/// Used for the `return` option too (flows-and-operations.md §5.3), where `$all` is the
/// caller's business: here it is an ordinary key. The path is parsed completely before the
/// depth check, so a syntax error anywhere wins over "too deep". An empty or all-whitespace path
/// has no segments and answers `data` itself, as `get` does.
pub fn get_path(data: &Value, path: &str) -> Result<Option<Value>, TemplateError> {
    Ok(lookup(data, path)?.map(Cow::into_owned))
}

fn render_value(value: &Value, data: &Value) -> Result<Value, TemplateError> {
    match value {
        Value::String(s) => render_str(s, data),
        Value::Array(items) => items
            .iter()
            .map(|item| render_value(item, data))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, item) in js_key_order(map) {
                out.insert(key.clone(), render_value(item, data)?);
            }
            Ok(Value::Object(out))
        }
        other => Ok(other.clone()),
    }
}

/// The path of a string that is exactly one tag, per Directus's `^\{\{\s*([^}\s]+)\s*\}\}$`.
fn whole_tag_path(template: &str) -> Option<&str> {
    let inner = template.strip_prefix("{{")?.strip_suffix("}}")?;
    let path = js_trim(inner);
    if path.is_empty() || path.chars().any(|c| c == '}' || is_js_whitespace(c)) {
        return None;
    }
    Some(path)
}

/// A tokenized template: `(text before the tag, trimmed path)` pairs, then the text after the last tag.
struct Tokens<'t> {
    parts: Vec<(&'t str, &'t str)>,
    tail: &'t str,
}

/// micromustache 8.0.3 `tokenize` with the default `{{`/`}}` tags and `maxVarNameLength` 1000.
fn tokenize(template: &str) -> Result<Tokens<'_>, TemplateError> {
    let mut parts = Vec::new();
    let mut current = 0;
    while current < template.len() {
        let Some(found) = template[current..].find("{{") else {
            break;
        };
        let open = current + found;
        let start = open + 2;
        let rest = &template[start..];
        let name_end = match rest.find("}}") {
            // Bytes >= UTF-16 units, so the cheap test settles most tags.
            Some(i) if i <= MAX_VAR_NAME_LEN || utf16_len(&rest[..i]) <= MAX_VAR_NAME_LEN => {
                start + i
            }
            _ => {
                return Err(TemplateError::UnclosedTag {
                    position: utf16_len(&template[..open]),
                });
            }
        };
        let name = js_trim(&template[start..name_end]);
        if name.is_empty() {
            return Err(TemplateError::EmptyTag {
                position: utf16_len(&template[..open]),
            });
        }
        if name.contains("{{") {
            return Err(TemplateError::NestedOpen {
                position: utf16_len(&template[..open]),
                name: name.to_owned(),
            });
        }
        if parts.len() == MAX_TAGS {
            return Err(TemplateError::TooManyTags);
        }
        parts.push((&template[current..open], name));
        current = name_end + 2;
    }
    Ok(Tokens {
        parts,
        tail: &template[current.min(template.len())..],
    })
}

/// Parses and resolves a path; `None` is JavaScript `undefined`.
fn lookup<'a>(data: &'a Value, path: &str) -> Result<Option<Cow<'a, Value>>, TemplateError> {
    let props = to_path(path)?;
    if props.len() > MAX_PATH_DEPTH {
        return Err(TemplateError::TooDeep {
            path: props.join(" > "),
        });
    }
    let mut current = Cow::Borrowed(data);
    for prop in props {
        let next = match &current {
            Cow::Borrowed(value) => own_property(value, prop),
            Cow::Owned(value) => own_property(value, prop).map(|v| Cow::Owned(v.into_owned())),
        };
        match next {
            Some(value) => current = value,
            None => return Ok(None),
        }
    }
    Ok(Some(current))
}

/// micromustache `isProp(x, prop) && x[prop]`, without the prototype chain: objects have their
/// own keys, arrays their indices and `length`, primitives (and null) nothing.
fn own_property<'a>(value: &'a Value, prop: &str) -> Option<Cow<'a, Value>> {
    match value {
        Value::Object(map) => map.get(prop).map(Cow::Borrowed),
        Value::Array(items) if prop == "length" => Some(Cow::Owned(Value::from(items.len()))),
        Value::Array(items) => array_index(prop)
            .and_then(|i| items.get(usize::try_from(i).ok()?))
            .map(Cow::Borrowed),
        _ => None,
    }
}

/// micromustache 8.0.3 `toPath`: splits a path into property names.
fn to_path(var_name: &str) -> Result<Vec<&str>, TemplateError> {
    let mut props = Vec::new();
    let mut current = 0;
    let mut pre_dot = false;
    while current < var_name.len() {
        let Some(found) = var_name[current..].find('[') else {
            break;
        };
        let open = current + found;
        let Some(len) = var_name[open..].find(']') else {
            return Err(TemplateError::MissingBracket {
                name: var_name.to_owned(),
            });
        };
        let close = open + len;
        let prop = js_trim(&var_name[open + 1..close]);
        if prop.is_empty() {
            return Err(TemplateError::EmptyBracket);
        }
        push_prop_names(&mut props, &var_name[current..open], pre_dot)?;
        props.push(prop_between_brackets(prop)?);
        pre_dot = true;
        current = close + 1;
    }
    push_prop_names(
        &mut props,
        &var_name[current.min(var_name.len())..],
        pre_dot,
    )?;
    Ok(props)
}

/// micromustache `pushPropName`: the dotted text before, between or after bracket segments.
fn push_prop_names<'p>(
    props: &mut Vec<&'p str>,
    raw: &'p str,
    pre_dot: bool,
) -> Result<(), TemplateError> {
    let mut name = js_trim(raw);
    if name.is_empty() {
        return Ok(());
    }
    if let Some(rest) = name.strip_prefix('.') {
        if !pre_dot {
            return Err(TemplateError::LeadingDot {
                name: raw.to_owned(),
            });
        }
        name = js_trim(rest);
        if name.is_empty() {
            return Ok(());
        }
    } else if pre_dot {
        return Err(TemplateError::MissingDot {
            name: raw.to_owned(),
        });
    }
    if name.ends_with('.') {
        return Err(TemplateError::TrailingDot {
            name: raw.to_owned(),
        });
    }
    for part in name.split('.') {
        let part = js_trim(part);
        if part.is_empty() {
            return Err(TemplateError::EmptyPropName {
                name: raw.to_owned(),
            });
        }
        props.push(part);
    }
    Ok(())
}

/// micromustache `propBetweenBrackets`: strips matching quotes (`'`, `"`, `` ` ``), rejects a
/// stray `[`, and drops a leading `+` (`a[+1]` is `a[1]`). `prop` is trimmed and not empty.
fn prop_between_brackets(prop: &str) -> Result<&str, TemplateError> {
    let is_quote = |c: Option<char>| matches!(c, Some('\'' | '"' | '`'));
    let first = prop.chars().next();
    let last = prop.chars().next_back();
    if is_quote(first) || is_quote(last) {
        if prop.len() < 2 || first != last {
            return Err(TemplateError::MismatchedQuote {
                name: prop.to_owned(),
            });
        }
        // Both ends are one-byte quote characters.
        return Ok(&prop[1..prop.len() - 1]);
    }
    if prop.contains('[') {
        return Err(TemplateError::MissingBracket {
            name: prop.to_owned(),
        });
    }
    Ok(prop.strip_prefix('+').unwrap_or(prop))
}

/// How `renderFn` with `explicit: true` appends what `resolveFn` returned.
fn append_value(out: &mut String, value: Option<&Value>) {
    match value {
        None => out.push_str("undefined"),
        Some(Value::String(s)) => out.push_str(s),
        Some(Value::Bool(b)) => out.push_str(if *b { "true" } else { "false" }),
        Some(Value::Number(n)) => push_js_number(out, n),
        Some(other) => push_json(out, other),
    }
}

/// `JSON.stringify(value)`: compact, keys in JavaScript order, numbers as JavaScript prints them.
fn push_json(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => push_js_number(out, n),
        Value::String(s) => push_json_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_json(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in js_key_order(map).into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_json_string(out, key);
                out.push(':');
                push_json(out, item);
            }
            out.push('}');
        }
    }
}

/// `JSON.stringify` of a string: `"` and `\` escaped, control characters as `\b \t \n \f \r`
/// or `\u00xx` (lowercase hex); nothing else (not `/`, DEL or U+2028) is escaped.
fn push_json_string(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => {
                let code = c as usize;
                out.push_str("\\u00");
                out.push(char::from(HEX[code >> 4]));
                out.push(char::from(HEX[code & 0xf]));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Own keys in JavaScript order: array-index keys (`"0"`…`"4294967294"`, canonical) ascending,
/// then the others in insertion order.
fn js_key_order(map: &Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut indexed: Vec<(u32, &String, &Value)> = map
        .iter()
        .filter_map(|(k, v)| array_index(k).map(|i| (i, k, v)))
        .collect();
    if indexed.is_empty() {
        return map.iter().collect();
    }
    indexed.sort_unstable_by_key(|(i, _, _)| *i);
    let mut ordered: Vec<(&String, &Value)> = indexed.into_iter().map(|(_, k, v)| (k, v)).collect();
    ordered.extend(map.iter().filter(|(k, _)| array_index(k).is_none()));
    ordered
}

/// A JavaScript array index: the canonical decimal form of an integer below 2^32 - 1.
fn array_index(key: &str) -> Option<u32> {
    if key.is_empty() || key.len() > 10 || !key.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if key.len() > 1 && key.starts_with('0') {
        return None;
    }
    let n: u64 = key.parse().ok()?;
    u32::try_from(n).ok().filter(|i| *i != u32::MAX)
}

/// JavaScript `String(n)` for a JSON number. JavaScript numbers are doubles: integers up to
/// 2^53 print as they are, larger ones (which serde_json keeps exactly) print as the double
/// Directus would have parsed them into (`18446744073709551615` → `18446744073709552000`).
fn push_js_number(out: &mut String, n: &Number) {
    const MAX_SAFE: u64 = 1 << 53;
    if let Some(u) = n.as_u64()
        && u <= MAX_SAFE
    {
        out.push_str(&u.to_string());
    } else if let Some(i) = n.as_i64()
        && i.unsigned_abs() <= MAX_SAFE
    {
        out.push_str(&i.to_string());
    } else if let Some(f) = n.as_f64() {
        out.push_str(&js_f64_to_string(f));
    }
}

/// ECMAScript `Number::toString(x)` (radix 10).
///
/// templating.md marks edge floats UNCERTAIN. Choice: the digits are Rust's shortest
/// round-trip representation (`{:e}`, the closest shortest digit string, the same contract as
/// the ECMAScript spec and V8), laid out with the spec's rules: plain digits while the decimal
/// exponent is in `-7 < e < 21`, otherwise `d.ddde±x` (`1e+21`, `1e-7`, `1.5e+300`); `-0` is `0`.
fn js_f64_to_string(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    if f == 0.0 {
        return "0".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    let sci = format!("{:e}", f.abs());
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let exponent: i64 = exponent.parse().unwrap_or(0);
    let k = i64::try_from(digits.len()).unwrap_or(i64::MAX);
    let n = exponent + 1;
    let mut out = String::new();
    if f < 0.0 {
        out.push('-');
    }
    if k <= n && n <= 21 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n(
            '0',
            usize::try_from(n - k).unwrap_or(0),
        ));
    } else if 0 < n && n <= 21 {
        let split = usize::try_from(n).unwrap_or(0);
        out.push_str(&digits[..split]);
        out.push('.');
        out.push_str(&digits[split..]);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', usize::try_from(-n).unwrap_or(0)));
        out.push_str(&digits);
    } else {
        let e = n - 1;
        let (head, rest) = digits.split_at(1);
        out.push_str(head);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        out.push('e');
        out.push(if e < 0 { '-' } else { '+' });
        out.push_str(&e.unsigned_abs().to_string());
    }
    out
}

/// JavaScript `\s` / `String.prototype.trim` whitespace: WhiteSpace and LineTerminator.
/// Unlike Rust's `char::is_whitespace`, it includes U+FEFF and excludes U+0085.
fn is_js_whitespace(c: char) -> bool {
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

fn js_trim(s: &str) -> &str {
    s.trim_matches(is_js_whitespace)
}

fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}
