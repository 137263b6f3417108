//! `/server/specs/oas` serves a valid OpenAPI 3 document that lists every REST route.

use e2e::TestApp;

#[tokio::test]
async fn openapi_document_is_valid_and_complete() {
    let app = TestApp::sqlite().await;
    let reply = app.send("GET", "/server/specs/oas", None, None).await;
    assert_eq!(reply.status, 200);
    let doc: openapiv3::OpenAPI =
        serde_json::from_str(&reply.text).expect("a valid OpenAPI 3 document");
    assert_eq!(doc.openapi, "3.0.3");
    let mut paths: Vec<&String> = doc.paths.paths.keys().collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "/activity",
            "/activity/{id}",
            "/flows",
            "/flows/{id}",
            "/notifications",
            "/notifications/{id}",
            "/operations",
            "/operations/{id}",
            "/permissions",
            "/permissions/{id}",
            "/revisions",
            "/revisions/{id}",
            "/runs",
            "/runs/{id}",
            "/runs/{id}/cancel",
            "/server/health",
            "/server/ping"
        ]
    );
    // Read-only collections describe reads only.
    let activity = doc.paths.paths["/activity"]
        .as_item()
        .expect("inline path item");
    assert!(
        activity.get.is_some()
            && activity.post.is_none()
            && activity.patch.is_none()
            && activity.delete.is_none()
    );
    for path in ["/flows", "/operations"] {
        let item = doc.paths.paths[path].as_item().expect("inline path item");
        assert!(
            item.get.is_some()
                && item.post.is_some()
                && item.patch.is_some()
                && item.delete.is_some()
        );
    }
    // Every schema reference resolves.
    let text = reply.text.clone();
    let components = doc.components.expect("components");
    for piece in text.split("#/components/schemas/").skip(1) {
        let name: String = piece.chars().take_while(|c| *c != '"').collect();
        assert!(
            components.schemas.contains_key(&name),
            "dangling reference {name}"
        );
    }
    let flows = serde_json::to_value(&components.schemas["Flows"]).expect("schema");
    assert_eq!(flows["required"], serde_json::json!(["name"]));
    assert_eq!(flows["properties"]["status"]["type"], "string");
}
