//! GET webhook answers are cached when caching is on: other query parameters share one
//! answer (the flow does not run again), parameters named in `cacheQueryParams` do not,
//! and `cacheEnabled: false` opts a flow out.

use std::time::Duration;

use e2e::{ADMIN_TOKEN, TestApp, test_engine};
use serde_json::{Value, json};

async fn app_with_cache(postgres: bool) -> TestApp {
    let config = engine::EngineConfig {
        cache_ttl: Some(Duration::from_secs(60)),
        ..test_engine()
    };
    if postgres {
        TestApp::postgres_with(config).await
    } else {
        TestApp::sqlite_with(config).await
    }
}

/// A GET webhook returning `$trigger.query`, logging each run as activity.
async fn flow(app: &TestApp, id: &str, options: Value) {
    let body = json!({"id": id, "name": "cached", "trigger": "webhook", "accountability": "activity", "options": options});
    let reply = app
        .send("POST", "/flows", Some(&body.to_string()), Some(ADMIN_TOKEN))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
}

async fn runs(app: &TestApp) -> i64 {
    app.count("directus_activity WHERE action = 'run'").await
}

async fn check(app: TestApp) {
    let id = "5c1f0a52-8a53-4c6e-9d1e-000000000001";
    flow(
        &app,
        id,
        json!({"return": "$trigger.query", "cacheQueryParams": ["page_id"]}),
    )
    .await;
    let first = app
        .send(
            "GET",
            &format!("/flows/trigger/{id}?foo=1&page_id=a"),
            None,
            None,
        )
        .await;
    assert_eq!(
        (first.status.as_u16(), first.json()),
        (200, json!({"foo": "1", "page_id": "a"}))
    );
    // `foo` is not part of the key: the cached answer comes back and the flow does not run.
    let second = app
        .send(
            "GET",
            &format!("/flows/trigger/{id}?foo=2&page_id=a"),
            None,
            None,
        )
        .await;
    assert_eq!(second.json(), json!({"foo": "1", "page_id": "a"}));
    assert_eq!(runs(&app).await, 1);
    // `page_id` is: a new answer.
    let third = app
        .send(
            "GET",
            &format!("/flows/trigger/{id}?foo=2&page_id=b"),
            None,
            None,
        )
        .await;
    assert_eq!(third.json(), json!({"foo": "2", "page_id": "b"}));
    assert_eq!(runs(&app).await, 2);

    let opted_out = "5c1f0a52-8a53-4c6e-9d1e-000000000002";
    flow(
        &app,
        opted_out,
        json!({"return": "$trigger.query", "cacheEnabled": false}),
    )
    .await;
    for n in ["1", "2"] {
        let reply = app
            .send(
                "GET",
                &format!("/flows/trigger/{opted_out}?n={n}"),
                None,
                None,
            )
            .await;
        assert_eq!(reply.json(), json!({"n": n}));
    }
    assert_eq!(runs(&app).await, 4);
}

#[tokio::test]
async fn sqlite_get_webhooks_are_cached() {
    check(app_with_cache(false).await).await;
}

#[tokio::test]
async fn postgres_get_webhooks_are_cached() {
    check(app_with_cache(true).await).await;
}

#[tokio::test]
async fn caching_is_off_by_default() {
    let app = TestApp::sqlite().await;
    let id = "5c1f0a52-8a53-4c6e-9d1e-000000000003";
    flow(&app, id, json!({"return": "$trigger.query"})).await;
    for n in ["1", "2"] {
        let reply = app
            .send("GET", &format!("/flows/trigger/{id}?n={n}"), None, None)
            .await;
        assert_eq!(reply.json(), json!({"n": n}));
    }
    assert_eq!(runs(&app).await, 2);
}
