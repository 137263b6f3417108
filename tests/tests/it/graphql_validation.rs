//! Every validation rule of flows and operations over GraphQL: each refusal answers 200
//! with the field `null` and one error per violation (message, location, path, Directus's
//! extensions), and leaves the database exactly as it was.

use crate::common::*;
use e2e::{TestApp, both};
use serde_json::{Value, json};

/// Runs a write that must be refused; checks that nothing changed and answers the body.
async fn refused(app: &TestApp, query: &str, variables: Value) -> Value {
    let before = snapshot(app).await;
    let rows = counts(app).await;
    let body = gql_error(app, query, variables).await;
    assert_eq!(counts(app).await, rows, "row counts changed: {body}");
    assert_eq!(snapshot(app).await, before, "rows changed: {body}");
    body
}

/// One error of `root` in `query` (a one-line document).
fn error(query: &str, root: &str, message: &str, extensions: Value) -> Value {
    let column = query
        .find(&format!("{root}("))
        .unwrap_or_else(|| panic!("{root} not in {query}"))
        + 1;
    json!({
        "message": message,
        "locations": [{"line": 1, "column": column}],
        "path": [root],
        "extensions": extensions,
    })
}

fn failed(field: &str, kind: &str) -> Value {
    json!({"field": field, "path": [], "type": kind, "code": "FAILED_VALIDATION"})
}

fn required(query: &str, root: &str, field: &str) -> Value {
    error(
        query,
        root,
        &format!("Validation failed for field \"{field}\". Value is required."),
        failed(field, "required"),
    )
}

/// One `required` error for each required column of an operation.
fn all_required(query: &str, root: &str) -> Vec<Value> {
    ["key", "type", "position_x", "position_y", "flow"]
        .iter()
        .map(|f| required(query, root, f))
        .collect()
}

fn not_unique(query: &str, root: &str, collection: &str, field: &str, value: &str) -> Value {
    error(
        query,
        root,
        &format!(
            "Value \"{value}\" for field \"{field}\" in collection \"{collection}\" has to be unique."
        ),
        json!({"collection": collection, "field": field, "value": value, "code": "RECORD_NOT_UNIQUE"}),
    )
}

both!(required_flow_fields_cannot_be_nulled, |app| async move {
    seed(&app).await;
    let q = format!(
        "mutation {{ update_flows_item(id: \"{}\", data: {{name: null, status: null, icon: null}}) {{ id }} }}",
        fid(1)
    );
    let body = refused(&app, &q, json!({})).await;
    assert_eq!(
        body,
        json!({
            "data": {"update_flows_item": null},
            "errors": [
                required(&q, "update_flows_item", "name"),
                required(&q, "update_flows_item", "status"),
            ],
        })
    );
});

both!(
    required_operation_fields_cannot_be_nulled,
    |app| async move {
        seed(&app).await;
        let q = format!(
            "mutation {{ update_operations_item(id: \"{}\", data: {{key: null, type: null, position_x: null, position_y: null, flow: null, name: null}}) {{ id }} }}",
            oid(1)
        );
        let body = refused(&app, &q, json!({})).await;
        assert_eq!(
            body,
            json!({
                "data": {"update_operations_item": null},
                "errors": all_required(&q, "update_operations_item"),
            })
        );
    }
);

both!(an_operation_needs_a_flow, |app| async move {
    seed(&app).await;
    let q = "mutation { create_operations_item(data: {key: \"orphan\", type: \"log\", position_x: 1, position_y: 2}) { id } }";
    let body = refused(&app, q, json!({})).await;
    assert_eq!(
        body,
        json!({
            "data": {"create_operations_item": null},
            "errors": [required(q, "create_operations_item", "flow")],
        })
    );
    // In a batch, the first item is not written either.
    let q = "mutation ($data: [create_directus_operations_input!]) { create_operations_items(data: $data) { id } }";
    let body = refused(
        &app,
        q,
        json!({"data": [
            {"key": "fine", "type": "log", "position_x": 1, "position_y": 2, "flow": {"id": fid(3), "name": "Gamma schedule"}},
            {"key": "orphan", "type": "log", "position_x": 1, "position_y": 2},
        ]}),
    )
    .await;
    assert_eq!(
        body,
        json!({
            "data": {"create_operations_items": []},
            "errors": [required(q, "create_operations_items", "flow")],
        })
    );
});

both!(
    missing_non_null_inputs_never_reach_the_database,
    |app| async move {
        seed(&app).await;
        let before = counts(&app).await;
        for query in [
            "mutation { create_flows_item(data: {name: null}) { id } }",
            "mutation { create_flows_item(data: {trigger: \"manual\"}) { id } }",
            "mutation { create_operations_item(data: {key: \"k\", type: \"log\", position_x: 1}) { id } }",
        ] {
            let reply = app.gql(query, json!({})).await;
            let body = reply.json();
            assert_eq!(reply.status, 400, "{query}: {body}");
            assert_eq!(
                body["errors"][0]["extensions"]["code"], "GRAPHQL_VALIDATION",
                "{body}"
            );
            assert_eq!(body["errors"].as_array().map(Vec::len), Some(1), "{body}");
        }
        assert_eq!(counts(&app).await, before);
    }
);

both!(status_must_be_active_or_inactive, |app| async move {
    seed(&app).await;
    let message =
        "Validation failed for field \"status\". Value has to be one of active, inactive.";
    let ext = json!({"field": "status", "path": [], "type": "in", "valid": ["active", "inactive"], "code": "FAILED_VALIDATION"});
    let q = format!(
        "mutation {{ create_flows_item(data: {{id: \"{}\", name: \"x\", status: \"weird\"}}) {{ id }} }}",
        fid(9)
    );
    let body = refused(&app, &q, json!({})).await;
    assert_eq!(
        body,
        json!({"data": {"create_flows_item": null}, "errors": [error(&q, "create_flows_item", message, ext.clone())]})
    );
    let q = format!(
        "mutation {{ update_flows_item(id: \"{}\", data: {{status: \"Active\"}}) {{ id }} }}",
        fid(1)
    );
    let body = refused(&app, &q, json!({})).await;
    assert_eq!(
        body["errors"],
        json!([error(&q, "update_flows_item", message, ext)])
    );
});

both!(trigger_must_be_a_known_type, |app| async move {
    seed(&app).await;
    let message = "Validation failed for field \"trigger\". Value has to be one of event, webhook, schedule, operation, manual.";
    let ext = json!({"field": "trigger", "path": [], "type": "in",
                     "valid": ["event", "webhook", "schedule", "operation", "manual"], "code": "FAILED_VALIDATION"});
    for bad in ["bogus", "hook", "Webhook", ""] {
        let q = format!(
            "mutation {{ update_flows_item(id: \"{}\", data: {{trigger: \"{bad}\"}}) {{ id }} }}",
            fid(1)
        );
        let body = refused(&app, &q, json!({})).await;
        assert_eq!(
            body,
            json!({"data": {"update_flows_item": null}, "errors": [error(&q, "update_flows_item", message, ext.clone())]}),
            "{bad}"
        );
    }
    // Two bad enums in one write: one error each.
    let q = "mutation { create_flows_item(data: {name: \"x\", status: \"on\", trigger: \"cron\"}) { id } }";
    let body = refused(&app, q, json!({})).await;
    let fields: Vec<&Value> = body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| &e["extensions"]["field"])
        .collect();
    assert_eq!(fields, [&json!("status"), &json!("trigger")]);
    // Every known trigger, and none, is accepted.
    for ok in ["event", "webhook", "schedule", "operation", "manual"] {
        let out = app
            .gql_ok(
                &format!(
                    "mutation {{ update_flows_item(id: \"{}\", data: {{trigger: \"{ok}\"}}) {{ trigger }} }}",
                    fid(3)
                ),
                json!({}),
            )
            .await;
        assert_eq!(out, json!({"update_flows_item": {"trigger": ok}}));
    }
    let out = app
        .gql_ok(
            &format!(
                "mutation {{ update_flows_item(id: \"{}\", data: {{trigger: null}}) {{ trigger }} }}",
                fid(3)
            ),
            json!({}),
        )
        .await;
    assert_eq!(out, json!({"update_flows_item": {"trigger": null}}));
});

both!(accountability_values, |app| async move {
    seed(&app).await;
    let role = uuid::Uuid::new_v4().to_string();
    for ok in [
        json!("all"),
        json!("activity"),
        json!("$trigger"),
        json!("$public"),
        json!("$full"),
        json!(role),
        Value::Null,
    ] {
        let out = app
            .gql_ok(
                "mutation ($id: ID!, $a: String) { update_flows_item(id: $id, data: {accountability: $a}) { accountability } }",
                json!({"id": fid(1), "a": ok}),
            )
            .await;
        assert_eq!(out, json!({"update_flows_item": {"accountability": ok}}));
    }
    let ext = json!({"field": "accountability", "path": [], "type": "in",
                     "valid": ["all", "activity", "$trigger", "$public", "$full"], "code": "FAILED_VALIDATION"});
    for bad in ["everything", "ALL", ""] {
        let q = format!(
            "mutation {{ update_flows_item(id: \"{}\", data: {{accountability: \"{bad}\"}}) {{ id }} }}",
            fid(2)
        );
        let body = refused(&app, &q, json!({})).await;
        assert_eq!(
            body["errors"],
            json!([error(
                &q,
                "update_flows_item",
                "Validation failed for field \"accountability\". Value has to be one of all, activity, $trigger, $public, $full.",
                ext.clone()
            )]),
            "{bad}"
        );
    }
});

both!(options_must_be_an_object, |app| async move {
    seed(&app).await;
    let message = "Validation failed for field \"options\". Value has to be an object.";
    let ext = json!({"field": "options", "path": [], "type": "type", "code": "FAILED_VALIDATION"});
    for bad in [json!([1, 2]), json!("text"), json!(5), json!(true)] {
        let q = "mutation ($id: ID!, $o: JSON) { update_flows_item(id: $id, data: {options: $o}) { id } }";
        let body = refused(&app, q, json!({"id": fid(1), "o": bad})).await;
        assert_eq!(
            body["errors"],
            json!([error(q, "update_flows_item", message, ext.clone())]),
            "{bad}"
        );
        let q = "mutation ($id: ID!, $o: JSON) { update_operations_item(id: $id, data: {options: $o}) { id } }";
        let body = refused(&app, q, json!({"id": oid(1), "o": bad})).await;
        assert_eq!(
            body["errors"],
            json!([error(q, "update_operations_item", message, ext.clone())]),
            "{bad}"
        );
    }
    // An object and null are fine.
    let out = app
        .gql_ok(
            &format!(
                "mutation {{ a: update_flows_item(id: \"{}\", data: {{options: {{}}}}) {{ options }} b: update_operations_item(id: \"{}\", data: {{options: null}}) {{ options }} }}",
                fid(1),
                oid(1)
            ),
            json!({}),
        )
        .await;
    assert_eq!(out, json!({"a": {"options": {}}, "b": {"options": null}}));
});

both!(operation_keys_are_unique_within_a_flow, |app| async move {
    seed(&app).await;
    let q = format!(
        "mutation {{ create_operations_item(data: {{key: \"check\", type: \"log\", position_x: 1, position_y: 1, flow: {{id: \"{}\", name: \"Alpha Webhook\"}}}}) {{ id }} }}",
        fid(1)
    );
    let body = refused(&app, &q, json!({})).await;
    assert_eq!(
        body,
        json!({"data": {"create_operations_item": null},
               "errors": [not_unique(&q, "create_operations_item", "directus_operations", "key", "check")]})
    );
    // Renaming onto a sibling's key.
    let q = format!(
        "mutation {{ update_operations_item(id: \"{}\", data: {{key: \"start\"}}) {{ id }} }}",
        oid(3)
    );
    let body = refused(&app, &q, json!({})).await;
    assert_eq!(
        body["errors"],
        json!([not_unique(
            &q,
            "update_operations_item",
            "directus_operations",
            "key",
            "start"
        )])
    );
    // Moving an operation into a flow that already has its key.
    let q = format!(
        "mutation {{ update_operations_item(id: \"{}\", data: {{flow: {{id: \"{}\"}}}}) {{ id }} }}",
        oid(4),
        fid(1)
    );
    let body = refused(&app, &q, json!({})).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "RECORD_NOT_UNIQUE",
        "{body}"
    );
    // Two new operations with one key in one batch.
    let q = format!(
        "mutation {{ update_flows_item(id: \"{}\", data: {{operations: {{create: [{{key: \"twin\", type: \"log\", position_x: 1, position_y: 1}}, {{key: \"twin\", type: \"log\", position_x: 2, position_y: 2}}]}}}}) {{ id }} }}",
        fid(3)
    );
    let reply = app.gql(&q, json!({})).await;
    // `operations` takes a list in GraphQL; the detailed form is refused by validation.
    assert_eq!(reply.status, 400, "{}", reply.text);
    let q =
        "mutation ($data: create_directus_flows_input!) { create_flows_item(data: $data) { id } }";
    let body = refused(
        &app,
        q,
        json!({"data": {"name": "Twins", "operations": [
            {"key": "twin", "type": "log", "position_x": 1, "position_y": 1},
            {"key": "twin", "type": "log", "position_x": 2, "position_y": 2},
        ]}}),
    )
    .await;
    assert_eq!(
        body["errors"],
        json!([not_unique(
            q,
            "create_flows_item",
            "directus_operations",
            "key",
            "twin"
        )])
    );
    // The same key in another flow is fine.
    op(
        &app,
        &oid(9),
        (&fid(3), "Gamma schedule"),
        "check",
        "log",
        0,
        0,
        json!({}),
    )
    .await;
    assert_eq!(counts(&app).await, (5, 6));
});

both!(links_stay_inside_their_flow, |app| async move {
    seed(&app).await;
    let q = format!(
        "mutation {{ update_operations_item(id: \"{}\", data: {{resolve: {{id: \"{}\"}}}}) {{ id }} }}",
        oid(4),
        oid(3)
    );
    let body = refused(&app, &q, json!({})).await;
    assert_eq!(
        body,
        json!({"data": {"update_operations_item": null}, "errors": [error(
            &q,
            "update_operations_item",
            &format!("Validation failed for field \"resolve\". Operation \"start\" can only lead to operations of its own flow; \"{}\" is not one.", oid(3)),
            json!({"field": "resolve", "path": [], "type": "flow", "code": "FAILED_VALIDATION"}),
        )]})
    );
    let q = format!(
        "mutation {{ update_operations_item(id: \"{}\", data: {{reject: {{id: \"{}\"}}}}) {{ id }} }}",
        oid(5),
        oid(1)
    );
    let body = refused(&app, &q, json!({})).await;
    assert_eq!(
        body["errors"][0]["message"],
        format!(
            "Validation failed for field \"reject\". Operation \"log\" can only lead to operations of its own flow; \"{}\" is not one.",
            oid(1)
        )
    );
    // A flow's first operation belongs to it.
    let q = format!(
        "mutation {{ update_flows_item(id: \"{}\", data: {{operation: {{id: \"{}\"}}}}) {{ id }} }}",
        fid(3),
        oid(5)
    );
    let body = refused(&app, &q, json!({})).await;
    assert_eq!(
        body["errors"],
        json!([error(
            &q,
            "update_flows_item",
            &format!(
                "Validation failed for field \"operation\". The first operation \"{}\" has to belong to this flow.",
                oid(5)
            ),
            json!({"field": "operation", "path": [], "type": "flow", "code": "FAILED_VALIDATION"}),
        )])
    );
});

both!(
    moving_a_linked_operation_out_of_its_flow_is_refused,
    |app| async move {
        seed(&app).await;
        // `notify` is `check`'s reject target: moving it to another flow would leave `check`
        // pointing outside its flow.
        let q = format!(
            "mutation {{ update_operations_item(id: \"{}\", data: {{flow: {{id: \"{}\"}}}}) {{ id }} }}",
            oid(3),
            fid(3)
        );
        let body = refused(&app, &q, json!({})).await;
        assert_eq!(
            body["errors"][0]["message"],
            format!(
                "Validation failed for field \"reject\". Operation \"check\" can only lead to operations of its own flow; \"{}\" is not one.",
                oid(3)
            )
        );
        // `start` is the first operation of its flow.
        let q = format!(
            "mutation {{ update_operations_item(id: \"{}\", data: {{flow: {{id: \"{}\"}}, resolve: null}}) {{ id }} }}",
            oid(1),
            fid(3)
        );
        let body = refused(&app, &q, json!({})).await;
        assert_eq!(
            body["errors"][0]["message"],
            format!(
                "Validation failed for field \"operation\". The first operation \"{}\" has to belong to this flow.",
                oid(1)
            )
        );
        // An operation nobody points at may move.
        let out = app
        .gql_ok(
            &format!(
                "mutation {{ update_operations_item(id: \"{}\", data: {{flow: {{id: \"{}\"}}}}) {{ flow {{ name }} }} }}",
                oid(5),
                fid(3)
            ),
            json!({}),
        )
        .await;
        assert_eq!(
            out,
            json!({"update_operations_item": {"flow": {"name": "Gamma schedule"}}})
        );
    }
);

both!(a_target_is_used_once, |app| async move {
    seed(&app).await;
    // `check` is already `start`'s resolve target.
    let q = format!(
        "mutation {{ update_operations_item(id: \"{}\", data: {{resolve: {{id: \"{}\"}}}}) {{ id }} }}",
        oid(3),
        oid(2)
    );
    let body = refused(&app, &q, json!({})).await;
    assert_eq!(
        body,
        json!({"data": {"update_operations_item": null},
               "errors": [not_unique(&q, "update_operations_item", "directus_operations", "resolve", &oid(2))]})
    );
    // `notify` is already `check`'s reject target.
    let q = format!(
        "mutation {{ update_operations_item(id: \"{}\", data: {{reject: {{id: \"{}\"}}}}) {{ id }} }}",
        oid(1),
        oid(3)
    );
    let body = refused(&app, &q, json!({})).await;
    assert_eq!(
        body["errors"],
        json!([not_unique(
            &q,
            "update_operations_item",
            "directus_operations",
            "reject",
            &oid(3)
        )])
    );
    // `start` is already the first operation of `Alpha Webhook`.
    let q = format!(
        "mutation {{ update_flows_item(id: \"{}\", data: {{operation: {{id: \"{}\"}}}}) {{ id }} }}",
        fid(4),
        oid(1)
    );
    let body = refused(&app, &q, json!({})).await;
    assert_eq!(
        body["errors"],
        json!([not_unique(
            &q,
            "update_flows_item",
            "directus_flows",
            "operation",
            &oid(1)
        )])
    );
    // One target may be one operation's resolve and another's reject.
    let out = app
        .gql_ok(
            &format!(
                "mutation {{ update_operations_item(id: \"{}\", data: {{reject: {{id: \"{}\"}}}}) {{ reject {{ key }} }} }}",
                oid(1),
                oid(2)
            ),
            json!({}),
        )
        .await;
    assert_eq!(
        out,
        json!({"update_operations_item": {"reject": {"key": "check"}}})
    );
});

both!(resolve_and_reject_must_not_loop, |app| async move {
    seed(&app).await;
    let cycle = |key: &str, field: &str| {
        json!({
            "message": format!("Validation failed for field \"{field}\". The resolve and reject links of operation \"{key}\" lead back to it; flows must not loop."),
            "ext": {"field": field, "path": [], "type": "cycle", "code": "FAILED_VALIDATION"},
        })
    };
    // start -> check -(reject)-> notify -> start
    let q = format!(
        "mutation {{ update_operations_item(id: \"{}\", data: {{resolve: {{id: \"{}\"}}}}) {{ id }} }}",
        oid(3),
        oid(1)
    );
    let body = refused(&app, &q, json!({})).await;
    let want = cycle("start", "resolve");
    assert_eq!(
        body,
        json!({"data": {"update_operations_item": null},
               "errors": [error(&q, "update_operations_item", want["message"].as_str().unwrap_or_default(), want["ext"].clone())]})
    );
    // Through a reject link.
    let q = format!(
        "mutation {{ update_operations_item(id: \"{}\", data: {{reject: {{id: \"{}\"}}}}) {{ id }} }}",
        oid(3),
        oid(2)
    );
    let body = refused(&app, &q, json!({})).await;
    let want = cycle("check", "reject");
    assert_eq!(body["errors"][0]["message"], want["message"]);
    assert_eq!(body["errors"][0]["extensions"], want["ext"]);
    // An operation leading to itself.
    let q = format!(
        "mutation {{ update_operations_item(id: \"{}\", data: {{resolve: {{id: \"{}\"}}}}) {{ id }} }}",
        oid(5),
        oid(5)
    );
    let body = refused(&app, &q, json!({})).await;
    assert_eq!(
        body["errors"][0]["message"],
        cycle("log", "resolve")["message"]
    );
});

both!(
    linking_an_unknown_operation_creates_nothing,
    |app| async move {
        seed(&app).await;
        // A nested object with an unknown id asks to create that row (Directus's nested
        // writes); an operation with nothing but an id fails validation.
        let q = format!(
            "mutation {{ update_operations_item(id: \"{}\", data: {{resolve: {{id: \"{MISSING}\"}}}}) {{ id }} }}",
            oid(3)
        );
        let body = refused(&app, &q, json!({})).await;
        assert_eq!(
            body,
            json!({
                "data": {"update_operations_item": null},
                "errors": all_required(&q, "update_operations_item"),
            })
        );
        // An id that is not a UUID.
        let q = format!(
            "mutation {{ update_operations_item(id: \"{}\", data: {{resolve: {{id: \"op-1\"}}}}) {{ id }} }}",
            oid(3)
        );
        let body = refused(&app, &q, json!({})).await;
        assert_eq!(
            body["errors"],
            json!([error(
                &q,
                "update_operations_item",
                "Invalid payload. Invalid uuid value for field \"id\".",
                json!({"reason": "Invalid uuid value for field \"id\"", "code": "INVALID_PAYLOAD"})
            )])
        );
        // Folders are read-only here: an unknown folder cannot be created through a flow.
        let q = format!(
            "mutation {{ update_flows_item(id: \"{}\", data: {{folder: {{id: \"{MISSING}\", name: \"new\"}}}}) {{ id }} }}",
            fid(1)
        );
        let body = refused(&app, &q, json!({})).await;
        assert_eq!(
            body["errors"],
            json!([error(
                &q,
                "update_flows_item",
                "You don't have permission to access this.",
                json!({"code": "FORBIDDEN"})
            )])
        );
    }
);

both!(batches_are_all_or_nothing, |app| async move {
    seed(&app).await;
    let q = "mutation ($data: [create_directus_flows_input!]) { create_flows_items(data: $data) { id } }";
    let body = refused(
        &app,
        q,
        json!({"data": [
            {"id": fid(10), "name": "ok 1"},
            {"id": fid(11), "name": "ok 2", "operations": [{"key": "a", "type": "log", "position_x": 0, "position_y": 0}]},
            {"id": fid(12), "name": "bad", "status": "weird"},
        ]}),
    )
    .await;
    assert_eq!(body["data"], json!({"create_flows_items": []}));
    assert_eq!(body["errors"][0]["extensions"]["field"], "status");
    let body = refused(
        &app,
        "mutation ($data: [update_directus_flows_input!]) { update_flows_batch(data: $data) { id } }",
        json!({"data": [
            {"id": fid(1), "name": "changed"},
            {"id": fid(2), "description": "changed"},
            {"id": fid(3), "trigger": "bogus"},
        ]}),
    )
    .await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "trigger");
    let body = refused(
        &app,
        &format!(
            "mutation {{ update_operations_items(ids: [\"{}\", \"{}\"], data: {{key: \"check\"}}) {{ id }} }}",
            oid(4),
            oid(1)
        ),
        json!({}),
    )
    .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "RECORD_NOT_UNIQUE");
    let body = refused(
        &app,
        "mutation ($data: [create_directus_operations_input!]) { create_operations_items(data: $data) { id } }",
        json!({"data": [
            {"key": "x", "type": "log", "position_x": 0, "position_y": 0, "flow": {"id": fid(3), "name": "Gamma schedule"}},
            {"key": "x", "type": "log", "position_x": 0, "position_y": 0, "flow": {"id": fid(3), "name": "Gamma schedule"}},
        ]}),
    )
    .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "RECORD_NOT_UNIQUE");
    // A later cycle undoes the earlier links of the same batch.
    let body = refused(
        &app,
        "mutation ($data: [update_directus_operations_input!]) { update_operations_batch(data: $data) { id } }",
        json!({"data": [
            {"id": oid(1), "name": "changed"},
            {"id": oid(3), "resolve": {"id": oid(1)}},
        ]}),
    )
    .await;
    assert_eq!(body["errors"][0]["extensions"]["type"], "cycle");
});

both!(values_too_long_are_refused, |app| async move {
    seed(&app).await;
    let long = "x".repeat(256);
    let q = "mutation ($n: String!) { create_flows_item(data: {name: $n}) { id } }";
    let body = refused(&app, q, json!({"n": long})).await;
    assert_eq!(
        body,
        json!({"data": {"create_flows_item": null}, "errors": [error(q, "create_flows_item",
            "Value for field \"name\" in collection \"directus_flows\" is too long.",
            json!({"collection": "directus_flows", "field": "name", "code": "VALUE_TOO_LONG"}))]})
    );
    let q =
        "mutation ($id: ID!, $i: String) { update_flows_item(id: $id, data: {icon: $i}) { id } }";
    let body = refused(&app, q, json!({"id": fid(1), "i": "i".repeat(65)})).await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "icon");
    // The limits themselves are fine, counted in characters.
    let out = app
        .gql_ok(
            "mutation ($n: String!, $i: String) { create_flows_item(data: {name: $n, icon: $i}) { icon } }",
            json!({"n": "é".repeat(255), "i": "i".repeat(64)}),
        )
        .await;
    assert_eq!(out, json!({"create_flows_item": {"icon": "i".repeat(64)}}));
});

both!(primary_keys_are_unique_uuids, |app| async move {
    seed(&app).await;
    let q = format!(
        "mutation {{ create_flows_item(data: {{id: \"{}\", name: \"again\"}}) {{ id }} }}",
        fid(1)
    );
    let body = refused(&app, &q, json!({})).await;
    assert_eq!(
        body["errors"],
        json!([not_unique(
            &q,
            "create_flows_item",
            "directus_flows",
            "id",
            &fid(1)
        )])
    );
    let q = format!(
        "mutation {{ create_operations_item(data: {{id: \"{}\", key: \"again\", type: \"log\", position_x: 0, position_y: 0, flow: {{id: \"{}\", name: \"Gamma schedule\"}}}}) {{ id }} }}",
        oid(1),
        fid(3)
    );
    let body = refused(&app, &q, json!({})).await;
    assert_eq!(
        body["errors"],
        json!([not_unique(
            &q,
            "create_operations_item",
            "directus_operations",
            "id",
            &oid(1)
        )])
    );
    let q = "mutation { create_flows_item(data: {id: \"flow-1\", name: \"bad id\"}) { id } }";
    let body = refused(&app, q, json!({})).await;
    assert_eq!(
        body["errors"],
        json!([error(
            q,
            "create_flows_item",
            "Invalid payload. Invalid uuid value for field \"id\".",
            json!({"reason": "Invalid uuid value for field \"id\"", "code": "INVALID_PAYLOAD"})
        )])
    );
});

both!(integers_out_of_range_are_refused, |app| async move {
    seed(&app).await;
    let q = format!(
        "mutation {{ update_operations_item(id: \"{}\", data: {{position_x: 3000000000}}) {{ id }} }}",
        oid(1)
    );
    let body = refused(&app, &q, json!({})).await;
    assert_eq!(
        body,
        json!({"data": {"update_operations_item": null}, "errors": [error(&q, "update_operations_item",
            "Numeric value for field \"position_x\" in collection \"directus_operations\" is out of range.",
            json!({"collection": "directus_operations", "field": "position_x", "code": "VALUE_OUT_OF_RANGE"}))]})
    );
    let out = app
        .gql_ok(
            &format!(
                "mutation {{ update_operations_item(id: \"{}\", data: {{position_x: -2147483648, position_y: 2147483647}}) {{ position_x position_y }} }}",
                oid(1)
            ),
            json!({}),
        )
        .await;
    assert_eq!(
        out,
        json!({"update_operations_item": {"position_x": -2147483648i64, "position_y": 2147483647}})
    );
});
