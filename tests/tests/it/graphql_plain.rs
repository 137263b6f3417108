//! Plain list documents are answered without async-graphql's executor (`schema::Plain`).
//! Every such answer must be the executor's, byte for byte: the same document sent with a
//! variables map always goes through the executor, so the two replies are compared whole.

use crate::common::*;
use e2e::{ADMIN_TOKEN, TestApp, both};
use serde_json::json;

/// Whether the document is planned without the executor.
fn planned(app: &TestApp, query: &str) -> bool {
    let doc = async_graphql_parser::parse_query(query).expect("parses");
    schema::Plain::plan(&app.state.schema_catalog, &doc, None).is_some()
}

/// Sends `selection` as a plain document twice (planned, then from the kept plan) and again
/// with a variables map it does not use, which leaves it to the executor; answers the first
/// reply after checking that all three are the same.
async fn compare(app: &TestApp, selection: &str, plain: bool) -> e2e::Reply {
    let query = format!("{{ {selection} }}");
    assert_eq!(planned(app, &query), plain, "{selection}");
    let direct = app.gql(&query, json!({})).await;
    let kept = app.gql(&query, json!({})).await;
    let executed = app.gql(&query, json!({"unused": 1})).await;
    for reply in [&kept, &executed] {
        assert_eq!(direct.status, reply.status, "{selection}");
        assert_eq!(direct.content_type, reply.content_type, "{selection}");
        assert_eq!(direct.text, reply.text, "{selection}");
    }
    direct
}

both!(
    plain_lists_answer_exactly_as_the_executor,
    |app| async move {
        seed(&app).await;
        for selection in [
            "flows(limit: 25) { id name status operations { key type } }",
            "flows { id name icon color description status trigger accountability options \
         date_created operation { id key options position_x } folder { id } \
         user_created { email first_name last_name } \
         operations { id key resolve { key } reject { id } flow { name } } }",
            "f: flows(sort: \"-name\", offset: 1, limit: 2) { n: name id } \
         o: operations(sort: [\"key\", \"id\"]) { key flow { id status } }",
            "flows(search: \"webhook\", page: 2, limit: 1) { name }",
            "flows(limit: -1, sort: null) { operations { id } }",
            "operations(limit: 0) { id }",
            "operations(sort: \"-position_x\") { position_x position_y name options }",
        ] {
            let reply = compare(&app, selection, true).await;
            assert_eq!(reply.status, 200, "{}", reply.text);
            assert!(reply.json().get("errors").is_none(), "{}", reply.text);
        }
    }
);

both!(
    the_benchmark_list_reads_each_flow_with_its_operations,
    |app| async move {
        seed(&app).await;
        let reply = compare(
            &app,
            "flows(limit: 2) { id name status operations { key type } }",
            true,
        )
        .await;
        assert_eq!(reply.content_type.as_deref(), Some("application/json"));
        assert_eq!(
            reply.json(),
            json!({"data": {"flows": [
                {"id": fid(1), "name": "Alpha Webhook", "status": "active", "operations": [
                    {"key": "start", "type": "log"},
                    {"key": "check", "type": "condition"},
                    {"key": "notify", "type": "mail"},
                ]},
                {"id": fid(2), "name": "beta webhook", "status": "inactive", "operations": [
                    {"key": "start", "type": "request"},
                ]},
            ]}})
        );
    }
);

both!(
    documents_outside_the_plain_shape_still_answer_the_same,
    |app| async move {
        seed(&app).await;
        for selection in [
            "flows(filter: { status: { _eq: \"active\" } }) { name }",
            "flows { __typename id }",
            "flows { operations(limit: 1) { key } }",
            "flows { date_created_func { year } }",
            "activity { id }",
            "flows(offset: -1) { id }",
            "flows { nope }",
        ] {
            compare(&app, selection, false).await;
        }
    }
);

both!(
    failing_plain_reads_are_reported_by_the_executor,
    |app| async move {
        seed(&app).await;
        // Planned, but the read fails: the executor's error reply is the answer.
        let reply = compare(&app, "flows(search: \"x\", sort: \"-nope\") { id }", true).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(
            reply.json(),
            json!({"data": {"flows": []}, "errors": [{
                "message": "You don't have permission to access field \"nope\" in collection \"directus_flows\" or it does not exist. Queried in root.",
                "locations": [{"line": 1, "column": 3}],
                "path": ["flows"],
                "extensions": {"code": "FORBIDDEN"},
            }]})
        );
    }
);

/// Posts `query` as the admin with an operation name and no variables.
async fn named(app: &TestApp, query: &str, operation_name: Option<&str>) -> e2e::Reply {
    let body = json!({"query": query, "operationName": operation_name}).to_string();
    app.send("POST", "/graphql/system", Some(&body), Some(ADMIN_TOKEN))
        .await
}

both!(
    a_repeated_document_reuses_its_plan_and_reads_the_rows_of_the_moment,
    |app| async move {
        seed(&app).await;
        let query = "{ flows(limit: 1) { id name } }";
        let first = app.gql_ok(query, json!({})).await;
        assert_eq!(
            first,
            json!({"flows": [{"id": fid(1), "name": "Alpha Webhook"}]})
        );
        assert_eq!(app.state.plans.len(), 1);
        app.gql_ok(
            &format!(
                "mutation {{ update_flows_item(id: \"{}\", data: {{name: \"Renamed\"}}) {{ id }} }}",
                fid(1)
            ),
            json!({}),
        )
        .await;
        // The plan is kept, not the rows: the second answer reads the rename.
        let again = compare(&app, "flows(limit: 1) { id name }", true).await;
        assert_eq!(
            again.json(),
            json!({"data": {"flows": [{"id": fid(1), "name": "Renamed"}]}})
        );
        assert_eq!(app.state.plans.len(), 1);
        // Other documents, and documents the executor answers, keep nothing.
        app.gql_ok("{ operations(limit: 1) { key } }", json!({}))
            .await;
        app.gql_ok("{ flows_aggregated { countAll } }", json!({}))
            .await;
        assert_eq!(app.state.plans.len(), 2);
    }
);

both!(
    a_kept_plan_answers_only_the_operation_name_it_was_planned_for,
    |app| async move {
        seed(&app).await;
        let query = "query Named { flows(limit: 1) { name } }";
        let expected = json!({"data": {"flows": [{"name": "Alpha Webhook"}]}});
        for name in [Some("Named"), None, Some("Named"), None] {
            let reply = named(&app, query, name).await;
            assert_eq!(
                (reply.status.as_u16(), reply.json()),
                (200, expected.clone())
            );
        }
        assert_eq!(app.state.plans.len(), 2);
        for _ in 0..2 {
            let reply = named(&app, query, Some("Other")).await;
            assert_eq!(reply.status, 400, "{}", reply.text);
            assert_eq!(
                reply.json(),
                json!({"errors": [{
                    "message": "GraphQL validation error.",
                    "extensions": {
                        "errors": [{"message": "Unknown operation named \"Other\""}],
                        "code": "GRAPHQL_VALIDATION",
                    },
                }]})
            );
        }
        assert_eq!(app.state.plans.len(), 2);
    }
);

both!(
    a_kept_plan_is_not_a_way_past_the_admin_check,
    |app| async move {
        seed(&app).await;
        let query = "{ flows(limit: 1) { id } }";
        app.gql_ok(query, json!({})).await;
        assert_eq!(app.state.plans.len(), 1);
        let body = json!({ "query": query }).to_string();
        let reply = app.send("POST", "/graphql/system", Some(&body), None).await;
        assert_eq!(reply.status, 403);
        assert_eq!(
            reply.json(),
            error_body("You don't have permission to access this.", "FORBIDDEN")
        );
    }
);

both!(
    related_rows_written_by_the_database_escape_text_as_serde_json_does,
    |app| async move {
        // `operations { key name }` is written by the database inside the flows' statement;
        // every string must come out as serde_json writes it, controls and quotes included.
        seed(&app).await;
        let nasty = "tab\there \"quoted\" back\\slash \u{1}\u{1f} new\nline é ✓ \u{7f} </script>";
        app.gql_ok(
            "mutation ($id: ID!, $name: String) { \
             update_operations_item(id: $id, data: { name: $name }) { id } }",
            json!({"id": oid(2), "name": nasty}),
        )
        .await;
        let reply = compare(
            &app,
            "flows(limit: 1) { id operations { key name position_x } }",
            true,
        )
        .await;
        assert_eq!(
            reply.json(),
            json!({"data": {"flows": [{"id": fid(1), "operations": [
                {"key": "start", "name": "Start", "position_x": 10},
                {"key": "check", "name": nasty, "position_x": 30},
                {"key": "notify", "name": null, "position_x": 50},
            ]}]}})
        );
    }
);
