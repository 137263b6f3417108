//! The item operations (`item-create`, `item-read`, `item-update`, `item-delete`) and
//! `notification` run end to end from webhook flows: what they return, what they reject
//! with, the rows they leave (read back over REST as the admin), their `permissions` option,
//! `emitEvents`, and the depth guard that stops a flow writing to the collection it listens
//! to (operations-catalog.md §0, §3-6, §10, §16; flows-and-operations.md §3.2).

use std::time::{Duration, Instant};

use crate::flows_support::*;
use e2e::{ADMIN_TOKEN, TestApp, both};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------
// helpers

/// A POST webhook flow `n` running one operation (key `op`), answering `{"ok": <result>}`
/// when it resolves and `{"rejected": <chain value>}` when it rejects, so that every answer
/// says which branch ran.
async fn probe(app: &TestApp, n: u32, kind: &str, options: Value) -> Flow {
    FlowBuilder::webhook(n)
        .method("POST")
        .op("op", kind, options)
        .op("ok", "transform", json!({"json": {"ok": "{{ op }}"}}))
        .op(
            "failed",
            "transform",
            json!({"json": {"rejected": "{{ op }}"}}),
        )
        .resolve("op", "ok")
        .reject("op", "failed")
        .insert(app)
        .await
}

/// Triggers a flow with a JSON body; the answer must be 200 with a JSON body.
async fn call(app: &TestApp, flow: &Flow, token: Option<&str>, body: Value) -> Value {
    let reply = app
        .send("POST", &flow.url(), Some(&body.to_string()), token)
        .await;
    assert_eq!(reply.status, 200, "{}: {}", flow.id, reply.text);
    reply.json()
}

/// Triggers a flow as the admin with an empty JSON body.
async fn run(app: &TestApp, flow: &Flow) -> Value {
    call(app, flow, Some(ADMIN_TOKEN), json!({})).await
}

/// Triggers a flow anonymously with an empty JSON body.
async fn run_anon(app: &TestApp, flow: &Flow) -> Value {
    call(app, flow, None, json!({})).await
}

/// The chain value of a `FORBIDDEN` rejection.
fn forbidden_value() -> Value {
    json!({"name": "DirectusError", "code": "FORBIDDEN", "status": 403})
}

/// The chain value of an `INVALID_PAYLOAD` rejection.
fn invalid_payload(reason: &str) -> Value {
    json!({"name": "DirectusError", "extensions": {"reason": reason}, "code": "INVALID_PAYLOAD", "status": 400})
}

/// Creates `articles` with Alpha (views 10), Beta (3) and Gamma (7), ids 1-3.
async fn seed(app: &TestApp) {
    app.articles_table().await;
    let reply = post_admin(
        app,
        "/items/articles?fields=id",
        json!([
            {"title": "Alpha", "views": 10},
            {"title": "Beta", "views": 3},
            {"title": "Gamma", "views": 7},
        ]),
    )
    .await;
    assert_json(
        &reply,
        200,
        json!({"data": [{"id": 1}, {"id": 2}, {"id": 3}]}),
    );
}

/// `{"data": ...}` of an admin GET that must succeed.
async fn admin_get(app: &TestApp, path: &str) -> Value {
    let reply = app.send("GET", path, None, Some(ADMIN_TOKEN)).await;
    assert_eq!(reply.status, 200, "GET {path}: {}", reply.text);
    reply.json()["data"].clone()
}

/// Every article as `{id, title, views}`, by id.
async fn rows(app: &TestApp) -> Value {
    admin_get(
        app,
        "/items/articles?fields=id,title,views&sort=id&limit=-1",
    )
    .await
}

fn seeded() -> Value {
    json!([
        {"id": 1, "title": "Alpha", "views": 10},
        {"id": 2, "title": "Beta", "views": 3},
        {"id": 3, "title": "Gamma", "views": 7},
    ])
}

/// Adds a `directus_permissions` row: `role` (None for the public) may do `action` on
/// `collection`, on the rows `filter` selects (null for all), every field.
async fn grant(app: &TestApp, role: Option<&str>, collection: &str, action: &str, filter: Value) {
    let reply = post_admin(
        app,
        "/permissions",
        json!({"role": role, "collection": collection, "action": action, "permissions": filter, "fields": ["*"]}),
    )
    .await;
    assert_eq!(reply.status, 200, "grant {action}: {}", reply.text);
}

/// Grants all four actions on `articles`.
async fn grant_all(app: &TestApp, role: Option<&str>) {
    for action in ["create", "read", "update", "delete"] {
        grant(app, role, "articles", action, Value::Null).await;
    }
}

/// The four item operations on `articles` with this `permissions` option, as probe flows
/// `base + 1..=base + 4`: create `{"title": "Delta"}`, read key 1, update key 2 to 50
/// views, delete key 3.
async fn item_probes(app: &TestApp, base: u32, permissions: Value) -> Vec<Flow> {
    let with = |mut options: Value| {
        options["collection"] = json!("articles");
        options["permissions"] = permissions.clone();
        options
    };
    vec![
        probe(
            app,
            base + 1,
            "item-create",
            with(json!({"payload": {"title": "Delta"}})),
        )
        .await,
        probe(
            app,
            base + 2,
            "item-read",
            with(json!({"key": 1, "query": {"fields": ["id", "title"]}})),
        )
        .await,
        probe(
            app,
            base + 3,
            "item-update",
            with(json!({"key": 2, "payload": {"views": 50}})),
        )
        .await,
        probe(app, base + 4, "item-delete", with(json!({"key": 3}))).await,
    ]
}

/// Runs the four probes in order with this token; answers their bodies.
async fn run_probes(app: &TestApp, flows: &[Flow], token: Option<&str>) -> Vec<Value> {
    let mut out = Vec::new();
    for flow in flows {
        out.push(call(app, flow, token, json!({})).await);
    }
    out
}

/// What the four probes answer when every one is allowed.
fn probes_allowed() -> Vec<Value> {
    vec![
        json!({"ok": [4]}),
        json!({"ok": {"id": 1, "title": "Alpha"}}),
        json!({"ok": 2}),
        json!({"ok": 3}),
    ]
}

/// The rows after the four probes succeeded.
fn rows_after_probes() -> Value {
    json!([
        {"id": 1, "title": "Alpha", "views": 10},
        {"id": 2, "title": "Beta", "views": 50},
        {"id": 4, "title": "Delta", "views": 0},
    ])
}

fn probes_forbidden() -> Vec<Value> {
    vec![json!({"rejected": forbidden_value()}); 4]
}

/// An `event` action flow listening to `articles` for these scopes, logging its runs.
async fn listener(app: &TestApp, n: u32, scope: Value) -> Flow {
    FlowBuilder::new(n, "event")
        .accountability(json!("all"))
        .option("type", json!("action"))
        .option("scope", scope)
        .option("collections", json!(["articles"]))
        .op("l", "log", json!({"message": "{{ $trigger.event }}"}))
        .insert(app)
        .await
}

/// The `$trigger` of a logged run.
async fn run_trigger(app: &TestApp, activity: i64) -> Value {
    let revisions = revisions_of(app, activity).await;
    assert_eq!(revisions.len(), 1, "{revisions:?}");
    revisions[0]["data"]["data"]["$trigger"].clone()
}

/// A notification row read back as the admin, after checking and removing its timestamp.
async fn notification(app: &TestApp, id: i64) -> Value {
    let mut row = admin_get(app, &format!("/notifications/{id}")).await;
    let stamp = row
        .as_object_mut()
        .expect("notification object")
        .remove("timestamp")
        .expect("timestamp");
    assert!(
        stamp.as_str().is_some_and(|s| s.len() >= 19),
        "timestamp {stamp}"
    );
    row
}

// ---------------------------------------------------------------------------------------
// item-create

both!(
    item_create_a_single_object_returns_its_key_in_an_array,
    |app| async move {
        seed(&app).await;
        let flow = probe(
            &app,
            1,
            "item-create",
            json!({"collection": "articles", "payload": {"title": "Delta", "views": 4}}),
        )
        .await;
        assert_eq!(run(&app, &flow).await, json!({"ok": [4]}));
        assert_eq!(
            admin_get(&app, "/items/articles/4?fields=id,title,views").await,
            json!({"id": 4, "title": "Delta", "views": 4})
        );
        assert_eq!(app.count("articles").await, 4);
    }
);

both!(
    item_create_an_array_returns_every_key_in_order,
    |app| async move {
        seed(&app).await;
        let flow = probe(
            &app,
            1,
            "item-create",
            json!({"collection": "articles", "payload": [
                {"title": "Delta", "views": 1},
                {"title": "Epsilon"},
                {"title": "Zeta", "views": 3},
            ]}),
        )
        .await;
        assert_eq!(run(&app, &flow).await, json!({"ok": [4, 5, 6]}));
        assert_eq!(
            rows(&app).await,
            json!([
                {"id": 1, "title": "Alpha", "views": 10},
                {"id": 2, "title": "Beta", "views": 3},
                {"id": 3, "title": "Gamma", "views": 7},
                {"id": 4, "title": "Delta", "views": 1},
                {"id": 5, "title": "Epsilon", "views": 0},
                {"id": 6, "title": "Zeta", "views": 3},
            ])
        );
        // An empty array is truthy: createMany([]) creates nothing and answers [].
        let empty = probe(
            &app,
            2,
            "item-create",
            json!({"collection": "articles", "payload": []}),
        )
        .await;
        assert_eq!(run(&app, &empty).await, json!({"ok": []}));
        assert_eq!(app.count("articles").await, 6);
    }
);

both!(item_create_a_json_string_payload, |app| async move {
    app.articles_table().await;
    let one = probe(
        &app,
        1,
        "item-create",
        json!({"collection": "articles", "payload": "{\"title\": \"From text\", \"views\": 2}"}),
    )
    .await;
    assert_eq!(run(&app, &one).await, json!({"ok": [1]}));
    let many = probe(
        &app,
        2,
        "item-create",
        json!({"collection": "articles", "payload": "[{\"title\": \"T2\"}, {\"title\": \"T3\"}]"}),
    )
    .await;
    assert_eq!(run(&app, &many).await, json!({"ok": [2, 3]}));
    assert_eq!(
        rows(&app).await,
        json!([
            {"id": 1, "title": "From text", "views": 2},
            {"id": 2, "title": "T2", "views": 0},
            {"id": 3, "title": "T3", "views": 0},
        ])
    );
    // Text that is not JSON: optionToObject throws a SyntaxError, a plain Error ({}).
    let bad = probe(
        &app,
        3,
        "item-create",
        json!({"collection": "articles", "payload": "{\"title\": "}),
    )
    .await;
    assert_eq!(run(&app, &bad).await, json!({"rejected": {}}));
    assert_eq!(app.count("articles").await, 3);
});

both!(
    item_create_without_a_payload_returns_null,
    |app| async move {
        seed(&app).await;
        let cases = [
            json!({"collection": "articles"}),
            json!({"collection": "articles", "payload": null}),
            json!({"collection": "articles", "payload": "null"}),
            json!({"collection": "articles", "payload": false}),
            json!({"collection": "articles", "payload": 0}),
        ];
        for (i, options) in cases.into_iter().enumerate() {
            let flow = probe(&app, i as u32 + 1, "item-create", options.clone()).await;
            assert_eq!(run(&app, &flow).await, json!({"ok": null}), "{options}");
        }
        assert_eq!(rows(&app).await, seeded());
    }
);

both!(
    item_create_payload_templated_from_the_trigger,
    |app| async move {
        seed(&app).await;
        let flow = probe(
            &app,
            1,
            "item-create",
            json!({"collection": "articles", "payload": {
                "title": "{{ $trigger.body.title }}",
                "body": "by {{ $trigger.body.author }}",
                "views": "{{ $trigger.body.views }}",
                "meta": "{{ $trigger.body.meta }}",
            }}),
        )
        .await;
        let body = json!({"title": "Templated", "author": "Ada", "views": 12, "meta": {"tags": ["a", "b"]}});
        assert_eq!(
            call(&app, &flow, Some(ADMIN_TOKEN), body).await,
            json!({"ok": [4]})
        );
        assert_eq!(
            admin_get(&app, "/items/articles/4?fields=id,title,body,views,meta").await,
            json!({"id": 4, "title": "Templated", "body": "by Ada", "views": 12, "meta": {"tags": ["a", "b"]}})
        );
        // A JSON-string payload with embedded placeholders: the body's list becomes items.
        let list = probe(
            &app,
            2,
            "item-create",
            json!({"collection": "articles", "payload": "{{ $trigger.body.items }}"}),
        )
        .await;
        let body = json!({"items": [{"title": "L1", "views": 1}, {"title": "L2", "views": 2}]});
        assert_eq!(
            call(&app, &list, Some(ADMIN_TOKEN), body).await,
            json!({"ok": [5, 6]})
        );
        assert_eq!(
            admin_get(
                &app,
                "/items/articles?fields=id,title,views&filter[id][_gte]=5&sort=id"
            )
            .await,
            json!([{"id": 5, "title": "L1", "views": 1}, {"id": 6, "title": "L2", "views": 2}])
        );
    }
);

// ---------------------------------------------------------------------------------------
// item-read

both!(item_read_without_a_key_reads_by_query, |app| async move {
    seed(&app).await;
    let all = probe(
        &app,
        1,
        "item-read",
        json!({"collection": "articles", "query": {"fields": ["id", "title"], "sort": ["id"]}}),
    )
    .await;
    assert_eq!(
        run(&app, &all).await,
        json!({"ok": [
            {"id": 1, "title": "Alpha"},
            {"id": 2, "title": "Beta"},
            {"id": 3, "title": "Gamma"},
        ]})
    );
    let shaped = probe(
        &app,
        2,
        "item-read",
        json!({"collection": "articles", "key": [], "query": {
            "filter": {"views": {"_gt": 5}},
            "sort": ["-views"],
            "fields": ["title", "views"],
            "limit": 1,
        }}),
    )
    .await;
    assert_eq!(
        run(&app, &shaped).await,
        json!({"ok": [{"title": "Alpha", "views": 10}]})
    );
    // `query` as JSON text, templated from the trigger; an empty key string means none.
    let text = probe(
            &app,
            3,
            "item-read",
            json!({"collection": "articles", "key": "", "query": "{\"filter\": {\"title\": {\"_eq\": \"{{ $trigger.body.title }}\"}}, \"fields\": [\"id\", \"views\"]}"}),
        )
        .await;
    assert_eq!(
        call(&app, &text, Some(ADMIN_TOKEN), json!({"title": "Gamma"})).await,
        json!({"ok": [{"id": 3, "views": 7}]})
    );
    let none = probe(
        &app,
        4,
        "item-read",
        json!({"collection": "articles", "query": {"filter": {"views": {"_gt": 100}}}}),
    )
    .await;
    assert_eq!(run(&app, &none).await, json!({"ok": []}));
});

both!(
    item_read_is_capped_at_100_without_a_limit,
    |app| async move {
        app.articles_table().await;
        let payload: Vec<Value> = (1..=105)
            .map(|i| json!({"title": format!("A{i}")}))
            .collect();
        let reply = post_admin(&app, "/items/articles?fields=id", Value::Array(payload)).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let capped = probe(
            &app,
            1,
            "item-read",
            json!({"collection": "articles", "query": {"fields": ["id"], "sort": ["id"]}}),
        )
        .await;
        let want: Vec<Value> = (1..=100).map(|i| json!({"id": i})).collect();
        assert_eq!(run(&app, &capped).await, json!({"ok": want}));
        let unlimited = probe(
            &app,
            2,
            "item-read",
            json!({"collection": "articles", "query": {"fields": ["id"], "sort": ["id"], "limit": -1}}),
        )
        .await;
        let want: Vec<Value> = (1..=105).map(|i| json!({"id": i})).collect();
        assert_eq!(run(&app, &unlimited).await, json!({"ok": want}));
        // Without any query either.
        let bare = probe(&app, 3, "item-read", json!({"collection": "articles"})).await;
        let answer = run(&app, &bare).await;
        assert_eq!(answer["ok"].as_array().map(Vec::len), Some(100), "{answer}");
    }
);

both!(item_read_one_key_returns_an_object, |app| async move {
    seed(&app).await;
    for (n, key) in [
        (1, json!(2)),
        (2, json!("2")),
        (3, json!([2])),
        (4, json!(["2"])),
    ] {
        let flow = probe(
            &app,
            n,
            "item-read",
            json!({"collection": "articles", "key": key, "query": {"fields": ["id", "title", "views"]}}),
        )
        .await;
        assert_eq!(
            run(&app, &flow).await,
            json!({"ok": {"id": 2, "title": "Beta", "views": 3}}),
            "key {key}"
        );
    }
    // A templated key.
    let flow = probe(
        &app,
        5,
        "item-read",
        json!({"collection": "articles", "key": "{{ $trigger.body.id }}", "query": {"fields": ["title"]}}),
    )
    .await;
    assert_eq!(
        call(&app, &flow, Some(ADMIN_TOKEN), json!({"id": 3})).await,
        json!({"ok": {"title": "Gamma"}})
    );
});

both!(
    item_read_several_keys_keep_key_order_and_skip_missing_ones,
    |app| async move {
        seed(&app).await;
        let want = json!({"ok": [{"id": 3, "title": "Gamma"}, {"id": 1, "title": "Alpha"}]});
        for (n, key) in [
            (1, json!([3, 99, 1])),
            (2, json!("3,99,1")),
            (3, json!(["3", "1"])),
        ] {
            let flow = probe(
                &app,
                n,
                "item-read",
                json!({"collection": "articles", "key": key, "query": {"fields": ["id", "title"]}}),
            )
            .await;
            assert_eq!(run(&app, &flow).await, want, "key {key}");
        }
        // Only missing keys: an empty array, no rejection.
        let flow = probe(
            &app,
            4,
            "item-read",
            json!({"collection": "articles", "key": "98,99"}),
        )
        .await;
        assert_eq!(run(&app, &flow).await, json!({"ok": []}));
    }
);

both!(
    item_read_of_a_missing_single_key_rejects_forbidden,
    |app| async move {
        seed(&app).await;
        for (n, key) in [(1, json!(99)), (2, json!("99")), (3, json!([99]))] {
            let flow = probe(
                &app,
                n,
                "item-read",
                json!({"collection": "articles", "key": key}),
            )
            .await;
            assert_eq!(
                run(&app, &flow).await,
                json!({"rejected": forbidden_value()}),
                "key {key}"
            );
        }
        // Without a reject branch the webhook answers the rejection as `$last`, and with
        // `$all` the chain holds it under the operation's key.
        let all = FlowBuilder::webhook(4)
            .method("POST")
            .option("return", json!("$all"))
            .op(
                "read",
                "item-read",
                json!({"collection": "articles", "key": 99}),
            )
            .insert(&app)
            .await;
        let chain = run(&app, &all).await;
        assert_eq!(
            (chain["read"].clone(), chain["$last"].clone()),
            (forbidden_value(), forbidden_value())
        );
    }
);

both!(
    item_read_with_a_bad_query_or_collection_rejects,
    |app| async move {
        seed(&app).await;
        // Invalid JSON text: optionToObject's SyntaxError, a plain Error.
        let text = probe(
            &app,
            1,
            "item-read",
            json!({"collection": "articles", "query": "{\"limit\": "}),
        )
        .await;
        assert_eq!(run(&app, &text).await, json!({"rejected": {}}));
        // An unknown field is FORBIDDEN, as over REST.
        let field = probe(
            &app,
            2,
            "item-read",
            json!({"collection": "articles", "query": {"fields": ["nope"]}}),
        )
        .await;
        assert_eq!(
            run(&app, &field).await,
            json!({"rejected": forbidden_value()})
        );
        // So is an unknown collection, for every item operation and even with `$full`.
        for (n, kind, options) in [
            (3, "item-read", json!({"key": 1})),
            (4, "item-create", json!({"payload": {"title": "x"}})),
            (
                5,
                "item-update",
                json!({"key": 1, "payload": {"title": "x"}}),
            ),
            (6, "item-delete", json!({"key": 1})),
        ] {
            let mut options = options;
            options["collection"] = json!("nope");
            options["permissions"] = json!("$full");
            let flow = probe(&app, n, kind, options).await;
            assert_eq!(
                run(&app, &flow).await,
                json!({"rejected": forbidden_value()}),
                "{kind}"
            );
        }
        assert_eq!(rows(&app).await, seeded());
    }
);

// ---------------------------------------------------------------------------------------
// item-update

both!(item_update_by_keys, |app| async move {
    seed(&app).await;
    let flow = |n: u32, key: Value, views: i64| {
        let app = &app;
        async move {
            probe(
                app,
                n,
                "item-update",
                json!({"collection": "articles", "key": key, "payload": {"views": views}}),
            )
            .await
        }
    };
    // One key comes back as given: a number, a string, or the one element of an array.
    assert_eq!(
        run(&app, &flow(1, json!(2), 20).await).await,
        json!({"ok": 2})
    );
    assert_eq!(
        rows(&app).await[1],
        json!({"id": 2, "title": "Beta", "views": 20})
    );
    assert_eq!(
        run(&app, &flow(2, json!("2"), 21).await).await,
        json!({"ok": "2"})
    );
    assert_eq!(
        run(&app, &flow(3, json!([1]), 11).await).await,
        json!({"ok": 1})
    );
    // Several keys: the array as given (a comma string is split into strings).
    assert_eq!(
        run(&app, &flow(4, json!([3, 1]), 30).await).await,
        json!({"ok": [3, 1]})
    );
    assert_eq!(
        run(&app, &flow(5, json!("1,2"), 40).await).await,
        json!({"ok": ["1", "2"]})
    );
    assert_eq!(
        rows(&app).await,
        json!([
            {"id": 1, "title": "Alpha", "views": 40},
            {"id": 2, "title": "Beta", "views": 40},
            {"id": 3, "title": "Gamma", "views": 30},
        ])
    );
    // The payload as JSON text, templated.
    let text = probe(
        &app,
        6,
        "item-update",
        json!({"collection": "articles", "key": "{{ $trigger.body.id }}", "payload": "{\"title\": \"{{ $trigger.body.title }}\"}"}),
    )
    .await;
    assert_eq!(
        call(
            &app,
            &text,
            Some(ADMIN_TOKEN),
            json!({"id": 3, "title": "Renamed"})
        )
        .await,
        json!({"ok": 3})
    );
    assert_eq!(
        rows(&app).await[2],
        json!({"id": 3, "title": "Renamed", "views": 30})
    );
});

both!(
    item_update_by_query_returns_the_updated_keys,
    |app| async move {
        seed(&app).await;
        let flow = probe(
            &app,
            1,
            "item-update",
            json!({"collection": "articles", "query": {"filter": {"views": {"_gte": 5}}, "sort": ["id"]}, "payload": {"views": 0}}),
        )
        .await;
        assert_eq!(run(&app, &flow).await, json!({"ok": [1, 3]}));
        assert_eq!(
            rows(&app).await,
            json!([
                {"id": 1, "title": "Alpha", "views": 0},
                {"id": 2, "title": "Beta", "views": 3},
                {"id": 3, "title": "Gamma", "views": 0},
            ])
        );
        let none = probe(
            &app,
            2,
            "item-update",
            json!({"collection": "articles", "query": {"filter": {"title": {"_eq": "Nope"}}}, "payload": {"views": 9}}),
        )
        .await;
        assert_eq!(run(&app, &none).await, json!({"ok": []}));
        // `limit` in the query bounds the rows touched; a query as JSON text.
        let limited = probe(
            &app,
            3,
            "item-update",
            json!({"collection": "articles", "query": "{\"sort\": [\"-id\"], \"limit\": 1}", "payload": {"title": "Last"}}),
        )
        .await;
        assert_eq!(run(&app, &limited).await, json!({"ok": [3]}));
        assert_eq!(
            rows(&app).await,
            json!([
                {"id": 1, "title": "Alpha", "views": 0},
                {"id": 2, "title": "Beta", "views": 3},
                {"id": 3, "title": "Last", "views": 0},
            ])
        );
    }
);

both!(
    item_update_batch_returns_the_keys_in_order,
    |app| async move {
        seed(&app).await;
        let flow = probe(
            &app,
            1,
            "item-update",
            json!({"collection": "articles", "payload": [
                {"id": 3, "views": 33},
                {"id": 1, "title": "First"},
            ]}),
        )
        .await;
        assert_eq!(run(&app, &flow).await, json!({"ok": [3, 1]}));
        assert_eq!(
            rows(&app).await,
            json!([
                {"id": 1, "title": "First", "views": 10},
                {"id": 2, "title": "Beta", "views": 3},
                {"id": 3, "title": "Gamma", "views": 33},
            ])
        );
        // An item without its primary key fails the whole batch.
        let missing = probe(
            &app,
            2,
            "item-update",
            json!({"collection": "articles", "payload": [{"id": 2, "views": 1}, {"views": 2}]}),
        )
        .await;
        assert_eq!(
            run(&app, &missing).await,
            json!({"rejected": invalid_payload("Item in update misses primary key")})
        );
        assert_eq!(
            rows(&app).await[1],
            json!({"id": 2, "title": "Beta", "views": 3})
        );
    }
);

both!(
    item_update_refuses_key_with_query_and_batch_with_a_target,
    |app| async move {
        seed(&app).await;
        let both_targets = probe(
            &app,
            1,
            "item-update",
            json!({"collection": "articles", "key": 1, "query": {"filter": {"id": {"_eq": 2}}}, "payload": {"views": 1}}),
        )
        .await;
        assert_eq!(
            run(&app, &both_targets).await,
            json!({"rejected": invalid_payload("Cannot use both \"key\" and \"query\"")})
        );
        let batch = "Cannot use \"key\" or \"query\" with a batch payload";
        let batch_key = probe(
            &app,
            2,
            "item-update",
            json!({"collection": "articles", "key": 1, "payload": [{"id": 1, "views": 1}]}),
        )
        .await;
        assert_eq!(
            run(&app, &batch_key).await,
            json!({"rejected": invalid_payload(batch)})
        );
        let batch_query = probe(
            &app,
            3,
            "item-update",
            json!({"collection": "articles", "query": {"limit": 1}, "payload": [{"id": 1, "views": 1}]}),
        )
        .await;
        assert_eq!(
            run(&app, &batch_query).await,
            json!({"rejected": invalid_payload(batch)})
        );
        assert_eq!(rows(&app).await, seeded());
    }
);

both!(
    item_update_without_payload_or_target_returns_null,
    |app| async move {
        seed(&app).await;
        let cases = [
            json!({"collection": "articles", "key": 1}),
            json!({"collection": "articles", "key": 1, "payload": null}),
            json!({"collection": "articles", "key": 1, "payload": {}}),
            json!({"collection": "articles", "key": [1, 2], "payload": "{}"}),
            json!({"collection": "articles", "payload": []}),
            json!({"collection": "articles", "payload": {"views": 99}}),
            json!({"collection": "articles", "key": "", "payload": {"views": 99}}),
            json!({"collection": "articles", "key": null, "payload": {"views": 99}}),
        ];
        for (i, options) in cases.into_iter().enumerate() {
            let flow = probe(&app, i as u32 + 1, "item-update", options.clone()).await;
            assert_eq!(run(&app, &flow).await, json!({"ok": null}), "{options}");
        }
        assert_eq!(rows(&app).await, seeded());
    }
);

// ---------------------------------------------------------------------------------------
// item-delete

both!(item_delete_by_keys, |app| async move {
    seed(&app).await;
    let one = probe(
        &app,
        1,
        "item-delete",
        json!({"collection": "articles", "key": 2}),
    )
    .await;
    assert_eq!(run(&app, &one).await, json!({"ok": 2}));
    assert_eq!(
        rows(&app).await,
        json!([
            {"id": 1, "title": "Alpha", "views": 10},
            {"id": 3, "title": "Gamma", "views": 7},
        ])
    );
    let reply = app
        .send("GET", "/items/articles/2", None, Some(ADMIN_TOKEN))
        .await;
    assert_json(&reply, 403, forbidden());
    let many = probe(
        &app,
        2,
        "item-delete",
        json!({"collection": "articles", "key": "3,1"}),
    )
    .await;
    assert_eq!(run(&app, &many).await, json!({"ok": ["3", "1"]}));
    assert_eq!(rows(&app).await, json!([]));
    assert_eq!(app.count("articles").await, 0);
});

both!(item_delete_an_array_of_keys, |app| async move {
    seed(&app).await;
    let many = probe(
        &app,
        1,
        "item-delete",
        json!({"collection": "articles", "key": [3, 1]}),
    )
    .await;
    assert_eq!(run(&app, &many).await, json!({"ok": [3, 1]}));
    assert_eq!(
        rows(&app).await,
        json!([{"id": 2, "title": "Beta", "views": 3}])
    );
    let single = probe(
        &app,
        2,
        "item-delete",
        json!({"collection": "articles", "key": ["2"]}),
    )
    .await;
    assert_eq!(run(&app, &single).await, json!({"ok": "2"}));
    assert_eq!(app.count("articles").await, 0);
});

both!(
    item_delete_by_query_returns_the_deleted_keys,
    |app| async move {
        seed(&app).await;
        let flow = probe(
            &app,
            1,
            "item-delete",
            json!({"collection": "articles", "query": {"filter": {"views": {"_lt": 8}}, "sort": ["id"]}}),
        )
        .await;
        assert_eq!(run(&app, &flow).await, json!({"ok": [2, 3]}));
        assert_eq!(
            rows(&app).await,
            json!([{"id": 1, "title": "Alpha", "views": 10}])
        );
        let none = probe(
            &app,
            2,
            "item-delete",
            json!({"collection": "articles", "query": {"filter": {"views": {"_lt": 8}}}}),
        )
        .await;
        assert_eq!(run(&app, &none).await, json!({"ok": []}));
        assert_eq!(app.count("articles").await, 1);
    }
);

both!(
    item_delete_without_a_target_returns_null,
    |app| async move {
        seed(&app).await;
        let cases = [
            json!({"collection": "articles"}),
            json!({"collection": "articles", "key": null}),
            json!({"collection": "articles", "key": ""}),
            json!({"collection": "articles", "query": null}),
        ];
        for (i, options) in cases.into_iter().enumerate() {
            let flow = probe(&app, i as u32 + 1, "item-delete", options.clone()).await;
            assert_eq!(run(&app, &flow).await, json!({"ok": null}), "{options}");
        }
        assert_eq!(rows(&app).await, seeded());
    }
);

both!(item_delete_refuses_both_key_and_query, |app| async move {
    seed(&app).await;
    let flow = probe(
        &app,
        1,
        "item-delete",
        json!({"collection": "articles", "key": 1, "query": {"filter": {"id": {"_eq": 2}}}}),
    )
    .await;
    assert_eq!(
        run(&app, &flow).await,
        json!({"rejected": invalid_payload("Cannot use both \"key\" and \"query\"")})
    );
    assert_eq!(rows(&app).await, seeded());
});

both!(
    update_and_delete_by_query_are_capped_at_100_without_a_limit,
    |app| async move {
        app.articles_table().await;
        let payload: Vec<Value> = (1..=105)
            .map(|i| json!({"title": format!("A{i}")}))
            .collect();
        let reply = post_admin(&app, "/items/articles?fields=id", Value::Array(payload)).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let update = probe(
            &app,
            1,
            "item-update",
            json!({"collection": "articles", "query": {"sort": ["id"]}, "payload": {"views": 1}}),
        )
        .await;
        let want: Vec<Value> = (1..=100).map(|i| json!(i)).collect();
        assert_eq!(run(&app, &update).await, json!({"ok": want}));
        let touched = admin_get(
            &app,
            "/items/articles?fields=id&filter[views][_eq]=1&limit=-1&sort=id",
        )
        .await;
        let want: Vec<Value> = (1..=100).map(|i| json!({"id": i})).collect();
        assert_eq!(touched, json!(want));
        let delete = probe(
            &app,
            2,
            "item-delete",
            json!({"collection": "articles", "query": {"sort": ["-id"]}}),
        )
        .await;
        let want: Vec<Value> = (6..=105).rev().map(|i| json!(i)).collect();
        assert_eq!(run(&app, &delete).await, json!({"ok": want}));
        assert_eq!(
            admin_get(&app, "/items/articles?fields=id&sort=id").await,
            json!([{"id": 1}, {"id": 2}, {"id": 3}, {"id": 4}, {"id": 5}])
        );
    }
);

// ---------------------------------------------------------------------------------------
// the permissions option

both!(
    trigger_permissions_of_an_anonymous_caller_need_public_grants,
    |app| async move {
        seed(&app).await;
        for (base, permissions) in [(0, json!("$trigger")), (10, Value::Null), (20, json!(""))] {
            let flows = item_probes(&app, base, permissions.clone()).await;
            assert_eq!(
                run_probes(&app, &flows, None).await,
                probes_forbidden(),
                "permissions {permissions}"
            );
            assert_eq!(rows(&app).await, seeded());
        }
        // A public read grant allows reading, nothing else.
        grant(&app, None, "articles", "read", Value::Null).await;
        let flows = item_probes(&app, 30, json!("$trigger")).await;
        assert_eq!(
            run_probes(&app, &flows, None).await,
            vec![
                json!({"rejected": forbidden_value()}),
                json!({"ok": {"id": 1, "title": "Alpha"}}),
                json!({"rejected": forbidden_value()}),
                json!({"rejected": forbidden_value()}),
            ]
        );
        assert_eq!(rows(&app).await, seeded());
        // With every public grant all four succeed.
        for action in ["create", "update", "delete"] {
            grant(&app, None, "articles", action, Value::Null).await;
        }
        assert_eq!(run_probes(&app, &flows, None).await, probes_allowed());
        assert_eq!(rows(&app).await, rows_after_probes());
    }
);

both!(
    trigger_permissions_apply_the_public_row_filter,
    |app| async move {
        seed(&app).await;
        grant(&app, None, "articles", "read", json!({"views": {"_gt": 5}})).await;
        let one = |n: u32, key: Value| {
            let app = &app;
            async move {
                probe(
                    app,
                    n,
                    "item-read",
                    json!({"collection": "articles", "key": key, "query": {"fields": ["id", "title"]}}),
                )
                .await
            }
        };
        assert_eq!(
            run_anon(&app, &one(1, json!(1)).await).await,
            json!({"ok": {"id": 1, "title": "Alpha"}})
        );
        // Beta has 3 views: invisible to the public, so reading it alone is FORBIDDEN.
        assert_eq!(
            run_anon(&app, &one(2, json!(2)).await).await,
            json!({"rejected": forbidden_value()})
        );
        assert_eq!(
            run_anon(&app, &one(3, json!("1,2,3")).await).await,
            json!({"ok": [{"id": 1, "title": "Alpha"}, {"id": 3, "title": "Gamma"}]})
        );
        let all = probe(
            &app,
            4,
            "item-read",
            json!({"collection": "articles", "query": {"fields": ["id"], "sort": ["id"]}}),
        )
        .await;
        assert_eq!(
            run_anon(&app, &all).await,
            json!({"ok": [{"id": 1}, {"id": 3}]})
        );
    }
);

both!(
    admin_callers_with_trigger_permissions_may_do_everything,
    |app| async move {
        seed(&app).await;
        let flows = item_probes(&app, 0, json!("$trigger")).await;
        assert_eq!(
            run_probes(&app, &flows, Some(ADMIN_TOKEN)).await,
            probes_allowed()
        );
        assert_eq!(rows(&app).await, rows_after_probes());
    }
);

both!(public_permissions_ignore_the_caller, |app| async move {
    seed(&app).await;
    let flows = item_probes(&app, 0, json!("$public")).await;
    // Even the admin's call acts as the public, which has no grants yet.
    assert_eq!(
        run_probes(&app, &flows, Some(ADMIN_TOKEN)).await,
        probes_forbidden()
    );
    assert_eq!(rows(&app).await, seeded());
    grant_all(&app, None).await;
    assert_eq!(
        run_probes(&app, &flows, Some(ADMIN_TOKEN)).await,
        probes_allowed()
    );
    assert_eq!(rows(&app).await, rows_after_probes());
});

both!(
    full_permissions_work_for_anonymous_callers,
    |app| async move {
        seed(&app).await;
        let flows = item_probes(&app, 0, json!("$full")).await;
        assert_eq!(run_probes(&app, &flows, None).await, probes_allowed());
        assert_eq!(rows(&app).await, rows_after_probes());
    }
);

both!(role_permissions_use_that_roles_grants, |app| async move {
    seed(&app).await;
    let editor = app.create_role("Editor", false).await;
    let nobody = app.create_role("Nobody", false).await;
    grant_all(&app, Some(&editor)).await;
    // A role without grants: everything is FORBIDDEN, whoever calls.
    let flows = item_probes(&app, 0, json!(nobody)).await;
    assert_eq!(
        run_probes(&app, &flows, Some(ADMIN_TOKEN)).await,
        probes_forbidden()
    );
    assert_eq!(rows(&app).await, seeded());
    // The editor role's grants apply even to an anonymous call.
    let flows = item_probes(&app, 10, json!(editor)).await;
    assert_eq!(run_probes(&app, &flows, None).await, probes_allowed());
    assert_eq!(rows(&app).await, rows_after_probes());
});

both!(an_admin_role_id_grants_full_access, |app| async move {
    seed(&app).await;
    let admins = app.create_role("Admins", true).await;
    let flows = item_probes(&app, 0, json!(admins)).await;
    assert_eq!(run_probes(&app, &flows, None).await, probes_allowed());
    assert_eq!(rows(&app).await, rows_after_probes());
});

both!(
    an_unknown_role_rejects_with_a_plain_error,
    |app| async move {
        seed(&app).await;
        for (base, role) in [(0, "dead0000-0000-4000-8000-00000000beef"), (10, "editor")] {
            let flows = item_probes(&app, base, json!(role)).await;
            assert_eq!(
                run_probes(&app, &flows, Some(ADMIN_TOKEN)).await,
                vec![json!({"rejected": {}}); 4],
                "role {role}"
            );
        }
        assert_eq!(rows(&app).await, seeded());
    }
);

// ---------------------------------------------------------------------------------------
// emitEvents

/// The listener's id.
const LISTENER: u32 = 50;

both!(emit_events_true_starts_action_flows, |app| async move {
    seed(&app).await;
    let listen = listener(
        &app,
        LISTENER,
        json!(["items.create", "items.update", "items.delete"]),
    )
    .await;
    let create = probe(
        &app,
        1,
        "item-create",
        json!({"collection": "articles", "emitEvents": true, "payload": {"title": "Loud"}}),
    )
    .await;
    assert_eq!(run(&app, &create).await, json!({"ok": [4]}));
    let runs = wait_for_runs(&app, &listen.id, 1).await;
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(
        run_trigger(&app, runs[0].id).await,
        // Directus sets the new key on the payload for the action hooks.
        json!({"event": "articles.items.create", "payload": {"title": "Loud", "id": 4}, "key": 4, "collection": "articles"})
    );
    let update = probe(
        &app,
        2,
        "item-update",
        json!({"collection": "articles", "emitEvents": true, "key": 4, "payload": {"views": 5}}),
    )
    .await;
    assert_eq!(run(&app, &update).await, json!({"ok": 4}));
    let runs = wait_for_runs(&app, &listen.id, 2).await;
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_eq!(
        run_trigger(&app, runs[1].id).await,
        json!({"event": "articles.items.update", "payload": {"views": 5}, "keys": [4], "collection": "articles"})
    );
    let delete = probe(
        &app,
        3,
        "item-delete",
        json!({"collection": "articles", "emitEvents": true, "key": 4}),
    )
    .await;
    assert_eq!(run(&app, &delete).await, json!({"ok": 4}));
    let runs = wait_for_runs(&app, &listen.id, 3).await;
    assert_eq!(runs.len(), 3, "{runs:?}");
    assert_eq!(
        run_trigger(&app, runs[2].id).await,
        json!({"event": "articles.items.delete", "payload": [4], "keys": [4], "collection": "articles"})
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(run_activity(&app, &listen.id).await.len(), 3);
});

both!(
    emit_events_false_or_missing_starts_nothing,
    |app| async move {
        seed(&app).await;
        let listen = listener(
            &app,
            LISTENER,
            json!(["items.create", "items.update", "items.delete"]),
        )
        .await;
        let quiet = [
            json!({"collection": "articles", "payload": {"title": "Q1"}}),
            json!({"collection": "articles", "payload": {"title": "Q2"}, "emitEvents": false}),
            json!({"collection": "articles", "payload": {"title": "Q3"}, "emitEvents": null}),
            json!({"collection": "articles", "payload": {"title": "Q4"}, "emitEvents": ""}),
        ];
        let mut n = 0;
        for (i, options) in quiet.into_iter().enumerate() {
            n += 1;
            let flow = probe(&app, n, "item-create", options.clone()).await;
            assert_eq!(run(&app, &flow).await, json!({"ok": [i + 4]}), "{options}");
        }
        n += 1;
        let update = probe(
            &app,
            n,
            "item-update",
            json!({"collection": "articles", "key": 1, "payload": {"views": 1}}),
        )
        .await;
        assert_eq!(run(&app, &update).await, json!({"ok": 1}));
        n += 1;
        let delete = probe(
            &app,
            n,
            "item-delete",
            json!({"collection": "articles", "key": 2, "emitEvents": false}),
        )
        .await;
        assert_eq!(run(&app, &delete).await, json!({"ok": 2}));
        tokio::time::sleep(Duration::from_millis(1000)).await;
        assert_eq!(run_activity(&app, &listen.id).await, vec![]);
        assert_eq!(app.count("articles").await, 6);
        // The listener does run for a write that emits events (a REST write), so the
        // silence above came from the operations.
        let reply = post_admin(&app, "/items/articles?fields=id", json!({"title": "Rest"})).await;
        assert_json(&reply, 200, json!({"data": {"id": 8}}));
        let runs = wait_for_runs(&app, &listen.id, 1).await;
        assert_eq!(runs.len(), 1, "{runs:?}");
        assert_eq!(run_trigger(&app, runs[0].id).await["key"], json!(8));
    }
);

// ---------------------------------------------------------------------------------------
// notification

both!(
    notification_with_full_permissions_has_no_sender,
    |app| async move {
        let role = app.create_role("Readers", false).await;
        let reader = app
            .create_user_in("reader@example.com", "reader-token", &role)
            .await;
        let flow = probe(
            &app,
            1,
            "notification",
            json!({
                "recipient": "{{ $trigger.body.to }}",
                "subject": "Hello {{ $trigger.body.name }}",
                "message": "Article **{{ $trigger.body.id }}** is ready",
                "collection": "articles",
                "item": "{{ $trigger.body.id }}",
                "permissions": "$full",
            }),
        )
        .await;
        let body = json!({"to": reader, "name": "Ada", "id": 7});
        assert_eq!(call(&app, &flow, None, body).await, json!({"ok": [1]}));
        assert_eq!(
            notification(&app, 1).await,
            json!({
                "id": 1,
                "status": "inbox",
                "recipient": reader,
                "sender": null,
                "subject": "Hello Ada",
                "message": "Article **7** is ready",
                "collection": "articles",
                "item": "7",
            })
        );
        // Falsy message, collection and item are stored as null.
        let bare = probe(
            &app,
            2,
            "notification",
            json!({"recipient": reader, "subject": "Bare", "message": "", "permissions": "$full"}),
        )
        .await;
        assert_eq!(run(&app, &bare).await, json!({"ok": [2]}));
        assert_eq!(
            notification(&app, 2).await,
            json!({
                "id": 2, "status": "inbox", "recipient": reader, "sender": null,
                "subject": "Bare", "message": null, "collection": null, "item": null,
            })
        );
        assert_eq!(app.count("directus_notifications").await, 2);
    }
);

both!(notification_sender_is_the_calling_user, |app| async move {
    let role = app.create_role("Notifiers", false).await;
    grant(
        &app,
        Some(&role),
        "directus_notifications",
        "create",
        Value::Null,
    )
    .await;
    let sender = app
        .create_user_in("sender@example.com", "sender-token", &role)
        .await;
    let other = app.create_role("Others", false).await;
    let recipient = app
        .create_user_in("to@example.com", "to-token", &other)
        .await;
    let flow = probe(
        &app,
        1,
        "notification",
        json!({
            "recipient": recipient,
            "subject": "From {{ $accountability.user }}",
            "message": "hi",
            "permissions": "$trigger",
        }),
    )
    .await;
    assert_eq!(
        call(&app, &flow, Some("sender-token"), json!({})).await,
        json!({"ok": [1]})
    );
    assert_eq!(
        notification(&app, 1).await,
        json!({
            "id": 1, "status": "inbox", "recipient": recipient, "sender": sender,
            "subject": format!("From {sender}"), "message": "hi", "collection": null, "item": null,
        })
    );
    // The recipient's role has no create grant on notifications; neither has the public.
    assert_eq!(
        call(&app, &flow, Some("to-token"), json!({})).await,
        json!({"rejected": forbidden_value()})
    );
    assert_eq!(
        call(&app, &flow, None, json!({})).await,
        json!({"rejected": forbidden_value()})
    );
    assert_eq!(app.count("directus_notifications").await, 1);
    // `$full` ignores the caller: allowed anonymously, and the sender is null.
    let full = probe(
        &app,
        2,
        "notification",
        json!({"recipient": recipient, "subject": "Full", "permissions": "$full"}),
    )
    .await;
    assert_eq!(
        call(&app, &full, Some("sender-token"), json!({})).await,
        json!({"ok": [2]})
    );
    assert_eq!(notification(&app, 2).await["sender"], Value::Null);
    // The admin calling with `$trigger` is the sender.
    let (admin, _) = admin_ids(&app).await;
    assert_eq!(
        call(&app, &flow, Some(ADMIN_TOKEN), json!({})).await,
        json!({"ok": [3]})
    );
    assert_eq!(notification(&app, 3).await["sender"], json!(admin));
});

both!(notification_to_several_recipients, |app| async move {
    let role = app.create_role("Readers", false).await;
    let a = app.create_user_in("a@example.com", "a-token", &role).await;
    let b = app.create_user_in("b@example.com", "b-token", &role).await;
    let flow = probe(
        &app,
        1,
        "notification",
        json!({"recipient": "{{ $trigger.body.to }}", "subject": "All", "permissions": "$full"}),
    )
    .await;
    assert_eq!(
        call(&app, &flow, None, json!({"to": format!("{a},{b}")})).await,
        json!({"ok": [1, 2]})
    );
    assert_eq!(
        call(&app, &flow, None, json!({"to": [b, a]})).await,
        json!({"ok": [3, 4]})
    );
    let list = admin_get(
        &app,
        "/notifications?fields=id,recipient,subject,sender&sort=id",
    )
    .await;
    assert_eq!(
        list,
        json!([
            {"id": 1, "recipient": a, "subject": "All", "sender": null},
            {"id": 2, "recipient": b, "subject": "All", "sender": null},
            {"id": 3, "recipient": b, "subject": "All", "sender": null},
            {"id": 4, "recipient": a, "subject": "All", "sender": null},
        ])
    );
});

both!(notification_to_a_missing_user_rejects, |app| async move {
    let role = app.create_role("Readers", false).await;
    let a = app.create_user_in("a@example.com", "a-token", &role).await;
    let flow = probe(
        &app,
        1,
        "notification",
        json!({"recipient": "{{ $trigger.body.to }}", "subject": "Lost", "permissions": "$full"}),
    )
    .await;
    assert_eq!(
        call(&app, &flow, None, json!({"to": MISSING})).await,
        json!({"rejected": {
            "name": "DirectusError",
            "extensions": {"collection": "directus_notifications", "field": "recipient", "value": MISSING},
            "code": "INVALID_FOREIGN_KEY",
            "status": 400,
        }})
    );
    // One bad recipient among good ones: nothing is created.
    let answer = call(&app, &flow, None, json!({"to": format!("{a},{MISSING}")})).await;
    assert_eq!(
        answer["rejected"]["code"],
        json!("INVALID_FOREIGN_KEY"),
        "{answer}"
    );
    assert_eq!(app.count("directus_notifications").await, 0);
    // An unknown role as `permissions`: the plain Error.
    let role_flow = probe(
        &app,
        2,
        "notification",
        json!({"recipient": a, "subject": "x", "permissions": MISSING}),
    )
    .await;
    assert_eq!(run(&app, &role_flow).await, json!({"rejected": {}}));
    assert_eq!(app.count("directus_notifications").await, 0);
});

// ---------------------------------------------------------------------------------------
// a flow writing to the collection it listens to

/// An action flow on `articles` creates another article (emitting events) for every one
/// created; with `max_depth` 3 it must stop.
async fn self_feeding_flow_stops(app: TestApp) {
    app.articles_table().await;
    let flow = FlowBuilder::new(60, "event")
        .accountability(json!("all"))
        .option("type", json!("action"))
        .option("scope", json!(["items.create"]))
        .option("collections", json!(["articles"]))
        .op(
            "again",
            "item-create",
            json!({
                "collection": "articles",
                "payload": {"title": "child of {{ $trigger.key }}"},
                "emitEvents": true,
                "permissions": "$full",
            }),
        )
        .insert(&app)
        .await;
    let reply = post_admin(&app, "/items/articles?fields=id", json!({"title": "root"})).await;
    assert_json(&reply, 200, json!({"data": {"id": 1}}));
    // Wait until the count has not changed for a second (at most 10 seconds).
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last = app.count("articles").await;
    let mut stable_since = Instant::now();
    while Instant::now() < deadline && stable_since.elapsed() < Duration::from_secs(1) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = app.count("articles").await;
        if now != last {
            last = now;
            stable_since = Instant::now();
        }
    }
    // The REST write is depth 0. Its event starts the flow at depth 1, whose write starts
    // it at depth 2, then 3 (= max_depth); the write made at depth 3 would start depth 4,
    // which the guard refuses. So: the root plus one child per depth 1..=3, and 3 runs.
    assert_eq!(
        rows(&app).await,
        json!([
            {"id": 1, "title": "root", "views": 0},
            {"id": 2, "title": "child of 1", "views": 0},
            {"id": 3, "title": "child of 2", "views": 0},
            {"id": 4, "title": "child of 3", "views": 0},
        ])
    );
    assert_eq!(run_activity(&app, &flow.id).await.len(), 3);
}

fn shallow_engine() -> engine::EngineConfig {
    engine::EngineConfig {
        max_depth: 3,
        ..e2e::test_engine()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flow_writing_to_its_own_collection_stops_at_max_depth_sqlite() {
    self_feeding_flow_stops(TestApp::sqlite_with(shallow_engine()).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flow_writing_to_its_own_collection_stops_at_max_depth_postgres() {
    self_feeding_flow_stops(TestApp::postgres_with(shallow_engine()).await).await;
}
