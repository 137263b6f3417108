//! Run logs: `accountability` `all` writes a `directus_activity` row and a
//! `directus_revisions` row with the steps and the redacted final chain; `activity` writes
//! only the activity row; null writes nothing (flows-and-operations.md §6, observed.md).

use crate::flows_support::*;
use e2e::{ADMIN_TOKEN, TestApp, both};
use serde_json::{Value, json};

/// A POST webhook: `t` builds an object with a secret payload, `l` logs, `c` checks.
async fn logged_flow(app: &TestApp, n: u32, accountability: Value) -> Flow {
    FlowBuilder::webhook(n)
        .method("POST")
        .accountability(accountability)
        .op(
            "t",
            "transform",
            json!({"json": "{\"payload\": {\"password\": \"{{ $trigger.body.pw }}\", \"name\": \"n\"}, \"headers\": {\"cookie\": \"c\", \"x\": 1}}"}),
        )
        .then(
            "l",
            "log",
            json!({"message": "by {{ $trigger.headers.authorization }} with {{ $trigger.body.pw }}"}),
        )
        .then("boom", "throw-error", json!({"code": "done", "status": 409, "message": "Done"}))
        .insert(app)
        .await
}

async fn run_logged(app: &TestApp, flow: &Flow) -> e2e::Reply {
    app.send_with(
        "POST",
        &format!("{}?q=1&access_token={ADMIN_TOKEN}", flow.url()),
        Some(r#"{"pw":"hunter2"}"#),
        &[
            ("authorization", &format!("Bearer {ADMIN_TOKEN}")),
            ("cookie", "session=abc"),
            ("user-agent", "flowline-test/1.0"),
            ("origin", "https://app.example"),
            ("x-forwarded-for", "10.1.2.3, 10.0.0.1"),
        ],
    )
    .await
}

both!(
    accountability_all_writes_activity_and_a_revision,
    |app| async move {
        let flow = logged_flow(&app, 1, json!("all")).await;
        let reply = run_logged(&app, &flow).await;
        assert_json(
            &reply,
            200,
            json!({"name": "DirectusError", "code": "DONE", "status": 409}),
        );
        let (admin, role) = admin_ids(&app).await;

        let runs = run_activity(&app, &flow.id).await;
        assert_eq!(runs.len(), 1, "{runs:?}");
        assert_eq!(
            runs[0].row,
            json!({
                "action": "run",
                "user": admin,
                "collection": "directus_flows",
                "item": flow.id,
                "ip": "10.1.2.3",
                "user_agent": "flowline-test/1.0",
                "origin": "https://app.example",
            })
        );

        let mut revisions = revisions_of(&app, runs[0].id).await;
        assert_eq!(revisions.len(), 1);
        let mut revision = revisions.remove(0);
        strip_timing(&mut revision["data"]);
        let trigger = json!({
            "path": format!("/trigger/{}", flow.id),
            "query": {"q": "1", "access_token": "--redacted--"},
            "body": {"pw": "hunter2"},
            "method": "POST",
            "headers": {
                "authorization": "--redacted--",
                "cookie": "--redacted--",
                "user-agent": "flowline-test/1.0",
                "origin": "https://app.example",
                "x-forwarded-for": "10.1.2.3, 10.0.0.1",
                "content-type": "application/json",
            },
        });
        let error = json!({"name": "DirectusError", "code": "DONE", "status": 409});
        assert_eq!(
            revision,
            json!({
                "collection": "directus_flows",
                "item": flow.id,
                "delta": null,
                "parent": null,
                "data": {
                    "steps": [
                        {
                            "operation": flow.op("t"),
                            "key": "t",
                            "status": "resolve",
                            // Steps keep the rendered options (only env values are redacted).
                            "options": {"json": "{\"payload\": {\"password\": \"hunter2\", \"name\": \"n\"}, \"headers\": {\"cookie\": \"c\", \"x\": 1}}"},
                            // Outputs are redacted like the chain.
                            "output": {"payload": {"password": "--redacted--", "name": "n"}, "headers": {"cookie": "--redacted--", "x": 1}},
                        },
                        {
                            "operation": flow.op("l"),
                            "key": "l",
                            "status": "resolve",
                            // The log operation renders against the redacted chain.
                            "options": {"message": "by --redacted-- with hunter2"},
                            "output": null,
                        },
                        {
                            "operation": flow.op("boom"),
                            "key": "boom",
                            "status": "reject",
                            "options": {"code": "done", "status": 409, "message": "Done"},
                            "output": error,
                        },
                    ],
                    "data": {
                        "$trigger": trigger,
                        "$last": error,
                        "$accountability": {
                            "user": admin, "role": role, "roles": [role], "admin": true, "app": true,
                            "ip": "10.1.2.3", "userAgent": "flowline-test/1.0", "origin": "https://app.example",
                        },
                        "$env": {},
                        "t": {
                            "payload": {"password": "--redacted--", "name": "n"},
                            "headers": {"cookie": "--redacted--", "x": 1},
                        },
                        "l": null,
                        "boom": error,
                    },
                },
            })
        );
    }
);

both!(
    accountability_activity_writes_only_the_activity_row,
    |app| async move {
        let flow = logged_flow(&app, 1, json!("activity")).await;
        let before = run_revision_count(&app).await;
        assert_eq!(run_logged(&app, &flow).await.status, 200);
        let runs = run_activity(&app, &flow.id).await;
        assert_eq!(runs.len(), 1);
        let (admin, _) = admin_ids(&app).await;
        assert_eq!(
            runs[0].row,
            json!({
                "action": "run", "user": admin, "collection": "directus_flows", "item": flow.id,
                "ip": "10.1.2.3", "user_agent": "flowline-test/1.0", "origin": "https://app.example",
            })
        );
        assert!(revisions_of(&app, runs[0].id).await.is_empty());
        assert_eq!(run_revision_count(&app).await, before);
    }
);

both!(accountability_null_writes_nothing, |app| async move {
    let flow = logged_flow(&app, 1, Value::Null).await;
    let activity = app.count("directus_activity").await;
    let revisions = app.count("directus_revisions").await;
    assert_eq!(run_logged(&app, &flow).await.status, 200);
    assert!(run_activity(&app, &flow.id).await.is_empty());
    assert_eq!(app.count("directus_activity").await, activity);
    assert_eq!(app.count("directus_revisions").await, revisions);
});

both!(the_default_accountability_is_all, |app| async move {
    let flow = FlowBuilder::webhook(1)
        .op("t", "transform", json!({"json": {"x": 1}}))
        .insert(&app)
        .await;
    assert_json(&get(&app, &flow.url()).await, 200, json!({"x": 1}));
    let runs = run_activity(&app, &flow.id).await;
    assert_eq!(runs.len(), 1);
    // An anonymous caller: no user, nothing from the request.
    assert_eq!(
        runs[0].row,
        json!({"action": "run", "user": null, "collection": "directus_flows", "item": flow.id,
               "ip": null, "user_agent": null, "origin": null})
    );
    let mut revision = revisions_of(&app, runs[0].id).await.remove(0);
    strip_timing(&mut revision["data"]);
    let trigger = trigger_value(&flow, "GET", json!({}), json!({}), json!({}));
    assert_eq!(
        revision["data"],
        json!({
            "steps": [{"operation": flow.op("t"), "key": "t", "status": "resolve", "options": {"json": {"x": 1}}, "output": {"x": 1}}],
            "data": {
                "$trigger": trigger,
                "$last": {"x": 1},
                "$accountability": public_accountability(),
                "$env": {},
                "t": {"x": 1},
            },
        })
    );
});

both!(a_flow_without_operations_logs_no_steps, |app| async move {
    let flow = FlowBuilder::webhook(1)
        .accountability(json!("all"))
        .insert(&app)
        .await;
    assert_eq!(get(&app, &flow.url()).await.status, 200);
    let runs = run_activity(&app, &flow.id).await;
    assert_eq!(runs.len(), 1);
    let revision = revisions_of(&app, runs[0].id).await.remove(0);
    assert_eq!(revision["data"]["steps"], json!([]));
    let trigger = trigger_value(&flow, "GET", json!({}), json!({}), json!({}));
    assert_eq!(
        revision["data"]["data"],
        json!({"$trigger": trigger, "$last": trigger, "$accountability": public_accountability(), "$env": {}})
    );
});

both!(step_timing_is_recorded, |app| async move {
    let flow = FlowBuilder::webhook(1)
        .op("wait", "sleep", json!({"milliseconds": 150}))
        .then("t", "transform", json!({"json": 1}))
        .insert(&app)
        .await;
    assert_eq!(get(&app, &flow.url()).await.status, 200);
    let runs = run_activity(&app, &flow.id).await;
    let revision = revisions_of(&app, runs[0].id).await.remove(0);
    let steps = revision["data"]["steps"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(steps.len(), 2);
    let slept = steps[0]["duration_ms"].as_f64().expect("duration_ms");
    assert!(slept >= 150.0, "sleep step took {slept} ms");
    let first = steps[0]["started_at"]
        .as_str()
        .expect("started_at")
        .to_string();
    let second = steps[1]["started_at"]
        .as_str()
        .expect("started_at")
        .to_string();
    assert!(first <= second, "{first} then {second}");
});

both!(failed_triggers_write_no_log, |app| async move {
    let flow = FlowBuilder::webhook(1)
        .method("POST")
        .op("t", "transform", json!({"json": 1}))
        .insert(&app)
        .await;
    assert_eq!(get(&app, &flow.url()).await.status, 403);
    assert!(run_activity(&app, &flow.id).await.is_empty());
});

/// A logged POST webhook whose first operation `t` answers the body's `n`: runs told apart
/// by their number.
fn numbered_flow() -> FlowBuilder {
    FlowBuilder::webhook(1)
        .method("POST")
        .accountability(json!("all"))
        .op(
            "t",
            "transform",
            json!({"json": {"n": "{{ $trigger.body.n }}"}}),
        )
}

/// Triggers `url` `count` times at once, run `n` with body `{"n": n}`, user agent `run-n`
/// and the origin `origin(n)`; the replies in run order.
async fn send_numbered(
    app: &TestApp,
    url: &str,
    count: u64,
    origin: impl Fn(u64) -> String,
) -> Vec<e2e::Reply> {
    futures_util::future::join_all((0..count).map(|n| {
        let origin = origin(n);
        async move {
            let body = json!({"n": n}).to_string();
            let agent = format!("run-{n}");
            app.send_with(
                "POST",
                url,
                Some(&body),
                &[("user-agent", &agent), ("origin", &origin)],
            )
            .await
        }
    }))
    .await
}

/// The number of the run an activity row logs, from its `run-n` user agent.
fn run_number(run: &RunActivity) -> u64 {
    run.row["user_agent"]
        .as_str()
        .and_then(|agent| agent.strip_prefix("run-"))
        .and_then(|n| n.parse().ok())
        .expect("run number")
}

// Runs outside a write's transaction share the commit of their logs; each run still
// answers after its own rows are in, and each revision belongs to its own run.
both!(concurrent_runs_each_log_their_own_run, |app| async move {
    let flow = numbered_flow()
        .then("l", "log", json!({"message": "run {{ $trigger.body.n }}"}))
        .then("u", "transform", json!({"json": {"from": "{{ t.n }}"}}))
        .insert(&app)
        .await;
    let app = &app;
    let replies = send_numbered(app, &flow.url(), 50, |_| "https://app.example".into()).await;
    for (n, reply) in replies.iter().enumerate() {
        assert_json(reply, 200, json!({"from": n}));
    }

    let runs = run_activity(app, &flow.id).await;
    assert_eq!(runs.len(), 50, "{runs:?}");
    let mut seen = Vec::new();
    for run in &runs {
        let n = run_number(run);
        assert_eq!(
            run.row,
            json!({"action": "run", "user": null, "collection": "directus_flows", "item": flow.id,
                   "ip": null, "user_agent": format!("run-{n}"), "origin": "https://app.example"})
        );
        let revisions = revisions_of(app, run.id).await;
        assert_eq!(revisions.len(), 1, "revisions of run {n}");
        let data = &revisions[0]["data"]["data"];
        assert_eq!(data["$trigger"]["body"], json!({"n": n}));
        assert_eq!(data["t"], json!({"n": n}));
        assert_eq!(data["$last"], json!({"from": n}));
        seen.push(n);
    }
    seen.sort_unstable();
    assert_eq!(seen, (0..50).collect::<Vec<_>>());
    assert_eq!(run_revision_count(app).await, 50);
});

// A log the database refuses costs only its own run's log, even when it was to be committed
// together with others: PostgreSQL refuses an `origin` longer than its 255 characters
// (SQLite does not check lengths, so there every run is logged).
both!(a_refused_log_loses_no_other_runs_log, |app| async move {
    let flow = numbered_flow().insert(&app).await;
    let long_origin = format!("https://{}.example", "o".repeat(300));
    let app = &app;
    let replies = send_numbered(app, &flow.url(), 20, |n| {
        if n == 10 {
            long_origin.clone()
        } else {
            "https://app.example".into()
        }
    })
    .await;
    for (n, reply) in replies.iter().enumerate() {
        assert_json(reply, 200, json!({"n": n}));
    }

    let refused = app.db.get_database_backend() == sea_orm::DbBackend::Postgres;
    let expected: Vec<u64> = (0..20).filter(|n| !(refused && *n == 10)).collect();
    let runs = run_activity(app, &flow.id).await;
    let mut logged = Vec::new();
    for run in &runs {
        let n = run_number(run);
        let revisions = revisions_of(app, run.id).await;
        assert_eq!(revisions.len(), 1, "revisions of run {n}");
        assert_eq!(
            revisions[0]["data"]["data"]["$trigger"]["body"],
            json!({"n": n})
        );
        logged.push(n);
    }
    logged.sort_unstable();
    assert_eq!(logged, expected);
    assert_eq!(run_revision_count(app).await, expected.len());
});
