//! The server's own routes: ping, health, unknown routes.

use e2e::{TestApp, both};
use serde_json::json;

both!(ping_answers_pong_as_html, |app| async move {
    let reply = app.send("GET", "/server/ping", None, None).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text, "pong");
    assert_eq!(
        reply.content_type.as_deref(),
        Some("text/html; charset=utf-8")
    );
});

both!(health_checks_the_database, |app| async move {
    let reply = app.send("GET", "/server/health", None, None).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json(), json!({"status": "ok"}));
});

both!(unknown_routes_are_route_not_found, |app| async move {
    let reply = app.send("GET", "/nope/here", None, None).await;
    assert_eq!(reply.status, 404);
    assert_eq!(
        reply.json(),
        json!({"errors": [{"message": "Route /nope/here doesn't exist.", "extensions": {"path": "/nope/here", "code": "ROUTE_NOT_FOUND"}}]})
    );
});

#[tokio::test]
async fn sqlite_harness_starts() {
    let app = TestApp::sqlite().await;
    assert_eq!(app.count("directus_flows").await, 0);
}
