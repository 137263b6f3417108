//! `json-web-token`: sign, verify and decode with the `jsonwebtoken` crate.

use futures_util::future::BoxFuture;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Map, Value, json};

use super::{OpContext, Operation, option_to_object, option_to_string};
use crate::error::Rejection;
use crate::options::{parse, present, text};

/// The `json-web-token` operation's options (operations-catalog.md §7). Values that may be
/// JSON text stay JSON until the operation needs them; `None` is an absent option.
#[derive(Debug, Default, PartialEq, serde::Deserialize)]
struct JwtOptions {
    /// `sign`, `verify` or `decode`.
    #[serde(default, deserialize_with = "text")]
    operation: Option<Box<str>>,
    #[serde(default, deserialize_with = "present")]
    payload: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    secret: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    token: Option<Value>,
    /// The library's options (`expiresIn`, `algorithm`, `complete`...), passed on as given.
    #[serde(default, deserialize_with = "present")]
    options: Option<Value>,
}

pub struct JsonWebToken;

/// A jsonwebtoken library error, shaped as the JS library's (`{name, message}`).
fn library_error(name: &str, message: String) -> Rejection {
    Rejection::plain(json!({"name": name, "message": message}), message)
}

/// `expiresIn` / `notBefore`: seconds, or a span such as `"1h"`, `"2 days"`, `"90s"`.
fn span_seconds(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => {
            let s = s.trim();
            let split = s
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(s.len());
            let amount: f64 = s[..split].parse().ok()?;
            let unit = s[split..].trim().to_ascii_lowercase();
            let factor = match unit.as_str() {
                // A bare number in a string means milliseconds, as the `ms` package reads it.
                "" | "ms" | "msec" | "msecs" | "millisecond" | "milliseconds" => 0.001,
                "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
                "m" | "min" | "mins" | "minute" | "minutes" => 60.0,
                "h" | "hr" | "hrs" | "hour" | "hours" => 3600.0,
                "d" | "day" | "days" => 86_400.0,
                "w" | "week" | "weeks" => 604_800.0,
                "y" | "yr" | "yrs" | "year" | "years" => 31_557_600.0,
                _ => return None,
            };
            Some((amount * factor) as i64)
        }
        _ => None,
    }
}

fn algorithm(options: &Map<String, Value>) -> Result<Algorithm, Rejection> {
    match options.get("algorithm").and_then(Value::as_str) {
        None => Ok(Algorithm::HS256),
        Some(name) => name.parse::<Algorithm>().map_err(|_| {
            library_error(
                "Error",
                "\"algorithm\" must be a valid string enum value".into(),
            )
        }),
    }
}

impl Operation for JsonWebToken {
    fn id(&self) -> &'static str {
        "json-web-token"
    }

    fn run<'a>(
        &'a self,
        options: Value,
        _ctx: &'a OpContext<'a>,
    ) -> BoxFuture<'a, Result<Value, Rejection>> {
        Box::pin(async move {
            let options: JwtOptions = parse(options);
            let jwt_options = match &options.options {
                None | Some(Value::Null) => Map::new(),
                Some(v) => match option_to_object(v)? {
                    Value::Object(map) => map,
                    _ => Map::new(),
                },
            };
            let operation = options.operation.as_deref().unwrap_or_default();
            let secret = || match &options.secret {
                None | Some(Value::Null) => None,
                other => Some(option_to_string(other.as_ref())),
            };
            let token = || match &options.token {
                None | Some(Value::Null) => None,
                other => Some(option_to_string(other.as_ref())),
            };
            match operation {
                "sign" => {
                    let payload = match &options.payload {
                        None | Some(Value::Null) => {
                            return Err(Rejection::error("Undefined JSON Web Token payload"));
                        }
                        Some(v) => option_to_object(v)?,
                    };
                    let secret = secret()
                        .ok_or_else(|| Rejection::error("Undefined JSON Web Token secret"))?;
                    let Value::Object(mut claims) = payload else {
                        return Err(library_error(
                            "Error",
                            "Expected \"payload\" to be a plain object.".into(),
                        ));
                    };
                    let now = chrono::Utc::now().timestamp();
                    if !jwt_options
                        .get("noTimestamp")
                        .and_then(Value::as_bool)
                        .unwrap_or(false)
                    {
                        claims.entry("iat").or_insert(json!(now));
                    }
                    if let Some(exp) = jwt_options.get("expiresIn").and_then(span_seconds) {
                        claims.insert("exp".into(), json!(now + exp));
                    }
                    if let Some(nbf) = jwt_options.get("notBefore").and_then(span_seconds) {
                        claims.insert("nbf".into(), json!(now + nbf));
                    }
                    for (option, claim) in [
                        ("audience", "aud"),
                        ("issuer", "iss"),
                        ("subject", "sub"),
                        ("jwtid", "jti"),
                    ] {
                        if let Some(v) = jwt_options.get(option) {
                            claims.insert(claim.into(), v.clone());
                        }
                    }
                    let header = Header::new(algorithm(&jwt_options)?);
                    jsonwebtoken::encode(
                        &header,
                        &Value::Object(claims),
                        &EncodingKey::from_secret(secret.as_bytes()),
                    )
                    .map(Value::String)
                    .map_err(|e| library_error("Error", e.to_string()))
                }
                "verify" => {
                    let token = token()
                        .ok_or_else(|| Rejection::error("Undefined JSON Web Token token"))?;
                    let secret = secret()
                        .ok_or_else(|| Rejection::error("Undefined JSON Web Token secret"))?;
                    let mut validation = Validation::new(algorithm(&jwt_options)?);
                    validation.required_spec_claims.clear();
                    validation.leeway = 0;
                    validation.validate_aud = false;
                    jsonwebtoken::decode::<Value>(
                        &token,
                        &DecodingKey::from_secret(secret.as_bytes()),
                        &validation,
                    )
                    .map(|data| data.claims)
                    .map_err(|e| match e.kind() {
                        jsonwebtoken::errors::ErrorKind::ExpiredSignature => expired_error(&token),
                        jsonwebtoken::errors::ErrorKind::InvalidSignature => {
                            library_error("JsonWebTokenError", "invalid signature".into())
                        }
                        _ => library_error("JsonWebTokenError", e.to_string()),
                    })
                }
                "decode" => {
                    let token = token()
                        .ok_or_else(|| Rejection::error("Undefined JSON Web Token token"))?;
                    let complete = jwt_options
                        .get("complete")
                        .and_then(Value::as_bool)
                        .unwrap_or(false);
                    Ok(decode_unverified(&token, complete).unwrap_or(Value::Null))
                }
                _ => Err(Rejection::error(
                    "Undefined \"Operation\" for JSON Web Token",
                )),
            }
        })
    }
}

/// jsonwebtoken's `TokenExpiredError`: `{name, message, expiredAt}`, `expiredAt` being the
/// token's `exp` as a JavaScript `Date` serialises (`2026-01-01T00:00:00.000Z`).
fn expired_error(token: &str) -> Rejection {
    let message = "jwt expired".to_string();
    let expired_at = decode_unverified(token, false)
        .and_then(|payload| payload.get("exp").and_then(Value::as_i64))
        .and_then(|exp| chrono::DateTime::from_timestamp(exp, 0))
        .map(|at| at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string());
    Rejection::plain(
        json!({"name": "TokenExpiredError", "message": message, "expiredAt": expired_at}),
        message,
    )
}

/// Decodes without verifying; `None` for anything that is not a JWT (Directus answers null).
fn decode_unverified(token: &str, complete: bool) -> Option<Value> {
    use base64_decode as b64;
    let mut parts = token.split('.');
    let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let header: Value = serde_json::from_slice(&b64(header)?).ok()?;
    let payload: Value = serde_json::from_slice(&b64(payload)?).ok()?;
    Some(if complete {
        json!({"header": header, "payload": payload, "signature": signature})
    } else {
        payload
    })
}

/// URL-safe base64 without padding, as JWTs use.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_keep_null_apart_from_absent() {
        let none: JwtOptions = parse(json!({}));
        assert_eq!(none, JwtOptions::default());
        let given: JwtOptions = parse(json!({"operation": 1, "secret": null, "payload": "{}"}));
        assert_eq!(given.operation, None);
        assert_eq!(given.secret, Some(Value::Null));
        assert_eq!(given.payload, Some(json!("{}")));
    }

    #[test]
    fn spans_read_like_the_ms_package() {
        assert_eq!(span_seconds(&json!(60)), Some(60));
        assert_eq!(span_seconds(&json!("1h")), Some(3600));
        assert_eq!(span_seconds(&json!("2 days")), Some(172_800));
        assert_eq!(span_seconds(&json!("soon")), None);
    }

    #[test]
    fn garbage_decodes_to_nothing() {
        assert_eq!(decode_unverified("not a token", false), None);
    }
}
