//! Plain list documents are answered without async-graphql's executor (`schema::Plain`).
//! Every such answer must be the executor's, byte for byte: the same document sent with a
//! variables map always goes through the executor, so the two replies are compared whole.

mod common;

use common::*;
use e2e::{TestApp, both};
use serde_json::json;

/// Whether the document is planned without the executor.
fn planned(app: &TestApp, query: &str) -> bool {
    let doc = async_graphql_parser::parse_query(query).expect("parses");
    schema::Plain::plan(&app.state.schema_catalog, &doc, None).is_some()
}

/// Sends `selection` as a plain document and again with a variables map it does not use,
/// which leaves it to the executor; answers the first reply after checking that both are
/// the same.
async fn compare(app: &TestApp, selection: &str, plain: bool) -> e2e::Reply {
    let query = format!("{{ {selection} }}");
    assert_eq!(planned(app, &query), plain, "{selection}");
    let direct = app.gql(&query, json!({})).await;
    let executed = app.gql(&query, json!({"unused": 1})).await;
    assert_eq!(direct.status, executed.status, "{selection}");
    assert_eq!(direct.content_type, executed.content_type, "{selection}");
    assert_eq!(direct.text, executed.text, "{selection}");
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
