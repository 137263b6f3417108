//! Runs are data (issue 20): every queued run, and every logged synchronous run, is a row of
//! the read-only `flowline_runs` collection, served at `/runs` and as `runs` in GraphQL with
//! its journaled steps, streamed as it changes, cancelled with `POST /runs/:id/cancel`, and
//! deleted once ended runs pass their retention. Failed steps of queued runs are retried
//! under a flow's `options.retry`.

use std::time::{Duration, Instant};

use crate::flows_support::*;
use e2e::ws;
use e2e::{ADMIN_TOKEN, TestApp};
use futures_util::SinkExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

fn queue(concurrency: usize, retention: Option<Duration>) -> engine::EngineConfig {
    engine::EngineConfig {
        queue: engine::QueueConfig {
            concurrency,
            lease: Duration::from_millis(600),
            poll: Duration::from_millis(50),
            retention,
            ..engine::QueueConfig::default()
        },
        ..e2e::test_engine()
    }
}

/// Polls `GET path` as the admin until `done` holds of its `data`.
async fn until(app: &TestApp, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let reply = app.send("GET", path, None, Some(ADMIN_TOKEN)).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let data = reply.json()["data"].clone();
        if done(&data) {
            return data;
        }
        assert!(start.elapsed() < Duration::from_secs(15), "{path}: {data}");
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

/// An async webhook whose three steps transform the body, log it and transform again.
async fn three_steps(app: &TestApp, n: u32) -> Flow {
    FlowBuilder::webhook(n)
        .method("POST")
        .option("async", json!(true))
        .op(
            "t",
            "transform",
            json!({"json": {"n": "{{ $trigger.body.n }}"}}),
        )
        .then("l", "log", json!({"message": "n is {{ t.n }}"}))
        .then(
            "u",
            "transform",
            json!({"json": {"twice": "{{ t.n }}{{ t.n }}"}}),
        )
        .insert(app)
        .await
}

/// A run's row: how it was started, how it ended, each journaled step with its output.
async fn a_run_and_its_steps_are_read_like_any_collection(app: TestApp) {
    let flow = three_steps(&app, 1).await;
    assert_eq!(post(&app, &flow.url(), json!({"n": 7})).await.status, 204);
    let fields =
        "fields=flow,trigger,status,attempts,error,steps.seq,steps.key,steps.status,steps.output";
    let runs = until(&app, &format!("/runs?{fields}"), |data| {
        data[0]["status"] == "resolved"
    })
    .await;
    assert_eq!(
        runs,
        json!([{
            "flow": flow.id, "trigger": "webhook", "status": "resolved", "attempts": 1,
            "error": null,
            "steps": [
                {"seq": 0, "key": "t", "status": "resolve", "output": {"n": 7}},
                {"seq": 1, "key": "l", "status": "resolve", "output": null},
                {"seq": 2, "key": "u", "status": "resolve", "output": {"twice": "77"}},
            ]
        }])
    );
    // Times are unix milliseconds, in the order things happened.
    let times = app
        .send(
            "GET",
            "/runs?fields=id,enqueued_at,started_at,finished_at,steps.started_at,steps.finished_at",
            None,
            Some(ADMIN_TOKEN),
        )
        .await
        .json()["data"][0]
        .clone();
    let at = |v: &Value| v.as_i64().expect("a number");
    let mut order = vec![at(&times["enqueued_at"]), at(&times["started_at"])];
    for step in times["steps"].as_array().expect("steps") {
        order.push(at(&step["started_at"]));
        order.push(at(&step["finished_at"]));
    }
    order.push(at(&times["finished_at"]));
    assert!(order.windows(2).all(|w| w[0] <= w[1]), "{times}");
    let id = times["id"].as_str().expect("id").to_string();

    // The query language applies: filters, aggregates, one run by id, GraphQL.
    app.expect(
        "GET",
        "/runs?filter[status][_eq]=queued&fields=id",
        None,
        Some(ADMIN_TOKEN),
        200,
        json!({"data": []}),
    )
    .await;
    app.expect(
        "GET",
        "/runs?aggregate[count]=*&groupBy[]=status",
        None,
        Some(ADMIN_TOKEN),
        200,
        json!({"data": [{"status": "resolved", "count": 1}]}),
    )
    .await;
    app.expect(
        "GET",
        &format!("/runs/{id}?fields=status,steps.key"),
        None,
        Some(ADMIN_TOKEN),
        200,
        json!({"data": {"status": "resolved", "steps": [{"key": "t"}, {"key": "l"}, {"key": "u"}]}}),
    )
    .await;
    let data = app
        .gql_ok(
            &format!(
                "{{ runs(filter: {{flow: {{_eq: \"{}\"}}}}) {{ status steps(sort: [\"-seq\"], limit: 1) {{ key output }} }}
                   runs_by_id(id: \"{id}\") {{ attempts }}
                   runs_aggregated {{ count {{ id }} }} }}",
                flow.id
            ),
            json!({}),
        )
        .await;
    assert_eq!(
        data,
        json!({
            "runs": [{"status": "resolved", "steps": [{"key": "u", "output": {"twice": "77"}}]}],
            "runs_by_id": {"attempts": 1},
            "runs_aggregated": [{"count": {"id": 1}}]
        })
    );

    // Read-only: written by the queue alone, and readable only with a grant.
    app.expect(
        "POST",
        "/runs",
        Some(json!({"flow": flow.id, "trigger": "webhook"})),
        Some(ADMIN_TOKEN),
        403,
        forbidden(),
    )
    .await;
    app.expect(
        "DELETE",
        &format!("/runs/{id}"),
        None,
        Some(ADMIN_TOKEN),
        403,
        forbidden(),
    )
    .await;
    app.expect("GET", "/runs", None, None, 403, forbidden())
        .await;
    assert_eq!(app.count("flowline_runs").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_run_and_its_steps_are_read_like_any_collection() {
    a_run_and_its_steps_are_read_like_any_collection(TestApp::sqlite_with(queue(8, None)).await)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_run_and_its_steps_are_read_like_any_collection() {
    a_run_and_its_steps_are_read_like_any_collection(TestApp::postgres_with(queue(8, None)).await)
        .await;
}

/// A flow that sleeps as long as its caller asks, then marks the run done.
async fn sleeper(app: &TestApp, n: u32) -> Flow {
    FlowBuilder::webhook(n)
        .method("POST")
        .option("async", json!(true))
        .op(
            "nap",
            "sleep",
            json!({"milliseconds": "{{ $trigger.body.ms }}"}),
        )
        .then("mark", "transform", json!({"json": {"done": true}}))
        .insert(app)
        .await
}

/// The id of the run whose trigger body asked for `ms`.
async fn run_of(app: &TestApp, ms: u64) -> String {
    let rows = query(
        app,
        &format!(
            "SELECT id FROM flowline_runs WHERE start LIKE '%\"ms\":{ms}}}%' ORDER BY enqueued_at"
        ),
        1,
    )
    .await;
    rows[0][0].as_str().expect("id").to_string()
}

/// A queued run never starts once cancelled; a running one stops where it is and frees its
/// worker; an ended run cannot be cancelled again.
async fn cancelled_runs_stop(app: TestApp) {
    let flow = sleeper(&app, 2).await;
    // One worker: the first run sleeps in it, the second waits in the queue.
    for ms in [10_000, 10_001] {
        assert_eq!(post(&app, &flow.url(), json!({"ms": ms})).await.status, 204);
    }
    let (running, queued) = (run_of(&app, 10_000).await, run_of(&app, 10_001).await);
    until(&app, &format!("/runs/{running}?fields=steps.status"), |d| {
        d["steps"] == json!([{"status": "waiting"}])
    })
    .await;
    app.expect(
        "GET",
        &format!("/runs/{queued}?fields=status,attempts"),
        None,
        Some(ADMIN_TOKEN),
        200,
        json!({"data": {"status": "queued", "attempts": 0}}),
    )
    .await;

    app.expect(
        "POST",
        &format!("/runs/{queued}/cancel?fields=id,status,attempts,steps"),
        None,
        Some(ADMIN_TOKEN),
        200,
        json!({"data": {"id": queued, "status": "cancelled", "attempts": 0, "steps": []}}),
    )
    .await;
    app.expect(
        "POST",
        &format!("/runs/{running}/cancel?fields=status,steps.key,steps.status"),
        None,
        Some(ADMIN_TOKEN),
        200,
        json!({"data": {"status": "cancelled", "steps": [{"key": "nap", "status": "waiting"}]}}),
    )
    .await;
    // The worker is free again: a short run goes through at once.
    assert_eq!(post(&app, &flow.url(), json!({"ms": 1})).await.status, 204);
    let short = run_of(&app, 1).await;
    until(&app, &format!("/runs/{short}?fields=status"), |d| {
        d["status"] == "resolved"
    })
    .await;
    // Neither cancelled run went on.
    for id in [&running, &queued] {
        let data = until(&app, &format!("/runs/{id}?fields=status,steps.key"), |_| {
            true
        })
        .await;
        assert_eq!(data["status"], "cancelled", "{id}: {data}");
        assert!(
            data["steps"]
                .as_array()
                .is_some_and(|s| s.iter().all(|s| s["key"] != "mark")),
            "{data}"
        );
    }

    let ended = |status: &str, id: &str| {
        let reason = format!(
            "Run \"{id}\" already ended ({status}); only a queued, running or retrying run can be cancelled"
        );
        json!({"errors": [{"message": format!("Invalid payload. {reason}."), "extensions": {"reason": reason, "code": "INVALID_PAYLOAD"}}]})
    };
    app.expect(
        "POST",
        &format!("/runs/{running}/cancel"),
        None,
        Some(ADMIN_TOKEN),
        400,
        ended("cancelled", &running),
    )
    .await;
    app.expect(
        "POST",
        &format!("/runs/{short}/cancel"),
        None,
        Some(ADMIN_TOKEN),
        400,
        ended("resolved", &short),
    )
    .await;
    app.expect(
        "POST",
        "/runs/00000000-0000-4000-8000-000000000000/cancel",
        None,
        Some(ADMIN_TOKEN),
        403,
        forbidden(),
    )
    .await;
    // Only admins cancel.
    assert_eq!(
        post(&app, &flow.url(), json!({"ms": 10_002})).await.status,
        204
    );
    let other = run_of(&app, 10_002).await;
    app.expect(
        "POST",
        &format!("/runs/{other}/cancel"),
        None,
        None,
        403,
        forbidden(),
    )
    .await;
    app.expect(
        "POST",
        &format!("/runs/{other}/cancel?fields=status"),
        None,
        Some(ADMIN_TOKEN),
        200,
        json!({"data": {"status": "cancelled"}}),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_cancelled_runs_stop() {
    cancelled_runs_stop(TestApp::sqlite_with(queue(1, None)).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_cancelled_runs_stop() {
    cancelled_runs_stop(TestApp::postgres_with(queue(1, None)).await).await;
}

/// A subscription on `listener` follows a run started through `app` step by step: queued,
/// claimed, each of its three steps, ended.
async fn a_subscription_follows_a_run_step_by_step(app: &TestApp, listener: &TestApp) {
    let flow = three_steps(app, 3).await;
    let addr = listener.serve().await;
    let mut socket = ws::connect(addr, json!({"access_token": ADMIN_TOKEN})).await;
    assert_eq!(ws::next_json(&mut socket).await["type"], "connection_ack");
    socket
        .send(Message::text(
            json!({"id": "1", "type": "subscribe", "payload": {
                "query": "subscription { flowline_runs_mutated { key event data { status } } }"
            }})
            .to_string(),
        ))
        .await
        .expect("subscribe");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(post(app, &flow.url(), json!({"n": 1})).await.status, 204);
    let mut seen = Vec::new();
    for _ in 0..6 {
        let message = ws::next_json(&mut socket).await;
        seen.push(message["payload"]["data"]["flowline_runs_mutated"].clone());
    }
    let id = seen[0]["key"].clone();
    assert_eq!(
        seen.iter()
            .map(|m| (m["key"] == id, m["event"].clone()))
            .collect::<Vec<_>>(),
        [
            (true, json!("create")),
            (true, json!("update")),
            (true, json!("update")),
            (true, json!("update")),
            (true, json!("update")),
            (true, json!("update")),
        ],
        "{seen:?}"
    );
    // The last change is the end: read after it, the run has resolved.
    assert_eq!(seen[5]["data"], json!({"status": "resolved"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_subscription_follows_a_run_step_by_step() {
    let app = TestApp::sqlite_with(queue(8, None)).await;
    a_subscription_follows_a_run_step_by_step(&app, &app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_subscription_follows_a_run_step_by_step() {
    let app = TestApp::postgres_with(queue(8, None)).await;
    a_subscription_follows_a_run_step_by_step(&app, &app).await;
}

/// A client connected to one replica follows a run that another replica works on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_subscription_follows_a_run_on_another_replica() {
    let replicas = TestApp::postgres_replicas_with(2, queue(8, None)).await;
    let [one, two] = &replicas[..] else {
        unreachable!()
    };
    // Only the first replica works on runs; the client listens on the second.
    two.state.engine.stop_queue(Duration::ZERO).await;
    a_subscription_follows_a_run_step_by_step(one, two).await;
}

/// Ended runs go once their retention passes, with their journals; runs under way stay.
async fn ended_runs_are_pruned_after_their_retention(app: TestApp) {
    let flow = sleeper(&app, 4).await;
    assert_eq!(post(&app, &flow.url(), json!({"ms": 1})).await.status, 204);
    assert_eq!(
        post(&app, &flow.url(), json!({"ms": 4000})).await.status,
        204
    );
    let long = run_of(&app, 4000).await;
    let start = Instant::now();
    loop {
        let left = query(&app, "SELECT id FROM flowline_runs", 1).await;
        if left == [[json!(long)]] {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "{left:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        query(&app, "SELECT DISTINCT run FROM flowline_run_steps", 1).await,
        [[json!(long)]],
        "the pruned run's journal went with it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_ended_runs_are_pruned_after_their_retention() {
    ended_runs_are_pruned_after_their_retention(
        TestApp::sqlite_with(queue(8, Some(Duration::from_millis(300)))).await,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_ended_runs_are_pruned_after_their_retention() {
    ended_runs_are_pruned_after_their_retention(
        TestApp::postgres_with(queue(8, Some(Duration::from_millis(300)))).await,
    )
    .await;
}

/// A loopback server whose paths fail as told: `/flaky/<name>` answers 503 twice, then 200;
/// `/bad` always 400; `/busy` 429 with `Retry-After: 1` once, then 200. Answers its address
/// and the hits per path.
async fn flaky_server() -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, u32>>>,
) {
    use axum::http::{HeaderMap, StatusCode, Uri};
    use std::sync::{Arc, Mutex};
    let hits: Arc<Mutex<std::collections::HashMap<String, u32>>> = Arc::default();
    let counter = hits.clone();
    let app = axum::Router::new().fallback(move |uri: Uri| {
        let counter = counter.clone();
        async move {
            let path = uri.path().to_string();
            let n = {
                let mut hits = counter.lock().expect("hits");
                let n = hits.entry(path.clone()).or_default();
                *n += 1;
                *n
            };
            let mut headers = HeaderMap::new();
            let status = match path.as_str() {
                p if p.starts_with("/flaky/") && n <= 2 => StatusCode::SERVICE_UNAVAILABLE,
                "/bad" => StatusCode::BAD_REQUEST,
                "/busy" if n == 1 => {
                    headers.insert("retry-after", "1".parse().expect("header"));
                    StatusCode::TOO_MANY_REQUESTS
                }
                _ => StatusCode::OK,
            };
            (status, headers, axum::Json(json!({"try": n})))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, hits)
}

/// An async webhook that calls `url`, with `retry` as its policy (none when null).
async fn caller(app: &TestApp, n: u32, url: String, retry: Value) -> Flow {
    let mut flow = FlowBuilder::webhook(n)
        .method("POST")
        .option("async", json!(true))
        .op("call", "request", json!({"method": "GET", "url": url}))
        .then("after", "transform", json!({"json": {"ok": true}}));
    if !retry.is_null() {
        flow = flow.option("retry", retry);
    }
    flow.insert(app).await
}

/// How the only run of `flow` ended: its status, then each step's key, status, tries and
/// (for a request) the answer's status.
async fn ended(app: &TestApp, flow: &Flow) -> Value {
    let path = format!(
        "/runs?filter[flow][_eq]={}&fields=status,steps.key,steps.status,steps.attempts,steps.output",
        flow.id
    );
    let data = until(app, &path, |d| {
        d[0]["status"] == "resolved" || d[0]["status"] == "rejected"
    })
    .await;
    let run = &data[0];
    let steps: Vec<Value> = run["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| json!([s["key"], s["status"], s["attempts"], s["output"]["status"]]))
        .collect();
    json!({"status": run["status"], "steps": steps})
}

/// A failed step of a queued run is tried again under the flow's `options.retry`: a request
/// answered 503 twice then 200 resolves on its third try; 400 is not tried again; 429 waits
/// as long as `Retry-After` asks, the run `retrying` meanwhile; without the option a failure
/// rejects at once, as in Directus.
async fn failed_steps_are_retried_under_the_policy(app: TestApp) {
    let (addr, hits) = flaky_server().await;
    let policy = json!({"attempts": 3, "backoff_ms": 20, "max_backoff_ms": 100});
    let flaky = caller(&app, 5, format!("http://{addr}/flaky/a"), policy.clone()).await;
    let bad = caller(&app, 6, format!("http://{addr}/bad"), policy.clone()).await;
    let plain = caller(&app, 7, format!("http://{addr}/flaky/b"), Value::Null).await;
    let busy = caller(
        &app,
        8,
        format!("http://{addr}/busy"),
        json!({"attempts": 2, "backoff_ms": 10}),
    )
    .await;
    for flow in [&flaky, &bad, &plain, &busy] {
        assert_eq!(post(&app, &flow.url(), json!({})).await.status, 204);
    }
    // 429 with Retry-After: 1: the run waits a second, `retrying` meanwhile.
    until(
        &app,
        &format!("/runs?filter[flow][_eq]={}&fields=status", busy.id),
        |d| d[0]["status"] == "retrying",
    )
    .await;

    assert_eq!(
        ended(&app, &flaky).await,
        json!({"status": "resolved", "steps": [["call", "resolve", 3, 200], ["after", "resolve", 1, null]]})
    );
    assert_eq!(
        ended(&app, &bad).await,
        json!({"status": "rejected", "steps": [["call", "reject", 1, 400]]})
    );
    assert_eq!(
        ended(&app, &plain).await,
        json!({"status": "rejected", "steps": [["call", "reject", 1, 503]]})
    );
    assert_eq!(
        ended(&app, &busy).await,
        json!({"status": "resolved", "steps": [["call", "resolve", 2, 200], ["after", "resolve", 1, null]]})
    );
    let waited = query(
        &app,
        &format!(
            "SELECT CAST(s.finished_at - s.started_at AS TEXT) FROM flowline_run_steps s JOIN flowline_runs r ON r.id = s.run \
             WHERE r.flow = '{}' AND s.key = 'call'",
            busy.id
        ),
        1,
    )
    .await;
    let waited: i64 = waited[0][0]
        .as_str()
        .and_then(|ms| ms.parse().ok())
        .expect("ms");
    assert!(waited >= 1000, "{waited}");
    let hits = hits.lock().expect("hits").clone();
    assert_eq!(
        [
            hits["/flaky/a"],
            hits["/bad"],
            hits["/flaky/b"],
            hits["/busy"]
        ],
        [3, 1, 1, 2]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_failed_steps_are_retried_under_the_policy() {
    failed_steps_are_retried_under_the_policy(TestApp::sqlite_with(queue(8, None)).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_failed_steps_are_retried_under_the_policy() {
    failed_steps_are_retried_under_the_policy(TestApp::postgres_with(queue(8, None)).await).await;
}

/// A retry policy is checked when the flow is written, and refused by name.
async fn an_invalid_retry_policy_is_refused(app: TestApp) {
    let reason = "options.retry.attempts must be a whole number from 1 to 100, not 0";
    app.expect(
        "POST",
        "/flows",
        Some(json!({"name": "bad retry", "trigger": "webhook", "options": {"retry": {"attempts": 0}}})),
        Some(ADMIN_TOKEN),
        400,
        json!({"errors": [{"message": format!("Invalid payload. {reason}."), "extensions": {"reason": reason, "code": "INVALID_PAYLOAD"}}]}),
    )
    .await;
    assert_eq!(app.count("directus_flows").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_an_invalid_retry_policy_is_refused() {
    an_invalid_retry_policy_is_refused(TestApp::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_an_invalid_retry_policy_is_refused() {
    an_invalid_retry_policy_is_refused(TestApp::postgres().await).await;
}

/// Synchronous runs are rows too when their flow logs its runs: with their steps under
/// `accountability: all`, without under `activity`, not at all under `null`.
async fn logged_synchronous_runs_are_rows(app: TestApp) {
    let mut flows = Vec::new();
    for (n, accountability) in [
        (9, json!("all")),
        (10, json!("activity")),
        (11, Value::Null),
    ] {
        let flow = FlowBuilder::webhook(n)
            .method("POST")
            .accountability(accountability)
            .op(
                "t",
                "transform",
                json!({"json": {"n": "{{ $trigger.body.n }}"}}),
            )
            .then(
                "stop",
                "throw-error",
                json!({"code": "NOPE", "status": "400", "message": "no"}),
            )
            .insert(&app)
            .await;
        // A webhook answers what its last step left, a rejection included (as Directus).
        let reply = post(&app, &flow.url(), json!({"n": 4})).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        flows.push(flow);
    }
    let runs = |flow: &Flow| {
        format!(
            "/runs?filter[flow][_eq]={}&fields=trigger,status,attempts,steps.seq,steps.key,steps.status,steps.output",
            flow.id
        )
    };
    app.expect(
        "GET",
        &runs(&flows[0]),
        None,
        Some(ADMIN_TOKEN),
        200,
        json!({"data": [{"trigger": "webhook", "status": "rejected", "attempts": 1, "steps": [
            {"seq": 0, "key": "t", "status": "resolve", "output": {"n": 4}},
            {"seq": 1, "key": "stop", "status": "reject", "output": {"name": "DirectusError", "code": "NOPE", "status": 400}},
        ]}]}),
    )
    .await;
    app.expect(
        "GET",
        &runs(&flows[1]),
        None,
        Some(ADMIN_TOKEN),
        200,
        json!({"data": [{"trigger": "webhook", "status": "rejected", "attempts": 1, "steps": []}]}),
    )
    .await;
    app.expect(
        "GET",
        &runs(&flows[2]),
        None,
        Some(ADMIN_TOKEN),
        200,
        json!({"data": []}),
    )
    .await;
    let error = query(
        &app,
        &format!(
            "SELECT error FROM flowline_runs WHERE flow = '{}'",
            flows[0].id
        ),
        1,
    )
    .await;
    let error: Value = serde_json::from_str(error[0][0].as_str().expect("text")).expect("json");
    assert_eq!(error["code"], "NOPE");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_logged_synchronous_runs_are_rows() {
    logged_synchronous_runs_are_rows(TestApp::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_logged_synchronous_runs_are_rows() {
    logged_synchronous_runs_are_rows(TestApp::postgres().await).await;
}

/// A run cancelled through another replica stops at its replica's next lease renewal: the
/// step after its sleep never runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_run_cancelled_through_another_replica_stops() {
    let replicas = TestApp::postgres_replicas_with(2, queue(8, None)).await;
    let [one, two] = &replicas[..] else {
        unreachable!()
    };
    // Only the first replica works on runs.
    two.state.engine.stop_queue(Duration::ZERO).await;
    let flow = sleeper(one, 12).await;
    assert_eq!(
        post(one, &flow.url(), json!({"ms": 1500})).await.status,
        204
    );
    let id = run_of(one, 1500).await;
    until(one, &format!("/runs/{id}?fields=steps.status"), |d| {
        d["steps"] == json!([{"status": "waiting"}])
    })
    .await;
    two.expect(
        "POST",
        &format!("/runs/{id}/cancel?fields=status"),
        None,
        Some(ADMIN_TOKEN),
        200,
        json!({"data": {"status": "cancelled"}}),
    )
    .await;
    // Well past the end of the sleep: the run did not go on to its next step.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    one.expect(
        "GET",
        &format!("/runs/{id}?fields=status,steps.key,steps.status"),
        None,
        Some(ADMIN_TOKEN),
        200,
        json!({"data": {"status": "cancelled", "steps": [{"key": "nap", "status": "waiting"}]}}),
    )
    .await;
}
