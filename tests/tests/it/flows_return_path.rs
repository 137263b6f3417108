//! A `return` path Directus's lookup refuses (deeper than 10 segments) fails the run's answer
//! with a 500, as in Directus, instead of passing for an empty result.

use e2e::{ADMIN_TOKEN, both};
use serde_json::json;

both!(a_too_deep_return_path_is_a_server_error, |app| async move {
    let id = "0a6f2c1d-9b8e-4f7a-8c6d-5e4f3a2b1c0d";
    let body = json!({"id": id, "name": "deep", "trigger": "webhook", "accountability": null,
                      "options": {"return": "$trigger.a.b.c.d.e.f.g.h.i.j.k"}});
    let reply = app
        .send("POST", "/flows", Some(&body.to_string()), Some(ADMIN_TOKEN))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);

    let admin = app
        .send(
            "GET",
            &format!("/flows/trigger/{id}"),
            None,
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(admin.status, 500);
    let body = admin.json();
    assert_eq!(
        body["errors"][0]["extensions"],
        json!({"code": "INTERNAL_SERVER_ERROR"})
    );
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("The path cannot be deeper than 10 levels.")),
        "{body}"
    );
    // Anyone else sees no detail.
    let anonymous = app
        .send("GET", &format!("/flows/trigger/{id}"), None, None)
        .await;
    assert_eq!(anonymous.status, 500);
    assert_eq!(
        anonymous.json(),
        json!({"errors": [{"message": "An unexpected error occurred.", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]})
    );
});
