//! `schedule` flows: a seconds-level cron fires without a restart, stops when deactivated,
//! and an invalid expression is refused when the flow is saved.

use std::time::Duration;

use e2e::{ADMIN_TOKEN, both};
use serde_json::json;

const FLOW: &str = "7d2b6a1e-1c9f-4e27-9b8a-3a5c6e7f8d01";

async fn runs(app: &e2e::TestApp) -> i64 {
    app.count(&format!(
        "directus_activity WHERE action = 'run' AND item = '{FLOW}'"
    ))
    .await
}

/// Waits until `done` holds, checking every 100 ms for at most `limit`.
async fn eventually(limit: Duration, mut done: impl AsyncFnMut() -> bool) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        if done().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

both!(
    a_seconds_cron_fires_and_stops_when_deactivated,
    |app| async move {
        let body = json!({
            "id": FLOW, "name": "every second", "trigger": "schedule", "accountability": "activity",
            "options": {"cron": "* * * * * *"}
        });
        let reply = app
            .send("POST", "/flows", Some(&body.to_string()), Some(ADMIN_TOKEN))
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert!(
            eventually(Duration::from_secs(5), async || runs(&app).await >= 2).await,
            "the schedule never fired twice"
        );

        let reply = app
            .send(
                "PATCH",
                &format!("/flows/{FLOW}"),
                Some(r#"{"status":"inactive"}"#),
                Some(ADMIN_TOKEN),
            )
            .await;
        assert_eq!(reply.status, 200);
        // A tick already under way may still finish; after that the count stays put.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let settled = runs(&app).await;
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert_eq!(runs(&app).await, settled);
    }
);

both!(an_invalid_cron_is_refused_on_save, |app| async move {
    let body = json!({"name": "bad", "trigger": "schedule", "options": {"cron": "* * * * * * *"}});
    let reply = app
        .send("POST", "/flows", Some(&body.to_string()), Some(ADMIN_TOKEN))
        .await;
    assert_eq!(reply.status, 400);
    let reason = "\"* * * * * * *\" is not a valid cron expression (5 or 6 fields, or an alias such as @daily)";
    assert_eq!(
        reply.json(),
        json!({"errors": [{"message": format!("Invalid payload. {reason}."), "extensions": {"reason": reason, "code": "INVALID_PAYLOAD"}}]})
    );
    assert_eq!(app.count("directus_flows").await, 0);
});
