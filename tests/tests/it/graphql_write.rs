//! Writes on `/graphql/system`: create, update and delete of flows and operations, one and
//! many, nested relations, server-managed fields and what deletes do to the flow graph.

use crate::common::*;
use e2e::both;
use serde_json::{Value, json};

/// Every column of a flow but the creation date.
const FLOW_FIELDS: &str = "id name icon color description status trigger accountability options operation { id } folder { id } user_created { email } operations { id }";
/// Every column of an operation but the creation date.
const OP_FIELDS: &str = "id name key type position_x position_y options resolve { id } reject { id } flow { id } user_created { email }";

fn flow_row(id: &str, name: &str, changes: Value) -> Value {
    let mut row = json!({
        "id": id, "name": name, "icon": null, "color": null, "description": null,
        "status": "active", "trigger": null, "accountability": "all", "options": null,
        "operation": null, "folder": null, "user_created": {"email": "admin@example.com"},
        "operations": [],
    });
    if let (Value::Object(row), Value::Object(changes)) = (&mut row, changes) {
        row.extend(changes);
    }
    row
}

both!(create_flows_item_fills_the_defaults, |app| async move {
    let out = app
        .gql_ok(
            &format!(
                "mutation {{ create_flows_item(data: {{id: \"{}\", name: \"Only a name\"}}) {{ {FLOW_FIELDS} }} }}",
                fid(1)
            ),
            json!({}),
        )
        .await;
    assert_eq!(
        out,
        json!({"create_flows_item": flow_row(&fid(1), "Only a name", json!({}))})
    );
    assert_eq!(counts(&app).await, (1, 0));
});

both!(create_flows_item_stores_every_field, |app| async move {
    let out = app
        .gql_ok(
            &format!(
                "mutation ($data: create_directus_flows_input!) {{ create_flows_item(data: $data) {{ {FLOW_FIELDS} }} }}"
            ),
            json!({"data": {
                "id": fid(7), "name": "Full", "icon": "bolt", "color": "#00FF00",
                "description": "All fields", "status": "inactive", "trigger": "webhook",
                "accountability": "activity",
                "options": {"method": "POST", "return": "$last", "template": "{{ $trigger.body }}", "n": [1, 2.5, null, true]},
            }}),
        )
        .await;
    assert_eq!(
        out,
        json!({"create_flows_item": flow_row(&fid(7), "Full", json!({
            "icon": "bolt", "color": "#00FF00", "description": "All fields", "status": "inactive",
            "trigger": "webhook", "accountability": "activity",
            "options": {"method": "POST", "return": "$last", "template": "{{ $trigger.body }}", "n": [1, 2.5, null, true]},
        }))})
    );
});

both!(
    server_managed_fields_are_set_by_the_server,
    |app| async move {
        let admin = admin_id(&app).await;
        let out = app
        .gql_ok(
            "mutation { create_flows_item(data: {name: \"No id\", date_created: \"2001-02-03T04:05:06Z\"}) {
                id date_created user_created { id email } } }",
            json!({}),
        )
        .await;
        let row = &out["create_flows_item"];
        let id = row["id"].as_str().expect("id");
        let parsed = uuid::Uuid::parse_str(id).expect("a UUID");
        assert_eq!(parsed.get_version_num(), 4, "{id}");
        assert_eq!(parsed.get_variant(), uuid::Variant::RFC4122);
        assert_eq!(id, parsed.hyphenated().to_string(), "lower-case hyphenated");
        let created = row["date_created"].as_str().expect("date_created");
        assert!(
            (now_seconds() - epoch_seconds(created)).abs() < 120,
            "the client's date is ignored: {created}"
        );
        assert_eq!(
            row["user_created"],
            json!({"id": admin, "email": "admin@example.com"})
        );
        // Two creates get two ids.
        let other = create_flow(&app, json!({"name": "No id either"})).await;
        assert_ne!(other, id);
        // An update does not touch them.
        let out = app
        .gql_ok(
            &format!(
                "mutation {{ update_flows_item(id: \"{id}\", data: {{date_created: \"2001-01-01\", name: \"renamed\"}}) {{ date_created name }} }}"
            ),
            json!({}),
        )
        .await;
        assert_eq!(
            out,
            json!({"update_flows_item": {"date_created": created, "name": "renamed"}})
        );
    }
);

both!(
    create_flows_items_answers_in_input_order,
    |app| async move {
        let out = app
        .gql_ok(
            "mutation ($data: [create_directus_flows_input!]) { create_flows_items(data: $data) { id name trigger } }",
            json!({"data": [
                {"id": fid(3), "name": "three", "trigger": "manual"},
                {"id": fid(1), "name": "one", "trigger": "webhook"},
                {"id": fid(2), "name": "two", "trigger": "webhook"},
            ]}),
        )
        .await;
        assert_eq!(
            out,
            json!({"create_flows_items": [
                {"id": fid(3), "name": "three", "trigger": "manual"},
                {"id": fid(1), "name": "one", "trigger": "webhook"},
                {"id": fid(2), "name": "two", "trigger": "webhook"},
            ]})
        );
        // The list arguments shape what is read back, not what is written.
        let out = app
        .gql_ok(
            "mutation ($data: [create_directus_flows_input!]) {
                create_flows_items(data: $data, filter: {trigger: {_eq: \"event\"}}, sort: [\"-name\"]) { name } }",
            json!({"data": [
                {"id": fid(4), "name": "a", "trigger": "event"},
                {"id": fid(5), "name": "b", "trigger": "schedule"},
                {"id": fid(6), "name": "c", "trigger": "event"},
            ]}),
        )
        .await;
        assert_eq!(
            out,
            json!({"create_flows_items": [{"name": "c"}, {"name": "a"}]})
        );
        assert_eq!(counts(&app).await, (6, 0));
        let out = app
            .gql_ok(
                "mutation { create_flows_items(data: []) { id } }",
                json!({}),
            )
            .await;
        assert_eq!(out, json!({"create_flows_items": []}));
    }
);

both!(create_flow_with_nested_operations, |app| async move {
    let out = app
        .gql_ok(
            "mutation ($data: create_directus_flows_input!) { create_flows_item(data: $data) {
                id name operations(sort: [\"position_x\"]) { id key type position_x position_y options flow { id name } } } }",
            json!({"data": {
                "id": fid(1), "name": "Nested", "trigger": "webhook",
                "operations": [
                    {"id": oid(2), "key": "second", "type": "log", "position_x": 20, "position_y": 1},
                    {"id": oid(1), "key": "first", "type": "transform", "position_x": 1, "position_y": 1, "options": {"json": {"a": 1}}},
                ],
            }}),
        )
        .await;
    let flow = json!({"id": fid(1), "name": "Nested"});
    assert_eq!(
        out,
        json!({"create_flows_item": {"id": fid(1), "name": "Nested", "operations": [
            {"id": oid(1), "key": "first", "type": "transform", "position_x": 1, "position_y": 1, "options": {"json": {"a": 1}}, "flow": flow},
            {"id": oid(2), "key": "second", "type": "log", "position_x": 20, "position_y": 1, "options": null, "flow": flow},
        ]}})
    );
    assert_eq!(counts(&app).await, (1, 2));
});

both!(create_operations_item_links_its_flow, |app| async move {
    flow(&app, &fid(1), "Host", json!({"trigger": "manual"})).await;
    let out = app
        .gql_ok(
            &format!(
                "mutation ($data: create_directus_operations_input!) {{ create_operations_item(data: $data) {{ {OP_FIELDS} }} }}"
            ),
            json!({"data": {
                "id": oid(1), "name": "Log it", "key": "log_it", "type": "log", "position_x": 19, "position_y": 1,
                "options": {"message": "{{ $trigger.body.msg }}"},
                "flow": {"id": fid(1), "name": "Host"},
            }}),
        )
        .await;
    assert_eq!(
        out,
        json!({"create_operations_item": {
            "id": oid(1), "name": "Log it", "key": "log_it", "type": "log", "position_x": 19, "position_y": 1,
            "options": {"message": "{{ $trigger.body.msg }}"},
            "resolve": null, "reject": null, "flow": {"id": fid(1)},
            "user_created": {"email": "admin@example.com"},
        }})
    );
    let host = data(
        &app,
        &format!(
            "{{ flows_by_id(id: \"{}\") {{ name trigger operations {{ key }} }} }}",
            fid(1)
        ),
    )
    .await;
    assert_eq!(
        host,
        json!({"flows_by_id": {"name": "Host", "trigger": "manual", "operations": [{"key": "log_it"}]}})
    );
});

both!(
    create_operations_items_can_link_each_other,
    |app| async move {
        flow(&app, &fid(1), "Host", json!({})).await;
        let host = json!({"id": fid(1), "name": "Host"});
        let out = app
        .gql_ok(
            "mutation ($data: [create_directus_operations_input!]) { create_operations_items(data: $data) {
                id key resolve { key } reject { key } flow { name } } }",
            json!({"data": [
                {"id": oid(3), "key": "c", "type": "log", "position_x": 3, "position_y": 1, "flow": host},
                {"id": oid(2), "key": "b", "type": "log", "position_x": 2, "position_y": 1, "flow": host},
                {"id": oid(1), "key": "a", "type": "condition", "position_x": 1, "position_y": 1, "flow": host,
                 "resolve": {"id": oid(2), "key": "b", "type": "log", "position_x": 2, "position_y": 1},
                 "reject": {"id": oid(3), "key": "c", "type": "log", "position_x": 3, "position_y": 1}},
            ]}),
        )
        .await;
        assert_eq!(
            out,
            json!({"create_operations_items": [
                {"id": oid(3), "key": "c", "resolve": null, "reject": null, "flow": {"name": "Host"}},
                {"id": oid(2), "key": "b", "resolve": null, "reject": null, "flow": {"name": "Host"}},
                {"id": oid(1), "key": "a", "resolve": {"key": "b"}, "reject": {"key": "c"}, "flow": {"name": "Host"}},
            ]})
        );
        assert_eq!(counts(&app).await, (1, 3));
    }
);

both!(create_operation_with_a_new_flow_inline, |app| async move {
    // A nested flow whose id is unknown is created with the operation, as in Directus.
    let out = app
        .gql_ok(
            &format!(
                "mutation {{ create_operations_item(data: {{id: \"{}\", key: \"k\", type: \"log\", position_x: 1, position_y: 2,
                    flow: {{id: \"{}\", name: \"Made inline\", trigger: \"manual\"}}}}) {{ key flow {{ id name trigger operations {{ key }} }} }} }}",
                oid(1),
                fid(9)
            ),
            json!({}),
        )
        .await;
    assert_eq!(
        out,
        json!({"create_operations_item": {"key": "k", "flow": {"id": fid(9), "name": "Made inline", "trigger": "manual", "operations": [{"key": "k"}]}}})
    );
    assert_eq!(counts(&app).await, (1, 1));
});

both!(
    update_flows_item_changes_only_what_it_names,
    |app| async move {
        seed(&app).await;
        let out = app
        .gql_ok(
            &format!(
                "mutation {{ update_flows_item(id: \"{}\", data: {{name: \"Renamed\", status: \"inactive\", description: null, options: {{async: true}}}}) {{ {FLOW_FIELDS} }} }}",
                fid(1)
            ),
            json!({}),
        )
        .await;
        // `options` is replaced wholesale, not merged.
        assert_eq!(
            out,
            json!({"update_flows_item": flow_row(&fid(1), "Renamed", json!({
                "icon": "bolt", "color": "#FF0000", "status": "inactive", "trigger": "webhook",
                "options": {"async": true}, "operation": {"id": oid(1)},
                "operations": [{"id": oid(1)}, {"id": oid(2)}, {"id": oid(3)}],
            }))})
        );
        let others = data(
            &app,
            "{ flows(filter: {name: {_neq: \"Renamed\"}}) { status } }",
        )
        .await;
        assert_eq!(
            pluck(&others["flows"], "status"),
            ["inactive", "active", "active", "inactive"]
        );
    }
);

both!(
    update_flows_items_applies_one_change_to_many,
    |app| async move {
        seed(&app).await;
        let out = app
        .gql_ok(
            &format!(
                "mutation {{ update_flows_items(ids: [\"{}\", \"{}\", \"{}\"], data: {{status: \"active\", color: \"#123456\"}}) {{ name status color }} }}",
                fid(5),
                MISSING,
                fid(2)
            ),
            json!({}),
        )
        .await;
        assert_eq!(
            out,
            json!({"update_flows_items": [
                {"name": "Epsilon manual", "status": "active", "color": "#123456"},
                {"name": "beta webhook", "status": "active", "color": "#123456"},
            ]})
        );
        let all = data(&app, "{ flows { status color } }").await;
        assert_eq!(
            all,
            json!({"flows": [
                {"status": "active", "color": "#FF0000"},
                {"status": "active", "color": "#123456"},
                {"status": "active", "color": null},
                {"status": "active", "color": null},
                {"status": "active", "color": "#123456"},
            ]})
        );
    }
);

both!(
    update_flows_batch_applies_each_items_own_change,
    |app| async move {
        seed(&app).await;
        let out = app
        .gql_ok(
            "mutation ($data: [update_directus_flows_input!]) { update_flows_batch(data: $data) { id name description trigger } }",
            json!({"data": [
                {"id": fid(3), "description": "every five minutes"},
                {"id": fid(1), "name": "One", "trigger": "manual"},
            ]}),
        )
        .await;
        assert_eq!(
            out,
            json!({"update_flows_batch": [
                {"id": fid(3), "name": "Gamma schedule", "description": "every five minutes", "trigger": "schedule"},
                {"id": fid(1), "name": "One", "description": "Sends mail", "trigger": "manual"},
            ]})
        );
        let body = gql_error(
        &app,
        "mutation ($data: [update_directus_flows_input!]) { update_flows_batch(data: $data) { id } }",
        json!({"data": [{"name": "no id"}]}),
    )
    .await;
        assert_eq!(
            body["errors"][0]["message"],
            "Invalid payload. Item in update misses primary key."
        );
        assert_eq!(body["errors"][0]["extensions"]["code"], "INVALID_PAYLOAD");
    }
);

both!(update_of_unknown_ids_changes_nothing, |app| async move {
    seed(&app).await;
    let before = snapshot(&app).await;
    let out = app
        .gql_ok(
            &format!(
                "mutation {{ update_flows_item(id: \"{MISSING}\", data: {{name: \"x\"}}) {{ id }}
                   update_operations_item(id: \"not-a-uuid\", data: {{key: \"x\"}}) {{ id }}
                   update_flows_items(ids: [\"{MISSING}\"], data: {{name: \"x\"}}) {{ id }} }}"
            ),
            json!({}),
        )
        .await;
    assert_eq!(
        out,
        json!({"update_flows_item": null, "update_operations_item": null, "update_flows_items": []})
    );
    assert_eq!(snapshot(&app).await, before);
    assert_eq!(counts(&app).await, (5, 5));
});

both!(update_operations_item_moves_and_relinks, |app| async move {
    seed(&app).await;
    // Move `notify` from `check`'s reject to its resolve.
    let out = app
        .gql_ok(
            &format!(
                "mutation {{
                    a: update_operations_item(id: \"{}\", data: {{reject: null, resolve: {{id: \"{}\"}}, position_x: 70, options: {{filter: {{x: 1}}}}}}) {{ {OP_FIELDS} }}
                }}",
                oid(2),
                oid(3)
            ),
            json!({}),
        )
        .await;
    assert_eq!(
        out,
        json!({"a": {
            "id": oid(2), "name": null, "key": "check", "type": "condition", "position_x": 70, "position_y": 20,
            "options": {"filter": {"x": 1}}, "resolve": {"id": oid(3)}, "reject": null, "flow": {"id": fid(1)},
            "user_created": {"email": "admin@example.com"},
        }})
    );
});

both!(update_operations_items_and_batch, |app| async move {
    seed(&app).await;
    let out = app
        .gql_ok(
            &format!(
                "mutation {{ update_operations_items(ids: [\"{}\", \"{}\"], data: {{position_y: 99}}, sort: [\"-position_x\"]) {{ key position_x position_y }} }}",
                oid(1),
                oid(3)
            ),
            json!({}),
        )
        .await;
    assert_eq!(
        out,
        json!({"update_operations_items": [
            {"key": "notify", "position_x": 50, "position_y": 99},
            {"key": "start", "position_x": 10, "position_y": 99},
        ]})
    );
    let out = app
        .gql_ok(
            "mutation ($data: [update_directus_operations_input!]) { update_operations_batch(data: $data) { key name position_x } }",
            json!({"data": [
                {"id": oid(5), "name": "Logger", "position_x": 5},
                {"id": oid(4), "key": "fetch"},
            ]}),
        )
        .await;
    assert_eq!(
        out,
        json!({"update_operations_batch": [
            {"key": "log", "name": "Logger", "position_x": 5},
            {"key": "fetch", "name": null, "position_x": 10},
        ]})
    );
});

both!(
    nested_operations_replace_the_set_on_update,
    |app| async move {
        seed(&app).await;
        // Keeping only `start` deletes `check` and `notify` (Directus's one_deselect_action
        // `delete`), and clears `start.resolve`, which pointed at `check`.
        let out = app
        .gql_ok(
            &format!(
                "mutation {{ update_flows_item(id: \"{}\", data: {{operations: [{{id: \"{}\"}}, {{id: \"{}\", key: \"new\", type: \"log\", position_x: 5, position_y: 5}}]}}) {{
                    operation {{ key }} operations {{ id key resolve {{ key }} }} }} }}",
                fid(1),
                oid(1),
                oid(9)
            ),
            json!({}),
        )
        .await;
        assert_eq!(
            out,
            json!({"update_flows_item": {"operation": {"key": "start"}, "operations": [
                {"id": oid(1), "key": "start", "resolve": null},
                {"id": oid(9), "key": "new", "resolve": null},
            ]}})
        );
        assert_eq!(counts(&app).await, (5, 4));
    }
);

both!(delete_flows_item_deletes_its_operations, |app| async move {
    seed(&app).await;
    let out = app
        .gql_ok(
            &format!(
                "mutation {{ delete_flows_item(id: \"{}\") {{ id }} }}",
                fid(1)
            ),
            json!({}),
        )
        .await;
    assert_eq!(out, json!({"delete_flows_item": {"id": fid(1)}}));
    assert_eq!(counts(&app).await, (4, 2));
    assert_eq!(
        keys(&app, "").await,
        ["beta webhook/start", "Delta_event/log"]
    );
    // Deleting again is fine.
    let out = app
        .gql_ok(
            &format!(
                "mutation {{ delete_flows_item(id: \"{}\") {{ id }} }}",
                fid(1)
            ),
            json!({}),
        )
        .await;
    assert_eq!(out, json!({"delete_flows_item": {"id": fid(1)}}));
});

both!(delete_flows_items_answers_the_ids, |app| async move {
    seed(&app).await;
    let out = app
        .gql_ok(
            &format!(
                "mutation {{ delete_flows_items(ids: [\"{}\", \"{}\", \"{MISSING}\"]) {{ ids }} }}",
                fid(4),
                fid(2)
            ),
            json!({}),
        )
        .await;
    assert_eq!(
        out,
        json!({"delete_flows_items": {"ids": [fid(4), fid(2), MISSING]}})
    );
    assert_eq!(counts(&app).await, (3, 3));
    assert_eq!(
        names(&app, "flows", "").await,
        ["Alpha Webhook", "Gamma schedule", "Epsilon manual"]
    );
});

both!(
    delete_operations_item_clears_the_pointers_to_it,
    |app| async move {
        seed(&app).await;
        let out = app
            .gql_ok(
                &format!(
                    "mutation {{ delete_operations_item(id: \"{}\") {{ id }} }}",
                    oid(2)
                ),
                json!({}),
            )
            .await;
        assert_eq!(out, json!({"delete_operations_item": {"id": oid(2)}}));
        let left = data(
        &app,
        &format!(
            "{{ flows_by_id(id: \"{}\") {{ operation {{ key }} operations {{ key resolve {{ key }} reject {{ key }} }} }} }}",
            fid(1)
        ),
    )
    .await;
        assert_eq!(
            left,
            json!({"flows_by_id": {"operation": {"key": "start"}, "operations": [
                {"key": "start", "resolve": null, "reject": null},
                {"key": "notify", "resolve": null, "reject": null},
            ]}})
        );
        // The first operation of a flow: the flow's `operation` is cleared.
        app.gql_ok(
            &format!(
                "mutation {{ delete_operations_item(id: \"{}\") {{ id }} }}",
                oid(4)
            ),
            json!({}),
        )
        .await;
        let out = data(
        &app,
        &format!(
            "{{ flows_by_id(id: \"{}\") {{ operation {{ id }} operations_func {{ count }} }} }}",
            fid(2)
        ),
    )
    .await;
        assert_eq!(
            out,
            json!({"flows_by_id": {"operation": null, "operations_func": {"count": 0}}})
        );
        assert_eq!(counts(&app).await, (5, 3));
    }
);

both!(delete_operations_items_answers_the_ids, |app| async move {
    seed(&app).await;
    let out = app
        .gql_ok(
            &format!(
                "mutation {{ delete_operations_items(ids: [\"{}\", \"{}\"]) {{ ids }} }}",
                oid(1),
                oid(3)
            ),
            json!({}),
        )
        .await;
    assert_eq!(
        out,
        json!({"delete_operations_items": {"ids": [oid(1), oid(3)]}})
    );
    let left = data(
        &app,
        &format!(
            "{{ flows_by_id(id: \"{}\") {{ operation {{ key }} operations {{ key resolve {{ key }} reject {{ key }} }} }} }}",
            fid(1)
        ),
    )
    .await;
    assert_eq!(
        left,
        json!({"flows_by_id": {"operation": null, "operations": [{"key": "check", "resolve": null, "reject": null}]}})
    );
    assert_eq!(counts(&app).await, (5, 3));
});

both!(delete_of_unknown_ids_answers_them, |app| async move {
    seed(&app).await;
    let before = snapshot(&app).await;
    let out = app
        .gql_ok(
            &format!(
                "mutation {{
                    a: delete_flows_item(id: \"{MISSING}\") {{ id }}
                    b: delete_operations_item(id: \"not-a-uuid\") {{ id }}
                    c: delete_flows_items(ids: [\"{MISSING}\"]) {{ ids }}
                    d: delete_operations_items(ids: []) {{ ids }}
                }}"
            ),
            json!({}),
        )
        .await;
    assert_eq!(
        out,
        json!({
            "a": {"id": MISSING},
            "b": {"id": "not-a-uuid"},
            "c": {"ids": [MISSING]},
            "d": {"ids": []},
        })
    );
    assert_eq!(snapshot(&app).await, before);
});

both!(mutations_run_in_document_order, |app| async move {
    // Root mutation fields run one after the other: the update sees the create.
    let out = app
        .gql_ok(
            &format!(
                "mutation {{
                    a: create_flows_item(data: {{id: \"{0}\", name: \"first\"}}) {{ name }}
                    b: update_flows_item(id: \"{0}\", data: {{name: \"second\"}}) {{ name }}
                    d: delete_flows_item(id: \"{0}\") {{ id }}
                }}",
                fid(1)
            ),
            json!({}),
        )
        .await;
    assert_eq!(
        out,
        json!({"a": {"name": "first"}, "b": {"name": "second"}, "d": {"id": fid(1)}})
    );
    assert_eq!(counts(&app).await, (0, 0));
});
