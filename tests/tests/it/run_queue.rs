//! The durable run queue (issue 20): async calls are written to the queue before they are
//! acknowledged and run from there, a burst waits its turn instead of failing, calls beyond
//! the queue's bound are refused with 503, and a stopping replica hands its unfinished runs
//! to another.

use std::time::{Duration, Instant};

use crate::flows_support::*;
use axum::body::Body;
use axum::http::Request;
use e2e::TestApp;
use http_body_util::BodyExt;
use serde_json::json;
use tower::ServiceExt;

fn queue(concurrency: usize, bound: u64) -> engine::EngineConfig {
    engine::EngineConfig {
        queue: engine::QueueConfig {
            concurrency,
            bound,
            lease: Duration::from_secs(30),
            poll: Duration::from_millis(50),
            retention: None,
        },
        ..e2e::test_engine()
    }
}

/// `flowline_runs` rows by status, as "status=count" sorted.
async fn statuses(app: &TestApp) -> Vec<String> {
    query(
        app,
        "SELECT status || '=' || CAST(COUNT(*) AS TEXT) FROM flowline_runs GROUP BY status ORDER BY status",
        1,
    )
    .await
    .into_iter()
    .map(|row| row[0].as_str().unwrap_or_default().to_string())
    .collect()
}

async fn until_statuses(app: &TestApp, want: &[&str], limit: Duration) {
    let start = Instant::now();
    loop {
        let now = statuses(app).await;
        if now == want {
            return;
        }
        assert!(
            start.elapsed() < limit,
            "after {limit:?}: {now:?}, want {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A burst far beyond the workers: every acknowledged call's run completes, once.
async fn a_burst_waits_its_turn(app: TestApp) {
    let flow = FlowBuilder::webhook(1)
        .method("POST")
        .option("async", json!(true))
        .accountability(json!("activity"))
        .op(
            "t",
            "transform",
            json!({"json": {"n": "{{ $trigger.body.n }}"}}),
        )
        .insert(&app)
        .await;
    for n in 0..200 {
        let reply = post(&app, &flow.url(), json!({"n": n})).await;
        assert_eq!(reply.status, 204, "call {n}: {}", reply.text);
    }
    until_statuses(&app, &["resolved=200"], Duration::from_secs(30)).await;
    assert_eq!(run_activity(&app, &flow.id).await.len(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_burst_waits_its_turn() {
    a_burst_waits_its_turn(TestApp::sqlite_with(queue(2, 100_000)).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_burst_waits_its_turn() {
    a_burst_waits_its_turn(TestApp::postgres_with(queue(2, 100_000)).await).await;
}

/// Beyond the bound, calls are refused with 503 and `Retry-After`, and leave no run.
async fn beyond_the_bound_calls_are_refused(app: TestApp) {
    let flow = FlowBuilder::webhook(2)
        .method("POST")
        .option("async", json!(true))
        .op("nap", "sleep", json!({"milliseconds": 3000}))
        .insert(&app)
        .await;
    let (mut accepted, mut refused) = (0, 0);
    for _ in 0..20 {
        let req = Request::builder()
            .method("POST")
            .uri(flow.url())
            .header("content-type", "application/json")
            .body(Body::from("{}"))
            .expect("request");
        let res = app.router.clone().oneshot(req).await.expect("response");
        match res.status().as_u16() {
            204 => accepted += 1,
            503 => {
                refused += 1;
                assert_eq!(
                    res.headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok()),
                    Some("1")
                );
                let body = res.into_body().collect().await.expect("body").to_bytes();
                let body: serde_json::Value = serde_json::from_slice(&body).expect("json");
                assert_eq!(
                    body,
                    json!({"errors": [{"message": "The run queue is full; try again shortly.", "extensions": {"code": "SERVICE_UNAVAILABLE"}}]})
                );
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(refused > 0, "nothing refused");
    assert!(accepted >= 5, "only {accepted} accepted");
    assert_eq!(accepted + refused, 20);
    assert_eq!(app.count("flowline_runs").await, accepted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_beyond_the_bound_calls_are_refused() {
    beyond_the_bound_calls_are_refused(TestApp::sqlite_with(queue(1, 5)).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_beyond_the_bound_calls_are_refused() {
    beyond_the_bound_calls_are_refused(TestApp::postgres_with(queue(1, 5)).await).await;
}

/// Schedules and action events go through the queue too.
async fn schedule_and_action_runs_are_queued(app: TestApp) {
    app.articles_table().await;
    let reply = app
        .send(
            "POST",
            "/flows",
            Some(
                &json!({"name": "tick", "trigger": "schedule", "options": {"cron": "* * * * * *"}})
                    .to_string(),
            ),
            Some(e2e::ADMIN_TOKEN),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    FlowBuilder::new(3, "event")
        .option("type", json!("action"))
        .option("scope", json!(["items.create"]))
        .option("collections", json!(["articles"]))
        .op("t", "transform", json!({"json": {}}))
        .insert(&app)
        .await;
    let reply = app
        .send(
            "POST",
            "/items/articles",
            Some(r#"{"title": "queued"}"#),
            Some(e2e::ADMIN_TOKEN),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let start = Instant::now();
    loop {
        let kinds = query(
            &app,
            "SELECT DISTINCT trigger FROM flowline_runs WHERE status = 'resolved' ORDER BY trigger",
            1,
        )
        .await;
        if kinds == vec![vec![json!("event")], vec![json!("schedule")]] {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "{kinds:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_schedule_and_action_runs_are_queued() {
    schedule_and_action_runs_are_queued(TestApp::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_schedule_and_action_runs_are_queued() {
    schedule_and_action_runs_are_queued(TestApp::postgres().await).await;
}

/// A stopping replica hands the runs it has not finished to another, which runs them at
/// once instead of waiting for their leases to expire.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_stopping_replica_hands_its_runs_to_another() {
    let replicas = TestApp::postgres_replicas_with(2, queue(8, 100_000)).await;
    let [one, two] = &replicas[..] else {
        unreachable!()
    };
    // The second replica's workers stop first: only the first one claims.
    two.state.engine.stop_queue(Duration::ZERO).await;
    let flow = FlowBuilder::webhook(4)
        .method("POST")
        .option("async", json!(true))
        .accountability(json!("activity"))
        .op("nap", "sleep", json!({"milliseconds": 1500}))
        .insert(one)
        .await;
    for _ in 0..4 {
        assert_eq!(post(one, &flow.url(), json!({})).await.status, 204);
    }
    until_statuses(one, &["running=4"], Duration::from_secs(5)).await;
    one.state.engine.stop_queue(Duration::ZERO).await;
    assert_eq!(statuses(one).await, ["queued=4"]);
    // A third instance on the same database takes them over at once (the lease was 30 s).
    let url = one.url.clone();
    let db = flowline::db::connect(&url).await.expect("connect");
    let _third = flowline::AppState::new(db, 1024 * 1024, queue(8, 100_000))
        .await
        .expect("third replica");
    until_statuses(one, &["resolved=4"], Duration::from_secs(5)).await;
    assert_eq!(run_activity(one, &flow.id).await.len(), 4);
}

/// An action run is queued in the transaction of the write that fires it: it is in the
/// database when the write is answered, and a refused write queues nothing.
async fn action_runs_commit_with_their_write(app: TestApp) {
    app.articles_table().await;
    // No worker takes the runs, so what the write queued stays visible as queued.
    app.state.engine.stop_queue(Duration::ZERO).await;
    FlowBuilder::new(5, "event")
        .option("type", json!("action"))
        .option("scope", json!(["items.create"]))
        .option("collections", json!(["articles"]))
        .op("t", "transform", json!({"json": {}}))
        .insert(&app)
        .await;
    let reply = app
        .send(
            "POST",
            "/items/articles",
            Some(r#"[{"title": "one"}, {"title": "two"}]"#),
            Some(e2e::ADMIN_TOKEN),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let queued = query(
        &app,
        "SELECT flow, trigger, status, start FROM flowline_runs ORDER BY enqueued_at, start",
        4,
    )
    .await;
    let flow = fid(5);
    let start = |key: i64, title: &str| {
        json!({
            "trigger": {"event": "articles.items.create", "payload": {"title": title, "id": key}, "key": key, "collection": "articles"},
            "accountability": null,
            "depth": 1
        })
    };
    let rows: Vec<(String, String, String, serde_json::Value)> = queued
        .into_iter()
        .map(|r| {
            (
                r[0].as_str().unwrap_or_default().to_string(),
                r[1].as_str().unwrap_or_default().to_string(),
                r[2].as_str().unwrap_or_default().to_string(),
                serde_json::from_str(r[3].as_str().unwrap_or("null")).expect("start"),
            )
        })
        .collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    for (row, (key, title)) in rows.iter().zip([(1, "one"), (2, "two")]) {
        assert_eq!(row.0, flow);
        assert_eq!(row.1, "event");
        assert_eq!(row.2, "queued");
        // Queued with the caller's accountability: the admin's user and role.
        let mut want = start(key, title);
        want["accountability"] = row.3["accountability"].clone();
        assert_eq!(row.3, want);
        assert_eq!(row.3["accountability"]["admin"], json!(true));
        assert!(row.3["accountability"]["user"].is_string());
    }
    // A batch refused as a whole queues nothing.
    let reply = app
        .send(
            "POST",
            "/items/articles",
            Some(r#"[{"title": "three"}, {"body": "no title"}]"#),
            Some(e2e::ADMIN_TOKEN),
        )
        .await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert_eq!(app.count("flowline_runs").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_action_runs_commit_with_their_write() {
    action_runs_commit_with_their_write(TestApp::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_action_runs_commit_with_their_write() {
    action_runs_commit_with_their_write(TestApp::postgres().await).await;
}
