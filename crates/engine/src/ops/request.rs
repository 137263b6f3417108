//! `request`: an HTTP call with reqwest, refusing denied addresses (`IMPORT_IP_DENY_LIST`)
//! both for literal IPs and after DNS resolution.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use serde_json::{Map, Value, json};

use super::{OpContext, Operation};
use crate::error::Rejection;
use crate::options::{parse, present, text};

/// Address ranges the `request` operation refuses to reach.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DenyList {
    ranges: Vec<(IpAddr, u8)>,
}

impl DenyList {
    /// Parses Directus's `IMPORT_IP_DENY_LIST` (comma separated; CIDR ranges allowed).
    /// `0.0.0.0` means, as in Directus, "this host": `0.0.0.0/8`, `::` and the loopback
    /// ranges. An empty string denies nothing.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut ranges = Vec::new();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if entry == "0.0.0.0" {
                for (ip, len) in [("0.0.0.0", 8), ("::", 128), ("127.0.0.0", 8), ("::1", 128)] {
                    ranges.push((ip.parse().map_err(|_| entry.to_string())?, len));
                }
                continue;
            }
            let (ip, len) = match entry.split_once('/') {
                Some((ip, len)) => (ip, Some(len)),
                None => (entry, None),
            };
            let ip: IpAddr = ip
                .parse()
                .map_err(|_| format!("invalid address \"{entry}\" in IMPORT_IP_DENY_LIST"))?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let len = match len {
                Some(l) => l
                    .parse::<u8>()
                    .ok()
                    .filter(|l| *l <= max)
                    .ok_or_else(|| format!("invalid prefix in \"{entry}\""))?,
                None => max,
            };
            ranges.push((ip, len));
        }
        Ok(DenyList { ranges })
    }

    /// flowline's default: Directus's (`0.0.0.0`, the metadata address) plus link-local.
    pub const DEFAULT: &'static str = "0.0.0.0,169.254.169.254,169.254.0.0/16,fe80::/10";

    pub fn default_list() -> Self {
        DenyList::parse(Self::DEFAULT).unwrap_or_default()
    }

    pub fn denies(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        self.ranges.iter().any(|(net, len)| match (net, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = if *len == 0 {
                    0
                } else {
                    u32::MAX << (32 - u32::from(*len))
                };
                u32::from(*net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = if *len == 0 {
                    0
                } else {
                    u128::MAX << (128 - u32::from(*len))
                };
                u128::from(*net) & mask == u128::from(ip) & mask
            }
            _ => false,
        })
    }
}

/// Resolves names and drops the answer when any address is denied.
struct GuardedResolver {
    deny: DenyList,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let deny = self.deny.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if addrs.iter().any(|a| deny.denies(a.ip())) {
                return Err(denied_message(&host).into());
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

fn denied_message(host: &str) -> String {
    format!("Requested domain \"{host}\" resolves to a denied IP address")
}

/// The HTTP client of the `request` operation, built once per engine.
pub fn client(deny: &DenyList) -> reqwest::Client {
    reqwest::Client::builder()
        .dns_resolver(Arc::new(GuardedResolver { deny: deny.clone() }))
        // Directus sets no timeout; a hung target must not hold a run forever.
        .timeout(Duration::from_secs(300))
        .redirect(reqwest::redirect::Policy::limited(5))
        .build()
        .unwrap_or_default()
}

pub struct Request;

/// Whether the connection was actively refused (nothing listens on the port).
fn refused(err: &reqwest::Error) -> bool {
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::ConnectionRefused
        {
            return true;
        }
        source = cause.source();
    }
    false
}

fn error_value(message: &str, code: Option<&str>) -> Value {
    let mut obj = Map::new();
    obj.insert("name".into(), json!("Error"));
    obj.insert("message".into(), json!(message));
    if let Some(code) = code {
        obj.insert("code".into(), json!(code));
    }
    Value::Object(obj)
}

fn failed(message: String, code: Option<&str>) -> Rejection {
    Rejection::plain(error_value(&message, code), message)
}

/// A `Retry-After` value: whole seconds, or an HTTP date.
fn retry_after(value: &str) -> Option<std::time::Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(std::time::Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let ms = (at.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_milliseconds();
    Some(std::time::Duration::from_millis(ms.max(0) as u64))
}

/// The `request` operation's options (operations-catalog.md §11).
#[derive(Debug, Default, PartialEq, serde::Deserialize)]
struct RequestOptions {
    #[serde(default, deserialize_with = "text")]
    url: Option<Box<str>>,
    /// Any verb; `GET` when absent.
    #[serde(default, deserialize_with = "text")]
    method: Option<Box<str>>,
    #[serde(default, deserialize_with = "headers")]
    headers: Headers,
    /// Sent as it is when text, as JSON otherwise; `None` sends no body.
    #[serde(default, deserialize_with = "present")]
    body: Option<Value>,
}

/// `headers` as Directus reduces it: a list of `{header, value}` pairs. Anything else but
/// `null` makes the request reject, as `reduce` fails on it in Directus.
#[derive(Debug, Default, PartialEq)]
enum Headers {
    #[default]
    None,
    /// Name and value; a missing name is empty, a value other than text is its JSON text.
    List(Vec<(String, String)>),
    NotAList,
}

fn headers<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Headers, D::Error> {
    use serde::Deserialize;
    Ok(match Value::deserialize(d)? {
        Value::Null => Headers::None,
        Value::Array(list) => Headers::List(
            list.into_iter()
                .map(|mut item| {
                    let name = match item.get_mut("header") {
                        Some(Value::String(name)) => std::mem::take(name),
                        _ => String::new(),
                    };
                    let value = match item.get_mut("value") {
                        Some(Value::String(s)) => std::mem::take(s),
                        Some(Value::Null) | None => String::new(),
                        Some(other) => other.to_string(),
                    };
                    (name, value)
                })
                .collect(),
        ),
        _ => Headers::NotAList,
    })
}

impl Operation for Request {
    fn id(&self) -> &'static str {
        "request"
    }

    fn run<'a>(
        &'a self,
        options: Value,
        ctx: &'a OpContext<'a>,
    ) -> BoxFuture<'a, Result<Value, Rejection>> {
        Box::pin(async move {
            let options: RequestOptions = parse(options);
            let url = options.url.as_deref().unwrap_or_default();
            let url = reqwest::Url::parse(url).map_err(|e| {
                failed(
                    format!("Invalid URL \"{url}\": {e}"),
                    Some("ERR_INVALID_URL"),
                )
                .for_good()
            })?;
            if let Some(host) = url.host_str() {
                let literal = host.trim_start_matches('[').trim_end_matches(']');
                if let Ok(ip) = literal.parse::<IpAddr>()
                    && ctx.engine.config().deny_list.denies(ip)
                {
                    return Err(failed(denied_message(host), None).for_good());
                }
            }
            let method = options.method.as_deref().unwrap_or("GET").to_uppercase();
            let method = reqwest::Method::from_bytes(method.as_bytes())
                .map_err(|_| failed(format!("Invalid method \"{method}\""), None).for_good())?;
            // `host:port` as Node prints it in connection errors.
            let address = format!(
                "{}:{}",
                url.host_str().unwrap_or_default(),
                url.port_or_known_default().unwrap_or_default()
            );
            let mut req = ctx.engine.http().request(method, url);
            let mut has_content_type = false;
            match options.headers {
                Headers::None => {}
                Headers::List(list) => {
                    for (name, value) in list {
                        if name == "Content-Type" {
                            has_content_type = true;
                        }
                        req = req.header(name, value);
                    }
                }
                Headers::NotAList => {
                    return Err(Rejection::error("headers.reduce is not a function").for_good());
                }
            }
            if let Some(body) = options.body {
                let json_like = match &body {
                    Value::String(s) => serde_json::from_str::<Value>(s).is_ok(),
                    _ => true,
                };
                if json_like && !has_content_type {
                    req = req.header("Content-Type", "application/json");
                }
                req = req.body(match body {
                    Value::String(s) => s,
                    other => other.to_string(),
                });
            }
            let response = req.send().await.map_err(|e| {
                let denied = std::error::Error::source(&e)
                    .map(|s| s.to_string())
                    .filter(|s| s.contains("denied IP address"));
                match denied {
                    Some(message) => failed(message, None).for_good(),
                    None if e.is_timeout() => failed(format!("timeout: {e}"), Some("ETIMEDOUT")),
                    None if e.is_connect() && refused(&e) => failed(
                        format!("connect ECONNREFUSED {address}"),
                        Some("ECONNREFUSED"),
                    ),
                    None if e.is_connect() => {
                        failed(format!("connect failed: {e}"), Some("ECONNREFUSED"))
                    }
                    None => failed(e.to_string(), None),
                }
            })?;
            let status = response.status();
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(retry_after);
            let mut headers = Map::new();
            for (name, value) in response.headers() {
                headers.insert(
                    name.as_str().to_string(),
                    json!(value.to_str().unwrap_or_default()),
                );
            }
            let is_json = headers
                .get("content-type")
                .and_then(Value::as_str)
                .is_some_and(|ct| ct.contains("json"));
            let text = response
                .text()
                .await
                .map_err(|e| failed(e.to_string(), None))?;
            let data = if is_json {
                serde_json::from_str(&text).unwrap_or(Value::String(text))
            } else {
                Value::String(text)
            };
            let result = json!({
                "status": status.as_u16(),
                "statusText": status.canonical_reason().unwrap_or_default(),
                "headers": headers,
                "data": data,
            });
            if status.is_success() {
                return Ok(result);
            }
            let rejection = Rejection::plain(result, "An unexpected error occurred.");
            // Overload and outages pass; other answers (400, 404, ...) would come again.
            Err(
                match (
                    status.as_u16() == 429 || status.is_server_error(),
                    retry_after,
                ) {
                    (true, Some(wait)) => rejection.retry_after(wait),
                    (true, None) => rejection,
                    (false, _) => rejection.for_good(),
                },
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_read_as_the_request_uses_them() {
        let none: RequestOptions = parse(serde_json::json!({}));
        assert_eq!(none, RequestOptions::default());
        let given: RequestOptions = parse(serde_json::json!({
            "url": "http://x", "method": 3, "body": null,
            "headers": [{"header": "A", "value": 1}, {"value": "v"}, "junk"]
        }));
        assert_eq!(given.url.as_deref(), Some("http://x"));
        assert_eq!(given.method, None);
        assert_eq!(given.body, Some(Value::Null));
        assert_eq!(
            given.headers,
            Headers::List(vec![
                ("A".into(), "1".into()),
                (String::new(), "v".into()),
                (String::new(), String::new()),
            ])
        );
        for odd in [serde_json::json!({"A": "1"}), serde_json::json!("A: 1")] {
            let options: RequestOptions = parse(serde_json::json!({"headers": odd}));
            assert_eq!(options.headers, Headers::NotAList);
        }
    }

    #[test]
    fn retry_after_takes_seconds_and_dates() {
        assert_eq!(retry_after("2"), Some(std::time::Duration::from_secs(2)));
        assert_eq!(retry_after(" 0 "), Some(std::time::Duration::ZERO));
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(std::time::Duration::ZERO)
        );
        let later = (chrono::Utc::now() + chrono::Duration::seconds(30)).to_rfc2822();
        let wait = retry_after(&later).expect("a date");
        assert!(
            wait > std::time::Duration::from_secs(25) && wait <= std::time::Duration::from_secs(30)
        );
        assert_eq!(retry_after("soon"), None);
    }

    #[test]
    fn default_list_denies_this_host_and_link_local() {
        let deny = DenyList::default_list();
        for ip in [
            "0.0.0.0",
            "0.1.2.3",
            "127.0.0.1",
            "::1",
            "169.254.169.254",
            "169.254.1.1",
            "fe80::1",
        ] {
            assert!(deny.denies(ip.parse().expect("ip")), "{ip}");
        }
        for ip in ["10.0.0.1", "93.184.216.34", "2606:4700::1"] {
            assert!(!deny.denies(ip.parse().expect("ip")), "{ip}");
        }
    }

    #[test]
    fn an_empty_list_denies_nothing() -> Result<(), String> {
        assert!(!DenyList::parse("")?.denies("127.0.0.1".parse().map_err(|_| "ip")?));
        assert!(DenyList::parse("nonsense").is_err());
        Ok(())
    }
}
