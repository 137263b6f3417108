//! URL query strings as Directus (Express's `qs`) reads them: `a=1`, `a[b][c]=2`, `a[]=1&a[]=2`,
//! `a[0]=x`, nested up to a bounded depth, into one JSON object of strings.

use serde_json::{Map, Value};

/// Brackets nest at most this deep (`qs` uses 5; deeper keys stay literal there too).
pub const MAX_DEPTH: usize = 8;
/// At most this many parameters are read (`qs`'s default is 1000).
pub const MAX_PARAMS: usize = 1000;

/// Parses a raw query string (without `?`).
pub fn parse(query: &str) -> Value {
    let mut root = Value::Object(Map::new());
    for (key, value) in form_pairs(query).into_iter().take(MAX_PARAMS) {
        let path = split_key(&key);
        insert(&mut root, &path, Value::String(value));
    }
    root
}

fn form_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// Percent-decoding with `+` as space; invalid escapes are kept as written.
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `a[b][]` -> `["a", "b", ""]`; past `MAX_DEPTH` the rest stays one literal segment.
fn split_key(key: &str) -> Vec<String> {
    let Some(open) = key.find('[') else {
        return vec![key.to_string()];
    };
    if open == 0 {
        return vec![key.to_string()];
    }
    let mut parts = vec![key[..open].to_string()];
    let mut rest = &key[open..];
    while let Some(stripped) = rest.strip_prefix('[') {
        let Some(close) = stripped.find(']') else {
            break;
        };
        if parts.len() > MAX_DEPTH {
            break;
        }
        parts.push(stripped[..close].to_string());
        rest = &stripped[close + 1..];
    }
    if !rest.is_empty() {
        parts.push(rest.to_string());
    }
    parts
}

fn insert(node: &mut Value, path: &[String], value: Value) {
    let Some((head, rest)) = path.split_first() else {
        return;
    };
    if head.is_empty() || head.parse::<usize>().is_ok_and(|i| i < 100) {
        // Array segment: `[]` appends, `[n]` places (small indices only, as qs does).
        if !node.is_array() {
            if let Value::Object(obj) = node
                && !obj.is_empty()
            {
                let key = if head.is_empty() {
                    obj.len().to_string()
                } else {
                    head.clone()
                };
                let slot = obj.entry(key).or_insert(Value::Null);
                return place(slot, rest, value);
            }
            *node = Value::Array(Vec::new());
        }
        if let Value::Array(items) = node {
            if head.is_empty() || rest.is_empty() && head.parse::<usize>().ok() >= Some(items.len())
            {
                items.push(Value::Null);
                let last = items.len() - 1;
                return place(&mut items[last], rest, value);
            }
            let idx = head.parse::<usize>().unwrap_or(items.len());
            while items.len() <= idx {
                items.push(Value::Null);
            }
            return place(&mut items[idx], rest, value);
        }
        return;
    }
    if let Value::Array(items) = node {
        // A named key after indexed ones turns the array into an object, as qs does.
        let obj: Map<String, Value> = items
            .drain(..)
            .enumerate()
            .map(|(i, v)| (i.to_string(), v))
            .collect();
        *node = Value::Object(obj);
    }
    if !node.is_object() {
        *node = Value::Object(Map::new());
    }
    if let Value::Object(obj) = node {
        let slot = obj.entry(head.clone()).or_insert(Value::Null);
        place(slot, rest, value);
    }
}

fn place(slot: &mut Value, rest: &[String], value: Value) {
    if rest.is_empty() {
        match slot {
            Value::Null => *slot = value,
            Value::Array(items) => items.push(value),
            other => {
                // A repeated plain key collects its values (`a=1&a=2`).
                let first = std::mem::take(other);
                *other = Value::Array(vec![first, value]);
            }
        }
        return;
    }
    if slot.is_null() {
        *slot = Value::Object(Map::new());
    }
    insert(slot, rest, value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn brackets_nest_like_qs() {
        assert_eq!(
            parse("filter[name][_eq]=x&limit=2&sort=-name,id"),
            json!({"filter": {"name": {"_eq": "x"}}, "limit": "2", "sort": "-name,id"})
        );
    }

    #[test]
    fn arrays_collect_in_order() {
        assert_eq!(parse("arr[]=1&arr[]=2"), json!({"arr": ["1", "2"]}));
        assert_eq!(parse("f[0]=a&f[1]=b"), json!({"f": ["a", "b"]}));
        assert_eq!(parse("a=1&a=2"), json!({"a": ["1", "2"]}));
    }

    #[test]
    fn escapes_and_plus_decode() {
        assert_eq!(
            parse("q=a+b%20c%2Cd&bad=%zz"),
            json!({"q": "a b c,d", "bad": "%zz"})
        );
    }

    #[test]
    fn depth_is_bounded() {
        let key = "a".to_string() + &"[x]".repeat(50);
        let parsed = parse(&format!("{key}=1"));
        let mut depth = 0;
        let mut node = &parsed;
        while let Some(obj) = node.as_object() {
            depth += 1;
            node = obj.values().next().unwrap_or(&Value::Null);
        }
        assert!(depth <= MAX_DEPTH + 3, "depth {depth}");
    }
}
