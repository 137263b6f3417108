//! Several replicas on one database behave as one (issue 19): a change made through one
//! replica reaches the others within a second, a schedule runs once per tick whichever
//! replicas are up, a subscription on one replica hears writes made on another, a replica
//! whose listening connection drops reads everything again, and a SQLite file has one
//! server.
//!
//! The PostgreSQL tests start three application instances in this process on one schema.

use std::time::{Duration, Instant};

use crate::flows_support::*;
use e2e::ws;
use e2e::{ADMIN_TOKEN, TestApp};
use futures_util::SinkExt;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

/// How long a change may take to reach another replica in these tests.
const PROPAGATION: Duration = Duration::from_secs(1);

/// Polls `app` with a GET of `path` until it answers `status` and `body`, for at most
/// `limit`; answers how long that took.
async fn until_served(
    app: &TestApp,
    path: &str,
    status: u16,
    body: Value,
    limit: Duration,
) -> Duration {
    let start = Instant::now();
    loop {
        let reply = get(app, path).await;
        if reply.status.as_u16() == status
            && serde_json::from_str::<Value>(&reply.text).ok().as_ref() == Some(&body)
        {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < limit,
            "after {limit:?}, GET {path} still answers {} {}",
            reply.status,
            reply.text
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The integers one row of `sql` answers.
async fn numbers(app: &TestApp, sql: &str) -> Vec<i64> {
    let row = app
        .db
        .query_one_raw(Statement::from_string(
            app.db.get_database_backend(),
            sql.to_string(),
        ))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .expect("a row");
    (0..)
        .map_while(|i| row.try_get_by_index::<Option<i64>>(i).ok())
        .map(|n| n.expect("not null"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_flow_changed_through_one_replica_takes_effect_on_the_others() {
    let replicas = TestApp::postgres_replicas(3).await;
    let [one, two, three] = &replicas[..] else {
        unreachable!()
    };
    // Created through the first.
    let flow = FlowBuilder::webhook(1)
        .op("t", "transform", json!({"json": {"v": 1}}))
        .insert(one)
        .await;
    for other in [two, three] {
        until_served(other, &flow.url(), 200, json!({"v": 1}), PROPAGATION).await;
    }
    // An operation edited through the second.
    patch(
        two,
        &format!("/operations/{}", flow.op("t")),
        json!({"options": {"json": {"v": 2}}}),
    )
    .await;
    for other in [one, three] {
        until_served(other, &flow.url(), 200, json!({"v": 2}), PROPAGATION).await;
    }
    // Deactivated through the third, then activated again through the first.
    patch(
        three,
        &format!("/flows/{}", flow.id),
        json!({"status": "inactive"}),
    )
    .await;
    for other in [one, two] {
        until_served(other, &flow.url(), 403, forbidden(), PROPAGATION).await;
    }
    patch(
        one,
        &format!("/flows/{}", flow.id),
        json!({"status": "active"}),
    )
    .await;
    for other in [two, three] {
        until_served(other, &flow.url(), 200, json!({"v": 2}), PROPAGATION).await;
    }
    // Deleted through the second: no replica runs it any more.
    delete(two, &format!("/flows/{}", flow.id)).await;
    for other in [one, three] {
        until_served(other, &flow.url(), 403, forbidden(), PROPAGATION).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_seconds_schedule_runs_once_per_tick_across_three_replicas() {
    let replicas = TestApp::postgres_replicas(3).await;
    let flow = fid(7);
    let body = json!({
        "id": flow, "name": "every two seconds", "trigger": "schedule",
        "accountability": "activity", "options": {"cron": "*/2 * * * * *"}
    });
    let reply = replicas[0]
        .send("POST", "/flows", Some(&body.to_string()), Some(ADMIN_TOKEN))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    tokio::time::sleep(Duration::from_secs(11)).await;
    patch(
        &replicas[1],
        &format!("/flows/{flow}"),
        json!({"status": "inactive"}),
    )
    .await;
    // Runs of the last tick finish and log.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let runs = run_activity(&replicas[2], &flow).await.len();
    let claimed = numbers(
        &replicas[2],
        &format!("SELECT COUNT(*), COUNT(DISTINCT tick), MIN(tick), MAX(tick) FROM flowline_schedule_ticks WHERE flow = '{flow}'"),
    )
    .await;
    let &[claims, distinct, first, last] = &claimed[..] else {
        panic!("{claimed:?}")
    };
    // 11 s hold five or six even seconds; each ran once, by one replica (three replicas
    // firing every tick would have run 15 to 18 times).
    assert!(
        (5..=6).contains(&runs),
        "{runs} runs in 11 s, claims {claimed:?}"
    );
    assert_eq!(claims, runs as i64, "one claim per run");
    assert_eq!(distinct, claims, "no tick claimed twice");
    // The claimed ticks are exactly the even seconds between the first and the last.
    assert_eq!(first % 2000, 0);
    assert_eq!((last - first) / 2000 + 1, claims, "a tick was skipped");
    // Nothing runs once it is inactive on every replica.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(run_activity(&replicas[0], &flow).await.len(), runs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_schedule_keeps_its_ticks_when_a_replica_stops() {
    let replicas = TestApp::postgres_replicas(2).await;
    let flow = fid(8);
    let body = json!({
        "id": flow, "name": "every second", "trigger": "schedule",
        "accountability": "activity", "options": {"cron": "* * * * * *"}
    });
    let reply = replicas[0]
        .send("POST", "/flows", Some(&body.to_string()), Some(ADMIN_TOKEN))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    // The first replica stops its schedules, as it does on SIGTERM; the second goes on alone.
    replicas[0].state.engine.stop_schedules();
    let stopped_at = run_activity(&replicas[1], &flow).await.len();
    tokio::time::sleep(Duration::from_millis(3000)).await;
    let later = run_activity(&replicas[1], &flow).await.len();
    assert!(
        later >= stopped_at + 2,
        "the remaining replica ran {} ticks in 3 s",
        later - stopped_at
    );
    let claims = numbers(
        &replicas[1],
        &format!("SELECT COUNT(*), COUNT(DISTINCT tick) FROM flowline_schedule_ticks WHERE flow = '{flow}'"),
    )
    .await;
    assert_eq!(claims[0], claims[1], "a tick was claimed twice");
    assert_eq!(
        claims[0],
        run_activity(&replicas[1], &flow).await.len() as i64,
        "one run per claim"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_subscription_on_one_replica_hears_a_write_on_another() {
    let replicas = TestApp::postgres_replicas(2).await;
    let addr = replicas[1].serve().await;
    let mut socket = ws::connect(addr, json!({"access_token": ADMIN_TOKEN})).await;
    assert_eq!(ws::next_json(&mut socket).await["type"], "connection_ack");
    socket
        .send(Message::text(
            json!({"id": "1", "type": "subscribe", "payload": {
                "query": "subscription { directus_flows_mutated { key event data { name status } } }"
            }})
            .to_string(),
        ))
        .await
        .expect("subscribe");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let id = fid(3);
    replicas[0]
        .gql_ok(
            "mutation($id: ID!) { create_flows_item(data: {id: $id, name: \"elsewhere\"}) { id } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(
        ws::next_json(&mut socket).await,
        json!({"id": "1", "type": "next", "payload": {"data": {"directus_flows_mutated": {
            "key": id, "event": "create", "data": {"name": "elsewhere", "status": "active"}
        }}}})
    );
    replicas[0]
        .gql_ok(
            "mutation($id: ID!) { update_flows_item(id: $id, data: {name: \"renamed\"}) { id } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(
        ws::next_json(&mut socket).await,
        json!({"id": "1", "type": "next", "payload": {"data": {"directus_flows_mutated": {
            "key": id, "event": "update", "data": {"name": "renamed", "status": "active"}
        }}}})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_dropped_listener_is_followed_by_a_full_reload() {
    let replicas = TestApp::postgres_replicas(2).await;
    let [one, two] = &replicas[..] else {
        unreachable!()
    };
    let flow = FlowBuilder::webhook(2)
        .op("t", "transform", json!({"json": {"v": "before"}}))
        .insert(one)
        .await;
    until_served(two, &flow.url(), 200, json!({"v": "before"}), PROPAGATION).await;
    // A change no replica announces: written straight into the table, as if its notice had
    // been sent while the second replica's listener was away.
    two.db
        .execute_unprepared(&format!(
            r#"UPDATE directus_operations SET options = '{{"json":{{"v":"after"}}}}' WHERE id = '{}'"#,
            flow.op("t")
        ))
        .await
        .expect("update");
    // And a user with a token, also unannounced.
    one.create_user("ops@example.com", "ops-token", true).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_json(&get(two, &flow.url()).await, 200, json!({"v": "before"}));
    let reply = two
        .send("GET", "/flows?fields=id", None, Some("ops-token"))
        .await;
    assert_eq!(reply.status, 401, "{}", reply.text);
    // PostgreSQL ends the second replica's listening connection.
    let replicas_of_two = two
        .state
        .items
        .replicas()
        .expect("replicated on PostgreSQL");
    let pid = replicas_of_two.listener_pid();
    assert_ne!(pid, 0);
    let ended = two
        .db
        .query_one_raw(Statement::from_string(
            two.db.get_database_backend(),
            format!("SELECT pg_terminate_backend({pid})"),
        ))
        .await
        .expect("terminate")
        .expect("row")
        .try_get_by_index::<bool>(0)
        .expect("bool");
    assert!(ended);
    // It listens again on a new connection and reads every flow again.
    until_served(
        two,
        &flow.url(),
        200,
        json!({"v": "after"}),
        Duration::from_secs(3),
    )
    .await;
    let reply = two
        .send("GET", "/flows?fields=id", None, Some("ops-token"))
        .await;
    assert_eq!(
        reply.status, 200,
        "the tokens were read again: {}",
        reply.text
    );
    let again = replicas_of_two.listener_pid();
    assert!(again != 0 && again != pid, "listening again on {again}");
    // And it hears the others again.
    patch(
        one,
        &format!("/operations/{}", flow.op("t")),
        json!({"options": {"json": {"v": "heard"}}}),
    )
    .await;
    until_served(two, &flow.url(), 200, json!({"v": "heard"}), PROPAGATION).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_second_server_on_the_same_file_refuses_to_start() {
    let app = TestApp::sqlite().await;
    let second = flowline::db::connect(&app.url).await.expect("connect");
    let refused = flowline::AppState::new(second, 1024 * 1024, e2e::test_engine()).await;
    let Err(err) = refused else {
        panic!("a second server started on {}", app.url)
    };
    let file = app.url.trim_start_matches("sqlite://");
    assert_eq!(
        err.to_string(),
        format!(
            "another flowline process is already serving {file} (it holds {file}.lock); stop it \
             first, or use PostgreSQL (DATABASE_URL=postgres://...) to run several replicas"
        )
    );
    // The first goes on serving.
    let reply = app.send("GET", "/flows", None, Some(ADMIN_TOKEN)).await;
    assert_eq!(reply.status, 200);
    // Once the first is gone, the file can be served again (a restart).
    let url = app.url.clone();
    let e2e::TestApp {
        state,
        router,
        db,
        _dir: dir,
        ..
    } = app;
    drop((state, router, db));
    let again = flowline::db::connect(&url).await.expect("connect");
    flowline::AppState::new(again, 1024 * 1024, e2e::test_engine())
        .await
        .expect("the file is free once its server stopped");
    drop(dir);
}
