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

/// A copy of `value` with its secrets redacted (see [`redact_secrets`]).
pub fn secrets(value: &Value) -> Value {
    let mut copy = value.clone();
    redact_secrets(&mut copy);
    copy
}

/// Redacts `**.headers.authorization`, `**.headers.cookie`, `**.query.access_token` and the
/// secret `**.payload.*` keys, at any depth, in place: a run's log redacts its own copy of
/// the chain rather than a copy per rule.
pub fn redact_secrets(value: &mut Value) {
    match value {
        Value::Object(obj) => {
            for (key, child) in obj.iter_mut() {
                let keys: Option<&[&str]> = match key.as_str() {
                    "headers" => Some(&["authorization", "cookie"]),
                    "query" => Some(&["access_token"]),
                    "payload" => Some(PAYLOAD_KEYS),
                    _ => None,
                };
                match (keys, child) {
                    (Some(keys), Value::Object(inner)) => redact_keys(inner, keys),
                    (_, child) => redact_secrets(child),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_secrets),
        _ => {}
    }
}

fn redact_keys(obj: &mut Map<String, Value>, keys: &[&str]) {
    for (key, child) in obj.iter_mut() {
        if keys.contains(&key.as_str()) {
            *child = Value::from(REDACTED);
        } else {
            redact_secrets(child);
        }
    }
}

/// Replaces every occurrence of an allow-listed environment value in strings, in place.
/// Without such values (no `FLOWS_ENV_ALLOW_LIST`, the default) nothing is walked.
pub fn redact_env(value: &mut Value, env: &Map<String, Value>) {
    let marks: Vec<(&str, String)> = env
        .iter()
        .filter_map(|(name, v)| {
            v.as_str()
                .filter(|v| !v.is_empty())
                .map(|secret| (secret, format!("--redacted:{name}--")))
        })
        .collect();
    if !marks.is_empty() {
        replace_marks(value, &marks);
    }
}

fn replace_marks(value: &mut Value, marks: &[(&str, String)]) {
    match value {
        Value::String(text) => {
            for (secret, mark) in marks {
                if text.contains(secret) {
                    *text = text.replace(secret, mark);
                }
            }
        }
        Value::Object(obj) => obj.values_mut().for_each(|v| replace_marks(v, marks)),
        Value::Array(items) => items.iter_mut().for_each(|v| replace_marks(v, marks)),
        _ => {}
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
        let mut value = json!({"url": "https://x/?k=s3cret", "list": ["s3cret s3cret", 1]});
        redact_env(&mut value, &env);
        assert_eq!(
            value,
            json!({"url": "https://x/?k=--redacted:API_KEY--",
                   "list": ["--redacted:API_KEY-- --redacted:API_KEY--", 1]})
        );
    }
}
