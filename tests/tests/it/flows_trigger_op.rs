//! The `trigger` operation: child flows with trigger `operation` and their `return`, single
//! and array payloads in parallel, serial and batch modes, unknown or inactive targets, and
//! the depth guard that stops flows triggering themselves (operations-catalog.md §15,
//! flows-and-operations.md §3.4).

use crate::flows_support::*;
use e2e::{TestApp, both};
use serde_json::{Value, json};

/// A child flow: `$trigger` is `{n, wait}`; it sleeps `wait` ms and returns `{n, doubled}`
/// where `doubled` is the text `"<n><n>"`. `return` as given (none when `None`).
async fn child(app: &TestApp, n: u32, return_option: Option<&str>) -> Flow {
    let mut builder = FlowBuilder::operation(n).accountability(json!("all"));
    if let Some(r) = return_option {
        builder = builder.option("return", json!(r));
    }
    builder
        .op("wait", "sleep", json!({"milliseconds": "{{ $trigger.wait }}"}))
        .then(
            "result",
            "transform",
            json!({"json": {"n": "{{ $trigger.n }}", "doubled": "{{ $trigger.n }}{{ $trigger.n }}"}}),
        )
        .insert(app)
        .await
}

/// A webhook (POST) whose single operation triggers `target` with `options` added.
async fn parent(app: &TestApp, n: u32, target: &str, options: Value) -> Flow {
    let mut op = json!({"flow": target});
    for (k, v) in options.as_object().cloned().unwrap_or_default() {
        op[k] = v;
    }
    FlowBuilder::webhook(n)
        .method("POST")
        .accountability(Value::Null)
        .op("run", "trigger", op)
        .insert(app)
        .await
}

/// The `n` of each child run's `$trigger`, in the order the runs finished (logged).
async fn finish_order(app: &TestApp, flow: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for run in run_activity(app, flow).await {
        let revision = revisions_of(app, run.id).await.remove(0);
        out.push(revision["data"]["data"]["$trigger"]["n"].clone());
    }
    out
}

both!(
    a_single_payload_runs_the_child_once_and_returns_its_return,
    |app| async move {
        let c = child(&app, 1, Some("$last")).await;
        let p = parent(&app, 2, &c.id, json!({"payload": "{{ $trigger.body }}"})).await;
        assert_json(
            &post(&app, &p.url(), json!({"n": 4, "wait": 0})).await,
            200,
            json!({"n": 4, "doubled": "44"}),
        );
        assert_eq!(run_activity(&app, &c.id).await.len(), 1);
    }
);

both!(
    the_child_return_option_selects_its_answer,
    |app| async move {
        let by_path = child(&app, 1, Some("result.doubled")).await;
        let p = parent(
            &app,
            2,
            &by_path.id,
            json!({"payload": {"n": 7, "wait": 0}}),
        )
        .await;
        assert_json(&post(&app, &p.url(), json!({})).await, 200, json!("77"));

        // `$all`: the child's chain, with the parent's accountability.
        let all = child(&app, 3, Some("$all")).await;
        let p = parent(&app, 4, &all.id, json!({"payload": {"n": 1, "wait": 0}})).await;
        assert_json(
            &post(&app, &p.url(), json!({})).await,
            200,
            json!({
                "$trigger": {"n": 1, "wait": 0},
                "$last": {"n": 1, "doubled": "11"},
                "$accountability": public_accountability(),
                "$env": {},
                "wait": null,
                "result": {"n": 1, "doubled": "11"},
            }),
        );

        // No `return`: the trigger operation gets null.
        let silent = child(&app, 5, None).await;
        let p = FlowBuilder::webhook(6)
            .op(
                "run",
                "trigger",
                json!({"flow": silent.id, "payload": {"n": 1, "wait": 0}}),
            )
            .then("after", "transform", json!({"json": {"got": "{{ run }}"}}))
            .insert(&app)
            .await;
        assert_json(&get(&app, &p.url()).await, 200, json!({"got": null}));
        assert_eq!(
            run_activity(&app, &silent.id).await.len(),
            1,
            "it still ran"
        );
    }
);

both!(a_payload_string_is_parsed_as_json, |app| async move {
    let c = child(&app, 1, Some("$trigger")).await;
    let p = parent(
        &app,
        2,
        &c.id,
        json!({"payload": "{\"n\": {{ $trigger.body.n }}, \"wait\": 0}"}),
    )
    .await;
    assert_json(
        &post(&app, &p.url(), json!({"n": 9})).await,
        200,
        json!({"n": 9, "wait": 0}),
    );
});

both!(no_payload_is_a_null_trigger, |app| async move {
    let c = FlowBuilder::operation(1)
        .option("return", json!("$all"))
        .insert(&app)
        .await;
    let p = FlowBuilder::webhook(2)
        .op("run", "trigger", json!({"flow": c.id}))
        .then(
            "after",
            "transform",
            json!({"json": {"child": "{{ run }}"}}),
        )
        .insert(&app)
        .await;
    assert_json(
        &get(&app, &p.url()).await,
        200,
        json!({"child": {"$trigger": null, "$last": null, "$accountability": public_accountability(), "$env": {}}}),
    );
});

fn three() -> Value {
    // The first element waits longest, the second not at all.
    json!([{"n": 1, "wait": 600}, {"n": 2, "wait": 0}, {"n": 3, "wait": 300}])
}

fn three_results() -> Value {
    json!([
        {"n": 1, "doubled": "11"},
        {"n": 2, "doubled": "22"},
        {"n": 3, "doubled": "33"},
    ])
}

both!(
    parallel_runs_every_element_at_once_in_input_order,
    |app| async move {
        let c = child(&app, 1, Some("$last")).await;
        for (n, mode) in [(2, json!({})), (3, json!({"iterationMode": "parallel"}))] {
            let mut options = json!({"payload": three()});
            for (k, v) in mode.as_object().cloned().unwrap_or_default() {
                options[k] = v;
            }
            let p = parent(&app, n, &c.id, options).await;
            assert_json(&post(&app, &p.url(), json!({})).await, 200, three_results());
        }
        // They ran side by side: the quickest finished first.
        assert_eq!(
            finish_order(&app, &c.id).await,
            json!([2, 3, 1, 2, 3, 1])
                .as_array()
                .cloned()
                .unwrap_or_default()
        );
    }
);

both!(serial_runs_one_element_after_the_other, |app| async move {
    let c = child(&app, 1, Some("$last")).await;
    let p = parent(
        &app,
        2,
        &c.id,
        json!({"payload": three(), "iterationMode": "serial"}),
    )
    .await;
    assert_json(&post(&app, &p.url(), json!({})).await, 200, three_results());
    assert_eq!(
        finish_order(&app, &c.id).await,
        vec![json!(1), json!(2), json!(3)]
    );
});

both!(batch_runs_chunks_one_after_the_other, |app| async move {
    let c = child(&app, 1, Some("$last")).await;
    let p = parent(
        &app,
        2,
        &c.id,
        json!({"payload": three(), "iterationMode": "batch", "batchSize": 2}),
    )
    .await;
    assert_json(&post(&app, &p.url(), json!({})).await, 200, three_results());
    // Chunk [1, 2] in parallel (2 finishes first), then chunk [3].
    assert_eq!(
        finish_order(&app, &c.id).await,
        vec![json!(2), json!(1), json!(3)]
    );
});

both!(batch_size_defaults_to_ten, |app| async move {
    let c = child(&app, 1, Some("$last")).await;
    let p = parent(
        &app,
        2,
        &c.id,
        json!({"payload": three(), "iterationMode": "batch"}),
    )
    .await;
    assert_json(&post(&app, &p.url(), json!({})).await, 200, three_results());
    assert_eq!(
        finish_order(&app, &c.id).await,
        vec![json!(2), json!(3), json!(1)]
    );
});

both!(an_empty_array_runs_nothing, |app| async move {
    let c = child(&app, 1, Some("$last")).await;
    for (n, mode) in [(2, "parallel"), (3, "serial"), (4, "batch")] {
        let p = parent(
            &app,
            n,
            &c.id,
            json!({"payload": [], "iterationMode": mode}),
        )
        .await;
        assert_json(&post(&app, &p.url(), json!({})).await, 200, json!([]));
    }
    assert!(run_activity(&app, &c.id).await.is_empty());
});

both!(
    an_unknown_mode_passes_the_whole_array_once,
    |app| async move {
        let c = FlowBuilder::operation(1)
            .option("return", json!("$trigger"))
            .insert(&app)
            .await;
        let p = parent(
            &app,
            2,
            &c.id,
            json!({"payload": [1, 2], "iterationMode": "sideways"}),
        )
        .await;
        assert_json(&post(&app, &p.url(), json!({})).await, 200, json!([1, 2]));
    }
);

both!(
    an_unknown_or_inactive_target_returns_null,
    |app| async move {
        let inactive = FlowBuilder::operation(1)
            .status("inactive")
            .option("return", json!("$trigger"))
            .insert(&app)
            .await;
        let webhook = FlowBuilder::webhook(2)
            .option("return", json!("$trigger"))
            .insert(&app)
            .await;
        for (n, target) in [
            (10, MISSING.to_string()),
            (11, inactive.id.clone()),
            (12, webhook.id.clone()),
        ] {
            let p = FlowBuilder::webhook(n)
                .option("return", json!("$all"))
                .op(
                    "run",
                    "trigger",
                    json!({"flow": target, "payload": {"a": 1}}),
                )
                .insert(&app)
                .await;
            let body = get(&app, &p.url()).await.json();
            assert_eq!(body["run"], Value::Null, "target {target}: {body}");
            assert_eq!(body["$last"], Value::Null);
        }
        // Each element of an array gets null too.
        let p = parent(&app, 13, MISSING, json!({"payload": [1, 2]})).await;
        assert_json(
            &post(&app, &p.url(), json!({})).await,
            200,
            json!([null, null]),
        );
    }
);

both!(
    a_rejected_child_still_resolves_the_trigger_operation,
    |app| async move {
        let c = FlowBuilder::operation(1)
            .option("return", json!("$last"))
            .op(
                "boom",
                "throw-error",
                json!({"code": "nope", "status": 409}),
            )
            .insert(&app)
            .await;
        let p = FlowBuilder::webhook(2)
            .option("error_on_reject", json!(true))
            .op("run", "trigger", json!({"flow": c.id}))
            .then(
                "after",
                "transform",
                json!({"json": {"child": "{{ run }}"}}),
            )
            .insert(&app)
            .await;
        assert_json(
            &get(&app, &p.url()).await,
            200,
            json!({"child": {"name": "DirectusError", "code": "NOPE", "status": 409}}),
        );
    }
);

both!(
    a_flow_that_triggers_itself_stops_at_the_depth_limit,
    |app| async move {
        let id = fid(1);
        // A flow of trigger `operation` that triggers itself with its own `$trigger` plus one.
        let looping = FlowBuilder::operation(1)
            .option("return", json!("$last"))
            .accountability(json!("activity"))
            .op(
                "again",
                "trigger",
                json!({"flow": id, "payload": "{\"level\": {{ $trigger.level }}}"}),
            )
            .insert(&app)
            .await;
        let start = FlowBuilder::webhook(2)
            .op(
                "run",
                "trigger",
                json!({"flow": looping.id, "payload": {"level": 1}}),
            )
            .insert(&app)
            .await;
        let reply = get(&app, &start.url()).await;
        assert_json(
            &reply,
            200,
            json!({"name": "DirectusError", "code": "FLOW_DEPTH_EXCEEDED", "status": 400}),
        );
        // The webhook run is depth 1; the looping flow ran at depths 2 to 32, and its trigger
        // operation at depth 32 rejected instead of starting a 33rd.
        assert_eq!(run_activity(&app, &looping.id).await.len(), 31);
    }
);

both!(
    the_depth_limit_answers_its_error_with_error_on_reject,
    |app| async move {
        let id = fid(1);
        let looping = FlowBuilder::operation(1)
            .option("return", json!("$last"))
            .accountability(Value::Null)
            .op("again", "trigger", json!({"flow": id}))
            .insert(&app)
            .await;
        // The webhook triggers the loop directly with its own operation, so the rejection is
        // the loop's `$last`, passed up as each level's result; the webhook's own operation
        // resolves. A webhook that loops on itself is not possible (webhooks are not
        // triggerable), so the guard is seen as data here.
        let start = FlowBuilder::webhook(2)
            .option("error_on_reject", json!(true))
            .op("run", "trigger", json!({"flow": looping.id}))
            .insert(&app)
            .await;
        assert_json(
            &get(&app, &start.url()).await,
            200,
            json!({"name": "DirectusError", "code": "FLOW_DEPTH_EXCEEDED", "status": 400}),
        );
    }
);

both!(
    child_runs_are_logged_with_the_parents_accountability,
    |app| async move {
        let user = app
            .create_user("editor@example.com", "editor-token", false)
            .await;
        let c = child(&app, 1, Some("$last")).await;
        let p = parent(&app, 2, &c.id, json!({"payload": {"n": 5, "wait": 0}})).await;
        let reply = app
            .send("POST", &p.url(), Some("{}"), Some("editor-token"))
            .await;
        assert_json(&reply, 200, json!({"n": 5, "doubled": "55"}));
        let runs = run_activity(&app, &c.id).await;
        assert_eq!(runs.len(), 1);
        assert_eq!(
            runs[0].row,
            json!({"action": "run", "user": user, "collection": "directus_flows", "item": c.id,
               "ip": null, "user_agent": null, "origin": null})
        );
        let revision = revisions_of(&app, runs[0].id).await.remove(0);
        assert_eq!(
            revision["data"]["data"]["$accountability"]["user"],
            json!(user)
        );
    }
);
