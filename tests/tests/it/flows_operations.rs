//! The small operations run end to end: `transform`, `log`, `sleep`, `throw-error` and
//! `json-web-token` (operations-catalog.md §7, 8, 12-14).

use std::time::{Duration, Instant};

use crate::flows_support::*;
use e2e::{ADMIN_TOKEN, both};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------
// transform

both!(
    transform_an_object_keeps_whole_placeholder_types,
    |app| async move {
        let flow = FlowBuilder::webhook(1)
            .method("POST")
            .op(
                "t",
                "transform",
                json!({"json": {
                    "n": "{{ $trigger.body.n }}",
                    "list": "{{ $trigger.body.list }}",
                    "flag": "{{ $trigger.body.flag }}",
                    "nothing": "{{ $trigger.body.nothing }}",
                    "text": "n={{ $trigger.body.n }}, list={{ $trigger.body.list }}",
                    "missing": "{{ $trigger.body.absent }}",
                    "nested": [{"deep": "{{ $trigger.body.list[1] }}"}],
                    "plain": 3,
                }}),
            )
            .insert(&app)
            .await;
        let reply = post(
            &app,
            &flow.url(),
            json!({"n": 5, "list": [1, "a"], "flag": false, "nothing": null}),
        )
        .await;
        assert_json(
            &reply,
            200,
            json!({
                "n": 5,
                "list": [1, "a"],
                "flag": false,
                "nothing": null,
                "text": "n=5, list=[1,\"a\"]",
                "missing": "undefined",
                "nested": [{"deep": "a"}],
                "plain": 3,
            }),
        );
    }
);

both!(
    transform_a_json_string_with_embedded_templates,
    |app| async move {
        let flow = FlowBuilder::webhook(1)
        .method("POST")
        .op(
            "t",
            "transform",
            json!({"json": "{ \"count\": {{ $trigger.body.list.length }}, \"first\": {{ $trigger.body.list[0] }}, \"all\": {{ $trigger.body }}, \"name\": \"{{ $trigger.body.name }}\" }"}),
        )
        .insert(&app)
        .await;
        let reply = post(
            &app,
            &flow.url(),
            json!({"name": "Ada", "list": [{"id": 1}, {"id": 2}]}),
        )
        .await;
        assert_json(
            &reply,
            200,
            json!({
                "count": 2,
                "first": {"id": 1},
                "all": {"name": "Ada", "list": [{"id": 1}, {"id": 2}]},
                "name": "Ada",
            }),
        );
    }
);

both!(
    transform_reads_earlier_operations_by_key,
    |app| async move {
        let flow = FlowBuilder::webhook(1)
            .op("first", "transform", json!({"json": {"ids": [1, 2, 3]}}))
            .then(
                "second",
                "transform",
                json!({"json": "{\"ids\": {{ first.ids }}, \"last\": {{ $last.ids[2] }}}"}),
            )
            .insert(&app)
            .await;
        assert_json(
            &get(&app, &flow.url()).await,
            200,
            json!({"ids": [1, 2, 3], "last": 3}),
        );
    }
);

both!(
    transform_of_invalid_json_rejects_with_an_empty_error,
    |app| async move {
        let flow = FlowBuilder::webhook(1)
            .op("t", "transform", json!({"json": "{not json"}))
            .insert(&app)
            .await;
        assert_json(&get(&app, &flow.url()).await, 200, json!({}));
    }
);

both!(transform_without_json_returns_null, |app| async move {
    let flow = FlowBuilder::webhook(1)
        .option("return", json!("$all"))
        .op("t", "transform", json!({}))
        .insert(&app)
        .await;
    let body = get(&app, &flow.url()).await.json();
    assert_eq!(body["t"], Value::Null);
    assert_eq!(body["$last"], Value::Null);
});

// ---------------------------------------------------------------------------------------
// log

both!(log_returns_null, |app| async move {
    let flow = FlowBuilder::webhook(1)
        .option("return", json!("$all"))
        .op("a", "transform", json!({"json": {"v": 1}}))
        .then(
            "l",
            "log",
            json!({"message": "value {{ a.v }} and {{ a }}"}),
        )
        .insert(&app)
        .await;
    let body = get(&app, &flow.url()).await.json();
    assert_eq!(body["l"], Value::Null);
    assert_eq!(body["$last"], Value::Null);
    assert_eq!(body["a"], json!({"v": 1}));
    // Any message, even none, logs and resolves.
    let bare = FlowBuilder::webhook(2)
        .op("l", "log", json!({}))
        .then(
            "after",
            "transform",
            json!({"json": {"after": "{{ $last }}"}}),
        )
        .insert(&app)
        .await;
    assert_json(&get(&app, &bare.url()).await, 200, json!({"after": null}));
});

both!(log_renders_against_a_redacted_chain, |app| async move {
    let flow = FlowBuilder::webhook(1)
        .accountability(json!("all"))
        .op(
            "l",
            "log",
            json!({"message": "auth={{ $trigger.headers.authorization }} token={{ $trigger.query.access_token }} q={{ $trigger.query.q }}"}),
        )
        .insert(&app)
        .await;
    let reply = app
        .send(
            "GET",
            &format!("{}?access_token={ADMIN_TOKEN}&q=1", flow.url()),
            None,
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_no_content(&reply);
    let runs = run_activity(&app, &flow.id).await;
    let mut revision = revisions_of(&app, runs[0].id).await.remove(0);
    strip_timing(&mut revision["data"]);
    assert_eq!(
        revision["data"]["steps"][0]["options"],
        json!({"message": "auth=--redacted-- token=--redacted-- q=1"})
    );
});

// ---------------------------------------------------------------------------------------
// sleep

both!(sleep_waits_and_returns_null, |app| async move {
    let flow = FlowBuilder::webhook(1)
        .op("wait", "sleep", json!({"milliseconds": 300}))
        .then(
            "after",
            "transform",
            json!({"json": {"slept": "{{ wait }}"}}),
        )
        .insert(&app)
        .await;
    let started = Instant::now();
    let reply = get(&app, &flow.url()).await;
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "answered after {:?}",
        started.elapsed()
    );
    assert_json(&reply, 200, json!({"slept": null}));
});

both!(
    sleep_reads_numeric_strings_and_templates,
    |app| async move {
        let flow = FlowBuilder::webhook(1)
            .op(
                "wait",
                "sleep",
                json!({"milliseconds": "{{ $trigger.query.ms }}"}),
            )
            .insert(&app)
            .await;
        let started = Instant::now();
        assert_no_content(&get(&app, &format!("{}?ms=250", flow.url())).await);
        assert!(started.elapsed() >= Duration::from_millis(250));
    }
);

both!(sleep_without_a_number_does_not_wait, |app| async move {
    for (i, options) in [json!({}), json!({"milliseconds": "soon"})]
        .into_iter()
        .enumerate()
    {
        let flow = FlowBuilder::webhook(i as u32 + 1)
            .op("wait", "sleep", options)
            .then("after", "transform", json!({"json": {"done": true}}))
            .insert(&app)
            .await;
        let started = Instant::now();
        assert_json(&get(&app, &flow.url()).await, 200, json!({"done": true}));
        assert!(started.elapsed() < Duration::from_secs(5));
    }
});

// ---------------------------------------------------------------------------------------
// throw-error

both!(throw_error_defaults, |app| async move {
    let lenient = FlowBuilder::webhook(1)
        .op("boom", "throw-error", json!({}))
        .insert(&app)
        .await;
    assert_json(
        &get(&app, &lenient.url()).await,
        200,
        json!({"name": "DirectusError", "code": "INTERNAL_SERVER_ERROR", "status": 500}),
    );
    let strict = FlowBuilder::webhook(2)
        .option("error_on_reject", json!(true))
        .op("boom", "throw-error", json!({}))
        .insert(&app)
        .await;
    let expected = json!({"errors": [{"message": "An unexpected error occurred.", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]});
    assert_json(&get(&app, &strict.url()).await, 500, expected.clone());
    let reply = app
        .send("GET", &strict.url(), None, Some(ADMIN_TOKEN))
        .await;
    assert_json(&reply, 500, expected);
});

both!(
    throw_error_upper_cases_the_code_and_parses_the_status,
    |app| async move {
        let cases = [
            (
                json!({"code": "not_found", "status": 404, "message": "No such thing"}),
                404,
                "NOT_FOUND",
                "No such thing",
            ),
            (
                json!({"code": "Payment", "status": "402"}),
                402,
                "PAYMENT",
                "An unexpected error occurred.",
            ),
            (
                json!({"code": "odd", "status": "abc", "message": "m"}),
                500,
                "ODD",
                "m",
            ),
            (
                json!({"status": "422", "message": "{{ $trigger.query.why }}"}),
                422,
                "INTERNAL_SERVER_ERROR",
                "because",
            ),
        ];
        for (i, (options, status, code, message)) in cases.into_iter().enumerate() {
            let lenient = FlowBuilder::webhook(10 + i as u32)
                .op("boom", "throw-error", options.clone())
                .insert(&app)
                .await;
            assert_json(
                &get(&app, &format!("{}?why=because", lenient.url())).await,
                200,
                json!({"name": "DirectusError", "code": code, "status": status}),
            );
            let strict = FlowBuilder::webhook(20 + i as u32)
                .option("error_on_reject", json!(true))
                .op("boom", "throw-error", options)
                .insert(&app)
                .await;
            assert_json(
                &get(&app, &format!("{}?why=because", strict.url())).await,
                status,
                json!({"errors": [{"message": message, "extensions": {"code": code}}]}),
            );
        }
    }
);

// ---------------------------------------------------------------------------------------
// json-web-token

both!(jwt_sign_verify_decode_round_trip, |app| async move {
    let flow = FlowBuilder::webhook(1)
        .option("return", json!("$all"))
        .op(
            "signed",
            "json-web-token",
            json!({"operation": "sign", "payload": {"sub": "u1", "role": "{{ $trigger.query.role }}"}, "secret": "s3cret", "options": {"noTimestamp": true}}),
        )
        .then(
            "verified",
            "json-web-token",
            json!({"operation": "verify", "token": "{{ signed }}", "secret": "s3cret"}),
        )
        .then(
            "decoded",
            "json-web-token",
            json!({"operation": "decode", "token": "{{ signed }}"}),
        )
        .then(
            "complete",
            "json-web-token",
            json!({"operation": "decode", "token": "{{ signed }}", "options": "{\"complete\": true}"}),
        )
        .insert(&app)
        .await;
    let body = get(&app, &format!("{}?role=editor", flow.url()))
        .await
        .json();
    let token = body["signed"].as_str().expect("a token").to_string();
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "{token}");
    let payload = json!({"sub": "u1", "role": "editor"});
    assert_eq!(body["verified"], payload);
    assert_eq!(body["decoded"], payload);
    assert_eq!(
        body["complete"],
        json!({"header": {"alg": "HS256", "typ": "JWT"}, "payload": payload, "signature": parts[2]})
    );
});

both!(jwt_sign_adds_iat_and_exp, |app| async move {
    let flow = FlowBuilder::webhook(1)
        .op(
            "signed",
            "json-web-token",
            json!({"operation": "sign", "payload": "{\"sub\": \"u2\"}", "secret": "k", "options": {"expiresIn": "1h"}}),
        )
        .then(
            "verified",
            "json-web-token",
            json!({"operation": "verify", "token": "{{ signed }}", "secret": "k"}),
        )
        .insert(&app)
        .await;
    let body = get(&app, &flow.url()).await.json();
    let iat = body["iat"].as_i64().expect("iat");
    assert_eq!(body, json!({"sub": "u2", "iat": iat, "exp": iat + 3600}));
});

/// A webhook flow running one `json-web-token` operation; `error_on_reject` as given.
async fn jwt_flow(app: &e2e::TestApp, n: u32, options: Value, strict: bool) -> Flow {
    FlowBuilder::webhook(n)
        .option("error_on_reject", json!(strict))
        .op("jwt", "json-web-token", options)
        .insert(app)
        .await
}

both!(jwt_errors_reject, |app| async move {
    // Missing inputs are plain Errors: `{}` in the chain, their message for admins.
    let cases = [
        (
            json!({"operation": "sign", "secret": "k"}),
            "Undefined JSON Web Token payload",
        ),
        (
            json!({"operation": "sign", "payload": {"a": 1}}),
            "Undefined JSON Web Token secret",
        ),
        (
            json!({"operation": "verify", "secret": "k"}),
            "Undefined JSON Web Token token",
        ),
        (
            json!({"operation": "verify", "token": "a.b.c"}),
            "Undefined JSON Web Token secret",
        ),
        (
            json!({"operation": "decode"}),
            "Undefined JSON Web Token token",
        ),
        (
            json!({"operation": "encrypt"}),
            "Undefined \"Operation\" for JSON Web Token",
        ),
        (json!({}), "Undefined \"Operation\" for JSON Web Token"),
    ];
    for (i, (options, message)) in cases.into_iter().enumerate() {
        let lenient = jwt_flow(&app, 10 + i as u32, options.clone(), false).await;
        assert_json(&get(&app, &lenient.url()).await, 200, json!({}));
        let strict = jwt_flow(&app, 30 + i as u32, options, true).await;
        let reply = app
            .send("GET", &strict.url(), None, Some(ADMIN_TOKEN))
            .await;
        assert_json(
            &reply,
            500,
            json!({"errors": [{"message": message, "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]}),
        );
    }
});

both!(jwt_verify_with_the_wrong_secret_rejects, |app| async move {
    let flow = FlowBuilder::webhook(1)
        .op(
            "signed",
            "json-web-token",
            json!({"operation": "sign", "payload": {"a": 1}, "secret": "right"}),
        )
        .then(
            "verified",
            "json-web-token",
            json!({"operation": "verify", "token": "{{ signed }}", "secret": "wrong"}),
        )
        .insert(&app)
        .await;
    assert_json(
        &get(&app, &flow.url()).await,
        200,
        json!({"name": "JsonWebTokenError", "message": "invalid signature"}),
    );
});

both!(jwt_verify_of_an_expired_token_rejects, |app| async move {
    // exp 1000000000 is 2001-09-09T01:46:40Z.
    let sign = json!({"operation": "sign", "payload": {"a": 1, "exp": 1_000_000_000}, "secret": "k", "options": {"noTimestamp": true}});
    let verify = json!({"operation": "verify", "token": "{{ signed }}", "secret": "k"});
    let flow = FlowBuilder::webhook(1)
        .op("signed", "json-web-token", sign.clone())
        .then("verified", "json-web-token", verify.clone())
        .insert(&app)
        .await;
    assert_json(
        &get(&app, &flow.url()).await,
        200,
        json!({"name": "TokenExpiredError", "message": "jwt expired", "expiredAt": "2001-09-09T01:46:40.000Z"}),
    );
    let strict = FlowBuilder::webhook(2)
        .option("error_on_reject", json!(true))
        .op("signed", "json-web-token", sign)
        .then("verified", "json-web-token", verify)
        .insert(&app)
        .await;
    let reply = app
        .send("GET", &strict.url(), None, Some(ADMIN_TOKEN))
        .await;
    assert_json(
        &reply,
        500,
        json!({"errors": [{"message": "jwt expired", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]}),
    );
    // `expiresIn` in the past expires too.
    let relative = FlowBuilder::webhook(3)
        .op(
            "signed",
            "json-web-token",
            json!({"operation": "sign", "payload": {"a": 1}, "secret": "k", "options": {"expiresIn": -10}}),
        )
        .then("verified", "json-web-token", json!({"operation": "verify", "token": "{{ signed }}", "secret": "k"}))
        .insert(&app)
        .await;
    let body = get(&app, &relative.url()).await.json();
    assert_eq!(body["name"], json!("TokenExpiredError"), "{body}");
});

both!(jwt_decode_of_garbage_is_null, |app| async move {
    let flow = FlowBuilder::webhook(1)
        .op(
            "decoded",
            "json-web-token",
            json!({"operation": "decode", "token": "definitely not a token"}),
        )
        .then(
            "after",
            "transform",
            json!({"json": {"decoded": "{{ decoded }}"}}),
        )
        .insert(&app)
        .await;
    assert_json(&get(&app, &flow.url()).await, 200, json!({"decoded": null}));
});

both!(
    jwt_sign_of_a_non_json_payload_string_rejects,
    |app| async move {
        let flow = FlowBuilder::webhook(1)
            .op(
                "signed",
                "json-web-token",
                json!({"operation": "sign", "payload": "not json", "secret": "k"}),
            )
            .insert(&app)
            .await;
        assert_json(&get(&app, &flow.url()).await, 200, json!({}));
    }
);
