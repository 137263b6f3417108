//! The redaction Directus applies to logged chains: secrets in headers, query strings and
//! payloads become `--redacted--`, and allow-listed environment values become
//! `--redacted:NAME--` (`api/src/utils/redact-object.ts`).

use serde_json::{Map, Value};

const REDACTED: &str = "--redacted--";
const PAYLOAD_KEYS: &[&str] = &[
    "password",
    "token",
    "tfa_secret",
    "external_identifier",
    "auth_data",
    "credentials",
    "ai_openai_api_key",
    "ai_anthropic_api_key",
    "ai_google_api_key",
    "ai_openai_compatible_api_key",
];

/// Redacts `**.headers.authorization`, `**.headers.cookie`, `**.query.access_token` and the
/// secret `**.payload.*` keys, at any depth.
pub fn secrets(value: &Value) -> Value {
    match value {
        Value::Object(obj) => {
            let mut out = Map::with_capacity(obj.len());
            for (key, child) in obj {
                let redacted = match (key.as_str(), child) {
                    ("headers", Value::Object(h)) => {
                        Some(redact_keys(h, &["authorization", "cookie"]))
                    }
                    ("query", Value::Object(q)) => Some(redact_keys(q, &["access_token"])),
                    ("payload", Value::Object(p)) => Some(redact_keys(p, PAYLOAD_KEYS)),
                    _ => None,
                };
                out.insert(key.clone(), redacted.unwrap_or_else(|| secrets(child)));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(secrets).collect()),
        other => other.clone(),
    }
}

fn redact_keys(obj: &Map<String, Value>, keys: &[&str]) -> Value {
    let mut out = Map::with_capacity(obj.len());
    for (key, child) in obj {
        if keys.contains(&key.as_str()) {
            out.insert(key.clone(), Value::from(REDACTED));
        } else {
            out.insert(key.clone(), secrets(child));
        }
    }
    Value::Object(out)
}

/// Replaces every occurrence of an allow-listed environment value in strings.
pub fn env_values(value: &Value, env: &Map<String, Value>) -> Value {
    match value {
        Value::String(s) => {
            let mut text = s.clone();
            for (name, v) in env {
                if let Some(secret) = v.as_str().filter(|v| !v.is_empty()) {
                    text = text.replace(secret, &format!("--redacted:{name}--"));
                }
            }
            Value::String(text)
        }
        Value::Object(obj) => Value::Object(
            obj.iter()
                .map(|(k, v)| (k.clone(), env_values(v, env)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| env_values(v, env)).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_redacted_at_any_depth() {
        let chain = json!({
            "$trigger": {"headers": {"authorization": "Bearer x", "cookie": "c", "accept": "*/*"}, "query": {"access_token": "t", "q": "1"}},
            "op": {"payload": {"password": "p", "name": "n"}}
        });
        assert_eq!(
            secrets(&chain),
            json!({
                "$trigger": {"headers": {"authorization": "--redacted--", "cookie": "--redacted--", "accept": "*/*"}, "query": {"access_token": "--redacted--", "q": "1"}},
                "op": {"payload": {"password": "--redacted--", "name": "n"}}
            })
        );
    }

    #[test]
    fn env_values_are_named() {
        let env = json!({"API_KEY": "s3cret"});
        let env = env.as_object().cloned().unwrap_or_default();
        assert_eq!(
            env_values(&json!({"url": "https://x/?k=s3cret"}), &env),
            json!({"url": "https://x/?k=--redacted:API_KEY--"})
        );
    }
}
