//! Resolve and reject branches, rejected runs with and without `error_on_reject`, failed
//! conditions and unknown operation types (flows-and-operations.md §5, observed.md
//! "Running flows").

use crate::flows_support::*;
use e2e::{ADMIN_TOKEN, both};
use serde_json::{Value, json};

/// A webhook (POST) flow: `check` is a condition on `$trigger.body.answer`; it resolves to
/// `yes` and rejects to `no`.
async fn branching(app: &e2e::TestApp, n: u32) -> Flow {
    FlowBuilder::webhook(n)
        .method("POST")
        .op(
            "check",
            "condition",
            json!({"filter": {"$trigger": {"body": {"answer": {"_eq": "yes"}}}}}),
        )
        .then("yes", "transform", json!({"json": {"branch": "yes"}}))
        .op(
            "no",
            "transform",
            json!({"json": "{\"branch\": \"no\", \"failures\": {{ $last.length }}, \"code\": \"{{ check[0].code }}\"}"}),
        )
        .reject("check", "no")
        .insert(app)
        .await
}

both!(a_passing_condition_resolves, |app| async move {
    let flow = branching(&app, 1).await;
    assert_json(
        &post(&app, &flow.url(), json!({"answer": "yes"})).await,
        200,
        json!({"branch": "yes"}),
    );
});

both!(
    a_failing_condition_rejects_to_its_reject_branch,
    |app| async move {
        let flow = branching(&app, 1).await;
        assert_json(
            &post(&app, &flow.url(), json!({"answer": "no"})).await,
            200,
            json!({"branch": "no", "failures": 1, "code": "FAILED_VALIDATION"}),
        );
        // A missing field fails too (every referenced field is required).
        assert_json(
            &post(&app, &flow.url(), json!({})).await,
            200,
            json!({"branch": "no", "failures": 1, "code": "FAILED_VALIDATION"}),
        );
    }
);

both!(
    the_other_branch_is_absent_from_the_chain,
    |app| async move {
        let flow = FlowBuilder::webhook(1)
            .method("POST")
            .option("return", json!("$all"))
            .op(
                "check",
                "condition",
                json!({"filter": {"$trigger": {"body": {"go": {"_eq": true}}}}}),
            )
            .then("yes", "transform", json!({"json": {"took": "yes"}}))
            .op("no", "transform", json!({"json": {"took": "no"}}))
            .reject("check", "no")
            .insert(&app)
            .await;
        let reply = post(&app, &flow.url(), json!({"go": true})).await;
        let trigger = trigger_value(
            &flow,
            "POST",
            json!({}),
            json!({"go": true}),
            json!({"content-type": "application/json"}),
        );
        assert_json(
            &reply,
            200,
            json!({
                "$trigger": trigger,
                "$last": {"took": "yes"},
                "$accountability": public_accountability(),
                "$env": {},
                "check": null,
                "yes": {"took": "yes"},
            }),
        );
    }
);

/// The chain value of one failed `_eq` rule.
fn eq_failure(path: &[&str], valid: &str) -> Value {
    json!({
        "name": "DirectusError",
        "extensions": {"field": "$trigger", "path": path, "type": "eq", "valid": valid},
        "code": "FAILED_VALIDATION",
        "status": 400,
    })
}

/// The HTTP error entry of one failed `_eq` rule.
fn eq_entry(path: &[&str], valid: &str) -> Value {
    json!({
        "message": format!(
            "Validation failed for field \"$trigger\" at \"{}\". Value has to be \"{valid}\".",
            path.join(".")
        ),
        "extensions": {"field": "$trigger", "path": path, "type": "eq", "valid": valid, "code": "FAILED_VALIDATION"},
    })
}

fn two_rules() -> Value {
    json!({"filter": {"$trigger": {"body": {"a": {"_eq": "x"}, "b": {"_eq": "y"}}}}})
}

both!(
    a_failed_condition_without_error_on_reject_answers_200_with_the_errors,
    |app| async move {
        let flow = FlowBuilder::webhook(1)
            .method("POST")
            .op("check", "condition", two_rules())
            .insert(&app)
            .await;
        assert_json(
            &post(&app, &flow.url(), json!({"a": "no", "b": "no"})).await,
            200,
            json!([
                eq_failure(&["body", "a"], "x"),
                eq_failure(&["body", "b"], "y")
            ]),
        );
        // One failure, one error.
        assert_json(
            &post(&app, &flow.url(), json!({"a": "x", "b": "no"})).await,
            200,
            json!([eq_failure(&["body", "b"], "y")]),
        );
        // A passing condition returns null: 204.
        assert_no_content(&post(&app, &flow.url(), json!({"a": "x", "b": "y"})).await);
    }
);

both!(
    a_failed_condition_with_error_on_reject_is_a_400_per_failure,
    |app| async move {
        let flow = FlowBuilder::webhook(1)
            .method("POST")
            .option("error_on_reject", json!(true))
            .op("check", "condition", two_rules())
            .insert(&app)
            .await;
        assert_json(
            &post(&app, &flow.url(), json!({"a": "no", "b": "no"})).await,
            400,
            json!({"errors": [eq_entry(&["body", "a"], "x"), eq_entry(&["body", "b"], "y")]}),
        );
        assert_json(
            &post(&app, &flow.url(), json!({"a": "x", "b": "no"})).await,
            400,
            json!({"errors": [eq_entry(&["body", "b"], "y")]}),
        );
        assert_no_content(&post(&app, &flow.url(), json!({"a": "x", "b": "y"})).await);
    }
);

both!(
    a_rejected_throw_error_answers_200_with_the_error_data,
    |app| async move {
        let flow = FlowBuilder::webhook(1)
            .op(
                "boom",
                "throw-error",
                json!({"code": "im_a_teapot", "status": "418", "message": "short and stout"}),
            )
            .insert(&app)
            .await;
        assert_json(
            &get(&app, &flow.url()).await,
            200,
            json!({"name": "DirectusError", "code": "IM_A_TEAPOT", "status": 418}),
        );
    }
);

both!(
    error_on_reject_answers_with_the_errors_own_status,
    |app| async move {
        let flow = FlowBuilder::webhook(1)
            .option("error_on_reject", json!(true))
            .op(
                "boom",
                "throw-error",
                json!({"code": "im_a_teapot", "status": "418", "message": "short and stout"}),
            )
            .insert(&app)
            .await;
        let expected = json!({"errors": [{"message": "short and stout", "extensions": {"code": "IM_A_TEAPOT"}}]});
        assert_json(&get(&app, &flow.url()).await, 418, expected.clone());
        // The same for the admin: a Directus error is never masked.
        let reply = app.send("GET", &flow.url(), None, Some(ADMIN_TOKEN)).await;
        assert_json(&reply, 418, expected);
    }
);

both!(
    a_reject_branch_that_resolves_is_not_an_error,
    |app| async move {
        let flow = FlowBuilder::webhook(1)
        .option("error_on_reject", json!(true))
        .op(
            "boom",
            "throw-error",
            json!({"code": "gone", "status": 410, "message": "it left"}),
        )
        .or_else(
            "caught",
            "transform",
            json!({"json": "{\"caught\": \"{{ $last.code }}\", \"status\": {{ boom.status }}, \"name\": \"{{ $last.name }}\"}"}),
        )
        .insert(&app)
        .await;
        assert_json(
            &get(&app, &flow.url()).await,
            200,
            json!({"caught": "GONE", "status": 410, "name": "DirectusError"}),
        );
    }
);

both!(
    a_resolve_after_a_reject_branch_continues_the_chain,
    |app| async move {
        // boom -(reject)-> recover -(resolve)-> finish
        let flow = FlowBuilder::webhook(1)
            .option("return", json!("$all"))
            .op("boom", "throw-error", json!({}))
            .or_else("recover", "transform", json!({"json": {"ok": true}}))
            .then("finish", "transform", json!({"json": "{{ recover }}"}))
            .insert(&app)
            .await;
        let reply = get(&app, &flow.url()).await;
        let trigger = trigger_value(&flow, "GET", json!({}), json!({}), json!({}));
        assert_json(
            &reply,
            200,
            json!({
                "$trigger": trigger,
                "$last": {"ok": true},
                "$accountability": public_accountability(),
                "$env": {},
                "boom": {"name": "DirectusError", "code": "INTERNAL_SERVER_ERROR", "status": 500},
                "recover": {"ok": true},
                "finish": {"ok": true},
            }),
        );
    }
);

both!(
    a_resolved_operation_never_takes_the_reject_link,
    |app| async move {
        let flow = FlowBuilder::webhook(1)
            .op("fine", "transform", json!({"json": {"fine": true}}))
            .or_else("never", "transform", json!({"json": {"never": true}}))
            .insert(&app)
            .await;
        assert_json(&get(&app, &flow.url()).await, 200, json!({"fine": true}));
    }
);

both!(
    an_unknown_operation_type_ends_the_chain_as_unknown,
    |app| async move {
        let flow = FlowBuilder::webhook(1)
            .option("return", json!("$all"))
            .option("error_on_reject", json!(true))
            .accountability(json!("all"))
            .op("a", "transform", json!({"json": {"a": 1}}))
            .then("mystery", "no-such-operation", json!({"x": "{{ a.a }}"}))
            .then("after", "transform", json!({"json": {"after": true}}))
            .insert(&app)
            .await;
        let reply = get(&app, &flow.url()).await;
        let trigger = trigger_value(&flow, "GET", json!({}), json!({}), json!({}));
        let chain = json!({
            "$trigger": trigger,
            "$last": null,
            "$accountability": public_accountability(),
            "$env": {},
            "a": {"a": 1},
            "mystery": null,
        });
        assert_json(&reply, 200, chain.clone());

        let runs = run_activity(&app, &flow.id).await;
        assert_eq!(runs.len(), 1);
        let mut revision = revisions_of(&app, runs[0].id).await.remove(0);
        strip_timing(&mut revision["data"]);
        assert_eq!(
            revision["data"]["steps"],
            json!([
                {"operation": flow.op("a"), "key": "a", "status": "resolve", "options": {"json": {"a": 1}}, "output": {"a": 1}},
                {"operation": flow.op("mystery"), "key": "mystery", "status": "unknown", "options": null, "output": null},
            ])
        );
        assert_eq!(revision["data"]["data"], chain);
    }
);

both!(
    an_unknown_type_with_default_return_is_no_content,
    |app| async move {
        let flow = FlowBuilder::webhook(1)
            .op("mystery", "no-such-operation", json!({}))
            .insert(&app)
            .await;
        assert_no_content(&get(&app, &flow.url()).await);
    }
);

both!(a_template_error_rejects_the_operation, |app| async move {
    let flow = FlowBuilder::webhook(1)
        .op("bad", "transform", json!({"json": "{{ unclosed"}))
        .or_else(
            "caught",
            "transform",
            json!({"json": {"caught": "{{ $last }}"}}),
        )
        .insert(&app)
        .await;
    // The template error is a plain Error: it serialises to `{}`.
    assert_json(&get(&app, &flow.url()).await, 200, json!({"caught": {}}));

    let strict = FlowBuilder::webhook(2)
        .option("error_on_reject", json!(true))
        .op("bad", "transform", json!({"json": "{{ unclosed"}))
        .insert(&app)
        .await;
    // A plain error is a 500; only admins see its message.
    assert_json(
        &get(&app, &strict.url()).await,
        500,
        json!({"errors": [{"message": "An unexpected error occurred.", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]}),
    );
    let reply = app
        .send("GET", &strict.url(), None, Some(ADMIN_TOKEN))
        .await;
    assert_json(
        &reply,
        500,
        json!({"errors": [{"message": "Missing \"}}\" in the template for the \"{{\" at position 0 within 1000 characters",
            "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]}),
    );
});

both!(
    error_on_reject_on_a_plain_error_masks_the_message_for_non_admins,
    |app| async move {
        let flow = FlowBuilder::webhook(1)
            .option("error_on_reject", json!(true))
            .op("parse", "transform", json!({"json": "not json"}))
            .insert(&app)
            .await;
        assert_json(
            &get(&app, &flow.url()).await,
            500,
            json!({"errors": [{"message": "An unexpected error occurred.", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]}),
        );
        let reply = app.send("GET", &flow.url(), None, Some(ADMIN_TOKEN)).await;
        assert_eq!(reply.status, 500);
        let body = reply.json();
        assert_eq!(
            body["errors"][0]["extensions"],
            json!({"code": "INTERNAL_SERVER_ERROR"})
        );
        assert_ne!(
            body["errors"][0]["message"],
            json!("An unexpected error occurred."),
            "admins see the parse error: {body}"
        );
    }
);
