//! `event` flows on a user table (flows-and-operations.md §3.1): `filter` flows run inside
//! the write, in order, may rewrite the payload or refuse the write; `action` flows run
//! after the commit, in the background.

use std::time::Duration;

use crate::flows_support::*;
use e2e::{ADMIN_TOKEN, both};
use serde_json::{Value, json};

fn event(n: u32, kind: &str, scope: &str) -> FlowBuilder {
    FlowBuilder::new(n, "event")
        .option("type", json!(kind))
        .option("scope", json!([scope]))
        .option("collections", json!(["articles"]))
}

async fn create_article(app: &e2e::TestApp, body: Value) -> e2e::Reply {
    app.send(
        "POST",
        "/items/articles?fields=id,title,views",
        Some(&body.to_string()),
        Some(ADMIN_TOKEN),
    )
    .await
}

/// The logged `$trigger` of every run of flow `n`, oldest first.
async fn logged_triggers(app: &e2e::TestApp, n: u32) -> Vec<Value> {
    app.logged_triggers(&fid(n)).await
}

async fn wait_for_runs(app: &e2e::TestApp, n: u32, count: usize) -> Vec<Value> {
    for _ in 0..60 {
        let found = logged_triggers(app, n).await;
        if found.len() >= count {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    logged_triggers(app, n).await
}

async fn titles(app: &e2e::TestApp) -> Value {
    let reply = app
        .send(
            "GET",
            "/items/articles?fields=title,views&sort=id",
            None,
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json()["data"].clone()
}

both!(a_filter_flow_rewrites_the_payload, |app| async move {
    app.articles_table().await;
    event(1, "filter", "items.create")
        .option("return", json!("$last"))
        .op(
            "rewrite",
            "transform",
            json!({"json": {"title": "{{ $trigger.payload.title }}!", "views": 7}}),
        )
        .insert(&app)
        .await;
    let reply = create_article(&app, json!({"title": "Hello", "views": 1})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.json(),
        json!({"data": {"id": 1, "title": "Hello!", "views": 7}})
    );
    assert_eq!(titles(&app).await, json!([{"title": "Hello!", "views": 7}]));
});

both!(
    a_filter_flow_without_return_leaves_the_payload_and_sees_the_meta,
    |app| async move {
        app.articles_table().await;
        event(1, "filter", "items.create")
            .accountability(json!("all"))
            .op(
                "note",
                "log",
                json!({"message": "{{ $trigger.payload.title }}"}),
            )
            .insert(&app)
            .await;
        let reply = create_article(&app, json!({"title": "Plain"})).await;
        assert_eq!(
            reply.json(),
            json!({"data": {"id": 1, "title": "Plain", "views": 0}})
        );
        // The run is logged in the write's transaction, so it is there once the write is.
        assert_eq!(
            logged_triggers(&app, 1).await,
            [
                json!({"payload": {"title": "Plain"}, "event": "articles.items.create", "collection": "articles"})
            ]
        );
    }
);

both!(
    a_rejecting_filter_flow_blocks_the_write_with_its_error,
    |app| async move {
        app.articles_table().await;
        event(1, "filter", "items.create")
            .accountability(json!("all"))
            .op(
                "stop",
                "throw-error",
                json!({"code": "not_today", "status": "422", "message": "No {{ $trigger.payload.title }} today"}),
            )
            .insert(&app)
            .await;
        let reply = create_article(&app, json!({"title": "news"})).await;
        assert_eq!(reply.status, 422, "{}", reply.text);
        assert_eq!(
            reply.json(),
            json!({"errors": [{"message": "No news today", "extensions": {"code": "NOT_TODAY"}}]})
        );
        assert_eq!(app.count("articles").await, 0);
        // The flow's own log went down with the write.
        assert_eq!(logged_triggers(&app, 1).await, Vec::<Value>::new());
    }
);

both!(
    a_failed_condition_blocks_with_one_validation_error_per_rule,
    |app| async move {
        app.articles_table().await;
        event(1, "filter", "items.create")
            .op(
                "check",
                "condition",
                json!({"filter": {"$trigger": {"payload": {"title": {"_eq": "ok"}}}}}),
            )
            .insert(&app)
            .await;
        let reply = create_article(&app, json!({"title": "bad"})).await;
        assert_eq!(reply.status, 400, "{}", reply.text);
        assert_eq!(
            reply.json(),
            json!({"errors": [{
                "message": "Validation failed for field \"$trigger\" at \"payload.title\". Value has to be \"ok\".",
                "extensions": {"field": "$trigger", "path": ["payload", "title"], "type": "eq", "valid": "ok", "code": "FAILED_VALIDATION"},
            }]})
        );
        assert_eq!(app.count("articles").await, 0);
        let reply = create_article(&app, json!({"title": "ok"})).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(app.count("articles").await, 1);
    }
);

both!(
    a_reject_followed_by_a_resolving_operation_does_not_block,
    |app| async move {
        app.articles_table().await;
        event(1, "filter", "items.create")
            .op(
                "check",
                "condition",
                json!({"filter": {"$trigger": {"payload": {"title": {"_eq": "ok"}}}}}),
            )
            .or_else(
                "note",
                "log",
                json!({"message": "refused, but only logged"}),
            )
            .insert(&app)
            .await;
        let reply = create_article(&app, json!({"title": "bad"})).await;
        assert_eq!(
            reply.json(),
            json!({"data": {"id": 1, "title": "bad", "views": 0}})
        );
    }
);

both!(
    a_batch_create_is_all_or_nothing_when_one_item_is_refused,
    |app| async move {
        app.articles_table().await;
        event(1, "filter", "items.create")
            .op(
                "check",
                "condition",
                json!({"filter": {"$trigger": {"payload": {"title": {"_neq": "bad"}}}}}),
            )
            .insert(&app)
            .await;
        let reply = app
            .send(
                "POST",
                "/items/articles",
                Some(&json!([{"title": "one"}, {"title": "bad"}]).to_string()),
                Some(ADMIN_TOKEN),
            )
            .await;
        assert_eq!(reply.status, 400, "{}", reply.text);
        assert_eq!(app.count("articles").await, 0);
    }
);

both!(
    filter_flows_run_in_order_each_seeing_the_previous_payload,
    |app| async move {
        app.articles_table().await;
        // Flow ids order the filters: flow 1 runs before flow 2.
        event(2, "filter", "items.create")
            .option("return", json!("$last"))
            .op(
                "second",
                "transform",
                json!({"json": {"title": "{{ $trigger.payload.title }}-2"}}),
            )
            .insert(&app)
            .await;
        event(1, "filter", "items.create")
            .option("return", json!("$last"))
            .op(
                "first",
                "transform",
                json!({"json": {"title": "{{ $trigger.payload.title }}-1"}}),
            )
            .insert(&app)
            .await;
        let reply = create_article(&app, json!({"title": "t"})).await;
        assert_eq!(
            reply.json(),
            json!({"data": {"id": 1, "title": "t-1-2", "views": 0}})
        );
    }
);

both!(
    update_and_delete_filters_get_keys_and_can_refuse,
    |app| async move {
        app.articles_table().await;
        create_article(&app, json!({"title": "a"})).await;
        create_article(&app, json!({"title": "b"})).await;
        event(1, "filter", "items.update")
            .accountability(json!("all"))
            .option("return", json!("$last"))
            .op(
                "upper",
                "transform",
                json!({"json": {"title": "{{ $trigger.payload.title }} (edited)"}}),
            )
            .insert(&app)
            .await;
        event(2, "filter", "items.delete")
            .accountability(json!("all"))
            .op(
                "keep",
                "throw-error",
                json!({"code": "FORBIDDEN", "status": 403, "message": "Articles are kept"}),
            )
            .insert(&app)
            .await;
        let reply = app
            .send(
                "PATCH",
                "/items/articles",
                Some(&json!({"keys": [1, 2], "data": {"title": "x"}}).to_string()),
                Some(ADMIN_TOKEN),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(
            titles(&app).await,
            json!([{"title": "x (edited)", "views": 0}, {"title": "x (edited)", "views": 0}])
        );
        assert_eq!(
            logged_triggers(&app, 1).await,
            [
                json!({"payload": {"title": "x"}, "event": "articles.items.update", "keys": [1, 2], "collection": "articles"})
            ]
        );
        let reply = app
            .send("DELETE", "/items/articles/1", None, Some(ADMIN_TOKEN))
            .await;
        assert_eq!(reply.status, 403, "{}", reply.text);
        assert_eq!(
            reply.json(),
            json!({"errors": [{"message": "Articles are kept", "extensions": {"code": "FORBIDDEN"}}]})
        );
        assert_eq!(app.count("articles").await, 2);
    }
);

both!(
    a_filter_flow_reads_items_inside_the_write,
    |app| async move {
        app.articles_table().await;
        create_article(&app, json!({"title": "taken"})).await;
        // Refuses a title that exists already: the read runs in the write's transaction
        // (on SQLite the only connection is the write's).
        event(1, "filter", "items.create")
            .op(
                "same",
                "item-read",
                json!({"collection": "articles", "query": {"filter": {"title": {"_eq": "{{ $trigger.payload.title }}"}}, "aggregate": {"count": "*"}}}),
            )
            .then(
                "count",
                "transform",
                json!({"json": {"n": "{{ same[0].count }}"}}),
            )
            .then(
                "unique",
                "condition",
                json!({"filter": {"count": {"n": {"_eq": 0}}}}),
            )
            .insert(&app)
            .await;
        let reply = tokio::time::timeout(
            Duration::from_secs(20),
            create_article(&app, json!({"title": "taken"})),
        )
        .await
        .expect("the write finishes");
        assert_eq!(reply.status, 400, "{}", reply.text);
        assert_eq!(app.count("articles").await, 1);
        let reply = create_article(&app, json!({"title": "fresh"})).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(app.count("articles").await, 2);
    }
);

both!(
    action_flows_run_after_the_commit_with_the_meta,
    |app| async move {
        app.articles_table().await;
        event(1, "action", "items.create")
            .accountability(json!("all"))
            .op("wait", "sleep", json!({"milliseconds": 300}))
            .insert(&app)
            .await;
        let reply = create_article(&app, json!({"title": "later"})).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        // The response did not wait for the action run.
        assert_eq!(logged_triggers(&app, 1).await, Vec::<Value>::new());
        assert_eq!(
            wait_for_runs(&app, 1, 1).await,
            [
                json!({"event": "articles.items.create", "payload": {"title": "later", "id": 1}, "key": 1, "collection": "articles"})
            ]
        );
    }
);

both!(
    writes_without_listeners_and_refused_writes_start_no_action,
    |app| async move {
        app.articles_table().await;
        event(1, "action", "items.create")
            .accountability(json!("all"))
            .op("note", "log", json!({"message": "created"}))
            .insert(&app)
            .await;
        let reply = create_article(&app, json!({"views": 1})).await;
        assert_eq!(reply.status, 400, "{}", reply.text);
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(logged_triggers(&app, 1).await, Vec::<Value>::new());
    }
);

/// A filter flow whose item operation writes to the collection it filters would filter
/// itself forever; the depth guard refuses the innermost write, and the refusal travels
/// back out, so the request fails as a whole and nothing is written.
async fn a_filter_flow_writing_to_its_own_collection_stops_at_the_depth_guard(app: e2e::TestApp) {
    app.articles_table().await;
    event(1, "filter", "items.create")
        .op(
            "echo",
            "item-create",
            json!({"collection": "articles", "payload": {"title": "echo"}, "emitEvents": true}),
        )
        .insert(&app)
        .await;
    let reply = tokio::time::timeout(
        Duration::from_secs(30),
        create_article(&app, json!({"title": "first"})),
    )
    .await
    .expect("the write finishes");
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert_eq!(
        reply.json(),
        json!({"errors": [{
            "message": "Flows triggered flows 3 levels deep; flowline stops here so that a flow writing to the collection it listens to cannot run forever.",
            "extensions": {"code": "FLOW_DEPTH_EXCEEDED"},
        }]})
    );
    assert_eq!(app.count("articles").await, 0);
}

fn shallow() -> engine::EngineConfig {
    engine::EngineConfig {
        max_depth: 3,
        ..e2e::test_engine()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filter_recursion_stops_at_the_depth_guard_sqlite() {
    a_filter_flow_writing_to_its_own_collection_stops_at_the_depth_guard(
        e2e::TestApp::sqlite_with(shallow()).await,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filter_recursion_stops_at_the_depth_guard_postgres() {
    a_filter_flow_writing_to_its_own_collection_stops_at_the_depth_guard(
        e2e::TestApp::postgres_with(shallow()).await,
    )
    .await;
}
