//! Hostile input on `/graphql/system`: documents too deep or too wide, oversized bodies,
//! huge lists and deeply nested filters. Each is refused with a 4xx (never a 500) and
//! leaves the database as it was.

use crate::common::*;
use e2e::{ADMIN_TOKEN, TestApp, both};
use serde_json::{Value, json};

/// Posts a document as the admin; asserts a 4xx and an unchanged database.
async fn refused(app: &TestApp, body: String) -> (u16, Value) {
    let before = counts(app).await;
    let reply = app
        .send("POST", "/graphql/system", Some(&body), Some(ADMIN_TOKEN))
        .await;
    let status = reply.status.as_u16();
    assert!(
        (400..500).contains(&status),
        "{status}: {}",
        &reply.text[..reply.text.len().min(500)]
    );
    assert_eq!(counts(app).await, before);
    (status, reply.json())
}

fn document(query: &str) -> String {
    json!({ "query": query }).to_string()
}

both!(documents_nested_too_deep_are_refused, |app| async move {
    seed(&app).await;
    // 20 levels of relations: deeper than the document depth limit (16).
    let mut query = "id".to_string();
    for _ in 0..20 {
        query = format!("resolve {{ {query} }}");
    }
    let (status, body) = refused(&app, document(&format!("{{ operations {{ {query} }} }}"))).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"errors": [{
            "message": "GraphQL validation error.",
            "extensions": {"code": "GRAPHQL_VALIDATION", "errors": [{"message": "Query is nested too deep."}]},
        }]})
    );
    // Thousands of levels stop at the parser, without exhausting the stack.
    let query = format!(
        "{{ flows {} id {} }}",
        "{ operations ".repeat(2000),
        "}".repeat(2000)
    );
    let (status, body) = refused(&app, document(&query)).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["errors"][0]["extensions"],
        json!({"code": "GRAPHQL_VALIDATION", "errors": [{"message": "recursion limit exceeded."}]})
    );
});

both!(
    relations_deeper_than_the_relational_limit_are_invalid_queries,
    |app| async move {
        seed(&app).await;
        // 12 levels fit the document limit but not Directus's MAX_RELATIONAL_DEPTH (10).
        let mut query = "id".to_string();
        for _ in 0..12 {
            query = format!("resolve {{ {query} }}");
        }
        let body = gql_error(&app, &format!("{{ operations {{ {query} }} }}"), json!({})).await;
        assert_eq!(
            body,
            json!({
                "data": {"operations": []},
                "errors": [{
                    "message": "Invalid query. Max relational depth exceeded.",
                    "locations": [{"line": 1, "column": 3}],
                    "path": ["operations"],
                    "extensions": {"code": "INVALID_QUERY", "reason": "Max relational depth exceeded"},
                }],
            })
        );
        // Ten levels are fine.
        let mut query = "id".to_string();
        for _ in 0..9 {
            query = format!("resolve {{ {query} }}");
        }
        let out = data(&app, &format!("{{ operations(limit: 1) {{ {query} }} }}")).await;
        assert_eq!(out, json!({"operations": [{"resolve": {"resolve": null}}]}));
    }
);

both!(
    documents_with_thousands_of_fields_are_refused,
    |app| async move {
        seed(&app).await;
        let fields: Vec<String> = (0..5000).map(|n| format!("f{n}: id")).collect();
        let query = format!("{{ flows {{ {} }} }}", fields.join(" "));
        let (status, body) = refused(&app, document(&query)).await;
        assert_eq!(status, 400);
        assert_eq!(
            body,
            json!({"errors": [{
                "message": "GraphQL validation error.",
                "extensions": {"code": "GRAPHQL_VALIDATION", "errors": [{"message": "Query is too complex."}]},
            }]})
        );
        // As many root fields as aliases.
        let roots: Vec<String> = (0..3000)
            .map(|n| format!("r{n}: flows_aggregated {{ countAll }}"))
            .collect();
        let (status, _) = refused(&app, document(&format!("{{ {} }}", roots.join(" ")))).await;
        assert_eq!(status, 400);
    }
);

both!(
    bodies_over_one_mebibyte_are_invalid_payloads,
    |app| async move {
        seed(&app).await;
        let padding = " ".repeat(1024 * 1024);
        let (status, body) =
            refused(&app, document(&format!("{{ flows {{ id }} {padding}}}"))).await;
        assert_eq!(status, 400);
        assert_eq!(
            body,
            json!({"errors": [{
                "message": "Invalid payload. Request body is larger than 1048576 bytes.",
                "extensions": {"reason": "Request body is larger than 1048576 bytes", "code": "INVALID_PAYLOAD"},
            }]})
        );
        // A big batch of creates is refused as a whole.
        let items: Vec<Value> = (0..30_000)
            .map(
                |n| json!({"name": format!("flow number {n:05} with a name long enough to weigh")}),
            )
            .collect();
        let big = json!({
            "query": "mutation ($d: [create_directus_flows_input!]) { create_flows_items(data: $d) { id } }",
            "variables": {"d": items},
        })
        .to_string();
        assert!(big.len() > 1024 * 1024);
        let (status, body) = refused(&app, big).await;
        assert_eq!(status, 400);
        assert_eq!(body["errors"][0]["extensions"]["code"], "INVALID_PAYLOAD");
        // Under a megabyte, more than 10,000 items in one batch are refused too.
        let items: Vec<Value> = (0..10_001).map(|_| json!({"name": "x"})).collect();
        let body = gql_error(
            &app,
            "mutation ($d: [create_directus_flows_input!]) { create_flows_items(data: $d) { id } }",
            json!({"d": items}),
        )
        .await;
        assert_eq!(
            body["errors"][0]["extensions"],
            json!({"code": "INVALID_PAYLOAD", "reason": "A batch may hold at most 10000 items"})
        );
        assert_eq!(counts(&app).await, (5, 5));
    }
);

both!(
    deeply_nested_filters_are_invalid_queries,
    |app| async move {
        seed(&app).await;
        // Through variables the GraphQL parser's limits do not apply; the filter's own do.
        let mut filter = json!({"name": {"_eq": "x"}});
        for _ in 0..40 {
            filter = json!({"_and": [filter]});
        }
        let body = gql_error(
            &app,
            "query ($f: directus_flows_filter) { flows(filter: $f) { id } }",
            json!({"f": filter}),
        )
        .await;
        assert_eq!(
            body,
            json!({
                "data": {"flows": []},
                "errors": [{
                    "message": "Invalid query. Max filter depth exceeded.",
                    "locations": [{"line": 1, "column": 37}],
                    "path": ["flows"],
                    "extensions": {"code": "INVALID_QUERY", "reason": "Max filter depth exceeded"},
                }],
            })
        );
        // Relational nesting counts too.
        let mut filter = json!({"key": {"_eq": "x"}});
        for _ in 0..30 {
            filter = json!({"resolve": filter});
        }
        let body = gql_error(
            &app,
            "query ($f: directus_operations_filter) { operations(filter: $f) { id } }",
            json!({"f": filter}),
        )
        .await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "INVALID_QUERY",
            "{body}"
        );
        // Written into the document, the same.
        let mut inline = "{name: {_eq: \"x\"}}".to_string();
        for _ in 0..40 {
            inline = format!("{{_and: [{inline}]}}");
        }
        let body = gql_error(
            &app,
            &format!("{{ flows(filter: {inline}) {{ id }} }}"),
            json!({}),
        )
        .await;
        assert_eq!(
            body["errors"][0]["extensions"],
            json!({"code": "INVALID_QUERY", "reason": "Max filter depth exceeded"})
        );
        // Far deeper, the parser refuses the document, and the JSON reader the variables.
        let mut inline = "{name: {_eq: \"x\"}}".to_string();
        for _ in 0..3000 {
            inline = format!("{{_and: [{inline}]}}");
        }
        let mut deep = "{\"name\": {\"_eq\": \"x\"}}".to_string();
        for _ in 0..3000 {
            deep = format!("{{\"_and\": [{deep}]}}");
        }
        let (status, body) = refused(
            &app,
            format!(
                "{{\"query\": \"query ($f: directus_flows_filter) {{ flows(filter: $f) {{ id }} }}\", \"variables\": {{\"f\": {deep}}}}}"
            ),
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(body["errors"][0]["extensions"]["code"], "INVALID_PAYLOAD");
        let (status, body) = refused(
            &app,
            document(&format!("{{ flows(filter: {inline}) {{ id }} }}")),
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(
            body["errors"][0]["extensions"]["code"],
            "GRAPHQL_VALIDATION"
        );
    }
);

both!(
    nul_characters_are_refused_not_crashed_on,
    |app| async move {
        seed(&app).await;
        let before = snapshot(&app).await;
        // PostgreSQL can neither store nor compare text with NUL characters.
        for filter in [
            json!({"name": {"_eq": "a\u{0}b"}}),
            json!({"name": {"_icontains": "\u{0}"}}),
            json!({"id": {"_eq": "\u{0}"}}),
            json!({"options": {"_json": {"a": {"_eq": "\u{0}"}}}}),
        ] {
            let body = gql_error(
                &app,
                "query ($f: directus_flows_filter) { flows(filter: $f) { id } }",
                json!({"f": filter}),
            )
            .await;
            assert_eq!(
                body["errors"][0]["extensions"]["code"], "INVALID_QUERY",
                "{filter}: {body}"
            );
        }
        let body = gql_error(
            &app,
            "query ($s: String) { flows(search: $s) { id } }",
            json!({"s": "\u{0}"}),
        )
        .await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "INVALID_QUERY",
            "{body}"
        );
        for data in [
            json!({"name": "a\u{0}b"}),
            json!({"name": "ok", "options": {"a": "\u{0}"}}),
            json!({"name": "ok", "options": {"\u{0}": 1}}),
        ] {
            let body = gql_error(
                &app,
                "mutation ($d: create_directus_flows_input!) { create_flows_item(data: $d) { id } }",
                json!({"d": data}),
            )
            .await;
            assert_eq!(
                body["errors"][0]["extensions"]["code"], "FAILED_VALIDATION",
                "{data}: {body}"
            );
        }
        assert_eq!(snapshot(&app).await, before);
    }
);

both!(huge_in_lists_are_invalid_queries, |app| async move {
    seed(&app).await;
    let ids: Vec<String> = (0..10_001).map(|n| format!("k{n}")).collect();
    let body = gql_error(
        &app,
        "query ($f: directus_operations_filter) { operations(filter: $f) { id } }",
        json!({"f": {"key": {"_in": ids}}}),
    )
    .await;
    assert_eq!(
        body["errors"][0]["extensions"],
        json!({"code": "INVALID_QUERY", "reason": "\"_in\" has too many values"})
    );
    // Ten thousand values are still served.
    let ids: Vec<String> = (0..10_000)
        .map(|n| {
            if n == 0 {
                "log".to_string()
            } else {
                format!("k{n}")
            }
        })
        .collect();
    let out = app
        .gql_ok(
            "query ($f: directus_operations_filter) { operations(filter: $f) { key } }",
            json!({"f": {"key": {"_in": ids}}}),
        )
        .await;
    assert_eq!(out, json!({"operations": [{"key": "log"}]}));
});

both!(
    fragment_cycles_and_odd_documents_are_refused,
    |app| async move {
        seed(&app).await;
        for query in [
            "fragment A on directus_flows { ...B } fragment B on directus_flows { ...A } { flows { ...A } }",
            "{ flows { ...Missing } }",
            "query { flows { id } } mutation { delete_flows_items(ids: []) { ids } }",
            "{ flows @skip(if: true) @skip(if: true) { id } }",
        ] {
            let (status, body) = refused(&app, document(query)).await;
            assert_eq!(status, 400, "{query}: {body}");
        }
        // Strings with odd characters are just strings.
        let out = data(
            &app,
            "{ flows(filter: {name: {_contains: \"'; DROP TABLE directus_flows; --\"}}) { id } }",
        )
        .await;
        assert_eq!(out, json!({"flows": []}));
        assert_eq!(counts(&app).await, (5, 5));
    }
);

both!(a_long_search_or_sort_is_harmless, |app| async move {
    seed(&app).await;
    let long = "a".repeat(100_000);
    let out = app
        .gql_ok(
            "query ($s: String) { flows(search: $s) { id } }",
            json!({"s": long}),
        )
        .await;
    assert_eq!(out, json!({"flows": []}));
    let sort: Vec<String> = (0..1000).map(|_| "-name".to_string()).collect();
    let out = app
        .gql_ok(
            "query ($s: [String]) { flows(sort: $s, limit: 1) { name } }",
            json!({"s": sort}),
        )
        .await;
    assert_eq!(out["flows"].as_array().map(Vec::len), Some(1));
    let body = gql_error(
        &app,
        "query ($s: [String]) { flows(sort: $s) { name } }",
        json!({"s": ["name; DROP TABLE directus_flows"]}),
    )
    .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");
    assert_eq!(counts(&app).await, (5, 5));
});

/// Sends `head` and then the whole of `body` over a plain TCP connection before reading
/// anything, as a simple client does, then reads one response: its status line and body.
/// Then asks `/server/ping` on the same connection, to show it is still usable.
fn send_whole_then_read(
    addr: std::net::SocketAddr,
    head: String,
    body: &[u8],
) -> (String, Value, String) {
    use std::io::{BufRead, BufReader, Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .expect("timeout");
    stream.write_all(head.as_bytes()).expect("the head is sent");
    stream
        .write_all(body)
        .expect("the whole body is sent without the connection being reset");
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let read_one = |reader: &mut BufReader<std::net::TcpStream>| {
        let mut status = String::new();
        reader
            .read_line(&mut status)
            .expect("the status line is read");
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("a header is read");
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().expect("a length");
            }
        }
        let mut content = vec![0; length];
        reader.read_exact(&mut content).expect("the body is read");
        (status.trim_end().to_string(), content)
    };
    let (status, content) = read_one(&mut reader);
    let refusal: Value = serde_json::from_slice(&content).expect("a JSON body");
    stream
        .write_all(b"GET /server/ping HTTP/1.1\r\nHost: flowline\r\n\r\n")
        .expect("a second request is sent");
    let (_, pong) = read_one(&mut reader);
    (status, refusal, String::from_utf8_lossy(&pong).into_owned())
}

both!(
    an_oversized_body_sent_whole_gets_a_readable_refusal,
    |app| async move {
        let addr = app.serve().await;
        let three_mib = vec![b' '; 3 * 1024 * 1024];
        let refusal = json!({"errors": [{
            "message": "Invalid payload. Request body is larger than 1048576 bytes.",
            "extensions": {"reason": "Request body is larger than 1048576 bytes", "code": "INVALID_PAYLOAD"},
        }]});
        // Its length declared up front.
        let head = format!(
            "POST /flows HTTP/1.1\r\nHost: flowline\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            three_mib.len()
        );
        let body = three_mib.clone();
        let (status, answer, pong) =
            tokio::task::spawn_blocking(move || send_whole_then_read(addr, head, &body))
                .await
                .expect("the client thread");
        assert_eq!(status, "HTTP/1.1 400 Bad Request");
        assert_eq!(answer, refusal);
        assert_eq!(pong, "pong");
        // Found too large on the way: chunks of 64 KiB with no length declared.
        let head = format!(
            "POST /flows HTTP/1.1\r\nHost: flowline\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n\
             Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        );
        let mut chunked = Vec::new();
        for chunk in three_mib.chunks(64 * 1024) {
            chunked.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            chunked.extend_from_slice(chunk);
            chunked.extend_from_slice(b"\r\n");
        }
        chunked.extend_from_slice(b"0\r\n\r\n");
        let (status, answer, pong) =
            tokio::task::spawn_blocking(move || send_whole_then_read(addr, head, &chunked))
                .await
                .expect("the client thread");
        assert_eq!(status, "HTTP/1.1 400 Bad Request");
        assert_eq!(answer, refusal);
        assert_eq!(pong, "pong");
        assert_eq!(counts(&app).await, (0, 0));
    }
);
