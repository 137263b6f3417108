//! Manual flows on `POST /flows/trigger/:id` (the checks in Directus's order, `$last`,
//! `async`, `error_on_reject`) and flowline's `POST /operations/trigger/:id`
//! (flows-and-operations.md §3.5; issue 4).

use crate::flows_support::*;
use e2e::{ADMIN_TOKEN, TestApp, both};
use serde_json::{Value, json};

/// A manual flow for `directus_flows` and `directus_operations` whose last operation
/// answers what it saw of the body.
async fn manual(app: &TestApp, n: u32, extra: &[(&str, Value)]) -> Flow {
    let mut builder = FlowBuilder::manual(n).option(
        "collections",
        json!(["directus_flows", "directus_operations"]),
    );
    for (k, v) in extra {
        builder = builder.option(k, v.clone());
    }
    builder
        .op(
            "seen",
            "transform",
            json!({"json": {"collection": "{{ $trigger.body.collection }}", "keys": "{{ $trigger.body.keys }}", "method": "{{ $trigger.method }}"}}),
        )
        .insert(app)
        .await
}

both!(manual_checks_each_answer_403_in_order, |app| async move {
    let flow = manual(&app, 1, &[]).await;
    let empty = FlowBuilder::manual(2)
        .option("collections", json!([]))
        .insert(&app)
        .await;
    let unset = FlowBuilder::manual(3).insert(&app).await;
    let cases: Vec<(&str, &Flow, Value, Option<&str>)> = vec![
        // 1. No collection in the body (even for the admin).
        (
            "missing collection",
            &flow,
            json!({"keys": [1]}),
            Some(ADMIN_TOKEN),
        ),
        (
            "collection not a string",
            &flow,
            json!({"collection": 5, "keys": [1]}),
            Some(ADMIN_TOKEN),
        ),
        // 2. The flow lists no collections.
        (
            "empty collections",
            &empty,
            json!({"collection": "directus_flows", "keys": [1]}),
            Some(ADMIN_TOKEN),
        ),
        (
            "no collections option",
            &unset,
            json!({"collection": "directus_flows", "keys": [1]}),
            Some(ADMIN_TOKEN),
        ),
        // 3. The collection is not one of them.
        (
            "collection not listed",
            &flow,
            json!({"collection": "directus_users", "keys": [1]}),
            Some(ADMIN_TOKEN),
        ),
        // 4. requireSelection (default true) without keys.
        (
            "keys missing",
            &flow,
            json!({"collection": "directus_flows"}),
            Some(ADMIN_TOKEN),
        ),
        (
            "keys not an array",
            &flow,
            json!({"collection": "directus_flows", "keys": "1"}),
            Some(ADMIN_TOKEN),
        ),
        // 5. An empty selection.
        (
            "keys empty",
            &flow,
            json!({"collection": "directus_flows", "keys": []}),
            Some(ADMIN_TOKEN),
        ),
        // 6. An anonymous caller, with an otherwise valid body.
        (
            "anonymous",
            &flow,
            json!({"collection": "directus_flows", "keys": [1]}),
            None,
        ),
    ];
    for (name, flow, body, token) in cases {
        let reply = app
            .send("POST", &flow.url(), Some(&body.to_string()), token)
            .await;
        assert_eq!(reply.status, 403, "{name}: {}", reply.text);
        assert_eq!(reply.json(), forbidden(), "{name}");
    }
    // Nothing ran.
    assert!(run_activity(&app, &flow.id).await.is_empty());
});

both!(a_valid_admin_call_answers_last, |app| async move {
    // A configured `return` is ignored: manual flows always answer `$last`.
    let flow = manual(&app, 1, &[("return", json!("$all"))]).await;
    let reply = post_admin(
        &app,
        &flow.url(),
        json!({"collection": "directus_operations", "keys": ["a", 2], "extra": "field"}),
    )
    .await;
    assert_json(
        &reply,
        200,
        json!({"collection": "directus_operations", "keys": ["a", 2], "method": "POST"}),
    );
});

both!(manual_trigger_is_the_request, |app| async move {
    let flow = FlowBuilder::manual(1)
        .option("collections", json!(["directus_flows"]))
        .op("t", "transform", json!({"json": "{{ $trigger }}"}))
        .insert(&app)
        .await;
    let body = json!({"collection": "directus_flows", "keys": ["k"], "confirm": true});
    let reply = post_admin(&app, &format!("{}?x=1", flow.url()), body.clone()).await;
    assert_json(
        &reply,
        200,
        trigger_value(
            &flow,
            "POST",
            json!({"x": "1"}),
            body,
            json!({"authorization": format!("Bearer {ADMIN_TOKEN}"), "content-type": "application/json"}),
        ),
    );
});

both!(require_selection_false_allows_no_keys, |app| async move {
    let flow = manual(&app, 1, &[("requireSelection", json!(false))]).await;
    assert_json(
        &post_admin(&app, &flow.url(), json!({"collection": "directus_flows"})).await,
        200,
        json!({"collection": "directus_flows", "keys": "undefined", "method": "POST"}),
    );
    // Still refused anonymously.
    assert_json(
        &post(&app, &flow.url(), json!({"collection": "directus_flows"})).await,
        403,
        forbidden(),
    );
});

both!(manual_flows_answer_only_post, |app| async move {
    let flow = manual(&app, 1, &[]).await;
    let reply = app.send("GET", &flow.url(), None, Some(ADMIN_TOKEN)).await;
    assert_json(&reply, 403, forbidden());
});

both!(
    a_manual_flow_without_operations_is_no_content_when_falsy,
    |app| async move {
        let flow = FlowBuilder::manual(1)
            .option("collections", json!(["directus_flows"]))
            .op("l", "log", json!({"message": "clicked"}))
            .insert(&app)
            .await;
        assert_no_content(
            &post_admin(
                &app,
                &flow.url(),
                json!({"collection": "directus_flows", "keys": [1]}),
            )
            .await,
        );
    }
);

both!(async_manual_flows_answer_204_and_run, |app| async move {
    let flow = FlowBuilder::manual(1)
        .option("collections", json!(["directus_flows"]))
        .option("async", json!(true))
        .accountability(json!("activity"))
        .op("wait", "sleep", json!({"milliseconds": 200}))
        .then("t", "transform", json!({"json": {"ok": true}}))
        .insert(&app)
        .await;
    assert_no_content(
        &post_admin(
            &app,
            &flow.url(),
            json!({"collection": "directus_flows", "keys": [1]}),
        )
        .await,
    );
    let runs = wait_for_runs(&app, &flow.id, 1).await;
    assert_eq!(runs.len(), 1);
    let (admin, _) = admin_ids(&app).await;
    assert_eq!(runs[0].row["user"], json!(admin));
    // The checks still apply before anything runs.
    assert_json(
        &post(
            &app,
            &flow.url(),
            json!({"collection": "directus_flows", "keys": [1]}),
        )
        .await,
        403,
        forbidden(),
    );
});

both!(manual_error_on_reject, |app| async move {
    let flow = FlowBuilder::manual(1)
        .option("collections", json!(["directus_flows"]))
        .option("error_on_reject", json!(true))
        .op(
            "boom",
            "throw-error",
            json!({"code": "conflict", "status": 409, "message": "Busy"}),
        )
        .insert(&app)
        .await;
    assert_json(
        &post_admin(
            &app,
            &flow.url(),
            json!({"collection": "directus_flows", "keys": [1]}),
        )
        .await,
        409,
        json!({"errors": [{"message": "Busy", "extensions": {"code": "CONFLICT"}}]}),
    );
});

// ---------------------------------------------------------------------------------------
// POST /operations/trigger/:id

/// A webhook flow a -> b -> c returning `$all`.
async fn three_steps(app: &TestApp, n: u32) -> Flow {
    FlowBuilder::webhook(n)
        .option("return", json!("$all"))
        .op("a", "transform", json!({"json": {"a": true}}))
        .then("b", "transform", json!({"json": {"b": "{{ $trigger.x }}"}}))
        .then("c", "transform", json!({"json": {"c": "{{ $last.b }}"}}))
        .insert(app)
        .await
}

both!(
    operation_trigger_runs_from_that_operation_with_the_body,
    |app| async move {
        let flow = three_steps(&app, 1).await;
        let reply = post_admin(
            &app,
            &format!("/operations/trigger/{}", flow.op("b")),
            json!({"x": 5}),
        )
        .await;
        assert_json(
            &reply,
            200,
            json!({
                "$trigger": {"x": 5},
                "$last": {"c": 5},
                "$accountability": admin_accountability(&app).await,
                "$env": {},
                "b": {"b": 5},
                "c": {"c": 5},
            }),
        );
    }
);

both!(operation_trigger_is_for_admins_only, |app| async move {
    let flow = three_steps(&app, 1).await;
    let url = format!("/operations/trigger/{}", flow.op("a"));
    assert_json(&post(&app, &url, json!({})).await, 403, forbidden());
    app.create_user("user@example.com", "user-token", false)
        .await;
    let reply = app.send("POST", &url, Some("{}"), Some("user-token")).await;
    assert_json(&reply, 403, forbidden());
    // Another admin may.
    app.create_user("root@example.com", "root-token", true)
        .await;
    let reply = app.send("POST", &url, Some("{}"), Some("root-token")).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
});

both!(
    operation_trigger_answers_like_a_sync_webhook,
    |app| async move {
        // Default return `$last`; a falsy result is 204; a path return; no body is `{}`.
        let last = FlowBuilder::webhook(1)
            .op("l", "log", json!({"message": "m"}))
            .then("t", "transform", json!({"json": "{{ $trigger }}"}))
            .insert(&app)
            .await;
        let reply = post_admin(
            &app,
            &format!("/operations/trigger/{}", last.op("t")),
            json!({"k": [1]}),
        )
        .await;
        assert_json(&reply, 200, json!({"k": [1]}));
        let reply = app
            .send(
                "POST",
                &format!("/operations/trigger/{}", last.op("t")),
                None,
                Some(ADMIN_TOKEN),
            )
            .await;
        assert_json(&reply, 200, json!({}));
        // Started at `l`, the run goes on to `t`.
        let reply = post_admin(
            &app,
            &format!("/operations/trigger/{}", last.op("l")),
            json!({"from": "l"}),
        )
        .await;
        assert_json(&reply, 200, json!({"from": "l"}));

        let falsy = FlowBuilder::webhook(3)
            .op("t", "transform", json!({"json": {"x": 1}}))
            .then("l", "log", json!({"message": "m"}))
            .insert(&app)
            .await;
        assert_no_content(
            &post_admin(
                &app,
                &format!("/operations/trigger/{}", falsy.op("l")),
                json!({}),
            )
            .await,
        );

        let path = FlowBuilder::webhook(2)
            .option("return", json!("t.v"))
            .op("t", "transform", json!({"json": {"v": "{{ $trigger.v }}"}}))
            .insert(&app)
            .await;
        let reply = post_admin(
            &app,
            &format!("/operations/trigger/{}", path.op("t")),
            json!({"v": "here"}),
        )
        .await;
        assert_json(&reply, 200, json!("here"));
    }
);

both!(operation_trigger_unknown_operations, |app| async move {
    let inactive = FlowBuilder::webhook(1)
        .status("inactive")
        .op("t", "transform", json!({"json": 1}))
        .insert(&app)
        .await;
    for id in [MISSING.to_string(), inactive.op("t")] {
        let reply = post_admin(&app, &format!("/operations/trigger/{id}"), json!({})).await;
        assert_json(&reply, 403, forbidden());
    }
    let reply = post_admin(&app, "/operations/trigger/nope", json!({})).await;
    assert_json(
        &reply,
        404,
        json!({"errors": [{"message": "Route /operations/trigger/nope doesn't exist.",
            "extensions": {"path": "/operations/trigger/nope", "code": "ROUTE_NOT_FOUND"}}]}),
    );
});

both!(
    operation_trigger_is_logged_as_a_run_of_the_flow,
    |app| async move {
        let flow = FlowBuilder::webhook(1)
            .accountability(json!("all"))
            .op("a", "transform", json!({"json": {"a": 1}}))
            .then("b", "transform", json!({"json": {"b": 2}}))
            .insert(&app)
            .await;
        let reply = post_admin(
            &app,
            &format!("/operations/trigger/{}", flow.op("b")),
            json!({}),
        )
        .await;
        assert_json(&reply, 200, json!({"b": 2}));
        let runs = run_activity(&app, &flow.id).await;
        assert_eq!(runs.len(), 1);
        let mut revision = revisions_of(&app, runs[0].id).await.remove(0);
        strip_timing(&mut revision["data"]);
        assert_eq!(
            revision["data"]["steps"],
            json!([{"operation": flow.op("b"), "key": "b", "status": "resolve", "options": {"json": {"b": 2}}, "output": {"b": 2}}])
        );
    }
);
