//! Webhook flows through `GET|POST /flows/trigger/:id`: the method option, the 403 and 404
//! answers, `$trigger`, every `return` mode, falsy results, flows without operations and
//! `async` runs (observations.md "Running flows", flows-and-operations.md §3.2, §5.3).

use crate::flows_support::*;
use e2e::{ADMIN_TOKEN, both};
use serde_json::json;

both!(
    get_webhook_without_operations_answers_its_trigger,
    |app| async move {
        let flow = FlowBuilder::webhook(1).insert(&app).await;
        let reply = get(&app, &flow.url()).await;
        assert_json(
            &reply,
            200,
            trigger_value(&flow, "GET", json!({}), json!({}), json!({})),
        );
        assert_eq!(reply.content_type.as_deref(), Some("application/json"));
    }
);

both!(query_strings_arrive_parsed_with_arrays, |app| async move {
    let flow = FlowBuilder::webhook(1).insert(&app).await;
    let reply = get(
        &app,
        &format!(
            "{}?a=1&arr[]=1&arr[]=2&obj[x]=y&text=two%20words",
            flow.url()
        ),
    )
    .await;
    assert_json(
        &reply,
        200,
        trigger_value(
            &flow,
            "GET",
            json!({"a": "1", "arr": ["1", "2"], "obj": {"x": "y"}, "text": "two words"}),
            json!({}),
            json!({}),
        ),
    );
});

both!(
    post_webhook_gets_body_method_and_every_header,
    |app| async move {
        let flow = FlowBuilder::webhook(1).method("POST").insert(&app).await;
        let reply = app
            .send_with(
                "POST",
                &format!("{}?q=1", flow.url()),
                Some(r#"{"name":"x","list":[1,2]}"#),
                &[
                    ("authorization", &format!("Bearer {ADMIN_TOKEN}")),
                    ("x-custom", "yes"),
                    ("cookie", "a=b"),
                ],
            )
            .await;
        assert_json(
            &reply,
            200,
            trigger_value(
                &flow,
                "POST",
                json!({"q": "1"}),
                json!({"name": "x", "list": [1, 2]}),
                json!({
                    "authorization": format!("Bearer {ADMIN_TOKEN}"),
                    "x-custom": "yes",
                    "cookie": "a=b",
                    "content-type": "application/json",
                }),
            ),
        );
    }
);

both!(
    a_post_without_body_has_an_empty_object_body,
    |app| async move {
        let flow = FlowBuilder::webhook(1).method("POST").insert(&app).await;
        let reply = app.send("POST", &flow.url(), None, None).await;
        assert_json(
            &reply,
            200,
            trigger_value(&flow, "POST", json!({}), json!({}), json!({})),
        );
    }
);

both!(
    wrong_method_unknown_and_inactive_flows_are_forbidden,
    |app| async move {
        let post_flow = FlowBuilder::webhook(1).method("POST").insert(&app).await;
        let get_flow = FlowBuilder::webhook(2).insert(&app).await;
        let inactive = FlowBuilder::webhook(3)
            .status("inactive")
            .insert(&app)
            .await;
        let operation = FlowBuilder::operation(4).insert(&app).await;
        let schedule = FlowBuilder::new(5, "schedule")
            .option("cron", json!("0 0 * * *"))
            .insert(&app)
            .await;

        assert_json(&get(&app, &post_flow.url()).await, 403, forbidden());
        assert_json(
            &post(&app, &get_flow.url(), json!({})).await,
            403,
            forbidden(),
        );
        assert_json(
            &get(&app, &format!("/flows/trigger/{MISSING}")).await,
            403,
            forbidden(),
        );
        assert_json(&get(&app, &inactive.url()).await, 403, forbidden());
        // Only webhook and manual flows answer on this route.
        assert_json(&get(&app, &operation.url()).await, 403, forbidden());
        assert_json(
            &post(&app, &operation.url(), json!({})).await,
            403,
            forbidden(),
        );
        assert_json(&get(&app, &schedule.url()).await, 403, forbidden());
        // The right method still works.
        assert_eq!(post(&app, &post_flow.url(), json!({})).await.status, 200);
        assert_eq!(get(&app, &get_flow.url()).await.status, 200);
    }
);

both!(
    a_trigger_id_that_is_not_a_uuid_is_route_not_found,
    |app| async move {
        for method in ["GET", "POST"] {
            let reply = app
                .send(method, "/flows/trigger/not-a-uuid", None, None)
                .await;
            assert_json(
                &reply,
                404,
                json!({"errors": [{"message": "Route /flows/trigger/not-a-uuid doesn't exist.",
                "extensions": {"path": "/flows/trigger/not-a-uuid", "code": "ROUTE_NOT_FOUND"}}]}),
            );
        }
    }
);

both!(return_defaults_to_last, |app| async move {
    let flow = FlowBuilder::webhook(1)
        .op("a", "transform", json!({"json": {"first": true}}))
        .then(
            "b",
            "transform",
            json!({"json": {"second": "{{ a.first }}"}}),
        )
        .insert(&app)
        .await;
    assert_json(&get(&app, &flow.url()).await, 200, json!({"second": true}));
});

both!(return_last_of_a_log_is_no_content, |app| async move {
    // transform -> log: the log operation returns null, so the default answer is 204.
    let flow = FlowBuilder::webhook(1)
        .op("a", "transform", json!({"json": {"x": 1}}))
        .then("b", "log", json!({"message": "x is {{ a.x }}"}))
        .insert(&app)
        .await;
    assert_no_content(&get(&app, &flow.url()).await);
});

both!(return_all_answers_the_whole_chain, |app| async move {
    let flow = FlowBuilder::webhook(1)
        .option("return", json!("$all"))
        .op(
            "a",
            "transform",
            json!({"json": {"n": "{{ $trigger.query.n }}"}}),
        )
        .then("b", "log", json!({"message": "hi"}))
        .insert(&app)
        .await;
    let reply = get(&app, &format!("{}?n=7", flow.url())).await;
    let trigger = trigger_value(&flow, "GET", json!({"n": "7"}), json!({}), json!({}));
    assert_json(
        &reply,
        200,
        json!({
            "$trigger": trigger,
            "$last": null,
            "$accountability": public_accountability(),
            "$env": {},
            "a": {"n": "7"},
            "b": null,
        }),
    );
});

both!(return_all_names_the_admin_caller, |app| async move {
    let flow = FlowBuilder::webhook(1)
        .option("return", json!("$all"))
        .insert(&app)
        .await;
    let reply = app.send("GET", &flow.url(), None, Some(ADMIN_TOKEN)).await;
    let trigger = trigger_value(
        &flow,
        "GET",
        json!({}),
        json!({}),
        json!({"authorization": format!("Bearer {ADMIN_TOKEN}")}),
    );
    assert_json(
        &reply,
        200,
        json!({
            "$trigger": trigger,
            "$last": trigger,
            "$accountability": admin_accountability(&app).await,
            "$env": {},
        }),
    );
});

both!(return_a_path_selects_inside_the_chain, |app| async move {
    let flow = FlowBuilder::webhook(1)
        .option("return", json!("a.b"))
        .op(
            "a",
            "transform",
            json!({"json": {"b": {"c": [1, 2], "d": "e"}, "z": 0}}),
        )
        .then("other", "transform", json!({"json": "\"ignored\""}))
        .insert(&app)
        .await;
    assert_json(
        &get(&app, &flow.url()).await,
        200,
        json!({"c": [1, 2], "d": "e"}),
    );

    let indexed = FlowBuilder::webhook(2)
        .option("return", json!("a.b.c[1]"))
        .op("a", "transform", json!({"json": {"b": {"c": ["x", "y"]}}}))
        .insert(&app)
        .await;
    assert_json(&get(&app, &indexed.url()).await, 200, json!("y"));

    let trigger_path = FlowBuilder::webhook(3)
        .method("POST")
        .option("return", json!("$trigger.body"))
        .op("a", "transform", json!({"json": {"unused": true}}))
        .insert(&app)
        .await;
    assert_json(
        &post(&app, &trigger_path.url(), json!({"k": [true]})).await,
        200,
        json!({"k": [true]}),
    );

    let missing = FlowBuilder::webhook(4)
        .option("return", json!("a.nothing.here"))
        .op("a", "transform", json!({"json": {"b": 1}}))
        .insert(&app)
        .await;
    assert_no_content(&get(&app, &missing.url()).await);
});

both!(falsy_results_answer_no_content, |app| async move {
    let falsy = [json!(null), json!(false), json!(0), json!("\"\"")];
    for (i, value) in falsy.into_iter().enumerate() {
        let flow = FlowBuilder::webhook(i as u32 + 1)
            .op("a", "transform", json!({"json": value}))
            .insert(&app)
            .await;
        assert_no_content(&get(&app, &flow.url()).await);
    }
    // Truthy in JavaScript: the string "0", an empty array, an empty object, a number.
    let truthy = [
        (json!("\"0\""), json!("0")),
        (json!("[]"), json!([])),
        (json!({}), json!({})),
        (json!(-1), json!(-1)),
        (json!(true), json!(true)),
    ];
    for (i, (value, expected)) in truthy.into_iter().enumerate() {
        let flow = FlowBuilder::webhook(i as u32 + 10)
            .op("a", "transform", json!({"json": value}))
            .insert(&app)
            .await;
        assert_json(&get(&app, &flow.url()).await, 200, expected);
    }
});

both!(anyone_may_call_a_webhook, |app| async move {
    let flow = FlowBuilder::webhook(1)
        .option("return", json!("$accountability"))
        .insert(&app)
        .await;
    assert_json(&get(&app, &flow.url()).await, 200, public_accountability());
    // A wrong token is still refused.
    let reply = app.send("GET", &flow.url(), None, Some("nope")).await;
    assert_eq!(reply.status, 401, "{}", reply.text);
});

both!(
    async_webhooks_answer_at_once_and_run_in_the_background,
    |app| async move {
        let flow = FlowBuilder::webhook(1)
            .method("POST")
            .option("async", json!(true))
            .accountability(json!("all"))
            .op("wait", "sleep", json!({"milliseconds": 400}))
            .then(
                "a",
                "transform",
                json!({"json": {"seen": "{{ $trigger.body.v }}"}}),
            )
            .insert(&app)
            .await;
        let reply = post(&app, &flow.url(), json!({"v": 42})).await;
        assert_no_content(&reply);
        // The run is still sleeping: nothing is logged yet.
        assert_eq!(run_activity(&app, &flow.id).await.len(), 0);
        let runs = wait_for_runs(&app, &flow.id, 1).await;
        assert_eq!(runs.len(), 1, "the background run was not logged");
        let revisions = revisions_of(&app, runs[0].id).await;
        assert_eq!(revisions.len(), 1);
        assert_eq!(revisions[0]["data"]["data"]["a"], json!({"seen": 42}));
        assert_eq!(revisions[0]["data"]["data"]["$last"], json!({"seen": 42}));
    }
);

both!(async_webhooks_ignore_error_on_reject, |app| async move {
    let flow = FlowBuilder::webhook(1)
        .option("async", json!(true))
        .option("error_on_reject", json!(true))
        .op("boom", "throw-error", json!({"status": 418}))
        .insert(&app)
        .await;
    assert_no_content(&get(&app, &flow.url()).await);
    let runs = wait_for_runs(&app, &flow.id, 1).await;
    assert_eq!(runs.len(), 1);
});

both!(each_trigger_is_an_independent_run, |app| async move {
    let flow = FlowBuilder::webhook(1)
        .method("POST")
        .op("echo", "transform", json!({"json": "{{ $trigger.body }}"}))
        .insert(&app)
        .await;
    for i in 0..3 {
        assert_json(
            &post(&app, &flow.url(), json!({"i": i})).await,
            200,
            json!({"i": i}),
        );
    }
    assert_eq!(run_activity(&app, &flow.id).await.len(), 3);
});

both!(
    bad_bodies_are_invalid_payload_and_run_nothing,
    |app| async move {
        let flow = FlowBuilder::webhook(1)
            .method("POST")
            .accountability(json!("activity"))
            .insert(&app)
            .await;
        let reply = app.send("POST", &flow.url(), Some("{not json"), None).await;
        assert_json(
            &reply,
            400,
            json!({"errors": [{"message": "Invalid payload. Invalid JSON body: key must be a string at line 1 column 2.",
                "extensions": {"reason": "Invalid JSON body: key must be a string at line 1 column 2", "code": "INVALID_PAYLOAD"}}]}),
        );
        // Larger than the 1 MB limit.
        let big = format!("{{\"x\": \"{}\"}}", "a".repeat(1024 * 1024));
        let reply = app.send("POST", &flow.url(), Some(&big), None).await;
        assert_json(
            &reply,
            400,
            json!({"errors": [{"message": "Invalid payload. Request body is larger than 1048576 bytes.",
            "extensions": {"reason": "Request body is larger than 1048576 bytes", "code": "INVALID_PAYLOAD"}}]}),
        );
        assert!(run_activity(&app, &flow.id).await.is_empty());
    }
);

both!(
    last_is_the_trigger_until_the_first_operation_has_run,
    |app| async move {
        // The first operation reads `$last` through a placeholder: it sees the trigger.
        let reads = FlowBuilder::webhook(1)
            .op(
                "a",
                "transform",
                json!({"json": {"n": "{{ $last.query.n }}"}}),
            )
            .insert(&app)
            .await;
        let reply = get(&app, &format!("{}?n=7", reads.url())).await;
        assert_json(&reply, 200, json!({"n": "7"}));

        // A sleep reads nothing; after it `$last` is its result, and the chain keeps
        // Directus's key order.
        let naps = FlowBuilder::webhook(2)
            .option("return", json!("$all"))
            .op("nap", "sleep", json!({"milliseconds": 1}))
            .then(
                "seen",
                "transform",
                json!({"json": {"last": "{{ $last }}", "n": "{{ $trigger.query.n }}"}}),
            )
            .insert(&app)
            .await;
        let reply = get(&app, &format!("{}?n=8", naps.url())).await;
        let trigger = trigger_value(&naps, "GET", json!({"n": "8"}), json!({}), json!({}));
        assert_json(
            &reply,
            200,
            json!({
                "$trigger": trigger,
                "$last": {"last": null, "n": "8"},
                "$accountability": public_accountability(),
                "$env": {},
                "nap": null,
                "seen": {"last": null, "n": "8"},
            }),
        );
        let keys: Vec<String> = reply
            .json()
            .as_object()
            .expect("object")
            .keys()
            .cloned()
            .collect();
        assert_eq!(
            keys,
            [
                "$trigger",
                "$last",
                "$accountability",
                "$env",
                "nap",
                "seen"
            ]
        );

        // A run waiting in its first operation keeps its trigger aside until something
        // reads the chain, here only the end of the run: the request comes back exactly,
        // numbers and key order included.
        let only_naps = FlowBuilder::webhook(3)
            .method("POST")
            .option("return", json!("$all"))
            .op("nap", "sleep", json!({"milliseconds": 1}))
            .insert(&app)
            .await;
        let body = r#"{"z":1.5,"big":18446744073709551615,"neg":-7,"e":1e-7,"s":"\u00e9\n","a":[{"k":null}]}"#;
        let reply = app
            .send_with(
                "POST",
                &format!("{}?n=9", only_naps.url()),
                Some(body),
                &[("x-custom", "yes")],
            )
            .await;
        let trigger = trigger_value(
            &only_naps,
            "POST",
            json!({"n": "9"}),
            serde_json::from_str(body).expect("body"),
            json!({"x-custom": "yes", "content-type": "application/json"}),
        );
        assert_eq!(reply.status, 200);
        assert_eq!(
            reply.text,
            json!({
                "$trigger": trigger,
                "$last": null,
                "$accountability": public_accountability(),
                "$env": {},
                "nap": null,
            })
            .to_string()
        );
    }
);
