//! Property keys: which strings are array indices, and the order `Object.keys` lists them in.

use serde_json::{Map, Value};

/// The index a key names when JavaScript treats it as an array index: the canonical decimal
/// form (no sign, no leading zero) of an integer below 2^32 - 1.
pub fn array_index(key: &str) -> Option<u32> {
    if key.is_empty() || key.len() > 10 || !key.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if key.len() > 1 && key.starts_with('0') {
        return None;
    }
    let n: u64 = key.parse().ok()?;
    u32::try_from(n).ok().filter(|i| *i != u32::MAX)
}

/// An object's own keys as JavaScript enumerates them: array-index keys ascending first, then
/// the others in insertion order. Directus walks objects in this order, which decides which of
/// several errors is reported first and the key order of what it writes back.
pub fn key_order(map: &Map<String, Value>) -> Vec<(&String, &Value)> {
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn array_indices_are_canonical_and_below_the_maximum() {
        assert_eq!(array_index("0"), Some(0));
        assert_eq!(array_index("4294967294"), Some(4_294_967_294));
        assert_eq!(array_index("4294967295"), None);
        assert_eq!(array_index("99999999999"), None);
        assert_eq!(array_index("01"), None);
        assert_eq!(array_index("+1"), None);
        assert_eq!(array_index("-1"), None);
        assert_eq!(array_index("1.0"), None);
        assert_eq!(array_index(""), None);
    }

    #[test]
    fn indices_come_first_in_ascending_order() {
        let v = json!({"b": 1, "10": 2, "a": 3, "2": 4, "02": 5});
        let Value::Object(map) = &v else {
            unreachable!()
        };
        let keys: Vec<&str> = key_order(map)
            .into_iter()
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(keys, ["2", "10", "b", "a", "02"]);
    }
}
