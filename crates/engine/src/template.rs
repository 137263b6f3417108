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
//! Where templating.md is UNCERTAIN or approximate, and what this module does:
//! * "JS-style `to_string`, UNCERTAIN for edge floats": numbers print exactly as ECMAScript
//!   `Number::toString` (shortest round-trip digits, ties to even, `1e+21` / `1e-7` thresholds),
//!   through `domain::js`. Integers above 2^53, which serde_json keeps exactly, print as the
//!   double JavaScript would have.
//! * "a path longer than ~1000 characters": exactly 1000 UTF-16 code units between `{{` and
//!   `}}` (micromustache's `substr(start, 1000 + 2)` window), surrounding spaces included.
//! * Non-JSON chain values (a JS `Date`; "UNCERTAIN for every DB driver"): the chain here is
//!   JSON only, so such values must already be strings when they enter it.
//!
//! The tokenizer, path parser and stringifier were also checked against micromustache 8.0.3's
//! code plus Directus's `renderMustache` under Node on 100,000 generated templates (0 differences).
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

use domain::js;
use serde_json::{Map, Value};

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

/// Whether rendering `options` can read the data chain: some string in them (a value or a
/// key) holds a placeholder.
pub fn has_placeholders(options: &Value) -> bool {
    match options {
        Value::String(s) => s.contains("{{"),
        Value::Array(items) => items.iter().any(has_placeholders),
        Value::Object(map) => map
            .iter()
            .any(|(key, value)| key.contains("{{") || has_placeholders(value)),
        _ => false,
    }
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
            for (key, item) in js::key_order(map) {
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
    let path = js::trim(inner);
    if path.is_empty() || path.chars().any(|c| c == '}' || js::is_whitespace(c)) {
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
        let name = js::trim(&template[start..name_end]);
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
        Value::Array(items) => js::array_index(prop)
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
        let prop = js::trim(&var_name[open + 1..close]);
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
    let mut name = js::trim(raw);
    if name.is_empty() {
        return Ok(());
    }
    if let Some(rest) = name.strip_prefix('.') {
        if !pre_dot {
            return Err(TemplateError::LeadingDot {
                name: raw.to_owned(),
            });
        }
        name = js::trim(rest);
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
        let part = js::trim(part);
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
        Some(Value::Number(n)) => js::push_json_number(out, n),
        Some(other) => push_json(out, other),
    }
}

/// `JSON.stringify(value)`: compact, keys in JavaScript order, numbers as JavaScript prints them.
fn push_json(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => js::push_json_number(out, n),
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
            for (i, (key, item)) in js::key_order(map).into_iter().enumerate() {
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

fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// One table row: a name saying what it shows, the template, the scope and the expected
    /// result (`Err` holds the error's exact message).
    struct Case {
        name: &'static str,
        template: String,
        data: Value,
        expected: Result<Value, String>,
    }

    fn ok(name: &'static str, template: impl Into<String>, data: &Value, expected: Value) -> Case {
        Case {
            name,
            template: template.into(),
            data: data.clone(),
            expected: Ok(expected),
        }
    }

    fn err(name: &'static str, template: impl Into<String>, data: &Value, message: &str) -> Case {
        Case {
            name,
            template: template.into(),
            data: data.clone(),
            expected: Err(message.to_owned()),
        }
    }

    fn run(cases: Vec<Case>) {
        let mut failures = Vec::new();
        for case in cases {
            let got = render_str(&case.template, &case.data).map_err(|e| e.to_string());
            if got != case.expected {
                failures.push(format!(
                    "{}: template {:?}\n   expected {:?}\n   got      {:?}",
                    case.name, case.template, case.expected, got
                ));
            }
        }
        assert!(
            failures.is_empty(),
            "{} failing rows:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    fn s(text: &str) -> Value {
        Value::String(text.to_owned())
    }

    /// The chain of templating.md §3.
    fn chain3() -> Value {
        json!({
            "$trigger": {"payload": {"title": "Hi", "n": 5, "nil": null, "arr": [1, 2], "obj": {"a": 1}}},
            "$last": {"a": 1},
            "$accountability": null
        })
    }

    /// A chain for the path-syntax rows of templating.md §2.
    fn chain2() -> Value {
        json!({
            "$trigger": {"payload": {"title": "Hi"}, "s": "str", "body": {"items": [{"id": 7}]}},
            "$last": {"a": 1},
            "$env": {"FOO": "bar"},
            "$accountability": {"user": "u1", "role": null},
            "op1": [{"id": 1}, {"id": 2}],
            "a": {"b.c": 3, "x y": 2, "b": {"c": 4}, "": "empty key"},
            "key-with-dash": "dash",
            "arr": [1, 2, 3],
            "x": "X",
            "deep": {"l2": {"l3": {"l4": {"l5": {"l6": {"l7": {"l8": {"l9": {"l10": "bottom"}}}}}}}}}
        })
    }

    // templating.md §2: path syntax.
    #[test]
    fn path_syntax() {
        let c = chain2();
        run(vec![
            ok("dot segments", "{{ $trigger.payload.title }}", &c, s("Hi")),
            ok("bracket index", "{{ op1[0].id }}", &c, json!(1)),
            ok(
                "numeric dot segment is the same as a bracket index",
                "{{ op1.0.id }}",
                &c,
                json!(1),
            ),
            ok(
                "quoted bracket key",
                "{{ $trigger[\"payload\"].title }}",
                &c,
                s("Hi"),
            ),
            ok(
                "quoted bracket key may contain dots",
                "{{ a[\"b.c\"] }}",
                &c,
                json!(3),
            ),
            ok("single-quoted bracket key", "{{ a['b.c'] }}", &c, json!(3)),
            ok(
                "backtick-quoted bracket key",
                "{{ a[`b.c`] }}",
                &c,
                json!(3),
            ),
            ok("unquoted dots split segments", "{{ a.b.c }}", &c, json!(4)),
            ok("key with a dash", "{{ key-with-dash }}", &c, s("dash")),
            ok(
                "$trigger is an ordinary key",
                "{{ $trigger.s }}",
                &c,
                s("str"),
            ),
            ok("$last is an ordinary key", "{{ $last.a }}", &c, json!(1)),
            ok("$env is an ordinary key", "{{ $env.FOO }}", &c, s("bar")),
            ok(
                "$accountability is an ordinary key",
                "{{ $accountability.user }}",
                &c,
                s("u1"),
            ),
            ok(
                "array length (arrays are objects)",
                "{{ arr.length }}",
                &c,
                json!(3),
            ),
            ok("array length embedded", "n={{ arr.length }}", &c, s("n=3")),
            ok(
                "string property is not reachable",
                "{{ $trigger.s.length }}",
                &c,
                s("undefined"),
            ),
            ok("negative index", "{{ arr[-1] }}", &c, s("undefined")),
            ok("index past the end", "{{ arr[3] }}", &c, s("undefined")),
            ok(
                "inherited prop guarded: a.constructor",
                "{{ a.constructor }}",
                &c,
                s("undefined"),
            ),
            ok(
                "inherited prop guarded: __proto__",
                "{{ a.__proto__ }}",
                &c,
                s("undefined"),
            ),
            ok(
                "inherited prop guarded: toString",
                "x={{ a.toString }}",
                &c,
                s("x=undefined"),
            ),
            ok(
                "inherited prop guarded: array method",
                "{{ arr.map }}",
                &c,
                s("undefined"),
            ),
            ok(
                "inherited prop guarded: top-level name",
                "{{ constructor }}",
                &c,
                s("undefined"),
            ),
            ok(
                "depth limit: exactly 10 segments allowed",
                "{{ deep.l2.l3.l4.l5.l6.l7.l8.l9.l10 }}",
                &c,
                s("bottom"),
            ),
            ok(
                "depth limit: 10 missing segments are just undefined",
                "{{ a.b.c.d.e.f.g.h.i.j }}",
                &c,
                s("undefined"),
            ),
            err(
                "depth limit: 11 segments throw",
                "{{ a.b.c.d.e.f.g.h.i.j.k }}",
                &c,
                "The path cannot be deeper than 10 levels. Got \"a > b > c > d > e > f > g > h > i > j > k\"",
            ),
            err(
                "depth limit: bracket segments count",
                "x {{ op1[0][1][2][3][4][5][6][7][8][9] }}",
                &c,
                "The path cannot be deeper than 10 levels. Got \"op1 > 0 > 1 > 2 > 3 > 4 > 5 > 6 > 7 > 8 > 9\"",
            ),
            err(
                "name length: more than 1000 characters",
                format!("{{{{ {} }}}}", "a".repeat(1001)),
                &c,
                "Missing \"}}\" in the template for the \"{{\" at position 0 within 1000 characters",
            ),
            ok(
                "name length: exactly 1000 characters",
                format!("{{{{{}}}}}", "a".repeat(1000)),
                &c,
                s("undefined"),
            ),
            err(
                "name length counts the surrounding spaces",
                format!("{{{{ {}}}}}", "a".repeat(1000)),
                &c,
                "Missing \"}}\" in the template for the \"{{\" at position 0 within 1000 characters",
            ),
            ok(
                "name length counts UTF-16 units",
                format!("{{{{{}}}}}", "é".repeat(1000)),
                &c,
                s("undefined"),
            ),
            err(
                "name length: astral characters are two units",
                format!("{{{{{}}}}}", "😀".repeat(501)),
                &c,
                "Missing \"}}\" in the template for the \"{{\" at position 0 within 1000 characters",
            ),
            ok(
                "no filter syntax: the pipe is part of the path",
                "{{ x | upper }}",
                &c,
                s("undefined"),
            ),
            ok("whitespace: none", "{{x}}", &c, s("X")),
            ok("whitespace: many spaces", "{{   x   }}", &c, s("X")),
            ok(
                "whitespace: tabs and newlines",
                "{{\t\n x \n\t}}",
                &c,
                s("X"),
            ),
            ok(
                "whitespace: JS whitespace includes NBSP and BOM",
                "{{\u{a0}x\u{feff}}}",
                &c,
                s("X"),
            ),
            ok(
                "whitespace: NEL is not JS whitespace",
                "{{\u{85}x}}",
                &c,
                s("undefined"),
            ),
            ok(
                "path containing whitespace is never raw",
                "{{ a[\"x y\"] }}",
                &c,
                s("2"),
            ),
            ok(
                "spaces inside brackets go the text route",
                "{{ op1[ 1 ].id }}",
                &c,
                s("2"),
            ),
            ok(
                "spaces around dots go the text route",
                "{{ $last . a }}",
                &c,
                s("1"),
            ),
            ok("quoted empty key", "{{ a[''] }}", &c, s("empty key")),
            ok(
                "leading plus in brackets is dropped",
                "{{ op1[+1].id }}",
                &c,
                json!(2),
            ),
            ok(
                "lone plus in brackets is the empty key",
                "{{ a[+] }}",
                &c,
                s("empty key"),
            ),
            ok(
                "leading plus after a dot is kept",
                "{{ op1.+1 }}",
                &c,
                s("undefined"),
            ),
            ok("non-canonical index", "{{ op1[01] }}", &c, s("undefined")),
            ok(
                "trailing dot after brackets is allowed",
                "{{ op1[1]. }}",
                &c,
                json!({"id": 2}),
            ),
            ok("leading bracket", "{{ [\"x\"] }}", &c, s("X")),
            ok(
                "chained brackets",
                "{{ $trigger[\"body\"][\"items\"][0][\"id\"] }}",
                &c,
                json!(7),
            ),
            ok(
                "property of null is undefined",
                "{{ $accountability.role.id }}",
                &c,
                s("undefined"),
            ),
            err(
                "bracket not closed",
                "{{ op1[0 }}",
                &c,
                "Missing ] in varName \"op1[0\"",
            ),
            err(
                "bracket inside brackets",
                "{{ op1[[0] }}",
                &c,
                "Missing ] in varName \"[0\"",
            ),
            err("empty brackets", "{{ op1[] }}", &c, "Unexpected token ]"),
            err("blank brackets", "{{ op1[ ] }}", &c, "Unexpected token ]"),
            err(
                "unpaired quote",
                "{{ a[\"b] }}",
                &c,
                "Mismatching string quotation: \"\"b\"",
            ),
            err(
                "different quotes",
                "{{ a['b\"] }}",
                &c,
                "Mismatching string quotation: \"'b\"\"",
            ),
            err(
                "single quote character",
                "{{ a[\"] }}",
                &c,
                "Mismatching string quotation: \"\"\"",
            ),
            err(
                "a key cannot contain ]",
                "{{ a[\"b]c\"] }}",
                &c,
                "Mismatching string quotation: \"\"b\"",
            ),
            err(
                "leading dot",
                "{{ .a }}",
                &c,
                "Unexpected . at the start of \".a\"",
            ),
            err(
                "missing dot after brackets",
                "{{ op1[0]id }}",
                &c,
                "Missing . at the start of \"id\"",
            ),
            err(
                "trailing dot",
                "{{ a. }}",
                &c,
                "Unexpected \".\" at the end of \"a.\"",
            ),
            err(
                "dot before brackets",
                "{{ a.[0] }}",
                &c,
                "Unexpected \".\" at the end of \"a.\"",
            ),
            err(
                "double dot",
                "{{ a..b }}",
                &c,
                "Empty prop name when parsing \"a..b\"",
            ),
            err(
                "double dot after brackets",
                "{{ op1[0]..id }}",
                &c,
                "Empty prop name when parsing \"..id\"",
            ),
            err(
                "whole-string route throws path errors too",
                "{{a[}}",
                &c,
                "Missing ] in varName \"a[\"",
            ),
        ]);
    }

    // templating.md §3: whole-string vs embedded, with the chain given there.
    #[test]
    fn whole_string_vs_embedded() {
        let c = chain3();
        let a = json!({"a": {"x": 1}});
        run(vec![
            ok(
                "whole object is raw",
                "{{ $trigger.payload.obj }}",
                &c,
                json!({"a": 1}),
            ),
            ok(
                "whole object without spaces is raw",
                "{{$trigger.payload.obj}}",
                &c,
                json!({"a": 1}),
            ),
            ok(
                "whole array is raw",
                "{{ $trigger.payload.arr }}",
                &c,
                json!([1, 2]),
            ),
            ok(
                "whole number is raw",
                "{{ $trigger.payload.n }}",
                &c,
                json!(5),
            ),
            ok(
                "whole null is raw",
                "{{ $trigger.payload.nil }}",
                &c,
                Value::Null,
            ),
            ok(
                "whole missing is the string undefined",
                "{{ $trigger.payload.missing }}",
                &c,
                s("undefined"),
            ),
            ok(
                "parent null gives the string undefined",
                "{{ $accountability.user }}",
                &c,
                s("undefined"),
            ),
            ok(
                "embedded object is JSON text",
                "x {{ $trigger.payload.obj }} y",
                &c,
                s("x {\"a\":1} y"),
            ),
            ok(
                "embedded number",
                "n={{ $trigger.payload.n }}",
                &c,
                s("n=5"),
            ),
            ok(
                "embedded null",
                "n={{ $trigger.payload.nil }}",
                &c,
                s("n=null"),
            ),
            ok(
                "embedded missing",
                "n={{ $trigger.payload.missing }}",
                &c,
                s("n=undefined"),
            ),
            ok(
                "embedded array is compact JSON",
                "a={{ $trigger.payload.arr }}",
                &c,
                s("a=[1,2]"),
            ),
            ok(
                "two tags are embedded",
                "{{ $trigger.payload.title }}{{ $trigger.payload.n }}",
                &c,
                s("Hi5"),
            ),
            ok(
                "leading space turns off the raw route",
                " {{ a }}",
                &a,
                s(" {\"x\":1}"),
            ),
            ok(
                "trailing newline turns off the raw route",
                "{{ a }}\n",
                &a,
                s("{\"x\":1}\n"),
            ),
            ok(
                "whole false is raw",
                "{{ f }}",
                &json!({"f": false}),
                json!(false),
            ),
            ok("whole 0 is raw", "{{ f }}", &json!({"f": 0}), json!(0)),
            ok(
                "whole empty string is raw",
                "{{ f }}",
                &json!({"f": ""}),
                s(""),
            ),
            ok(
                "embedded false",
                "v={{ f }}",
                &json!({"f": false}),
                s("v=false"),
            ),
            ok(
                "embedded true",
                "v={{ f }}",
                &json!({"f": true}),
                s("v=true"),
            ),
            ok(
                "whole true is raw",
                "{{ f }}",
                &json!({"f": true}),
                json!(true),
            ),
            ok(
                "embedded strings are verbatim (no JSON escaping)",
                "{\"m\": \"{{ s }}\"}",
                &json!({"s": "He said \"hi\"\n"}),
                s("{\"m\": \"He said \"hi\"\n\"}"),
            ),
            ok(
                "whole string value is raw and not rendered again",
                "{{ t }}",
                &json!({"t": "{{ t }}"}),
                s("{{ t }}"),
            ),
            ok(
                "embedded string value is not rendered again",
                "<{{ t }}>",
                &json!({"t": "{{ t }}"}),
                s("<{{ t }}>"),
            ),
        ]);
        // "any extra character turns off the raw route", and the string is never valid JSON.
        let verbatim = render_str("{\"m\": \"{{ s }}\"}", &json!({"s": "He said \"hi\"\n"}));
        let Ok(Value::String(text)) = verbatim else {
            panic!("expected a string, got {verbatim:?}");
        };
        assert!(
            serde_json::from_str::<Value>(&text).is_err(),
            "embedded quotes make invalid JSON"
        );
    }

    // templating.md §1 and §3: walking options.
    #[test]
    fn options_are_walked_at_any_depth() {
        let c = chain3();
        let options = json!({"a":"{{ $last.a }}","b":["{{ $last }}","q {{ $last }}"],"c":5,"d":true,"e":null});
        assert_eq!(
            render_options(&options, &c),
            Ok(json!({"a":1,"b":[{"a":1},"q {\"a\":1}"],"c":5,"d":true,"e":null})),
            "nested rendering (templating.md §3 example)"
        );

        let keys = json!({"{{ k }}": "{{ k }}"});
        assert_eq!(
            render_options(&keys, &json!({"k": "v"})),
            Ok(json!({"{{ k }}": "v"})),
            "keys are never rendered"
        );

        let deep = json!({"l1": [{"l2": [[{"l3": {"x": "{{ $trigger.payload.title }}!"}}]]}], "n": [1, false, null]});
        assert_eq!(
            render_options(&deep, &c),
            Ok(json!({"l1": [{"l2": [[{"l3": {"x": "Hi!"}}]]}], "n": [1, false, null]})),
            "recursion through objects and arrays to any depth; non-strings unchanged"
        );

        let absent = json!({"m": "{{ not_run_yet.data }}", "w": "{{ not_run_yet }}"});
        assert_eq!(
            render_options(&absent, &c),
            Ok(json!({"m": "undefined", "w": "undefined"})),
            "ops that have not run are absent from the chain"
        );

        let broken = json!({"ok": "{{ $last.a }}", "inner": {"list": ["fine", "{{ $last"]}});
        assert_eq!(
            render_options(&broken, &c),
            Err(TemplateError::UnclosedTag { position: 0 }),
            "an error anywhere rejects the whole options"
        );

        let order = json!({"b": "{{", "1": "{{}}"});
        assert_eq!(
            render_options(&order, &c),
            Err(TemplateError::EmptyTag { position: 0 }),
            "values render in JavaScript key order: index keys first"
        );

        assert_eq!(
            render_options(&Value::Null, &c),
            Ok(Value::Null),
            "null options stay null"
        );
        assert_eq!(
            render_options(&json!(["{{ $last.a }}", 2]), &c),
            Ok(json!([1, 2])),
            "a top-level array renders element-wise"
        );
    }

    // templating.md §4: JSON-typed options, stored as objects or as strings.
    #[test]
    fn json_typed_options() {
        let c = json!({
            "$trigger": {"payload": {"title": "Hi"}},
            "$last": {"tags": ["a", "b"]},
            "read_items": [{"id": 1}, {"id": 2}],
            "n": 3,
            "flag": true
        });
        assert_eq!(
            render_options(
                &json!({"payload": {"title":"{{ $trigger.payload.title }}","tags":"{{ $last.tags }}"}}),
                &c
            ),
            Ok(json!({"payload": {"title": "Hi", "tags": ["a", "b"]}})),
            "stored as an object: a whole-string placeholder gives a real array"
        );

        let stored = "{\"ids\": {{ read_items }}, \"n\": {{ n }}, \"f\": {{ flag }} }";
        let rendered = render_str(stored, &c);
        assert_eq!(
            rendered,
            Ok(s(
                "{\"ids\": [{\"id\":1},{\"id\":2}], \"n\": 3, \"f\": true }"
            )),
            "stored as a string: unquoted placeholders give JSON text"
        );
        let Ok(Value::String(text)) = rendered else {
            panic!("expected a string");
        };
        assert_eq!(
            serde_json::from_str::<Value>(&text).ok(),
            Some(json!({"ids": [{"id": 1}, {"id": 2}], "n": 3, "f": true})),
            "which parses"
        );

        let missing = render_str("{\"ids\": {{ nothing }} }", &c);
        assert_eq!(
            missing,
            Ok(s("{\"ids\": undefined }")),
            "missing values give undefined in the text"
        );
        let Ok(Value::String(text)) = missing else {
            panic!("expected a string");
        };
        assert!(
            serde_json::from_str::<Value>(&text).is_err(),
            "which does not parse"
        );
    }

    // templating.md §5: escaping and syntax errors.
    #[test]
    fn escaping_and_syntax_errors() {
        let c = json!({"$trigger": {"s": "S"}, "x": "X", "a": "A", "h": "<b>&amp;</b>"});
        run(vec![
            err(
                "unclosed tag",
                "abc {{ $trigger.s",
                &c,
                "Missing \"}}\" in the template for the \"{{\" at position 4 within 1000 characters",
            ),
            err(
                "empty tag",
                "{{}}",
                &c,
                "Unexpected \"}}\" tag found at position 0",
            ),
            err(
                "blank tag",
                "{{ }}",
                &c,
                "Unexpected \"}}\" tag found at position 0",
            ),
            err(
                "nested braces",
                "{{ {{ a }} }}",
                &c,
                "Variable names cannot have \"{{\". But at position 0. Got \"{{ a\"",
            ),
            ok(
                "a lone }} is literal text",
                "abc }} def",
                &c,
                s("abc }} def"),
            ),
            ok(
                "no escape mechanism: backslash stays, tag renders",
                "\\{{ x }}",
                &c,
                s("\\X"),
            ),
            ok(
                "triple braces are not special",
                "{{{ x }}}",
                &c,
                s("undefined}"),
            ),
            ok(
                "HTML in values is not escaped",
                "<p>{{ h }}</p>",
                &c,
                s("<p><b>&amp;</b></p>"),
            ),
            ok("a lone { is literal", "{ x }", &c, s("{ x }")),
            ok(
                "text without tags is unchanged",
                "plain text",
                &c,
                s("plain text"),
            ),
            ok(
                "extra closing braces after a tag stay",
                "{{ x }}}}",
                &c,
                s("X}}"),
            ),
            ok("the first }} closes the tag", "{{ x }} }}", &c, s("X }}")),
            err(
                "unclosed second tag reports its position",
                "{{ x }} {{ y",
                &c,
                "Missing \"}}\" in the template for the \"{{\" at position 8 within 1000 characters",
            ),
            err(
                "positions count UTF-16 units",
                "é😀 {{ x",
                &c,
                "Missing \"}}\" in the template for the \"{{\" at position 4 within 1000 characters",
            ),
            err(
                "tag syntax errors come before path errors",
                "{{ a.b.c.d.e.f.g.h.i.j.k }} {{",
                &c,
                "Missing \"}}\" in the template for the \"{{\" at position 28 within 1000 characters",
            ),
            err(
                "a later }} does not close an earlier tag with a nested {{",
                "{{ a {{ b }}",
                &c,
                "Variable names cannot have \"{{\". But at position 0. Got \"a {{ b\"",
            ),
            err(
                "empty tag right after braces",
                "{{}}}",
                &c,
                "Unexpected \"}}\" tag found at position 0",
            ),
            ok(
                "{{{x}} is the path {x (text route)",
                "{{{x}}",
                &c,
                s("undefined"),
            ),
            ok(
                "{{{x}} takes the raw route when {x exists",
                "{{{x}}",
                &json!({"{x": [1]}),
                json!([1]),
            ),
            err(
                "{{{{x}} throws when {{x is missing",
                "{{{{x}}",
                &c,
                "Variable names cannot have \"{{\". But at position 0. Got \"{{x\"",
            ),
            ok(
                "{{{{x}} is raw when the key {{x exists",
                "{{{{x}}",
                &json!({"{{x": 1}),
                json!(1),
            ),
        ]);
    }

    // templating.md §6: other places `{{ }}` appears.
    #[test]
    fn other_places() {
        let c = json!({"$last": {"a": 1, "id": 9}, "x": "X"});
        run(vec![
            ok(
                "exec code is templated",
                "return {{ $last.a }};",
                &c,
                s("return 1;"),
            ),
            ok(
                "a {{ in code is a tag",
                "const o = {{a:1}};",
                &c,
                s("const o = undefined;"),
            ),
            err(
                "{{}} in code throws",
                "if (x) {{}}",
                &c,
                "Unexpected \"}}\" tag found at position 7",
            ),
        ]);
        assert_eq!(
            render_options(
                &json!({"filter": {"$trigger": {"id": {"_eq": "{{ $last.id }}"}}}}),
                &c
            ),
            Ok(json!({"filter": {"$trigger": {"id": {"_eq": 9}}}})),
            "condition filters are templated before parsing, whole placeholders keep their type"
        );
    }

    /// (name, path, expected lookup result).
    type PathRow = (
        &'static str,
        &'static str,
        Result<Option<Value>, TemplateError>,
    );

    // flows-and-operations.md §5.3 and templating.md §6: the `return` path.
    #[test]
    fn get_path_rows() {
        let c = json!({
            "$trigger": {"body": {"items": [{"id": 7}]}},
            "$last": {"done": true},
            "my_op": {"data": {"items": ["first", "second"]}},
            "op_key": {"field": null},
            "list": [10, 20]
        });
        let rows: Vec<PathRow> = vec![
            ("$last", "$last", Ok(Some(json!({"done": true})))),
            (
                "op result path",
                "my_op.data.items[0]",
                Ok(Some(s("first"))),
            ),
            (
                "trigger body path",
                "$trigger.body.items[0].id",
                Ok(Some(json!(7))),
            ),
            ("null is found", "op_key.field", Ok(Some(Value::Null))),
            ("missing is None", "$trigger.query", Ok(None)),
            (
                "missing under a primitive is None",
                "$trigger.body.items[0].id.x",
                Ok(None),
            ),
            ("$all is not special here", "$all", Ok(None)),
            (
                "surrounding whitespace is trimmed",
                "  $last.done\n",
                Ok(Some(json!(true))),
            ),
            ("array length", "list.length", Ok(Some(json!(2)))),
            ("empty path is the whole data", "", Ok(Some(c.clone()))),
            (
                "11 segments throw",
                "a.b.c.d.e.f.g.h.i.j.k",
                Err(TemplateError::TooDeep {
                    path: "a > b > c > d > e > f > g > h > i > j > k".into(),
                }),
            ),
            (
                "syntax errors win over depth",
                "a.b.c.d.e.f.g.h.i.j.k.",
                Err(TemplateError::TrailingDot {
                    name: "a.b.c.d.e.f.g.h.i.j.k.".into(),
                }),
            ),
            (
                "braces are ordinary characters here",
                "{{ $last }}",
                Ok(None),
            ),
        ];
        for (name, path, expected) in rows {
            assert_eq!(get_path(&c, path), expected, "{name}");
        }
        assert_eq!(
            get_path(&json!([[1, 2]]), "0[1]"),
            Ok(Some(json!(2))),
            "array data"
        );
        assert_eq!(
            get_path(&json!("str"), "length"),
            Ok(None),
            "primitive data"
        );
    }

    // templating.md §7.3: numbers and booleans as JavaScript prints them, objects as JSON.stringify.
    #[test]
    fn value_stringification() {
        let rows: Vec<(&str, Value, &str)> = vec![
            ("integer", json!(42), "42"),
            ("negative integer", json!(-5), "-5"),
            ("float", json!(0.1), "0.1"),
            ("float with fraction", json!(1.5), "1.5"),
            ("integral float prints without .0", json!(100.0), "100"),
            ("negative zero", json!(-0.0), "0"),
            ("1e21 uses an exponent", json!(1e21), "1e+21"),
            (
                "below 1e21 stays plain",
                json!(1.2345678901234568e20),
                "123456789012345680000",
            ),
            ("1e-6 stays plain", json!(0.000001), "0.000001"),
            ("1e-7 uses an exponent", json!(1e-7), "1e-7"),
            ("small with digits", json!(1.23e-18), "1.23e-18"),
            ("large with digits", json!(1.5e300), "1.5e+300"),
            ("smallest subnormal", json!(5e-324), "5e-324"),
            (
                "2^70 as a double",
                json!(1_180_591_620_717_411_303_424.0),
                "1.1805916207174113e+21",
            ),
            (
                "2^53 is exact",
                json!(9_007_199_254_740_992_u64),
                "9007199254740992",
            ),
            (
                "2^60 prints as a double",
                json!(1_152_921_504_606_846_976_u64),
                "1152921504606847000",
            ),
            (
                "u64::MAX prints as a double",
                json!(u64::MAX),
                "18446744073709552000",
            ),
            (
                "i64::MIN prints as a double",
                json!(i64::MIN),
                "-9223372036854776000",
            ),
            ("true", json!(true), "true"),
            ("null", Value::Null, "null"),
            ("empty object", json!({}), "{}"),
            ("empty array", json!([]), "[]"),
            (
                "nested compact JSON",
                json!({"a": [1, {"b": null}], "c": "d"}),
                "{\"a\":[1,{\"b\":null}],\"c\":\"d\"}",
            ),
            (
                "JSON numbers inside objects print as JavaScript",
                json!({"f": 1e21, "g": 2.0, "h": -0.0}),
                "{\"f\":1e+21,\"g\":2,\"h\":0}",
            ),
            (
                "array-index keys come first, ascending",
                json!({"b": 1, "a": 2, "10": 3, "2": 4, "01": 5, "4294967295": 6, "4294967294": 7}),
                "{\"2\":4,\"10\":3,\"4294967294\":7,\"b\":1,\"a\":2,\"01\":5,\"4294967295\":6}",
            ),
            (
                "string escaping as JSON.stringify",
                json!({"s": "a\"b\\c\n\t\r\u{8}\u{c}\u{1}\u{1f}\u{7f}\u{2028}/é"}),
                "{\"s\":\"a\\\"b\\\\c\\n\\t\\r\\b\\f\\u0001\\u001f\u{7f}\u{2028}/é\"}",
            ),
            (
                "keys are escaped too",
                json!({"k\"\n": 1}),
                "{\"k\\\"\\n\":1}",
            ),
        ];
        let mut failures = Vec::new();
        for (name, value, expected) in rows {
            let data = json!({"v": value});
            let got = render_str("={{ v }}", &data);
            let want = Ok(s(&format!("={expected}")));
            if got != want {
                failures.push(format!("{name}: expected {want:?}, got {got:?}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    /// Numbers print through `domain::js` (its tests hold the table of ties checked against
    /// Node); here one exact tie, which goes to the even digit, embedded as text and as JSON.
    #[test]
    fn number_ties_go_to_even() {
        let n = f64::from_bits(0x4300_6ceb_23e0_5422);
        let tie = json!({"v": n, "o": {"n": n}});
        assert_eq!(render_str("{{ v }} ", &tie), Ok(s("577919600298628.2 ")));
        assert_eq!(
            render_str("={{ o }}", &tie),
            Ok(s("={\"n\":577919600298628.2}"))
        );
        for (v, expected) in [
            (0.5, "0.5"),
            (2.5, "2.5"),
            (f64::MAX, "1.7976931348623157e+308"),
        ] {
            assert_eq!(
                render_str("{{ v }} ", &json!({"v": v})),
                Ok(s(&format!("{expected} ")))
            );
        }
    }

    #[test]
    fn object_properties() {
        let c = json!({"o": {"length": 9, "__proto__": 1, "constructor": "own"}, "p": {"k": 1}, "l": ["x"]});
        run(vec![
            ok("own length key", "{{ o.length }}", &c, json!(9)),
            ok(
                "objects have no length",
                "{{ p.length }}",
                &c,
                s("undefined"),
            ),
            ok("own __proto__ key", "{{ o.__proto__ }}", &c, json!(1)),
            ok("own constructor key", "{{ o.constructor }}", &c, s("own")),
            ok(
                "length of length",
                "{{ l.length.length }}",
                &c,
                s("undefined"),
            ),
            ok("indexing a string", "{{ l[0][0] }}", &c, s("undefined")),
        ]);
    }

    // The bounds this module adds.
    #[test]
    fn limits() {
        let c = json!({"x": "X", "big": "y".repeat(1 << 20)});
        let long = format!("{{{{ x }}}}{}", " ".repeat(MAX_TEMPLATE_BYTES));
        assert_eq!(
            render_str(&long, &c),
            Err(TemplateError::TemplateTooLong {
                len: MAX_TEMPLATE_BYTES + 7
            }),
            "a template longer than 1 MiB is an error"
        );
        let plain = "z".repeat(MAX_TEMPLATE_BYTES * 2);
        assert_eq!(
            render_str(&plain, &c),
            Ok(s(&plain)),
            "a long string without tags is not a template"
        );

        let many = "{{x}}".repeat(MAX_TAGS);
        assert_eq!(
            render_str(&many, &c),
            Ok(s(&"X".repeat(MAX_TAGS))),
            "exactly 10,000 tags render"
        );
        let too_many = "{{x}}".repeat(MAX_TAGS + 1);
        assert_eq!(
            render_str(&too_many, &c),
            Err(TemplateError::TooManyTags),
            "10,001 tags are an error"
        );

        let huge = "{{ big }}".repeat(65);
        assert_eq!(
            render_str(&huge, &c),
            Err(TemplateError::OutputTooLong),
            "the rendered text is bounded"
        );

        let unclosed = format!("{{{{{}", "a".repeat(MAX_TEMPLATE_BYTES - 10));
        assert_eq!(
            render_str(&unclosed, &c),
            Err(TemplateError::UnclosedTag { position: 0 }),
            "a long unclosed tag fails fast"
        );
    }

    #[test]
    fn error_classes_and_messages() {
        assert_eq!(
            TemplateError::UnclosedTag { position: 1 }.js_name(),
            "SyntaxError"
        );
        assert_eq!(TemplateError::EmptyBracket.js_name(), "SyntaxError");
        assert_eq!(
            TemplateError::TooDeep {
                path: String::new()
            }
            .js_name(),
            "ReferenceError"
        );
        assert_eq!(TemplateError::TooManyTags.js_name(), "RangeError");
        assert_eq!(
            TemplateError::TemplateTooLong { len: 5 }.to_string(),
            "The template is 5 bytes long, more than the limit of 1048576"
        );
        assert_eq!(
            TemplateError::TooManyTags.to_string(),
            format!("The template has more than {MAX_TAGS} tags")
        );
        assert_eq!(
            TemplateError::OutputTooLong.to_string(),
            format!("The rendered template is longer than {MAX_OUTPUT_BYTES} bytes")
        );
        assert_eq!(MAX_TEMPLATE_BYTES, 1_048_576);
        assert!(
            TemplateError::TooDeep {
                path: String::new()
            }
            .to_string()
            .contains(&format!(" {MAX_PATH_DEPTH} levels"))
        );
        assert!(
            TemplateError::UnclosedTag { position: 0 }
                .to_string()
                .contains(&format!("within {MAX_VAR_NAME_LEN} "))
        );
    }
}
