//! The `request` operation against a real HTTP server on loopback started by the test:
//! 2xx, 4xx and 5xx answers, bodies and headers sent, a refused connection and a denied
//! address (operations-catalog.md §11; the test app denies only 169.254.169.254).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use crate::flows_support::*;
use e2e::{ADMIN_TOKEN, both};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A request the target server received.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    /// Lower-cased names.
    headers: Vec<(String, String)>,
    body: String,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

const OK_BODY: &str = r#"{"ok":true,"items":[1,2]}"#;
const TEXT_BODY: &str = "just text";
const MISSING_BODY: &str = r#"{"error":"no such thing"}"#;
const BAD_GATEWAY_BODY: &str = r#"{"error":"upstream"}"#;

/// A tiny HTTP/1.1 server with fixed answers, so response headers are exact:
/// `/ok` 200 JSON, `/text` 200 plain text, `/missing` 404 JSON, `/bad-gateway` 502 JSON,
/// `/echo` 200 JSON describing the request. Every request is recorded.
struct Target {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Target {
    async fn start() -> Target {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let log = log.clone();
                tokio::spawn(async move {
                    let _ = serve(stream, log).await;
                });
            }
        });
        Target { addr, seen }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }
}

async fn serve(mut stream: TcpStream, log: Arc<Mutex<Vec<Seen>>>) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_string();
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let seen = Seen {
        method,
        path: path.clone(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    log.lock().expect("lock").push(seen.clone());
    let (status, content_type, text) = match path.as_str() {
        "/ok" => ("200 OK", "application/json", OK_BODY.to_string()),
        "/text" => ("200 OK", "text/plain", TEXT_BODY.to_string()),
        "/missing" => (
            "404 Not Found",
            "application/json",
            MISSING_BODY.to_string(),
        ),
        "/bad-gateway" => (
            "502 Bad Gateway",
            "application/json",
            BAD_GATEWAY_BODY.to_string(),
        ),
        _ => (
            "200 OK",
            "application/json",
            json!({
                "method": seen.method,
                "path": seen.path,
                "content_type": seen.header("content-type"),
                "x_custom": seen.header("x-custom"),
                "body": seen.body,
            })
            .to_string(),
        ),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nX-Target: yes\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

/// The headers every answer of [`Target`] carries.
fn target_headers(content_type: &str, length: usize) -> Value {
    json!({
        "content-type": content_type,
        "content-length": length.to_string(),
        "x-target": "yes",
        "connection": "close",
    })
}

/// A webhook flow (POST) running one request operation with these options.
async fn request_flow(app: &e2e::TestApp, n: u32, options: Value, strict: bool) -> Flow {
    FlowBuilder::webhook(n)
        .method("POST")
        .option("error_on_reject", json!(strict))
        .op("call", "request", options)
        .insert(app)
        .await
}

both!(
    a_2xx_json_answer_resolves_with_status_headers_and_data,
    |app| async move {
        let target = Target::start().await;
        let flow = request_flow(
            &app,
            1,
            json!({"url": target.url("/ok"), "method": "GET"}),
            false,
        )
        .await;
        assert_json(
            &post(&app, &flow.url(), json!({})).await,
            200,
            json!({
                "status": 200,
                "statusText": "OK",
                "headers": target_headers("application/json", OK_BODY.len()),
                "data": {"ok": true, "items": [1, 2]},
            }),
        );
        let seen = target.seen();
        assert_eq!(seen.len(), 1);
        assert_eq!(
            (seen[0].method.as_str(), seen[0].path.as_str()),
            ("GET", "/ok")
        );
    }
);

both!(a_text_answer_keeps_its_data_as_a_string, |app| async move {
    let target = Target::start().await;
    let flow = request_flow(&app, 1, json!({"url": target.url("/text")}), false).await;
    assert_json(
        &post(&app, &flow.url(), json!({})).await,
        200,
        json!({
            "status": 200,
            "statusText": "OK",
            "headers": target_headers("text/plain", TEXT_BODY.len()),
            "data": "just text",
        }),
    );
    // No method option: GET.
    assert_eq!(target.seen()[0].method, "GET");
});

both!(a_404_rejects_with_the_same_shape, |app| async move {
    let target = Target::start().await;
    let lenient = request_flow(&app, 1, json!({"url": target.url("/missing")}), false).await;
    let shape = json!({
        "status": 404,
        "statusText": "Not Found",
        "headers": target_headers("application/json", MISSING_BODY.len()),
        "data": {"error": "no such thing"},
    });
    assert_json(&post(&app, &lenient.url(), json!({})).await, 200, shape);
    // The reject branch sees the same object as `$last`.
    let branched = FlowBuilder::webhook(2)
        .op("call", "request", json!({"url": target.url("/missing")}))
        .or_else(
            "caught",
            "transform",
            json!({"json": "{\"status\": {{ $last.status }}, \"error\": \"{{ call.data.error }}\"}"}),
        )
        .insert(&app)
        .await;
    assert_json(
        &get(&app, &branched.url()).await,
        200,
        json!({"status": 404, "error": "no such thing"}),
    );
});

both!(
    a_502_rejects_and_error_on_reject_answers_500,
    |app| async move {
        let target = Target::start().await;
        let lenient =
            request_flow(&app, 1, json!({"url": target.url("/bad-gateway")}), false).await;
        assert_json(
            &post(&app, &lenient.url(), json!({})).await,
            200,
            json!({
                "status": 502,
                "statusText": "Bad Gateway",
                "headers": target_headers("application/json", BAD_GATEWAY_BODY.len()),
                "data": {"error": "upstream"},
            }),
        );
        // The rejection is not a Directus error: a 500 for everyone (no message to show).
        let strict = request_flow(&app, 2, json!({"url": target.url("/bad-gateway")}), true).await;
        let expected = json!({"errors": [{"message": "An unexpected error occurred.", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]});
        assert_json(
            &post(&app, &strict.url(), json!({})).await,
            500,
            expected.clone(),
        );
        let reply = app
            .send("POST", &strict.url(), Some("{}"), Some(ADMIN_TOKEN))
            .await;
        assert_json(&reply, 500, expected);
    }
);

both!(a_json_string_body_is_sent_as_json, |app| async move {
    let target = Target::start().await;
    let flow = request_flow(
        &app,
        1,
        json!({"url": target.url("/echo"), "method": "POST", "body": "{\"name\": \"{{ $trigger.body.name }}\"}"}),
        false,
    )
    .await;
    let reply = post(&app, &flow.url(), json!({"name": "Ada"})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.json()["data"],
        json!({"method": "POST", "path": "/echo", "content_type": "application/json", "x_custom": null, "body": "{\"name\": \"Ada\"}"})
    );
});

both!(an_object_body_is_sent_as_json_text, |app| async move {
    let target = Target::start().await;
    let flow = request_flow(
        &app,
        1,
        json!({"url": target.url("/echo"), "method": "put", "body": {"n": "{{ $trigger.body.n }}", "list": [1]}}),
        false,
    )
    .await;
    let reply = post(&app, &flow.url(), json!({"n": 3})).await;
    let data = &reply.json()["data"];
    assert_eq!(data["method"], json!("PUT"));
    assert_eq!(data["content_type"], json!("application/json"));
    let sent: Value = serde_json::from_str(data["body"].as_str().expect("body")).expect("json");
    assert_eq!(sent, json!({"n": 3, "list": [1]}));
});

both!(a_text_body_gets_no_json_content_type, |app| async move {
    let target = Target::start().await;
    let flow = request_flow(
        &app,
        1,
        json!({"url": target.url("/echo"), "method": "POST", "body": "plain words"}),
        false,
    )
    .await;
    let data = post(&app, &flow.url(), json!({})).await.json()["data"].clone();
    assert_eq!(data["body"], json!("plain words"));
    assert_ne!(data["content_type"], json!("application/json"));
});

both!(headers_are_a_list_of_header_and_value, |app| async move {
    let target = Target::start().await;
    let flow = request_flow(
        &app,
        1,
        json!({
            "url": target.url("/echo"),
            "method": "POST",
            "headers": [
                {"header": "X-Custom", "value": "{{ $trigger.body.v }}"},
                {"header": "Content-Type", "value": "text/csv"},
            ],
            "body": "{\"a\": 1}",
        }),
        false,
    )
    .await;
    let reply = post(&app, &flow.url(), json!({"v": "hello"})).await;
    // The echo's JSON text lists its keys in this order.
    let data = json!({"method": "POST", "path": "/echo", "content_type": "text/csv", "x_custom": "hello", "body": "{\"a\": 1}"});
    assert_json(
        &reply,
        200,
        json!({
            "status": 200,
            "statusText": "OK",
            "headers": target_headers("application/json", data.to_string().len()),
            "data": data,
        }),
    );
});

both!(headers_as_an_object_reject, |app| async move {
    let target = Target::start().await;
    let flow = request_flow(
        &app,
        1,
        json!({"url": target.url("/ok"), "headers": {"X-Custom": "1"}}),
        false,
    )
    .await;
    assert_json(&post(&app, &flow.url(), json!({})).await, 200, json!({}));
    assert!(target.seen().is_empty(), "nothing may be sent");
});

both!(a_refused_connection_rejects, |app| async move {
    // A port that was just free: nothing listens there.
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let url = format!("http://127.0.0.1:{port}/");
    let message = format!("connect ECONNREFUSED 127.0.0.1:{port}");
    let lenient = request_flow(&app, 1, json!({"url": url}), false).await;
    assert_json(
        &post(&app, &lenient.url(), json!({})).await,
        200,
        json!({"name": "Error", "message": message, "code": "ECONNREFUSED"}),
    );
    // The reject branch sees the error.
    let branched = FlowBuilder::webhook(2)
        .op("call", "request", json!({"url": url}))
        .or_else(
            "caught",
            "transform",
            json!({"json": {"code": "{{ $last.code }}", "name": "{{ call.name }}"}}),
        )
        .insert(&app)
        .await;
    assert_json(
        &get(&app, &branched.url()).await,
        200,
        json!({"code": "ECONNREFUSED", "name": "Error"}),
    );
    // Not a Directus error: a 500, with the message for admins only.
    let strict = request_flow(&app, 3, json!({"url": url}), true).await;
    assert_json(
        &post(&app, &strict.url(), json!({})).await,
        500,
        json!({"errors": [{"message": "An unexpected error occurred.", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]}),
    );
    let reply = app
        .send("POST", &strict.url(), Some("{}"), Some(ADMIN_TOKEN))
        .await;
    assert_json(
        &reply,
        500,
        json!({"errors": [{"message": message, "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]}),
    );
});

both!(
    a_denied_address_rejects_before_connecting,
    |app| async move {
        let message = "Requested domain \"169.254.169.254\" resolves to a denied IP address";
        let lenient = request_flow(
            &app,
            1,
            json!({"url": "http://169.254.169.254/latest/meta-data/"}),
            false,
        )
        .await;
        assert_json(
            &post(&app, &lenient.url(), json!({})).await,
            200,
            json!({"name": "Error", "message": message}),
        );
        let strict = request_flow(&app, 2, json!({"url": "http://169.254.169.254/"}), true).await;
        let reply = app
            .send("POST", &strict.url(), Some("{}"), Some(ADMIN_TOKEN))
            .await;
        assert_json(
            &reply,
            500,
            json!({"errors": [{"message": message, "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]}),
        );
    }
);

both!(the_url_is_templated, |app| async move {
    let target = Target::start().await;
    let flow = FlowBuilder::webhook(1)
        .method("POST")
        .op(
            "call",
            "request",
            json!({"url": format!("http://{}/{{{{ $trigger.body.path }}}}", target.addr)}),
        )
        .then(
            "pick",
            "transform",
            json!({"json": "{{ call.data.items }}"}),
        )
        .insert(&app)
        .await;
    assert_json(
        &post(&app, &flow.url(), json!({"path": "ok"})).await,
        200,
        json!([1, 2]),
    );
});
