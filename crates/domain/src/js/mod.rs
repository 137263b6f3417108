//! JavaScript value semantics as Directus (Node, V8) applies them: templates, conditions and
//! filters all call this module, so one value prints, trims, coerces and orders the same way
//! wherever flowline meets it.
//!
//! - [`date`]: `$NOW` and `$NOW(<±n unit>)` with date-fns arithmetic.
//! - [`number`]: `Number::toString` (through `ryu-js`) and `Number(string)`.
//! - [`text`]: the ECMAScript whitespace set (`\s`, `String.prototype.trim`).
//! - [`keys`]: array-index property keys and the key order `Object.keys` gives.
//! - [`truthy`]: `!!x` on a JSON value.

pub mod date;
pub mod keys;
pub mod number;
pub mod text;

pub use keys::{array_index, key_order};
pub use number::{number_string, push_json_number, push_number, string_to_number};
pub use text::{is_whitespace, trim};

use serde_json::Value;

/// `!!x`, where a missing value is JavaScript's `undefined` (falsy like `null`).
pub fn truthy(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(number::truthy),
        Some(Value::String(s)) => !s.is_empty(),
        Some(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn truthiness_follows_javascript() {
        assert!(!truthy(None));
        assert!(!truthy(Some(&json!(null))));
        assert!(!truthy(Some(&json!(0))));
        assert!(!truthy(Some(&json!(-0.0))));
        assert!(!truthy(Some(&json!(""))));
        assert!(!truthy(Some(&json!(false))));
        assert!(truthy(Some(&json!("0"))));
        assert!(truthy(Some(&json!([]))));
        assert!(truthy(Some(&json!({}))));
        assert!(truthy(Some(&json!(0.5))));
    }
}
