//! `/items/:collection`: the user's own tables, found by introspection, served with the same
//! query parameters, batch forms, envelopes and errors as `/flows`. Every column type the
//! introspection maps is written and read back; failed writes are checked to leave the
//! table as it was.

use crate::rest_support::{forbidden, forbidden_field};
use e2e::{ADMIN_TOKEN, TestApp, both};
use serde_json::{Value, json};

const ADMIN: Option<&str> = Some(ADMIN_TOKEN);

const R1: &str = "0a000000-0000-4000-8000-000000000001";
const R3: &str = "0a000000-0000-4000-8000-000000000003";

fn is_pg(app: &TestApp) -> bool {
    app.db.get_database_backend() == sea_orm::DbBackend::Postgres
}

/// A decimal as each database prints it: PostgreSQL keeps the column's scale, SQLite prints
/// the stored number.
fn dec(app: &TestApp, postgres: &str, sqlite: &str) -> Value {
    json!(if is_pg(app) { postgres } else { sqlite })
}

/// `{"data": ...}` of an admin request that must succeed.
async fn data(app: &TestApp, method: &str, path: &str, body: Option<Value>) -> Value {
    let text = body.map(|b| b.to_string());
    let reply = app.send(method, path, text.as_deref(), ADMIN).await;
    assert_eq!(
        reply.status.as_u16(),
        200,
        "{method} {path}: {}",
        reply.text
    );
    reply.json()["data"].clone()
}

fn required(fields: &[&str]) -> Value {
    let errors: Vec<Value> = fields
        .iter()
        .map(|f| {
            json!({
                "message": format!("Validation failed for field \"{f}\". Value is required."),
                "extensions": {"field": f, "path": [], "type": "required", "code": "FAILED_VALIDATION"},
            })
        })
        .collect();
    json!({ "errors": errors })
}

fn invalid(prefix: &str, reason: &str, code: &str) -> Value {
    json!({"errors": [{
        "message": format!("{prefix} {reason}."),
        "extensions": {"reason": reason, "code": code},
    }]})
}

fn not_unique(collection: &str, field: &str, value: &str) -> Value {
    json!({"errors": [{
        "message": format!(
            "Value \"{value}\" for field \"{field}\" in collection \"{collection}\" has to be unique."
        ),
        "extensions": {"collection": collection, "field": field, "value": value,
                       "code": "RECORD_NOT_UNIQUE"},
    }]})
}

/// The three seeded articles, created in one request.
fn seed_payload() -> Value {
    json!([
        {"title": "Alpha", "body": "First post about Rust", "price": 12.5, "rating": 4.5,
         "views": 10, "published": true, "meta": {"tags": ["rust", "db"]},
         "published_at": "2026-01-02T03:04:05Z", "ref": R1},
        {"title": "Beta", "body": "Second post", "price": "3.1", "rating": 2.25, "views": 3,
         "published": false, "published_at": "2025-06-30T12:00:00Z"},
        {"title": "Gamma", "meta": [1, 2], "ref": R3},
    ])
}

async fn seed(app: &TestApp) {
    app.articles_table().await;
    let rows = data(
        app,
        "POST",
        "/items/articles?fields=id",
        Some(seed_payload()),
    )
    .await;
    assert_eq!(rows, json!([{"id": 1}, {"id": 2}, {"id": 3}]));
}

/// The seeded rows as the server answers them, every field.
fn alpha(app: &TestApp) -> Value {
    json!({"id": 1, "title": "Alpha", "body": "First post about Rust",
           "price": dec(app, "12.50", "12.5"), "rating": 4.5, "views": 10, "published": true,
           "meta": {"tags": ["rust", "db"]}, "published_at": "2026-01-02T03:04:05.000Z",
           "ref": R1})
}

fn beta(app: &TestApp) -> Value {
    json!({"id": 2, "title": "Beta", "body": "Second post", "price": dec(app, "3.10", "3.1"),
           "rating": 2.25, "views": 3, "published": false, "meta": null,
           "published_at": "2025-06-30T12:00:00.000Z", "ref": null})
}

fn gamma() -> Value {
    json!({"id": 3, "title": "Gamma", "body": null, "price": null, "rating": null, "views": 0,
           "published": null, "meta": [1, 2], "published_at": null, "ref": R3})
}

fn titles(list: &[&str]) -> Value {
    Value::Array(list.iter().map(|t| json!({"title": t})).collect())
}

both!(create_answers_every_column_typed, |app| async move {
    app.articles_table().await;
    app.expect(
        "POST",
        "/items/articles",
        Some(
            json!({"title": "Alpha", "body": "First post about Rust", "price": 12.5,
                    "rating": 4.5, "views": 10, "published": true,
                    "meta": {"tags": ["rust", "db"]}, "published_at": "2026-01-02T03:04:05Z",
                    "ref": R1}),
        ),
        ADMIN,
        200,
        json!({"data": alpha(&app)}),
    )
    .await;
    // Read back on its own, every field typed the same way.
    app.expect(
        "GET",
        "/items/articles",
        None,
        ADMIN,
        200,
        json!({"data": [alpha(&app)]}),
    )
    .await;
    assert_eq!(app.count("articles").await, 1);
});

both!(
    create_without_a_key_uses_the_auto_increment,
    |app| async move {
        app.articles_table().await;
        app.expect(
            "POST",
            "/items/articles?fields=id,title,views,published",
            Some(json!([{"title": "One"}, {"title": "Two", "views": 7}])),
            ADMIN,
            200,
            json!({"data": [
                {"id": 1, "title": "One", "views": 0, "published": null},
                {"id": 2, "title": "Two", "views": 7, "published": null},
            ]}),
        )
        .await;
        // A given integer key is kept, and answered as a number.
        app.expect(
            "POST",
            "/items/articles?fields=id,title",
            Some(json!({"id": 40, "title": "Forty"})),
            ADMIN,
            200,
            json!({"data": {"id": 40, "title": "Forty"}}),
        )
        .await;
        assert_eq!(app.count("articles").await, 3);
    }
);

both!(
    get_by_id_reads_one_row_and_unknown_ids_are_forbidden,
    |app| async move {
        seed(&app).await;
        app.expect(
            "GET",
            "/items/articles/2",
            None,
            ADMIN,
            200,
            json!({"data": beta(&app)}),
        )
        .await;
        app.expect(
            "GET",
            "/items/articles/3",
            None,
            ADMIN,
            200,
            json!({"data": gamma()}),
        )
        .await;
        app.expect(
            "GET",
            "/items/articles/1?fields=title,price",
            None,
            ADMIN,
            200,
            json!({"data": {"title": "Alpha", "price": dec(&app, "12.50", "12.5")}}),
        )
        .await;
        for missing in [
            "/items/articles/99",
            "/items/articles/abc",
            "/items/articles/-1",
        ] {
            app.expect("GET", missing, None, ADMIN, 403, forbidden())
                .await;
        }
    }
);

both!(list_filters_on_every_column_type, |app| async move {
    seed(&app).await;
    let cases: Vec<(String, Value)> = vec![
        ("filter[title][_eq]=Beta".into(), titles(&["Beta"])),
        ("filter[title][_starts_with]=G".into(), titles(&["Gamma"])),
        (
            "filter[body][_contains]=post".into(),
            titles(&["Alpha", "Beta"]),
        ),
        ("filter[body][_null]=true".into(), titles(&["Gamma"])),
        ("filter[views][_gt]=2".into(), titles(&["Alpha", "Beta"])),
        (
            "filter[views][_in]=0,10".into(),
            titles(&["Alpha", "Gamma"]),
        ),
        ("filter[price][_gte]=5".into(), titles(&["Alpha"])),
        ("filter[price][_lt]=5".into(), titles(&["Beta"])),
        ("filter[rating][_between]=2,3".into(), titles(&["Beta"])),
        ("filter[published][_eq]=true".into(), titles(&["Alpha"])),
        ("filter[published][_eq]=false".into(), titles(&["Beta"])),
        ("filter[published][_null]=true".into(), titles(&["Gamma"])),
        (
            "filter[published_at][_gt]=2025-12-31T00:00:00Z".into(),
            titles(&["Alpha"]),
        ),
        (
            "filter[published_at][_lte]=2025-06-30T12:00:00Z".into(),
            titles(&["Beta"]),
        ),
        (format!("filter[ref][_eq]={R3}"), titles(&["Gamma"])),
        (
            "filter[ref][_nnull]=true".into(),
            titles(&["Alpha", "Gamma"]),
        ),
        ("filter[meta][_null]=true".into(), titles(&["Beta"])),
        ("filter[id][_neq]=2".into(), titles(&["Alpha", "Gamma"])),
    ];
    for (filter, want) in cases {
        let path = format!("/items/articles?fields=title&sort=id&{filter}");
        app.expect("GET", &path, None, ADMIN, 200, json!({"data": want}))
            .await;
    }
    // An operator the column's type does not have.
    app.expect(
        "GET",
        "/items/articles?filter[views][_contains]=1",
        None,
        ADMIN,
        400,
        invalid(
            "Invalid query.",
            "\"integer\" field type does not contain the \"_contains\" filter operator",
            "INVALID_QUERY",
        ),
    )
    .await;
});

both!(list_sorts_limits_and_pages, |app| async move {
    seed(&app).await;
    let cases = [
        ("sort=-views", titles(&["Alpha", "Beta", "Gamma"])),
        ("sort=views", titles(&["Gamma", "Beta", "Alpha"])),
        ("sort=-title", titles(&["Gamma", "Beta", "Alpha"])),
        // Without nulls: PostgreSQL sorts them first when descending, SQLite last, in
        // flowline as in Directus.
        (
            "sort=-rating,title&limit=2&filter[rating][_nnull]=true",
            titles(&["Alpha", "Beta"]),
        ),
        ("sort=id&limit=1&page=2", titles(&["Beta"])),
        ("sort=id&limit=2&offset=2", titles(&["Gamma"])),
        (
            "sort=published_at&limit=1&filter[published_at][_nnull]=true",
            titles(&["Beta"]),
        ),
    ];
    for (query, want) in cases {
        let path = format!("/items/articles?fields=title&{query}");
        app.expect("GET", &path, None, ADMIN, 200, json!({"data": want}))
            .await;
    }
});

both!(meta_counts_and_aggregates, |app| async move {
    seed(&app).await;
    app.expect(
        "GET",
        "/items/articles?fields=id&filter[views][_gt]=0&meta=total_count,filter_count",
        None,
        ADMIN,
        200,
        json!({"data": [{"id": 1}, {"id": 2}], "meta": {"total_count": 3, "filter_count": 2}}),
    )
    .await;
    app.expect(
        "GET",
        "/items/articles?aggregate[count]=*",
        None,
        ADMIN,
        200,
        json!({"data": [{"count": 3}]}),
    )
    .await;
    app.expect(
        "GET",
        "/items/articles?aggregate[sum]=views&aggregate[max]=views&aggregate[count]=body",
        None,
        ADMIN,
        200,
        json!({"data": [{"sum": {"views": 13}, "max": {"views": 10}, "count": {"body": 2}}]}),
    )
    .await;
    app.expect("GET",
        "/items/articles?aggregate[count]=*&groupBy=published&sort=published&filter[published][_nnull]=true",
        None,
        ADMIN,
        200,
        json!({"data": [{"published": false, "count": 1}, {"published": true, "count": 1}]}),
    )
    .await;
    app.expect(
        "GET",
        "/items/articles?aggregate[sum]=title",
        None,
        ADMIN,
        400,
        invalid(
            "Invalid query.",
            "Function \"sum\" can't be used on field \"title\"",
            "INVALID_QUERY",
        ),
    )
    .await;
});

both!(
    search_matches_text_columns_case_insensitively,
    |app| async move {
        seed(&app).await;
        let cases = [
            ("search=rust", titles(&["Alpha"])),
            ("search=POST", titles(&["Alpha", "Beta"])),
            ("search=amm", titles(&["Gamma"])),
            ("search=nowhere", json!([])),
        ];
        for (query, want) in cases {
            let path = format!("/items/articles?fields=title&sort=id&{query}");
            app.expect("GET", &path, None, ADMIN, 200, json!({"data": want}))
                .await;
        }
    }
);

both!(
    search_method_takes_the_query_from_the_body,
    |app| async move {
        seed(&app).await;
        app.expect(
            "SEARCH",
            "/items/articles?fields=id",
            Some(
                json!({"query": {"fields": ["title", "views"], "filter": {"views": {"_lt": 5}},
                              "sort": ["-views"]}}),
            ),
            ADMIN,
            200,
            json!({"data": [{"title": "Beta", "views": 3}, {"title": "Gamma", "views": 0}]}),
        )
        .await;
        app.expect(
            "SEARCH",
            "/items/articles",
            Some(json!({"query": {"filter": {"nope": {"_eq": 1}}}})),
            ADMIN,
            403,
            forbidden_field("nope", "articles"),
        )
        .await;
        app.expect(
            "SEARCH",
            "/items/articles",
            Some(json!({"query": {}, "foo": 1})),
            ADMIN,
            400,
            invalid(
                "Invalid payload.",
                "\"foo\" is not allowed",
                "INVALID_PAYLOAD",
            ),
        )
        .await;
    }
);

both!(unknown_fields_in_queries_are_forbidden, |app| async move {
    seed(&app).await;
    for path in [
        "/items/articles?fields=id,nope",
        "/items/articles?filter[nope][_eq]=1",
        "/items/articles?sort=-nope",
        "/items/articles?aggregate[max]=nope",
        "/items/articles/1?fields=nope",
    ] {
        app.expect(
            "GET",
            path,
            None,
            ADMIN,
            403,
            forbidden_field("nope", "articles"),
        )
        .await;
    }
    app.expect(
        "GET",
        "/items/articles?limit=abc",
        None,
        ADMIN,
        400,
        invalid(
            "Invalid query.",
            "\"limit\" must be a number",
            "INVALID_QUERY",
        ),
    )
    .await;
});

both!(patch_by_id_and_batch_update_forms, |app| async move {
    seed(&app).await;
    app.expect(
        "PATCH",
        "/items/articles/1?fields=id,title,price,published,meta",
        Some(
            json!({"title": "Alpha 2", "price": "99.99", "published": false,
                    "meta": {"new": true}}),
        ),
        ADMIN,
        200,
        json!({"data": {"id": 1, "title": "Alpha 2", "price": "99.99", "published": false,
                        "meta": {"new": true}}}),
    )
    .await;
    // Untouched columns keep their values.
    let row = data(&app, "GET", "/items/articles/1", None).await;
    let mut want = alpha(&app);
    want["title"] = json!("Alpha 2");
    want["price"] = json!("99.99");
    want["published"] = json!(false);
    want["meta"] = json!({"new": true});
    assert_eq!(row, want);

    app.expect(
        "PATCH",
        "/items/articles?fields=id,views",
        Some(json!([{"id": 2, "views": 20}, {"id": 3, "views": 30}])),
        ADMIN,
        200,
        json!({"data": [{"id": 2, "views": 20}, {"id": 3, "views": 30}]}),
    )
    .await;
    app.expect(
        "PATCH",
        "/items/articles?fields=id,body",
        Some(json!({"keys": [3, 1], "data": {"body": "batch"}})),
        ADMIN,
        200,
        json!({"data": [{"id": 3, "body": "batch"}, {"id": 1, "body": "batch"}]}),
    )
    .await;
    app.expect(
        "PATCH",
        "/items/articles?fields=id,rating&sort=id",
        Some(json!({"query": {"filter": {"views": {"_gte": 20}}}, "data": {"rating": 1.5}})),
        ADMIN,
        200,
        json!({"data": [{"id": 2, "rating": 1.5}, {"id": 3, "rating": 1.5}]}),
    )
    .await;
    app.expect(
        "GET",
        "/items/articles?fields=id,views,body,rating&sort=id",
        None,
        ADMIN,
        200,
        json!({"data": [
            {"id": 1, "views": 10, "body": "batch", "rating": 4.5},
            {"id": 2, "views": 20, "body": "Second post", "rating": 1.5},
            {"id": 3, "views": 30, "body": "batch", "rating": 1.5},
        ]}),
    )
    .await;
    // A batch where one item fails changes nothing.
    let long = "x".repeat(81);
    let reply = app
        .send(
            "PATCH",
            "/items/articles",
            Some(&json!([{"id": 1, "views": 77}, {"id": 2, "title": long}]).to_string()),
            ADMIN,
        )
        .await;
    assert_eq!(reply.status.as_u16(), 400, "{}", reply.text);
    let views = data(&app, "GET", "/items/articles/1?fields=views", None).await;
    assert_eq!(views, json!({"views": 10}));
    // An item without its key.
    app.expect(
        "PATCH",
        "/items/articles",
        Some(json!([{"views": 1}])),
        ADMIN,
        400,
        invalid(
            "Invalid payload.",
            "Item in update misses primary key",
            "INVALID_PAYLOAD",
        ),
    )
    .await;
    app.expect(
        "PATCH",
        "/items/articles",
        Some(json!({"data": {"views": 1}})),
        ADMIN,
        400,
        invalid(
            "Invalid payload.",
            "\"value\" must contain at least one of [query, keys]",
            "INVALID_PAYLOAD",
        ),
    )
    .await;
});

both!(delete_by_id_and_batch_delete_forms, |app| async move {
    seed(&app).await;
    data(
        &app,
        "POST",
        "/items/articles",
        Some(json!([{"title": "D4"}, {"title": "D5"}, {"title": "D6"}])),
    )
    .await;
    assert_eq!(app.count("articles").await, 6);
    app.expect_empty("DELETE", "/items/articles/1", None, ADMIN)
        .await;
    app.expect("GET", "/items/articles/1", None, ADMIN, 403, forbidden())
        .await;
    app.expect_empty("DELETE", "/items/articles/1", None, ADMIN)
        .await;
    assert_eq!(app.count("articles").await, 5);
    app.expect_empty("DELETE", "/items/articles", Some(json!([2, 99])), ADMIN)
        .await;
    assert_eq!(app.count("articles").await, 4);
    app.expect_empty(
        "DELETE",
        "/items/articles",
        Some(json!({"keys": [3]})),
        ADMIN,
    )
    .await;
    assert_eq!(app.count("articles").await, 3);
    app.expect_empty(
        "DELETE",
        "/items/articles",
        Some(json!({"query": {"filter": {"title": {"_in": ["D4", "D6"]}}}})),
        ADMIN,
    )
    .await;
    app.expect(
        "GET",
        "/items/articles?fields=id,title",
        None,
        ADMIN,
        200,
        json!({"data": [{"id": 5, "title": "D5"}]}),
    )
    .await;
});

both!(batch_delete_bodies_are_validated, |app| async move {
    seed(&app).await;
    // `/items` routes validate the batch body (`validateBatch("delete")` in Directus).
    app.expect(
        "DELETE",
        "/items/articles",
        Some(json!({"keys": [{"id": 1}]})),
        ADMIN,
        400,
        invalid(
            "Invalid payload.",
            "\"keys[0]\" must be one of [string, number]",
            "INVALID_PAYLOAD",
        ),
    )
    .await;
    assert_eq!(app.count("articles").await, 3);
    app.expect(
        "DELETE",
        "/items/articles",
        Some(json!({})),
        ADMIN,
        400,
        invalid(
            "Invalid payload.",
            "\"value\" must contain at least one of [query, keys]",
            "INVALID_PAYLOAD",
        ),
    )
    .await;
    assert_eq!(app.count("articles").await, 3);
});

both!(admin_writes_to_unknown_ids_answer_204, |app| async move {
    seed(&app).await;
    app.expect_empty(
        "PATCH",
        "/items/articles/99",
        Some(json!({"title": "ghost"})),
        ADMIN,
    )
    .await;
    app.expect_empty("DELETE", "/items/articles/99", None, ADMIN)
        .await;
    assert_eq!(app.count("articles").await, 3);
    app.expect(
        "GET",
        "/items/articles?fields=title&sort=id",
        None,
        ADMIN,
        200,
        json!({"data": titles(&["Alpha", "Beta", "Gamma"])}),
    )
    .await;
});

both!(required_columns_missing_fail_validation, |app| async move {
    app.articles_table().await;
    app.exec(
        "CREATE TABLE pairs (id INTEGER PRIMARY KEY, a TEXT NOT NULL, b INTEGER NOT NULL, c TEXT NOT NULL DEFAULT 'x')",
        "CREATE TABLE pairs (id SERIAL PRIMARY KEY, a TEXT NOT NULL, b INTEGER NOT NULL, c TEXT NOT NULL DEFAULT 'x')",
    )
    .await;
    app.expect(
        "POST",
        "/items/articles",
        Some(json!({"body": "no title"})),
        ADMIN,
        400,
        required(&["title"]),
    )
    .await;
    app.expect(
        "POST",
        "/items/articles",
        Some(json!({"title": null})),
        ADMIN,
        400,
        required(&["title"]),
    )
    .await;
    assert_eq!(app.count("articles").await, 0);
    // Two required columns missing: one error each.
    app.expect(
        "POST",
        "/items/pairs",
        Some(json!({})),
        ADMIN,
        400,
        required(&["a", "b"]),
    )
    .await;
    assert_eq!(app.count("pairs").await, 0);
    app.expect(
        "POST",
        "/items/pairs",
        Some(json!({"a": "A", "b": 2})),
        ADMIN,
        200,
        json!({"data": {"id": 1, "a": "A", "b": 2, "c": "x"}}),
    )
    .await;
    // Clearing a required column is refused too.
    app.expect(
        "PATCH",
        "/items/pairs/1",
        Some(json!({"a": null})),
        ADMIN,
        400,
        required(&["a"]),
    )
    .await;
    app.expect(
        "GET",
        "/items/pairs/1",
        None,
        ADMIN,
        200,
        json!({"data": {"id": 1, "a": "A", "b": 2, "c": "x"}}),
    )
    .await;
});

both!(varchar_length_is_enforced, |app| async move {
    app.articles_table().await;
    let too_long = json!({"errors": [{
        "message": "Value for field \"title\" in collection \"articles\" is too long.",
        "extensions": {"collection": "articles", "field": "title", "code": "VALUE_TOO_LONG"},
    }]});
    app.expect(
        "POST",
        "/items/articles",
        Some(json!({"title": "x".repeat(81)})),
        ADMIN,
        400,
        too_long.clone(),
    )
    .await;
    assert_eq!(app.count("articles").await, 0);
    // Exactly the length is fine; the text column has no limit.
    app.expect(
        "POST",
        "/items/articles?fields=id,title",
        Some(json!({"title": "y".repeat(80), "body": "z".repeat(5000)})),
        ADMIN,
        200,
        json!({"data": {"id": 1, "title": "y".repeat(80)}}),
    )
    .await;
    app.expect(
        "PATCH",
        "/items/articles/1",
        Some(json!({"title": "w".repeat(81)})),
        ADMIN,
        400,
        too_long,
    )
    .await;
    app.expect(
        "GET",
        "/items/articles/1?fields=title",
        None,
        ADMIN,
        200,
        json!({"data": {"title": "y".repeat(80)}}),
    )
    .await;
});

both!(batch_create_is_all_or_nothing, |app| async move {
    app.articles_table().await;
    app.expect(
        "POST",
        "/items/articles",
        Some(json!([{"title": "ok 1"}, {"title": "ok 2"}, {"body": "no title"}])),
        ADMIN,
        400,
        required(&["title"]),
    )
    .await;
    assert_eq!(app.count("articles").await, 0);
    let reply = app
        .send(
            "POST",
            "/items/articles",
            Some(&json!([{"title": "ok"}, {"title": "t".repeat(200)}]).to_string()),
            ADMIN,
        )
        .await;
    assert_eq!(reply.status.as_u16(), 400, "{}", reply.text);
    assert_eq!(app.count("articles").await, 0);
});

both!(string_keys_must_be_given_and_unique, |app| async move {
    app.exec(
        "CREATE TABLE tags (code VARCHAR(20) PRIMARY KEY, label TEXT)",
        "CREATE TABLE tags (code VARCHAR(20) PRIMARY KEY, label TEXT)",
    )
    .await;
    app.expect(
        "POST",
        "/items/tags",
        Some(json!({"label": "no code"})),
        ADMIN,
        400,
        required(&["code"]),
    )
    .await;
    app.expect(
        "POST",
        "/items/tags",
        Some(json!({"code": "rust", "label": "Rust"})),
        ADMIN,
        200,
        json!({"data": {"code": "rust", "label": "Rust"}}),
    )
    .await;
    app.expect(
        "POST",
        "/items/tags",
        Some(json!({"code": "rust", "label": "again"})),
        ADMIN,
        400,
        not_unique("tags", "code", "rust"),
    )
    .await;
    app.expect(
        "GET",
        "/items/tags/rust",
        None,
        ADMIN,
        200,
        json!({"data": {"code": "rust", "label": "Rust"}}),
    )
    .await;
    assert_eq!(app.count("tags").await, 1);
});

// A uuid key without a database default is not generated for a plain table (Directus
// generates uuids only for fields marked `special: uuid`): it must be given.
both!(
    uuid_keys_without_a_default_must_be_given_and_unique,
    |app| async move {
        app.exec(
            "CREATE TABLE notes (id UUID PRIMARY KEY, text TEXT)",
            "CREATE TABLE notes (id UUID PRIMARY KEY, text TEXT)",
        )
        .await;
        app.expect(
            "POST",
            "/items/notes",
            Some(json!({"id": R1, "text": "one"})),
            ADMIN,
            200,
            json!({"data": {"id": R1, "text": "one"}}),
        )
        .await;
        app.expect(
            "POST",
            "/items/notes",
            Some(json!({"id": R1, "text": "two"})),
            ADMIN,
            400,
            not_unique("notes", "id", R1),
        )
        .await;
        app.expect(
            "GET",
            &format!("/items/notes/{R1}"),
            None,
            ADMIN,
            200,
            json!({"data": {"id": R1, "text": "one"}}),
        )
        .await;
        app.expect(
            "GET",
            "/items/notes/not-a-uuid",
            None,
            ADMIN,
            403,
            forbidden(),
        )
        .await;
        assert_eq!(app.count("notes").await, 1);
        app.expect(
            "POST",
            "/items/notes",
            Some(json!({"text": "no id"})),
            ADMIN,
            400,
            required(&["id"]),
        )
        .await;
        assert_eq!(app.count("notes").await, 1);
    }
);

both!(an_integer_key_given_twice_is_not_unique, |app| async move {
    seed(&app).await;
    app.expect(
        "POST",
        "/items/articles",
        Some(json!({"id": 2, "title": "Again"})),
        ADMIN,
        400,
        not_unique("articles", "id", "2"),
    )
    .await;
    assert_eq!(app.count("articles").await, 3);
    app.expect(
        "GET",
        "/items/articles/2?fields=title",
        None,
        ADMIN,
        200,
        json!({"data": {"title": "Beta"}}),
    )
    .await;
});

both!(
    unknown_and_system_collections_are_forbidden,
    |app| async move {
        seed(&app).await;
        for path in [
            "/items/nope",
            "/items/nope/1",
            "/items/directus_flows",
            "/items/directus_permissions",
            "/items/directus_users/1",
            "/items/seaql_migrations",
            // flowline's own tables hold the run queue and its journal (with each run's
            // trigger and caller): never a user collection.
            "/items/flowline_runs",
            "/items/flowline_run_steps",
            "/items/flowline_schedule_ticks",
        ] {
            app.expect("GET", path, None, ADMIN, 403, forbidden()).await;
        }
        app.expect(
            "POST",
            "/items/directus_flows",
            Some(json!({"name": "sneaky"})),
            ADMIN,
            403,
            forbidden(),
        )
        .await;
        assert_eq!(app.count("directus_flows").await, 0);
        // A bad token is a 401 before the collection is looked at.
        let bad = json!({"errors": [{"message": "Invalid user credentials.",
                                 "extensions": {"code": "INVALID_CREDENTIALS"}}]});
        for path in [
            "/items/nope",
            "/items/directus_flows",
            "/items/articles",
            "/items/articles/1",
        ] {
            app.expect("GET", path, None, Some("wrong-token"), 401, bad.clone())
                .await;
        }
        app.expect(
            "DELETE",
            "/items/articles/1",
            None,
            Some("wrong-token"),
            401,
            bad,
        )
        .await;
        // Anonymous callers without a public grant.
        app.expect("GET", "/items/articles", None, None, 403, forbidden())
            .await;
        app.expect(
            "POST",
            "/items/articles",
            Some(json!({"title": "anon"})),
            None,
            403,
            forbidden(),
        )
        .await;
        assert_eq!(app.count("articles").await, 3);
    }
);

both!(a_table_created_after_start_is_found, |app| async move {
    app.expect("GET", "/items/articles", None, ADMIN, 403, forbidden())
        .await;
    // Unknown names are re-read at most once a second.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    app.articles_table().await;
    app.expect(
        "GET",
        "/items/articles",
        None,
        ADMIN,
        200,
        json!({"data": []}),
    )
    .await;
    app.expect(
        "POST",
        "/items/articles?fields=id,title",
        Some(json!({"title": "Fresh"})),
        ADMIN,
        200,
        json!({"data": {"id": 1, "title": "Fresh"}}),
    )
    .await;
});

// The once-a-second limit is for names that turn out not to exist: an introspection that
// found the table asked for does not hold back the next new table.
both!(
    a_second_new_table_is_found_right_after_another,
    |app| async move {
        app.articles_table().await;
        app.expect(
            "GET",
            "/items/articles",
            None,
            ADMIN,
            200,
            json!({"data": []}),
        )
        .await;
        app.exec(
            "CREATE TABLE later (id INTEGER PRIMARY KEY, n INTEGER)",
            "CREATE TABLE later (id SERIAL PRIMARY KEY, n INTEGER)",
        )
        .await;
        app.expect(
            "POST",
            "/items/later",
            Some(json!({"n": 5})),
            ADMIN,
            200,
            json!({"data": {"id": 1, "n": 5}}),
        )
        .await;
    }
);

both!(
    unknown_names_are_introspected_at_most_once_a_second,
    |app| async move {
        let start = std::time::Instant::now();
        app.expect("GET", "/items/ghost", None, ADMIN, 403, forbidden())
            .await;
        app.exec(
            "CREATE TABLE ghost (id INTEGER PRIMARY KEY, n INTEGER)",
            "CREATE TABLE ghost (id SERIAL PRIMARY KEY, n INTEGER)",
        )
        .await;
        let reply = app.send("GET", "/items/ghost", None, ADMIN).await;
        if start.elapsed() < std::time::Duration::from_millis(900) {
            // Still inside the second that the first miss started.
            assert_eq!(reply.status.as_u16(), 403, "{}", reply.text);
            assert_eq!(reply.json(), forbidden());
        }
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        app.expect("GET", "/items/ghost", None, ADMIN, 200, json!({"data": []}))
            .await;
    }
);

both!(
    tables_without_a_single_column_key_are_not_collections,
    |app| async move {
        app.exec(
            "CREATE TABLE pairs (a INTEGER NOT NULL, b INTEGER NOT NULL, PRIMARY KEY (a, b))",
            "CREATE TABLE pairs (a INTEGER NOT NULL, b INTEGER NOT NULL, PRIMARY KEY (a, b))",
        )
        .await;
        app.exec(
            "CREATE TABLE loose (a INTEGER, b TEXT)",
            "CREATE TABLE loose (a INTEGER, b TEXT)",
        )
        .await;
        // Columns of unmapped types are left out of a collection; the rest is served.
        app.exec(
            "CREATE TABLE files (id INTEGER PRIMARY KEY, name TEXT, content BLOB)",
            "CREATE TABLE files (id SERIAL PRIMARY KEY, name TEXT, content BYTEA)",
        )
        .await;
        app.exec(
            "INSERT INTO pairs VALUES (1, 2); INSERT INTO loose VALUES (1, 'x'); \
         INSERT INTO files (name, content) VALUES ('a.bin', x'0102')",
            "INSERT INTO pairs VALUES (1, 2); INSERT INTO loose VALUES (1, 'x'); \
         INSERT INTO files (name, content) VALUES ('a.bin', '\\x0102')",
        )
        .await;
        for path in ["/items/pairs", "/items/loose", "/items/pairs/1"] {
            app.expect("GET", path, None, ADMIN, 403, forbidden()).await;
        }
        app.expect(
            "GET",
            "/items/files",
            None,
            ADMIN,
            200,
            json!({"data": [{"id": 1, "name": "a.bin"}]}),
        )
        .await;
        app.expect(
            "GET",
            "/items/files?fields=content",
            None,
            ADMIN,
            403,
            forbidden_field("content", "files"),
        )
        .await;
    }
);

both!(
    timestamps_are_stored_and_answered_in_utc,
    |app| async move {
        app.articles_table().await;
        app.expect(
            "POST",
            "/items/articles?fields=id,published_at",
            Some(json!([
                {"title": "Offset", "published_at": "2026-01-02T05:04:05+02:00"},
                {"title": "Millis", "published_at": "2026-03-04T10:20:30.250Z"},
            ])),
            ADMIN,
            200,
            json!({"data": [
                {"id": 1, "published_at": "2026-01-02T03:04:05.000Z"},
                {"id": 2, "published_at": "2026-03-04T10:20:30.250Z"},
            ]}),
        )
        .await;
        // Comparisons use the instant, whatever offset the filter is written with.
        app.expect(
            "GET",
            "/items/articles?fields=title&filter[published_at][_eq]=2026-01-02T03:04:05Z",
            None,
            ADMIN,
            200,
            json!({"data": titles(&["Offset"])}),
        )
        .await;
        app.expect("GET",
        "/items/articles?fields=title&sort=id&filter[published_at][_gt]=2026-01-02T04:00:00%2B02:00",
        None,
        ADMIN,
        200,
        json!({"data": titles(&["Offset", "Millis"])}),
    )
    .await;
    }
);

/// 400 `FAILED_VALIDATION` of type `type`, as flowline reports a value the column's type
/// cannot hold (Directus leaves these to the database).
fn bad_type(field: &str, kind: &str) -> Value {
    json!({"errors": [{
        "message": format!("Validation failed for field \"{field}\". Invalid {kind} value for field \"{field}\"."),
        "extensions": {"field": field, "path": [], "type": "type", "code": "FAILED_VALIDATION"},
    }]})
}

both!(
    values_the_column_cannot_hold_are_refused,
    |app| async move {
        seed(&app).await;
        let cases = [
            (
                json!({"title": "x", "views": "abc"}),
                bad_type("views", "numeric"),
            ),
            (
                json!({"title": "x", "price": "abc"}),
                bad_type("price", "numeric"),
            ),
            (
                json!({"title": "x", "published": "yes"}),
                bad_type("published", "boolean"),
            ),
            (
                json!({"title": "x", "ref": "nope"}),
                bad_type("ref", "uuid"),
            ),
            (
                json!({"title": "x", "published_at": "garbage"}),
                bad_type("published_at", "date"),
            ),
            (
                json!({"title": "x", "views": 3_000_000_000_i64}),
                json!({"errors": [{
                    "message": "Numeric value for field \"views\" in collection \"articles\" is out of range.",
                    "extensions": {"collection": "articles", "field": "views",
                                   "code": "VALUE_OUT_OF_RANGE"},
                }]}),
            ),
        ];
        for (payload, want) in cases {
            app.expect(
                "POST",
                "/items/articles",
                Some(payload.clone()),
                ADMIN,
                400,
                want.clone(),
            )
            .await;
            app.expect(
                "PATCH",
                "/items/articles/1",
                Some(payload),
                ADMIN,
                400,
                want,
            )
            .await;
        }
        assert_eq!(app.count("articles").await, 3);
        app.expect(
            "GET",
            "/items/articles/1",
            None,
            ADMIN,
            200,
            json!({"data": alpha(&app)}),
        )
        .await;
        if is_pg(&app) {
            // NUMERIC(10,2) holds eight digits before the point: a database error, translated.
            app.expect("POST",
            "/items/articles",
            Some(json!({"title": "x", "price": 123_456_789_012_i64})),
            ADMIN,
            400,
            json!({"errors": [{
                "message": "Numeric value for field \"price\" in collection \"articles\" is out of range.",
                "extensions": {"collection": "articles", "field": "price",
                               "code": "VALUE_OUT_OF_RANGE"},
            }]}),
        )
        .await;
            assert_eq!(app.count("articles").await, 3);
        }
    }
);

both!(quoted_table_names_are_collections_too, |app| async move {
    app.exec(
        "CREATE TABLE \"Mixed Case\" (id INTEGER PRIMARY KEY, n INTEGER)",
        "CREATE TABLE \"Mixed Case\" (id SERIAL PRIMARY KEY, n INTEGER)",
    )
    .await;
    app.expect(
        "POST",
        "/items/Mixed%20Case",
        Some(json!([{"n": 1}, {"n": 2}])),
        ADMIN,
        200,
        json!({"data": [{"id": 1, "n": 1}, {"id": 2, "n": 2}]}),
    )
    .await;
    app.expect(
        "GET",
        "/items/Mixed%20Case?filter[n][_gt]=1",
        None,
        ADMIN,
        200,
        json!({"data": [{"id": 2, "n": 2}]}),
    )
    .await;
    // Names are case-sensitive.
    app.expect("GET", "/items/mixed%20case", None, ADMIN, 403, forbidden())
        .await;
});
