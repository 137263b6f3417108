//! Hot reload: a change to a flow or an operation through the API (REST or GraphQL) changes
//! the very next run, without a restart (issue 4, "Loading and hot reload").

use crate::flows_support::*;
use e2e::{ADMIN_TOKEN, both};
use serde_json::json;

both!(
    changed_operation_options_apply_to_the_next_run,
    |app| async move {
        let flow = FlowBuilder::webhook(1)
            .op("t", "transform", json!({"json": {"v": 1}}))
            .insert(&app)
            .await;
        assert_json(&get(&app, &flow.url()).await, 200, json!({"v": 1}));
        patch(
            &app,
            &format!("/operations/{}", flow.op("t")),
            json!({"options": {"json": {"v": 2}}}),
        )
        .await;
        assert_json(&get(&app, &flow.url()).await, 200, json!({"v": 2}));
        // Through GraphQL too.
        app.gql_ok(
        "mutation ($id: ID!) { update_operations_item(id: $id, data: {options: {json: {v: 3}}}) { id } }",
        json!({"id": flow.op("t")}),
    )
    .await;
        assert_json(&get(&app, &flow.url()).await, 200, json!({"v": 3}));
    }
);

both!(
    changed_operation_type_applies_to_the_next_run,
    |app| async move {
        let flow = FlowBuilder::webhook(1)
            .op("t", "transform", json!({"json": {"v": 1}}))
            .insert(&app)
            .await;
        assert_json(&get(&app, &flow.url()).await, 200, json!({"v": 1}));
        patch(
            &app,
            &format!("/operations/{}", flow.op("t")),
            json!({"type": "throw-error", "options": {"code": "changed", "status": 400}}),
        )
        .await;
        assert_json(
            &get(&app, &flow.url()).await,
            200,
            json!({"name": "DirectusError", "code": "CHANGED", "status": 400}),
        );
    }
);

both!(status_changes_switch_a_flow_off_and_on, |app| async move {
    let flow = FlowBuilder::webhook(1)
        .op("t", "transform", json!({"json": {"on": true}}))
        .insert(&app)
        .await;
    assert_json(&get(&app, &flow.url()).await, 200, json!({"on": true}));
    patch(
        &app,
        &format!("/flows/{}", flow.id),
        json!({"status": "inactive"}),
    )
    .await;
    assert_json(&get(&app, &flow.url()).await, 403, forbidden());
    patch(
        &app,
        &format!("/flows/{}", flow.id),
        json!({"status": "active"}),
    )
    .await;
    assert_json(&get(&app, &flow.url()).await, 200, json!({"on": true}));
});

both!(trigger_option_changes_apply_at_once, |app| async move {
    let flow = FlowBuilder::webhook(1)
        .op("t", "transform", json!({"json": {"x": 1}}))
        .insert(&app)
        .await;
    assert_json(&get(&app, &flow.url()).await, 200, json!({"x": 1}));
    // Options are replaced wholesale: now POST, returning `$trigger.body`.
    patch(
        &app,
        &format!("/flows/{}", flow.id),
        json!({"options": {"method": "POST", "return": "$trigger.body"}}),
    )
    .await;
    assert_json(&get(&app, &flow.url()).await, 403, forbidden());
    assert_json(
        &post(&app, &flow.url(), json!({"b": 2})).await,
        200,
        json!({"b": 2}),
    );
    // error_on_reject switched on.
    patch(
        &app,
        &format!("/operations/{}", flow.op("t")),
        json!({"type": "throw-error", "options": {"status": 451, "code": "legal", "message": "Gone"}}),
    )
    .await;
    patch(
        &app,
        &format!("/flows/{}", flow.id),
        json!({"options": {"method": "POST", "error_on_reject": true}}),
    )
    .await;
    assert_json(
        &post(&app, &flow.url(), json!({})).await,
        451,
        json!({"errors": [{"message": "Gone", "extensions": {"code": "LEGAL"}}]}),
    );
});

both!(
    relinking_and_adding_operations_apply_at_once,
    |app| async move {
        let flow = FlowBuilder::webhook(1)
            .op("a", "transform", json!({"json": {"step": "a"}}))
            .insert(&app)
            .await;
        assert_json(&get(&app, &flow.url()).await, 200, json!({"step": "a"}));
        // A new operation after `a`.
        let new_op = oid(1, 9);
        let reply = app
        .send(
            "POST",
            "/operations",
            Some(
                &json!({"id": new_op, "key": "b", "type": "transform", "position_x": 1, "position_y": 1,
                        "options": {"json": {"step": "b", "prev": "{{ a.step }}"}}, "flow": flow.id})
                .to_string(),
            ),
            Some(ADMIN_TOKEN),
        )
        .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        // Not linked yet: no change.
        assert_json(&get(&app, &flow.url()).await, 200, json!({"step": "a"}));
        patch(
            &app,
            &format!("/operations/{}", flow.op("a")),
            json!({"resolve": new_op}),
        )
        .await;
        assert_json(
            &get(&app, &flow.url()).await,
            200,
            json!({"step": "b", "prev": "a"}),
        );
        // The flow now starts at `b`.
        patch(
            &app,
            &format!("/flows/{}", flow.id),
            json!({"operation": new_op}),
        )
        .await;
        assert_json(
            &get(&app, &flow.url()).await,
            200,
            json!({"step": "b", "prev": "undefined"}),
        );
    }
);

both!(
    deleting_operations_and_flows_applies_at_once,
    |app| async move {
        let flow = FlowBuilder::webhook(1)
            .option("return", json!("$last"))
            .op("t", "transform", json!({"json": {"x": 1}}))
            .insert(&app)
            .await;
        assert_json(&get(&app, &flow.url()).await, 200, json!({"x": 1}));
        let reply = app
            .send(
                "DELETE",
                &format!("/operations/{}", flow.op("t")),
                None,
                Some(ADMIN_TOKEN),
            )
            .await;
        assert_eq!(reply.status, 204, "{}", reply.text);
        // No operations: the flow answers `$trigger`.
        assert_json(
            &get(&app, &flow.url()).await,
            200,
            trigger_value(&flow, "GET", json!({}), json!({}), json!({})),
        );
        delete(&app, &format!("/flows/{}", flow.id)).await;
        assert_json(&get(&app, &flow.url()).await, 403, forbidden());
    }
);

both!(a_flow_created_after_start_runs_at_once, |app| async move {
    // Created after the engine loaded its plan; the first trigger already sees it.
    let flow = FlowBuilder::webhook(1)
        .op("t", "transform", json!({"json": "\"new\""}))
        .insert(&app)
        .await;
    assert_json(&get(&app, &flow.url()).await, 200, json!("new"));
    // And a flow created through GraphQL.
    let id = fid(2);
    app.gql_ok(
        "mutation ($data: create_directus_flows_input!) { create_flows_item(data: $data) { id } }",
        json!({"data": {"id": id, "name": "By GraphQL", "trigger": "webhook", "options": {"return": "$trigger.method"}}}),
    )
    .await;
    assert_json(
        &get(&app, &format!("/flows/trigger/{id}")).await,
        200,
        json!("GET"),
    );
});

both!(a_run_under_way_finishes_on_its_plan, |app| async move {
    let flow = FlowBuilder::webhook(1)
        .op("wait", "sleep", json!({"milliseconds": 400}))
        .then("t", "transform", json!({"json": {"v": "old"}}))
        .insert(&app)
        .await;
    let url = flow.url();
    let router_app = &app;
    let (first, ()) = tokio::join!(get(router_app, &url), async {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        patch(
            router_app,
            &format!("/operations/{}", flow.op("t")),
            json!({"options": {"json": {"v": "new"}}}),
        )
        .await;
    });
    assert_json(&first, 200, json!({"v": "old"}));
    assert_json(&get(&app, &url).await, 200, json!({"v": "new"}));
});

both!(
    edits_reload_only_their_flows_and_leave_the_others_running,
    |app| async move {
        let one = FlowBuilder::webhook(1)
            .option("return", json!("$last"))
            .op("t", "transform", json!({"json": {"flow": 1}}))
            .insert(&app)
            .await;
        let two = FlowBuilder::webhook(2)
            .option("return", json!("$last"))
            .op("t", "transform", json!({"json": {"flow": 2}}))
            .insert(&app)
            .await;
        let three = FlowBuilder::webhook(3)
            .op("t", "transform", json!({"json": {"flow": 3}}))
            .insert(&app)
            .await;
        assert_json(&get(&app, &one.url()).await, 200, json!({"flow": 1}));
        assert_json(&get(&app, &two.url()).await, 200, json!({"flow": 2}));
        // One batch deleting operations of two flows: a delete names only the operations,
        // so their flows are found in the plan.
        let keys = json!([one.op("t"), two.op("t")]);
        let reply = app
            .send(
                "DELETE",
                "/operations",
                Some(&keys.to_string()),
                Some(ADMIN_TOKEN),
            )
            .await;
        assert_eq!(reply.status, 204, "{}", reply.text);
        assert_json(
            &get(&app, &one.url()).await,
            200,
            trigger_value(&one, "GET", json!({}), json!({}), json!({})),
        );
        assert_json(
            &get(&app, &two.url()).await,
            200,
            trigger_value(&two, "GET", json!({}), json!({}), json!({})),
        );
        // The untouched flow runs as before.
        assert_json(&get(&app, &three.url()).await, 200, json!({"flow": 3}));
        // An operation created in one flow joins it, and only it.
        let new_op = oid(1, 9);
        let reply = app
            .send(
                "POST",
                "/operations",
                Some(
                    &json!({"id": new_op, "key": "n", "type": "transform", "position_x": 1, "position_y": 1,
                            "options": {"json": {"new": true}}, "flow": one.id})
                    .to_string(),
                ),
                Some(ADMIN_TOKEN),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        patch(
            &app,
            &format!("/flows/{}", one.id),
            json!({"operation": new_op}),
        )
        .await;
        assert_json(&get(&app, &one.url()).await, 200, json!({"new": true}));
        assert_json(&get(&app, &three.url()).await, 200, json!({"flow": 3}));
    }
);

both!(
    a_full_load_reads_every_active_flow_across_pages,
    |app| async move {
        let mut numbers = std::collections::HashMap::new();
        for n in 1..=5 {
            let flow = FlowBuilder::webhook(n)
                .op("t", "transform", json!({"json": {"n": n}}))
                .insert(&app)
                .await;
            numbers.insert(flow.id.clone(), json!(n));
        }
        let mut active: Vec<String> = numbers.keys().cloned().collect();
        let off = FlowBuilder::webhook(6)
            .status("inactive")
            .insert(&app)
            .await;
        // Pages of two flows: three pages, the last one short.
        let plan = engine::plan::load_paged(&app.state.items, 2)
            .await
            .expect("plan loads");
        let mut loaded: Vec<String> = plan.flows.keys().cloned().collect();
        loaded.sort();
        active.sort();
        assert_eq!(loaded, active);
        assert!(!plan.flows.contains_key(&off.id));
        // Every flow kept its operation, options read from their stored text.
        for flow in plan.flows.values() {
            assert_eq!(flow.ops.len(), 1);
            assert_eq!(flow.ops[0].options.value()["json"]["n"], numbers[&flow.id]);
        }
        // Pages of exactly the flow count end with an empty page.
        let plan = engine::plan::load_paged(&app.state.items, 5)
            .await
            .expect("plan loads");
        assert_eq!(plan.flows.len(), 5);
    }
);
