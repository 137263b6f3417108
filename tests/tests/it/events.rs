//! `event` flows of type `action` run after a write commits, with Directus's event names
//! and meta as `$trigger`; `server.start` runs when the engine starts.

use std::time::Duration;

use e2e::{ADMIN_TOKEN, both};
use serde_json::{Value, json};

const LISTENER: &str = "3e0c1d2a-4b5c-4d6e-8f70-000000000001";

/// The `$trigger` of every logged run of the listener, oldest first.
async fn triggers(app: &e2e::TestApp) -> Vec<Value> {
    app.logged_triggers(LISTENER).await
}

async fn wait_for(app: &e2e::TestApp, n: usize) -> Vec<Value> {
    for _ in 0..50 {
        let found = triggers(app).await;
        if found.len() >= n {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    triggers(app).await
}

both!(action_flows_run_after_writes, |app| async move {
    let listener = json!({
        "id": LISTENER, "name": "on operations", "trigger": "event", "accountability": "all",
        "options": {"type": "action", "scope": ["items.create", "items.delete"], "collections": ["directus_operations"]}
    });
    let reply = app
        .send(
            "POST",
            "/flows",
            Some(&listener.to_string()),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);

    let op = json!({"id": "3e0c1d2a-4b5c-4d6e-8f70-0000000000aa", "flow": LISTENER, "key": "k", "type": "log", "position_x": 1, "position_y": 2});
    let reply = app
        .send(
            "POST",
            "/operations?fields=id",
            Some(&op.to_string()),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let found = wait_for(&app, 1).await;
    assert_eq!(found.len(), 1, "{found:?}");
    let payload = &found[0]["payload"];
    assert_eq!(found[0]["event"], "operations.create");
    assert_eq!(found[0]["key"], "3e0c1d2a-4b5c-4d6e-8f70-0000000000aa");
    assert_eq!(found[0]["collection"], "directus_operations");
    assert_eq!(
        (payload["key"].clone(), payload["type"].clone()),
        (json!("k"), json!("log"))
    );

    let reply = app
        .send(
            "DELETE",
            "/operations/3e0c1d2a-4b5c-4d6e-8f70-0000000000aa",
            None,
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(reply.status, 204);
    let found = wait_for(&app, 2).await;
    assert_eq!(
        found.get(1),
        Some(&json!({
            "event": "operations.delete",
            "payload": ["3e0c1d2a-4b5c-4d6e-8f70-0000000000aa"],
            "keys": ["3e0c1d2a-4b5c-4d6e-8f70-0000000000aa"],
            "collection": "directus_operations"
        }))
    );
    // Updates are not listened to: nothing more runs.
    let reply = app
        .send(
            "PATCH",
            &format!("/flows/{LISTENER}"),
            Some(r#"{"description":"x"}"#),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(reply.status, 200);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(triggers(&app).await.len(), 2);
});
