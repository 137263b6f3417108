//! How `/graphql/system` answers errors, as Directus shapes them: document errors are an
//! HTTP 400 `GRAPHQL_VALIDATION`, resolver errors ride along with `data` in a 200; and the
//! other ways in: GET with `?query=`, GraphiQL for browsers.

use crate::common::*;
use e2e::{ADMIN_TOKEN, TestApp, both};
use serde_json::{Value, json};

/// The body of a 400 `GRAPHQL_VALIDATION` answer with these individual errors.
fn validation(errors: Value) -> Value {
    json!({"errors": [{
        "message": "GraphQL validation error.",
        "extensions": {"code": "GRAPHQL_VALIDATION", "errors": errors},
    }]})
}

async fn rejected(app: &TestApp, query: &str) -> Value {
    let before = counts(app).await;
    let reply = app.gql(query, json!({})).await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert_eq!(
        reply.content_type.as_deref(),
        Some("application/json"),
        "{query}"
    );
    assert_eq!(counts(app).await, before);
    reply.json()
}

both!(
    syntax_errors_are_graphql_validation_errors,
    |app| async move {
        let body = rejected(&app, "{ flows { id }").await;
        assert_eq!(
            body,
            validation(json!([{
                "message": " --> 1:15\n  |\n1 | { flows { id }\n  |               ^---\n  |\n  = expected selection",
                "locations": [{"line": 1, "column": 15}],
            }]))
        );
        let body = rejected(&app, "").await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"],
            "GRAPHQL_VALIDATION"
        );
    }
);

both!(unknown_fields_are_each_reported, |app| async move {
    let body = rejected(&app, "{ flows { nope } operations { id nope2 } }").await;
    assert_eq!(
        body,
        validation(json!([
            {"message": "Unknown field \"nope\" on type \"directus_flows\".", "locations": [{"line": 1, "column": 11}]},
            {"message": "Unknown field \"nope2\" on type \"directus_operations\".", "locations": [{"line": 1, "column": 34}]},
        ]))
    );
    let body = rejected(&app, "{ nope { id } }").await;
    assert_eq!(
        body,
        validation(json!([
            {"message": "Unknown field \"nope\" on type \"Query\".", "locations": [{"line": 1, "column": 3}]},
        ]))
    );
});

both!(bad_arguments_are_validation_errors, |app| async move {
    seed(&app).await;
    let body = rejected(&app, "{ flows(limit: \"x\") { id } }").await;
    assert_eq!(
        body,
        validation(json!([{
            "message": "Invalid value for argument \"limit\", expected type \"Int\"",
            "locations": [{"line": 1, "column": 9}],
        }]))
    );
    let body = rejected(
        &app,
        "mutation { create_flows_item(data: {name: \"x\", nope: 1}) { id } }",
    )
    .await;
    assert_eq!(
        body,
        validation(json!([{
            "message": "Invalid value for argument \"data\", unknown field \"nope\" of type \"create_directus_flows_input\"",
            "locations": [{"line": 1, "column": 30}],
        }]))
    );
    // An operator a field type does not have is not in its filter input.
    let body = rejected(&app, "{ flows(filter: {name: {_gt: \"a\"}}) { id } }").await;
    assert_eq!(
        body,
        validation(json!([{
            "message": "Invalid value for argument \"filter.name\", unknown field \"_gt\" of type \"string_filter_operators\"",
            "locations": [{"line": 1, "column": 9}],
        }]))
    );
    let body = rejected(
        &app,
        "query ($f: directus_flows_filter!) { flows(filter: $f) { id } }",
    )
    .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "GRAPHQL_VALIDATION"
    );
});

both!(
    resolver_errors_answer_200_with_data_and_path,
    |app| async move {
        seed(&app).await;
        let reply = app
        .gql(
            &format!(
                "{{\n  ok: flows_by_id(id: \"{}\") {{ name }}\n  bad: flows(limit: -2) {{ id }}\n  missing: operations_by_id(id: \"{MISSING}\") {{ id }}\n}}",
                fid(3)
            ),
            json!({}),
        )
        .await;
        assert_eq!(reply.status, 200);
        assert_eq!(
            reply.json(),
            json!({
                "data": {"ok": {"name": "Gamma schedule"}, "bad": [], "missing": null},
                "errors": [
                    {
                        "message": "Invalid query. \"limit\" must be greater than or equal to -1.",
                        "locations": [{"line": 3, "column": 3}],
                        "path": ["bad"],
                        "extensions": {"code": "INVALID_QUERY", "reason": "\"limit\" must be greater than or equal to -1"},
                    },
                    {
                        "message": "You don't have permission to access this.",
                        "locations": [{"line": 4, "column": 3}],
                        "path": ["missing"],
                        "extensions": {"code": "FORBIDDEN"},
                    },
                ],
            })
        );
    }
);

both!(
    by_id_of_an_unknown_id_is_null_and_forbidden,
    |app| async move {
        seed(&app).await;
        for (root, id) in [
            ("flows_by_id", MISSING.to_string()),
            ("flows_by_id", "not-a-uuid".to_string()),
            ("operations_by_id", MISSING.to_string()),
            ("operations_by_id", fid(1)),
        ] {
            let body = gql_error(
                &app,
                &format!("{{ {root}(id: \"{id}\") {{ id }} }}"),
                json!({}),
            )
            .await;
            assert_eq!(
                body,
                json!({
                    "data": {root: null},
                    "errors": [{
                        "message": "You don't have permission to access this.",
                        "locations": [{"line": 1, "column": 3}],
                        "path": [root],
                        "extensions": {"code": "FORBIDDEN"},
                    }],
                }),
                "{root}({id})"
            );
        }
        let body = gql_error(
            &app,
            &format!(
                "{{ flows_by_id(id: \"{}\", version: \"draft\") {{ id }} }}",
                fid(1)
            ),
            json!({}),
        )
        .await;
        assert_eq!(
            body["errors"][0]["extensions"],
            json!({"code": "INVALID_QUERY", "reason": "Content versions are not available for system collections"})
        );
    }
);

both!(
    nested_argument_errors_are_reported_on_the_root_field,
    |app| async move {
        seed(&app).await;
        let body = gql_error(
            &app,
            "{ flows(limit: 1) { id operations(filter: {key: {_in: []}}) { id } } }",
            json!({}),
        )
        .await;
        assert_eq!(
            body,
            json!({
                "data": {"flows": []},
                "errors": [{
                    "message": "Invalid query. \"_in\" has to be an array of values.",
                    "locations": [{"line": 1, "column": 3}],
                    "path": ["flows"],
                    "extensions": {"code": "INVALID_QUERY", "reason": "\"_in\" has to be an array of values"},
                }],
            })
        );
        let body = gql_error(&app, "{ flows(offset: -1) { id } }", json!({})).await;
        assert_eq!(
            body["errors"][0]["message"],
            "Invalid query. \"offset\" must be greater than or equal to 0."
        );
    }
);

both!(variables_and_operation_names, |app| async move {
    seed(&app).await;
    let body = json!({
        "query": "query A($id: ID!) { flows_by_id(id: $id) { name } } query B { operations(limit: 1) { key } }",
        "variables": {"id": fid(4)},
        "operationName": "A",
    });
    let reply = app
        .send(
            "POST",
            "/graphql/system",
            Some(&body.to_string()),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json(),
        json!({"data": {"flows_by_id": {"name": "Delta_event"}}})
    );
    let body = json!({
        "query": "query A { flows(limit: 1) { id } } query B { operations(limit: 1) { key } }",
        "operationName": "B",
    });
    let reply = app
        .send(
            "POST",
            "/graphql/system",
            Some(&body.to_string()),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(
        reply.json(),
        json!({"data": {"operations": [{"key": "start"}]}})
    );
    // Two operations and no name: a validation error.
    let body = rejected(
        &app,
        "query A { flows { id } } query B { operations { id } }",
    )
    .await;
    assert_eq!(
        body,
        validation(json!([{"message": "Operation name required in request."}]))
    );
    // A variable of the wrong type.
    let reply = app
        .gql(
            "query ($id: ID!) { flows_by_id(id: $id) { id } }",
            json!({"id": {"not": "an id"}}),
        )
        .await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert_eq!(
        reply.json()["errors"][0]["extensions"]["code"],
        "GRAPHQL_VALIDATION"
    );
});

both!(malformed_bodies_are_invalid_payloads, |app| async move {
    for (body, reason) in [
        (
            "{not json",
            "Invalid JSON body: key must be a string at line 1 column 2",
        ),
        (
            "",
            "Invalid JSON body: EOF while parsing a value at line 1 column 0",
        ),
        (
            "[1, 2]",
            "Invalid JSON body: invalid type: integer `1`, expected a string at line 1 column 2",
        ),
    ] {
        let reply = app
            .send("POST", "/graphql/system", Some(body), Some(ADMIN_TOKEN))
            .await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.text);
        let json = reply.json();
        assert_eq!(
            json["errors"][0]["extensions"]["code"], "INVALID_PAYLOAD",
            "{json}"
        );
        assert_eq!(
            json["errors"][0]["message"],
            format!("Invalid payload. {reason}."),
            "{json}"
        );
    }
});

both!(get_runs_a_query_from_the_url, |app| async move {
    seed(&app).await;
    let query = encode(&format!(
        "{{ flows_by_id(id: \"{}\") {{ name trigger }} }}",
        fid(2)
    ));
    let reply = app
        .send(
            "GET",
            &format!("/graphql/system?query={query}"),
            None,
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.content_type.as_deref(), Some("application/json"));
    assert_eq!(
        reply.json(),
        json!({"data": {"flows_by_id": {"name": "beta webhook", "trigger": "webhook"}}})
    );
    // With variables and an operation name.
    let query = encode("query Q($t: String) { flows(filter: {trigger: {_eq: $t}}) { name } }");
    let variables = encode(r#"{"t": "schedule"}"#);
    let reply = app
        .send(
            "GET",
            &format!("/graphql/system?query={query}&variables={variables}&operationName=Q"),
            None,
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(
        reply.json(),
        json!({"data": {"flows": [{"name": "Gamma schedule"}]}})
    );
    // A browser asking for HTML with a query still gets the answer.
    let query = encode("{ flows_aggregated { countAll } }");
    let reply = app
        .send_raw(
            "GET",
            &format!("/graphql/system?query={query}&access_token={ADMIN_TOKEN}"),
            &[("accept", "text/html,application/json")],
            None,
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json(),
        json!({"data": {"flows_aggregated": [{"countAll": 5}]}})
    );
    // Without a query.
    let reply = app
        .send("GET", "/graphql/system", None, Some(ADMIN_TOKEN))
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.json(),
        validation(json!([{"message": "Must provide query string."}]))
    );
});

both!(browsers_get_graphiql, |app| async move {
    let reply = app
        .send_raw(
            "GET",
            "/graphql/system",
            &[("accept", "text/html,application/xhtml+xml,*/*;q=0.8")],
            None,
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.content_type.as_deref(),
        Some("text/html; charset=utf-8")
    );
    assert!(reply.text.contains("/graphql/system"), "{}", reply.text);
    assert!(reply.text.to_lowercase().contains("graphiql"));
    // The page itself needs no token.
    let reply = app
        .send_raw(
            "GET",
            &format!("/graphql/system?access_token={ADMIN_TOKEN}"),
            &[("accept", "text/html")],
            None,
        )
        .await;
    assert_eq!(reply.status, 200);
    assert!(reply.text.contains("/graphql/system"), "{}", reply.text);
});

/// A token in the page's URL reaches GraphiQL's requests (the endpoint sits in a
/// `<script>`, where HTML entities would not be decoded).
#[tokio::test]
async fn graphiql_hands_the_url_token_to_its_requests() {
    let app = TestApp::sqlite().await;
    let reply = app
        .send_raw(
            "GET",
            &format!("/graphql/system?access_token={ADMIN_TOKEN}"),
            &[("accept", "text/html")],
            None,
        )
        .await;
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .text
            .contains(&format!("'/graphql/system?access_token={ADMIN_TOKEN}'")),
        "{}",
        reply.text
    );
}

both!(introspection_describes_the_schema, |app| async move {
    let out = data(
        &app,
        r#"{ __type(name: "directus_operations") { name fields { name type { kind name ofType { name } } } } }"#,
    )
    .await;
    let fields = out["__type"]["fields"].as_array().expect("fields");
    let names: Vec<&str> = fields.iter().filter_map(|f| f["name"].as_str()).collect();
    assert_eq!(
        names,
        [
            "id",
            "name",
            "key",
            "type",
            "position_x",
            "position_y",
            "options",
            "options_func",
            "resolve",
            "reject",
            "flow",
            "date_created",
            "date_created_func",
            "user_created"
        ]
    );
    assert_eq!(
        fields[2]["type"],
        json!({"kind": "NON_NULL", "name": null, "ofType": {"name": "String"}})
    );
    let out = data(
        &app,
        "{ __schema { mutationType { name } subscriptionType { name } } }",
    )
    .await;
    assert_eq!(
        out,
        json!({"__schema": {"mutationType": {"name": "Mutation"}, "subscriptionType": {"name": "Subscription"}}})
    );
});

both!(subscriptions_need_a_websocket, |app| async move {
    let body = rejected(&app, "subscription { directus_flows_mutated { key } }").await;
    assert_eq!(
        body,
        validation(json!([{"message": "Subscriptions are not supported on this transport."}]))
    );
});
