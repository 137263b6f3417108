//! The real binary's life: a request under way when SIGTERM arrives is answered before the
//! process exits, new connections are refused meanwhile, and a second server on the same
//! SQLite file refuses to start; runs accepted before a SIGKILL are finished after the
//! restart, or on PostgreSQL by another replica once the killed one's leases run out.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const TOKEN: &str = "lifecycle-admin-token";
const FLOW: &str = "5e1f0000-0000-4000-8000-000000000001";
const NAP: &str = "5e1f0000-0000-4000-8000-0000000000a1";
const DONE: &str = "5e1f0000-0000-4000-8000-0000000000a2";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn spawn(db: &std::path::Path, port: u16) -> Child {
    spawn_on(&format!("sqlite://{}", db.display()), port, &[])
}

/// The binary on the database at `url`, with `env` besides the usual settings.
fn spawn_on(url: &str, port: u16, env: &[(&str, &str)]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_flowline"))
        .env("DATABASE_URL", url)
        .envs(env.iter().copied())
        .env("PORT", port.to_string())
        .env("HOST", "127.0.0.1")
        .env("ADMIN_TOKEN", TOKEN)
        .env("SERVER_SHUTDOWN_TIMEOUT", "5000")
        .env("LOG_LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start flowline")
}

async fn until_up(base: &str, child: &mut Child) {
    let client = reqwest::Client::new();
    let start = Instant::now();
    loop {
        if let Ok(reply) = client.get(format!("{base}/server/ping")).send().await
            && reply.status() == 200
        {
            return;
        }
        assert!(
            child.try_wait().expect("wait").is_none(),
            "the server exited at start"
        );
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no answer in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(child.id().to_string())
        .status()
        .expect("kill");
    assert!(status.success());
}

async fn send(client: &reqwest::Client, method: &str, url: String, body: Value) -> Value {
    let reply = client
        .request(method.parse().expect("method"), url)
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .expect("reply");
    assert_eq!(reply.status(), 200);
    reply.json().await.expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_a_request_under_way_finish_and_a_second_server_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("flowline.db");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = spawn(&db, port);
    until_up(&base, &mut server).await;

    // A second server on the same file refuses to start, and says why.
    let second = Command::new(env!("CARGO_BIN_EXE_flowline"))
        .env("DATABASE_URL", format!("sqlite://{}", db.display()))
        .env("PORT", free_port().to_string())
        .env("ADMIN_TOKEN", TOKEN)
        .output()
        .expect("second server");
    assert!(!second.status.success());
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(
        said.contains(&format!(
            "another flowline process is already serving {}",
            db.display()
        )),
        "{said}"
    );

    // A webhook flow that takes 1.5 s to answer.
    let client = reqwest::Client::new();
    send(
        &client,
        "POST",
        format!("{base}/flows"),
        json!({
            "id": FLOW, "name": "slow", "trigger": "webhook",
            "options": {"method": "GET", "return": "$last"},
            "operations": [
                {"id": DONE, "key": "done", "type": "transform", "position_x": 37, "position_y": 1,
                 "options": {"json": {"done": true}}},
                {"id": NAP, "key": "nap", "type": "sleep", "position_x": 19, "position_y": 1,
                 "options": {"milliseconds": 1500}, "resolve": DONE}
            ]
        }),
    )
    .await;
    send(
        &client,
        "PATCH",
        format!("{base}/flows/{FLOW}"),
        json!({"operation": NAP}),
    )
    .await;

    let slow = tokio::spawn({
        let url = format!("{base}/flows/trigger/{FLOW}");
        async move {
            let reply = reqwest::get(url)
                .await
                .expect("the slow request is answered");
            (reply.status().as_u16(), reply.text().await.expect("body"))
        }
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    signal(&server, "TERM");
    tokio::time::sleep(Duration::from_millis(300)).await;
    // No new connection is taken while it drains.
    assert!(
        reqwest::Client::new()
            .get(format!("{base}/server/ping"))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .is_err(),
        "a stopping server took a new request"
    );
    let (status, body) = slow.await.expect("task");
    assert_eq!((status, body.as_str()), (200, r#"{"done":true}"#));
    let start = Instant::now();
    let exit = loop {
        if let Some(exit) = server.try_wait().expect("wait") {
            break exit;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "still running");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(exit.success(), "{exit:?}");

    // The file is free again: a restart serves the flow.
    let mut restarted = spawn(&db, port);
    until_up(&base, &mut restarted).await;
    let reply = reqwest::get(format!("{base}/flows/trigger/{FLOW}"))
        .await
        .expect("reply");
    assert_eq!(reply.text().await.expect("body"), r#"{"done":true}"#);
    signal(&restarted, "INT");
    assert!(restarted.wait().expect("wait").success());
}

/// The rows of `flowline_runs` by status, read from the file as another process would.
async fn run_statuses(db: &std::path::Path) -> Vec<(String, i64)> {
    use sea_orm::{ConnectionTrait, Statement};
    let conn = sea_orm::Database::connect(format!("sqlite://{}?mode=ro", db.display()))
        .await
        .expect("open");
    let rows = conn
        .query_all_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT status, COUNT(*) FROM flowline_runs GROUP BY status ORDER BY status",
        ))
        .await
        .expect("statuses");
    rows.iter()
        .map(|r| {
            (
                r.try_get_by_index::<String>(0).expect("status"),
                r.try_get_by_index::<i64>(1).expect("count"),
            )
        })
        .collect()
}

/// One number `sql` answers, read from the file as another process would.
async fn number(db: &std::path::Path, sql: &str) -> i64 {
    let conn = sea_orm::Database::connect(format!("sqlite://{}?mode=ro", db.display()))
        .await
        .expect("open");
    pg_number(&conn, sql).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_accepted_before_a_sigkill_resume_after_the_restart_and_write_once() {
    use sea_orm::ConnectionTrait;
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("flowline.db");
    // A user table the flow writes to.
    let setup = sea_orm::Database::connect(format!("sqlite://{}?mode=rwc", db.display()))
        .await
        .expect("create");
    setup
        .execute_unprepared("CREATE TABLE marks (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
        .await
        .expect("table");
    setup.close().await.expect("close");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = spawn(&db, port);
    until_up(&base, &mut server).await;
    // An async webhook that writes an item, then sleeps three seconds: killed once every
    // run has written and is asleep.
    start_sleeping_runs(&base, 40, |sql| number(&db, sql)).await;
    signal(&server, "KILL");
    server.wait().expect("killed");
    assert_eq!(
        run_statuses(&db).await,
        [("running".to_string(), 40)],
        "every accepted run was in the queue, none finished"
    );
    assert_eq!(
        number(
            &db,
            "SELECT COUNT(*) FROM flowline_run_steps WHERE key = 'mark' AND status = 'resolve'"
        )
        .await,
        40,
        "each run journaled its write"
    );
    assert_eq!(
        number(
            &db,
            "SELECT COUNT(*) FROM flowline_run_steps WHERE key = 'nap' AND status = 'waiting' \
             AND wait_until = started_at + 3000"
        )
        .await,
        40,
        "each run journaled when its sleep is due"
    );
    let killed_at = chrono::Utc::now().timestamp_millis();
    // Down for two seconds: a resumed sleep that waited all over again would end about two
    // seconds after it was due.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let mut restarted = spawn(&db, port);
    until_up(&base, &mut restarted).await;
    let start = Instant::now();
    loop {
        let now = run_statuses(&db).await;
        if now == [("resolved".to_string(), 40)] {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "{now:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Resumed after the write: each item exists once, and each run ended with its sleep.
    assert_eq!(number(&db, "SELECT COUNT(*) FROM marks").await, 40);
    assert_eq!(number(&db, "SELECT COUNT(DISTINCT n) FROM marks").await, 40);
    assert_eq!(
        number(
            &db,
            "SELECT COUNT(*) FROM flowline_run_steps WHERE key = 'nap' AND status = 'resolve'"
        )
        .await,
        40
    );
    // The sleeps waited the time they had left: none ended before it was due, none waited
    // its three seconds again after the restart.
    assert_eq!(
        number(
            &db,
            &format!(
                "SELECT COUNT(*) FROM flowline_run_steps WHERE key = 'nap' \
                 AND started_at < {killed_at} AND finished_at >= wait_until \
                 AND finished_at < wait_until + 1500"
            )
        )
        .await,
        40
    );
    assert_eq!(
        number(&db, "SELECT COUNT(*) FROM flowline_runs WHERE attempts = 2").await,
        40
    );
    signal(&restarted, "TERM");
    assert!(restarted.wait().expect("wait").success());
}

/// An async webhook that writes an item to `marks`, then sleeps `nap_ms`.
fn durable_flow(nap_ms: u64) -> Value {
    json!({
        "id": FLOW, "name": "durable", "trigger": "webhook",
        "options": {"method": "POST", "async": true},
        "operations": [
            {"id": NAP, "key": "nap", "type": "sleep", "position_x": 37, "position_y": 1,
             "options": {"milliseconds": nap_ms}},
            {"id": DONE, "key": "mark", "type": "item-create", "position_x": 19, "position_y": 1,
             "options": {"collection": "marks", "permissions": "$full", "payload": {"n": "{{ $trigger.body.n }}"}},
             "resolve": NAP}
        ]
    })
}

/// Creates the durable flow on `base`, sends it `runs` async calls, and waits until every run
/// has written its item and journaled its sleep (`count` reads the database).
async fn start_sleeping_runs<F, Fut>(base: &str, runs: i64, count: F)
where
    F: Fn(&'static str) -> Fut,
    Fut: std::future::Future<Output = i64>,
{
    let client = reqwest::Client::new();
    send(&client, "POST", format!("{base}/flows"), durable_flow(3000)).await;
    send(
        &client,
        "PATCH",
        format!("{base}/flows/{FLOW}"),
        json!({"operation": DONE}),
    )
    .await;
    for n in 0..runs {
        let reply = client
            .post(format!("{base}/flows/trigger/{FLOW}"))
            .json(&json!({ "n": n }))
            .send()
            .await
            .expect("reply");
        assert_eq!(reply.status(), 204);
    }
    let start = Instant::now();
    while count("SELECT COUNT(*) FROM flowline_run_steps WHERE key = 'nap' AND status = 'waiting'")
        .await
        < runs
    {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "the runs did not write and sleep"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One number `sql` answers on `db` (either database).
async fn pg_number(db: &sea_orm::DatabaseConnection, sql: &str) -> i64 {
    use sea_orm::{ConnectionTrait, Statement};
    db.query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("query")
        .expect("row")
        .try_get_by_index::<i64>(0)
        .expect("number")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_runs_of_a_killed_replica_are_finished_by_another() {
    use sea_orm::ConnectionTrait;
    let Ok(url) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!("TEST_DATABASE_URL not set; skipping the PostgreSQL replica crash test");
        return;
    };
    // A schema of its own, with the user table the flow writes to.
    let schema = format!(
        "lifecycle_{}_{}",
        std::process::id(),
        chrono::Utc::now().timestamp_millis()
    );
    let admin = sea_orm::Database::connect(&url).await.expect("connect");
    admin
        .execute_unprepared(&format!("CREATE SCHEMA \"{schema}\""))
        .await
        .expect("schema");
    let sep = if url.contains('?') { '&' } else { '?' };
    let scoped = format!("{url}{sep}options=-c%20search_path%3D{schema}");
    let db = sea_orm::Database::connect(&scoped).await.expect("connect");
    db.execute_unprepared("CREATE TABLE marks (id SERIAL PRIMARY KEY, n INTEGER NOT NULL)")
        .await
        .expect("table");
    // Leases of a second, so that the survivor takes over soon after the kill.
    let env = [("FLOW_RUNS_LEASE", "1000")];
    let (port_a, port_b) = (free_port(), free_port());
    let (base_a, base_b) = (
        format!("http://127.0.0.1:{port_a}"),
        format!("http://127.0.0.1:{port_b}"),
    );
    let mut a = spawn_on(&scoped, port_a, &env);
    until_up(&base_a, &mut a).await;
    // Every run is held by the first replica, has written, and sleeps.
    start_sleeping_runs(&base_a, 20, |sql| pg_number(&db, sql)).await;
    let mut b = spawn_on(&scoped, port_b, &env);
    until_up(&base_b, &mut b).await;
    let owner_a = pg_number(
        &db,
        "SELECT COUNT(DISTINCT lease_owner) FROM flowline_runs WHERE status = 'running'",
    )
    .await;
    assert_eq!(owner_a, 1, "one replica holds every run");
    signal(&a, "KILL");
    a.wait().expect("killed");

    // The survivor takes each run over once its lease runs out, and finishes it.
    let start = Instant::now();
    while pg_number(
        &db,
        "SELECT COUNT(*) FROM flowline_runs WHERE status = 'resolved'",
    )
    .await
        < 20
    {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the runs were not taken over"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        pg_number(&db, "SELECT COUNT(*) FROM flowline_runs").await,
        20
    );
    assert_eq!(
        pg_number(&db, "SELECT COUNT(*) FROM flowline_runs WHERE attempts = 2").await,
        20,
        "each run was taken over once"
    );
    // Resumed after the write: each item exists once.
    assert_eq!(pg_number(&db, "SELECT COUNT(*) FROM marks").await, 20);
    assert_eq!(
        pg_number(&db, "SELECT COUNT(DISTINCT n) FROM marks").await,
        20
    );
    assert_eq!(
        pg_number(
            &db,
            "SELECT COUNT(*) FROM flowline_run_steps WHERE key = 'nap' AND status = 'resolve' \
             AND finished_at >= wait_until"
        )
        .await,
        20
    );
    signal(&b, "TERM");
    assert!(b.wait().expect("wait").success());
    db.close().await.expect("close");
    admin
        .execute_unprepared(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
        .await
        .expect("drop");
}
