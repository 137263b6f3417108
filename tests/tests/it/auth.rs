//! Who may use `/graphql/system`: admins by static token (header or `?access_token=`);
//! anonymous callers get 403 `FORBIDDEN`, unknown tokens 401 `INVALID_CREDENTIALS`, and
//! users without admin access 403, with Directus's error bodies and nothing written.

use crate::common::*;
use e2e::{ADMIN_TOKEN, TestApp, both};
use serde_json::json;

const FORBIDDEN: &str = "You don't have permission to access this.";
const BAD_CREDENTIALS: &str = "Invalid user credentials.";

fn body(query: &str) -> String {
    json!({ "query": query }).to_string()
}

async fn post(app: &TestApp, query: &str, token: Option<&str>) -> e2e::Reply {
    app.send("POST", "/graphql/system", Some(&body(query)), token)
        .await
}

both!(anonymous_callers_are_forbidden, |app| async move {
    seed(&app).await;
    let before = snapshot(&app).await;
    for query in [
        "{ flows { id } }".to_string(),
        "{ __typename }".to_string(),
        format!(
            "mutation {{ delete_flows_item(id: \"{}\") {{ id }} }}",
            fid(1)
        ),
        "mutation { create_flows_item(data: {name: \"anon\"}) { id } }".to_string(),
    ] {
        let reply = post(&app, &query, None).await;
        assert_eq!(reply.status, 403, "{query}");
        assert_eq!(reply.content_type.as_deref(), Some("application/json"));
        assert_eq!(reply.json(), error_body(FORBIDDEN, "FORBIDDEN"), "{query}");
    }
    let reply = app
        .send(
            "GET",
            &format!("/graphql/system?query={}", encode("{ flows { id } }")),
            None,
            None,
        )
        .await;
    assert_eq!(reply.status, 403);
    assert_eq!(reply.json(), error_body(FORBIDDEN, "FORBIDDEN"));
    assert_eq!(snapshot(&app).await, before);
});

both!(unknown_tokens_are_invalid_credentials, |app| async move {
    seed(&app).await;
    let before = counts(&app).await;
    for token in [
        "wrong",
        "test-admin-token2",
        "test-admin-toke",
        "TEST-ADMIN-TOKEN",
    ] {
        let reply = post(&app, "{ flows { id } }", Some(token)).await;
        assert_eq!(reply.status, 401, "{token}");
        assert_eq!(
            reply.json(),
            error_body(BAD_CREDENTIALS, "INVALID_CREDENTIALS"),
            "{token}"
        );
    }
    let reply = post(
        &app,
        "mutation { create_flows_item(data: {name: \"x\"}) { id } }",
        Some("wrong"),
    )
    .await;
    assert_eq!(reply.status, 401);
    let reply = app
        .send(
            "POST",
            "/graphql/system?access_token=wrong",
            Some(&body("{ flows { id } }")),
            None,
        )
        .await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.json(),
        error_body(BAD_CREDENTIALS, "INVALID_CREDENTIALS")
    );
    assert_eq!(counts(&app).await, before);
});

both!(a_token_in_the_query_string_works, |app| async move {
    seed(&app).await;
    let reply = app
        .send(
            "POST",
            &format!("/graphql/system?access_token={ADMIN_TOKEN}"),
            Some(&body("{ flows_aggregated { countAll } }")),
            None,
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json(),
        json!({"data": {"flows_aggregated": [{"countAll": 5}]}})
    );
    let reply = app
        .send(
            "GET",
            &format!(
                "/graphql/system?access_token={ADMIN_TOKEN}&query={}",
                encode("{ operations_aggregated { countAll } }")
            ),
            None,
            None,
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json(),
        json!({"data": {"operations_aggregated": [{"countAll": 5}]}})
    );
});

both!(the_header_wins_over_the_query_string, |app| async move {
    // A good header and a bad URL token: the header decides.
    let reply = app
        .send(
            "POST",
            "/graphql/system?access_token=wrong",
            Some(&body("{ flows { id } }")),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    // The scheme is case-insensitive.
    let reply = app
        .send_raw(
            "POST",
            "/graphql/system",
            &[
                ("authorization", &format!("bearer {ADMIN_TOKEN}")),
                ("content-type", "application/json"),
            ],
            Some(body("{ flows { id } }")),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    // Another scheme carries no bearer token: the request is anonymous.
    let reply = app
        .send_raw(
            "POST",
            "/graphql/system",
            &[
                ("authorization", &format!("Basic {ADMIN_TOKEN}")),
                ("content-type", "application/json"),
            ],
            Some(body("{ flows { id } }")),
        )
        .await;
    assert_eq!(reply.status, 403, "{}", reply.text);
});

both!(users_without_admin_access_are_refused, |app| async move {
    seed(&app).await;
    app.create_user("editor@example.com", "editor-token", false)
        .await;
    let before = snapshot(&app).await;
    for query in [
        "{ flows { id } }".to_string(),
        format!("{{ flows_by_id(id: \"{}\") {{ id }} }}", fid(1)),
        "{ operations_aggregated { countAll } }".to_string(),
        "mutation { create_flows_item(data: {name: \"by editor\"}) { id } }".to_string(),
        format!(
            "mutation {{ delete_flows_items(ids: [\"{}\"]) {{ ids }} }}",
            fid(1)
        ),
    ] {
        let reply = post(&app, &query, Some("editor-token")).await;
        assert_eq!(reply.status, 403, "{query}: {}", reply.text);
        assert_eq!(reply.json(), error_body(FORBIDDEN, "FORBIDDEN"), "{query}");
    }
    let reply = app
        .send(
            "GET",
            &format!(
                "/graphql/system?access_token=editor-token&query={}",
                encode("{ flows { id } }")
            ),
            None,
            None,
        )
        .await;
    assert_eq!(reply.status, 403);
    assert_eq!(snapshot(&app).await, before);
});

both!(other_admins_are_recorded_as_creators, |app| async move {
    let other = app
        .create_user("second-admin@example.com", "second-admin-token", true)
        .await;
    let reply = post(
        &app,
        &format!(
            "mutation {{ create_flows_item(data: {{id: \"{}\", name: \"by the second admin\"}}) {{ user_created {{ id email }} }} }}",
            fid(1)
        ),
        Some("second-admin-token"),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.json(),
        json!({"data": {"create_flows_item": {"user_created": {"id": other, "email": "second-admin@example.com"}}}})
    );
    // Reading a flow as another admin does not change its creator.
    let out = data(
        &app,
        &format!(
            "{{ flows_by_id(id: \"{}\") {{ user_created {{ email }} }} }}",
            fid(1)
        ),
    )
    .await;
    assert_eq!(
        out,
        json!({"flows_by_id": {"user_created": {"email": "second-admin@example.com"}}})
    );
});

both!(very_long_tokens_are_invalid_credentials, |app| async move {
    let token = "t".repeat(64 * 1024);
    let reply = post(&app, "{ flows { id } }", Some(&token)).await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.json(),
        error_body(BAD_CREDENTIALS, "INVALID_CREDENTIALS")
    );
    let reply = app
        .send(
            "POST",
            &format!("/graphql/system?access_token={}", "t".repeat(16 * 1024)),
            Some(&body("{ flows { id } }")),
            None,
        )
        .await;
    assert_eq!(reply.status, 401);
});
