//! `directus_permissions`: admins manage grants at `/permissions` (and over GraphQL); every
//! other caller only reads and writes what its role's grants allow (anonymous callers: the
//! grants with role null). Row filters narrow lists, counts and aggregates; field lists
//! narrow `*` and make hidden fields as unknown as missing ones; writes outside a grant are
//! refused with nothing changed.

use crate::rest_support::{error, forbidden, forbidden_field};
use e2e::{ADMIN_TOKEN, TestApp, both};
use serde_json::{Value, json};

const ADMIN: Option<&str> = Some(ADMIN_TOKEN);
/// The token of the user in the role `Editors` that most tests set up.
const USER_TOKEN: &str = "editor-token";
const USER: Option<&str> = Some(USER_TOKEN);

/// A request that must be refused with the plain 403; answers nothing else.
async fn refused(
    app: &TestApp,
    method: &str,
    path: &str,
    body: Option<Value>,
    token: Option<&str>,
) {
    app.expect(method, path, body, token, 403, forbidden())
        .await;
}

/// `data` of an admin request that must succeed.
async fn admin_data(app: &TestApp, path: &str) -> Value {
    let reply = app.send("GET", path, None, ADMIN).await;
    assert_eq!(reply.status.as_u16(), 200, "GET {path}: {}", reply.text);
    reply.json()["data"].clone()
}

/// 403 for fields the caller may not write, named in a payload (Directus's
/// `permissions/modules/process-payload`).
fn forbidden_payload(fields: &[&str], collection: &str) -> Value {
    let list: Vec<String> = fields.iter().map(|f| format!("\"{f}\"")).collect();
    let message = if fields.len() == 1 {
        format!(
            "You don't have permission to access field {} in collection \"{collection}\" or it does not exist.",
            list[0]
        )
    } else {
        format!(
            "You don't have permission to access fields {} in collection \"{collection}\" or they do not exist.",
            list.join(", ")
        )
    };
    error(&message, "FORBIDDEN")
}

/// Grants `role` (None: the public) an action through the API; answers the new row's id.
async fn grant(
    app: &TestApp,
    role: Option<&str>,
    collection: &str,
    action: &str,
    permissions: Value,
    fields: Value,
) -> i64 {
    let body = json!({"role": role, "collection": collection, "action": action,
                      "permissions": permissions, "fields": fields});
    let reply = app
        .send("POST", "/permissions", Some(&body.to_string()), ADMIN)
        .await;
    assert_eq!(reply.status.as_u16(), 200, "grant {body}: {}", reply.text);
    let row = reply.json()["data"].clone();
    row["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no integer id in {row}"))
}

/// The role `Editors` (no admin access) and its user with [`USER_TOKEN`].
async fn editor(app: &TestApp) -> String {
    let role = app.create_role("Editors", false).await;
    app.create_user_in("editor@example.com", USER_TOKEN, &role)
        .await;
    role
}

/// The `articles` table with four rows:
///
/// | id | title | body | price | views | published |
/// |---|---|---|---|---|---|
/// | 1 | Alpha | First post about Rust | 12.5 | 10 | true |
/// | 2 | Beta | Second post | 3.1 | 3 | false |
/// | 3 | Gamma | – | – | 0 | – |
/// | 4 | Delta | Fourth | 1 | 1 | true |
async fn seed(app: &TestApp) {
    app.articles_table().await;
    let rows = json!([
        {"title": "Alpha", "body": "First post about Rust", "price": 12.5, "views": 10,
         "published": true},
        {"title": "Beta", "body": "Second post", "price": 3.1, "views": 3, "published": false},
        {"title": "Gamma"},
        {"title": "Delta", "body": "Fourth", "price": 1, "views": 1, "published": true},
    ]);
    let reply = app
        .send(
            "POST",
            "/items/articles?fields=id",
            Some(&rows.to_string()),
            ADMIN,
        )
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    assert_eq!(
        reply.json(),
        json!({"data": [{"id": 1}, {"id": 2}, {"id": 3}, {"id": 4}]})
    );
}

fn ids(list: &[i64]) -> Value {
    Value::Array(list.iter().map(|id| json!({"id": id})).collect())
}

/// The seeded rows' `id, title, views` as an admin reads them now.
async fn snapshot(app: &TestApp) -> Value {
    admin_data(
        app,
        "/items/articles?fields=id,title,views,published&sort=id&limit=-1",
    )
    .await
}

fn seeded_snapshot() -> Value {
    json!([
        {"id": 1, "title": "Alpha", "views": 10, "published": true},
        {"id": 2, "title": "Beta", "views": 3, "published": false},
        {"id": 3, "title": "Gamma", "views": 0, "published": null},
        {"id": 4, "title": "Delta", "views": 1, "published": true},
    ])
}

both!(admins_manage_permissions_over_rest, |app| async move {
    let role = editor(&app).await;
    app.expect(
        "POST",
        "/permissions",
        Some(
            json!({"role": role, "collection": "articles", "action": "read",
                    "permissions": {"published": {"_eq": true}}, "fields": ["id", "title"]}),
        ),
        ADMIN,
        200,
        json!({"data": {"id": 1, "role": role, "collection": "articles", "action": "read",
                        "permissions": {"published": {"_eq": true}},
                        "fields": ["id", "title"]}}),
    )
    .await;
    app.expect(
        "POST",
        "/permissions",
        Some(json!({"collection": "articles", "action": "create"})),
        ADMIN,
        200,
        json!({"data": {"id": 2, "role": null, "collection": "articles", "action": "create",
                        "permissions": null, "fields": null}}),
    )
    .await;
    app.expect(
        "GET",
        "/permissions?fields=id,role,action&sort=-id",
        None,
        ADMIN,
        200,
        json!({"data": [
            {"id": 2, "role": null, "action": "create"},
            {"id": 1, "role": role, "action": "read"},
        ]}),
    )
    .await;
    app.expect(
        "GET",
        "/permissions?fields=id&filter[role][_null]=true",
        None,
        ADMIN,
        200,
        json!({"data": [{"id": 2}]}),
    )
    .await;
    app.expect(
        "PATCH",
        "/permissions/1?fields=id,fields,permissions",
        Some(json!({"fields": ["*"], "permissions": {}})),
        ADMIN,
        200,
        json!({"data": {"id": 1, "fields": ["*"], "permissions": {}}}),
    )
    .await;
    app.expect_empty("DELETE", "/permissions/2", None, ADMIN)
        .await;
    assert_eq!(app.count("directus_permissions").await, 1);

    // Validation: the action is one of four, the collection is required, the role exists.
    app.expect("POST",
        "/permissions",
        Some(json!({"collection": "articles", "action": "share"})),
        ADMIN,
        400,
        json!({"errors": [{
            "message": "Validation failed for field \"action\". Value has to be one of create, read, update, delete.",
            "extensions": {"field": "action", "path": [], "type": "in",
                           "valid": ["create", "read", "update", "delete"],
                           "code": "FAILED_VALIDATION"},
        }]}),
    )
    .await;
    app.expect(
        "POST",
        "/permissions",
        Some(json!({"action": "read"})),
        ADMIN,
        400,
        json!({"errors": [{
            "message": "Validation failed for field \"collection\". Value is required.",
            "extensions": {"field": "collection", "path": [], "type": "required",
                           "code": "FAILED_VALIDATION"},
        }]}),
    )
    .await;
    let ghost = "dead0000-0000-4000-8000-000000000000";
    app.expect("POST",
        "/permissions",
        Some(json!({"role": ghost, "collection": "articles", "action": "read"})),
        ADMIN,
        400,
        json!({"errors": [{
            "message": format!("Invalid foreign key \"{ghost}\" for field \"role\" in collection \"directus_permissions\"."),
            "extensions": {"collection": "directus_permissions", "field": "role",
                           "value": ghost, "code": "INVALID_FOREIGN_KEY"},
        }]}),
    )
    .await;
    assert_eq!(app.count("directus_permissions").await, 1);
});

both!(admins_manage_permissions_over_graphql, |app| async move {
    seed(&app).await;
    let role = editor(&app).await;
    grant(
        &app,
        Some(&role),
        "articles",
        "update",
        json!({"views": {"_lt": 5}}),
        json!(["views"]),
    )
    .await;
    let out = app
        .gql_ok(
            "mutation { create_permissions_item(data: {collection: \"articles\", action: \"read\", \
             permissions: {published: {_eq: true}}, fields: [\"title\"]}) \
             { id collection action permissions fields role { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        out,
        json!({"create_permissions_item": {"id": "2", "collection": "articles", "action": "read",
               "permissions": {"published": {"_eq": true}}, "fields": ["title"], "role": null}})
    );
    let out = app
        .gql_ok(
            "{ permissions(sort: [\"id\"]) { id action fields role { id name } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        out,
        json!({"permissions": [
            {"id": "1", "action": "update", "fields": ["views"], "role": {"id": role, "name": "Editors"}},
            {"id": "2", "action": "read", "fields": ["title"], "role": null},
        ]})
    );
    // The GraphQL grant works like any other: anonymous callers now read titles.
    app.expect(
        "GET",
        "/items/articles?sort=id",
        None,
        None,
        200,
        json!({"data": [{"id": 1, "title": "Alpha"}, {"id": 4, "title": "Delta"}]}),
    )
    .await;
});

both!(
    non_admins_cannot_read_or_write_permissions,
    |app| async move {
        seed(&app).await;
        let role = editor(&app).await;
        grant(
            &app,
            Some(&role),
            "articles",
            "read",
            json!({"id": {"_eq": 1}}),
            Value::Null,
        )
        .await;
        for token in [USER, None] {
            refused(&app, "GET", "/permissions", None, token).await;
            refused(&app, "GET", "/permissions/1", None, token).await;
            refused(
                &app,
                "POST",
                "/permissions",
                Some(json!({"role": role, "collection": "articles", "action": "delete"})),
                token,
            )
            .await;
            refused(
                &app,
                "PATCH",
                "/permissions/1",
                Some(json!({"permissions": null})),
                token,
            )
            .await;
            refused(&app, "DELETE", "/permissions/1", None, token).await;
        }
        assert_eq!(app.count("directus_permissions").await, 1);
        // The grant is untouched: still only row 1.
        app.expect(
            "GET",
            "/items/articles?fields=id",
            None,
            USER,
            200,
            json!({"data": ids(&[1])}),
        )
        .await;
        app.expect(
            "GET",
            "/permissions/1?fields=permissions",
            None,
            ADMIN,
            200,
            json!({"data": {"permissions": {"id": {"_eq": 1}}}}),
        )
        .await;
    }
);

both!(without_a_read_grant_reads_are_forbidden, |app| async move {
    seed(&app).await;
    let role = editor(&app).await;
    // Grants for other actions and other collections give no read.
    grant(
        &app,
        Some(&role),
        "articles",
        "update",
        Value::Null,
        Value::Null,
    )
    .await;
    grant(
        &app,
        Some(&role),
        "directus_flows",
        "read",
        Value::Null,
        Value::Null,
    )
    .await;
    for path in [
        "/items/articles",
        "/items/articles/1",
        "/items/articles?aggregate[count]=*",
        "/items/articles?meta=total_count",
        "/items/articles?fields=id&filter[id][_eq]=1",
    ] {
        refused(&app, "GET", path, None, USER).await;
    }
    refused(
        &app,
        "SEARCH",
        "/items/articles",
        Some(json!({"query": {}})),
        USER,
    )
    .await;
    // Anonymous callers have no grants at all.
    refused(&app, "GET", "/items/articles", None, None).await;
    // The grant on flows does work.
    app.expect("GET", "/flows", None, USER, 200, json!({"data": []}))
        .await;
});

both!(
    a_read_filter_limits_rows_counts_and_aggregates,
    |app| async move {
        seed(&app).await;
        let role = editor(&app).await;
        grant(
            &app,
            Some(&role),
            "articles",
            "read",
            json!({"published": {"_eq": true}}),
            Value::Null,
        )
        .await;
        app.expect(
            "GET",
            "/items/articles?fields=id,title&sort=id",
            None,
            USER,
            200,
            json!({"data": [{"id": 1, "title": "Alpha"}, {"id": 4, "title": "Delta"}]}),
        )
        .await;
        app.expect(
            "GET",
            "/items/articles/4?fields=title,views",
            None,
            USER,
            200,
            json!({"data": {"title": "Delta", "views": 1}}),
        )
        .await;
        refused(&app, "GET", "/items/articles/2", None, USER).await;
        refused(&app, "GET", "/items/articles/3", None, USER).await;
        // The caller's own filter narrows further; it cannot widen.
        app.expect(
            "GET",
            "/items/articles?fields=id&filter[views][_lt]=5&meta=total_count,filter_count",
            None,
            USER,
            200,
            json!({"data": ids(&[4]), "meta": {"total_count": 2, "filter_count": 1}}),
        )
        .await;
        app.expect(
            "GET",
            "/items/articles?fields=id&filter[published][_eq]=false",
            None,
            USER,
            200,
            json!({"data": []}),
        )
        .await;
        app.expect("GET",
        "/items/articles?fields=id&filter[_or][0][published][_null]=true&filter[_or][1][id][_gt]=0&sort=id",
        None,
        USER,
        200,
        json!({"data": ids(&[1, 4])}),
    )
    .await;
        app.expect(
            "GET",
            "/items/articles?aggregate[count]=*",
            None,
            USER,
            200,
            json!({"data": [{"count": 2}]}),
        )
        .await;
        app.expect(
            "GET",
            "/items/articles?aggregate[sum]=views&aggregate[min]=views",
            None,
            USER,
            200,
            json!({"data": [{"sum": {"views": 11}, "min": {"views": 1}}]}),
        )
        .await;
        app.expect(
            "GET",
            "/items/articles?aggregate[count]=*&groupBy=published",
            None,
            USER,
            200,
            json!({"data": [{"published": true, "count": 2}]}),
        )
        .await;
        app.expect(
            "SEARCH",
            "/items/articles",
            Some(json!({"query": {"fields": ["id"], "sort": ["-views"]}})),
            USER,
            200,
            json!({"data": ids(&[1, 4])}),
        )
        .await;
        app.expect(
            "GET",
            "/items/articles?fields=id&search=post",
            None,
            USER,
            200,
            json!({"data": ids(&[1])}),
        )
        .await;
    }
);

both!(
    a_read_field_list_limits_what_star_expands_to,
    |app| async move {
        app.exec(
            "CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT, color TEXT)",
            "CREATE TABLE tags (id SERIAL PRIMARY KEY, name TEXT, color TEXT)",
        )
        .await;
        seed(&app).await;
        let role = editor(&app).await;
        grant(
            &app,
            Some(&role),
            "articles",
            "read",
            json!({"id": {"_lt": 3}}),
            json!(["title", "views"]),
        )
        .await;
        let want = json!({"data": [
            {"id": 1, "title": "Alpha", "views": 10},
            {"id": 2, "title": "Beta", "views": 3},
        ]});
        for path in [
            "/items/articles?sort=id",
            "/items/articles?fields=*&sort=id",
        ] {
            app.expect("GET", path, None, USER, 200, want.clone()).await;
        }
        app.expect(
            "GET",
            "/items/articles/2",
            None,
            USER,
            200,
            json!({"data": {"id": 2, "title": "Beta", "views": 3}}),
        )
        .await;
        // The primary key is always readable, even when the list leaves it out.
        app.expect(
            "GET",
            "/items/articles?fields=id&filter[id][_eq]=1&sort=-id",
            None,
            USER,
            200,
            json!({"data": ids(&[1])}),
        )
        .await;
        // `["*"]` and no list at all both mean every field.
        grant(&app, Some(&role), "tags", "read", Value::Null, json!(["*"])).await;
        app.exec(
            "INSERT INTO tags (name, color) VALUES ('rust', 'red')",
            "INSERT INTO tags (name, color) VALUES ('rust', 'red')",
        )
        .await;
        app.expect(
            "GET",
            "/items/tags",
            None,
            USER,
            200,
            json!({"data": [{"id": 1, "name": "rust", "color": "red"}]}),
        )
        .await;
    }
);

both!(
    hidden_fields_are_forbidden_in_every_part_of_a_query,
    |app| async move {
        seed(&app).await;
        let role = editor(&app).await;
        grant(
            &app,
            Some(&role),
            "articles",
            "read",
            Value::Null,
            json!(["title", "views"]),
        )
        .await;
        for (path, field) in [
            ("/items/articles?fields=body", "body"),
            ("/items/articles?fields=id,title,price", "price"),
            ("/items/articles/1?fields=published", "published"),
            ("/items/articles?filter[body][_null]=true", "body"),
            (
                "/items/articles?filter[_or][0][views][_gt]=1&filter[_or][1][price][_gt]=1",
                "price",
            ),
            ("/items/articles?sort=-published", "published"),
            ("/items/articles?aggregate[sum]=price", "price"),
            (
                "/items/articles?aggregate[count]=*&groupBy=published",
                "published",
            ),
        ] {
            app.expect(
                "GET",
                path,
                None,
                USER,
                403,
                forbidden_field(field, "articles"),
            )
            .await;
        }
        app.expect(
            "SEARCH",
            "/items/articles",
            Some(json!({"query": {"filter": {"body": {"_contains": "Rust"}}}})),
            USER,
            403,
            forbidden_field("body", "articles"),
        )
        .await;
        // The same queries on readable fields answer.
        app.expect(
            "GET",
            "/items/articles?fields=title&filter[views][_gt]=2&sort=-views",
            None,
            USER,
            200,
            json!({"data": [{"title": "Alpha"}, {"title": "Beta"}]}),
        )
        .await;
        app.expect(
            "GET",
            "/items/articles?aggregate[sum]=views",
            None,
            USER,
            200,
            json!({"data": [{"sum": {"views": 14}}]}),
        )
        .await;
    }
);

both!(search_does_not_look_into_hidden_fields, |app| async move {
    seed(&app).await;
    let role = editor(&app).await;
    grant(
        &app,
        Some(&role),
        "articles",
        "read",
        Value::Null,
        json!(["title"]),
    )
    .await;
    // "Rust" is only in Alpha's hidden body.
    app.expect(
        "GET",
        "/items/articles?search=rust",
        None,
        USER,
        200,
        json!({"data": []}),
    )
    .await;
    app.expect(
        "GET",
        "/items/articles?search=ALP&meta=filter_count",
        None,
        USER,
        200,
        json!({"data": [{"id": 1, "title": "Alpha"}], "meta": {"filter_count": 1}}),
    )
    .await;
    // The admin's search does see the body.
    app.expect(
        "GET",
        "/items/articles?search=rust&fields=id",
        None,
        ADMIN,
        200,
        json!({"data": ids(&[1])}),
    )
    .await;
});

both!(
    creating_with_a_hidden_field_is_forbidden,
    |app| async move {
        seed(&app).await;
        let role = editor(&app).await;
        grant(
            &app,
            Some(&role),
            "articles",
            "create",
            Value::Null,
            json!(["title", "views"]),
        )
        .await;
        grant(
            &app,
            Some(&role),
            "articles",
            "read",
            Value::Null,
            Value::Null,
        )
        .await;
        let one = app
            .send(
                "POST",
                "/items/articles",
                Some(&json!({"title": "New", "body": "hidden"}).to_string()),
                USER,
            )
            .await;
        let many = app
            .send(
                "POST",
                "/items/articles",
                Some(&json!([{"title": "A"}, {"title": "B", "price": 1, "body": "x"}]).to_string()),
                USER,
            )
            .await;
        assert_eq!(one.status.as_u16(), 403, "{}", one.text);
        assert_eq!(many.status.as_u16(), 403, "{}", many.text);
        assert_eq!(app.count("articles").await, 4);
        // (No id asserted: PostgreSQL's sequence moved on with the refused batch's first row.)
        app.expect(
            "POST",
            "/items/articles?fields=title,views,body",
            Some(json!({"title": "New", "views": 7})),
            USER,
            200,
            json!({"data": {"title": "New", "views": 7, "body": null}}),
        )
        .await;
        assert_eq!(app.count("articles").await, 5);
        assert_eq!(one.json(), forbidden_payload(&["body"], "articles"));
        assert_eq!(
            many.json(),
            forbidden_payload(&["price", "body"], "articles")
        );
    }
);

both!(
    creating_outside_the_create_filter_is_forbidden,
    |app| async move {
        seed(&app).await;
        let role = editor(&app).await;
        grant(
            &app,
            Some(&role),
            "articles",
            "create",
            json!({"views": {"_lt": 100}}),
            Value::Null,
        )
        .await;
        grant(
            &app,
            Some(&role),
            "articles",
            "read",
            Value::Null,
            Value::Null,
        )
        .await;
        refused(
            &app,
            "POST",
            "/items/articles",
            Some(json!({"title": "Viral", "views": 500})),
            USER,
        )
        .await;
        assert_eq!(app.count("articles").await, 4);
        // One refused row refuses the batch.
        refused(
            &app,
            "POST",
            "/items/articles",
            Some(json!([{"title": "Quiet", "views": 1}, {"title": "Viral", "views": 500}])),
            USER,
        )
        .await;
        assert_eq!(app.count("articles").await, 4);
        assert_eq!(snapshot(&app).await, seeded_snapshot());
        let reply = app
            .send(
                "POST",
                "/items/articles?fields=title,views",
                Some(&json!({"title": "Quiet", "views": 99}).to_string()),
                USER,
            )
            .await;
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
        assert_eq!(
            reply.json(),
            json!({"data": {"title": "Quiet", "views": 99}})
        );
        assert_eq!(app.count("articles").await, 5);
    }
);

both!(
    a_create_that_cannot_be_read_back_answers_204,
    |app| async move {
        seed(&app).await;
        let role = editor(&app).await;
        grant(
            &app,
            Some(&role),
            "articles",
            "create",
            Value::Null,
            Value::Null,
        )
        .await;
        grant(
            &app,
            Some(&role),
            "articles",
            "read",
            json!({"published": {"_eq": true}}),
            Value::Null,
        )
        .await;
        app.expect_empty(
            "POST",
            "/items/articles",
            Some(json!({"title": "Draft", "published": false})),
            USER,
        )
        .await;
        app.expect(
            "POST",
            "/items/articles?fields=title",
            Some(json!({"title": "Live", "published": true})),
            USER,
            200,
            json!({"data": {"title": "Live"}}),
        )
        .await;
        assert_eq!(app.count("articles").await, 6);
    }
);

// Directus answers 204 when a created item cannot be read back, also when the caller has
// no read grant at all (rest-and-query.md §1).
both!(
    a_create_without_any_read_grant_answers_204,
    |app| async move {
        seed(&app).await;
        let role = editor(&app).await;
        grant(
            &app,
            Some(&role),
            "articles",
            "create",
            Value::Null,
            Value::Null,
        )
        .await;
        let reply = app
            .send(
                "POST",
                "/items/articles",
                Some(&json!({"title": "Blind"}).to_string()),
                USER,
            )
            .await;
        // The row is written either way; only the answer differs.
        assert_eq!(app.count("articles").await, 5);
        let rows = admin_data(&app, "/items/articles?fields=title&filter[id][_eq]=5").await;
        assert_eq!(rows, json!([{"title": "Blind"}]));
        assert_eq!(reply.status.as_u16(), 204, "{}", reply.text);
        assert_eq!(reply.text, "");
    }
);

both!(
    updating_outside_the_filter_is_forbidden_and_changes_nothing,
    |app| async move {
        seed(&app).await;
        let role = editor(&app).await;
        grant(
            &app,
            Some(&role),
            "articles",
            "read",
            Value::Null,
            Value::Null,
        )
        .await;
        grant(
            &app,
            Some(&role),
            "articles",
            "update",
            json!({"published": {"_eq": true}}),
            Value::Null,
        )
        .await;
        let change = json!({"views": 999});
        refused(
            &app,
            "PATCH",
            "/items/articles/2",
            Some(change.clone()),
            USER,
        )
        .await;
        refused(
            &app,
            "PATCH",
            "/items/articles/3",
            Some(change.clone()),
            USER,
        )
        .await;
        refused(
            &app,
            "PATCH",
            "/items/articles",
            Some(json!({"keys": [1, 2], "data": change})),
            USER,
        )
        .await;
        refused(
            &app,
            "PATCH",
            "/items/articles",
            Some(json!([{"id": 4, "views": 999}, {"id": 2, "views": 999}])),
            USER,
        )
        .await;
        refused(
            &app,
            "PATCH",
            "/items/articles",
            Some(json!({"query": {"filter": {"views": {"_gte": 1}}}, "data": {"views": 999}})),
            USER,
        )
        .await;
        assert_eq!(snapshot(&app).await, seeded_snapshot());
        // Rows inside the filter can be changed, one by one or in a batch.
        app.expect(
            "PATCH",
            "/items/articles/1?fields=id,views",
            Some(json!({"views": 11})),
            USER,
            200,
            json!({"data": {"id": 1, "views": 11}}),
        )
        .await;
        app.expect(
            "PATCH",
            "/items/articles?fields=id,views",
            Some(json!({"query": {"filter": {"published": {"_eq": true}}}, "data": {"views": 50}})),
            USER,
            200,
            json!({"data": [{"id": 1, "views": 50}, {"id": 4, "views": 50}]}),
        )
        .await;
        app.expect(
            "GET",
            "/items/articles?fields=id,views&sort=id",
            None,
            ADMIN,
            200,
            json!({"data": [
                {"id": 1, "views": 50}, {"id": 2, "views": 3}, {"id": 3, "views": 0},
                {"id": 4, "views": 50},
            ]}),
        )
        .await;
    }
);

both!(updating_a_hidden_field_is_forbidden, |app| async move {
    seed(&app).await;
    let role = editor(&app).await;
    grant(
        &app,
        Some(&role),
        "articles",
        "read",
        Value::Null,
        Value::Null,
    )
    .await;
    grant(
        &app,
        Some(&role),
        "articles",
        "update",
        Value::Null,
        json!(["title"]),
    )
    .await;
    let reply = app
        .send(
            "PATCH",
            "/items/articles/1",
            Some(&json!({"title": "Renamed", "views": 0}).to_string()),
            USER,
        )
        .await;
    assert_eq!(reply.status.as_u16(), 403, "{}", reply.text);
    let batch = app
        .send(
            "PATCH",
            "/items/articles",
            Some(&json!({"keys": [1, 2], "data": {"published": false}}).to_string()),
            USER,
        )
        .await;
    assert_eq!(batch.status.as_u16(), 403, "{}", batch.text);
    assert_eq!(snapshot(&app).await, seeded_snapshot());
    app.expect(
        "PATCH",
        "/items/articles/1?fields=title,views",
        Some(json!({"title": "Renamed"})),
        USER,
        200,
        json!({"data": {"title": "Renamed", "views": 10}}),
    )
    .await;
    assert_eq!(reply.json(), forbidden_payload(&["views"], "articles"));
    assert_eq!(batch.json(), forbidden_payload(&["published"], "articles"));
});

both!(
    deleting_outside_the_filter_is_forbidden_and_deletes_nothing,
    |app| async move {
        seed(&app).await;
        let role = editor(&app).await;
        grant(
            &app,
            Some(&role),
            "articles",
            "read",
            Value::Null,
            Value::Null,
        )
        .await;
        grant(
            &app,
            Some(&role),
            "articles",
            "delete",
            json!({"published": {"_eq": false}}),
            Value::Null,
        )
        .await;
        refused(&app, "DELETE", "/items/articles/1", None, USER).await;
        refused(&app, "DELETE", "/items/articles", Some(json!([2, 1])), USER).await;
        refused(
            &app,
            "DELETE",
            "/items/articles",
            Some(json!({"keys": [3, 2]})),
            USER,
        )
        .await;
        refused(
            &app,
            "DELETE",
            "/items/articles",
            Some(json!({"query": {"filter": {"views": {"_lt": 5}}}})),
            USER,
        )
        .await;
        assert_eq!(app.count("articles").await, 4);
        assert_eq!(snapshot(&app).await, seeded_snapshot());
        app.expect_empty("DELETE", "/items/articles/2", None, USER)
            .await;
        assert_eq!(app.count("articles").await, 3);
        app.expect(
            "GET",
            "/items/articles?fields=id&sort=id",
            None,
            ADMIN,
            200,
            json!({"data": ids(&[1, 3, 4])}),
        )
        .await;
    }
);

both!(writes_without_a_grant_are_forbidden, |app| async move {
    seed(&app).await;
    let role = editor(&app).await;
    grant(
        &app,
        Some(&role),
        "articles",
        "read",
        Value::Null,
        Value::Null,
    )
    .await;
    refused(
        &app,
        "POST",
        "/items/articles",
        Some(json!({"title": "No"})),
        USER,
    )
    .await;
    refused(
        &app,
        "PATCH",
        "/items/articles/1",
        Some(json!({"views": 0})),
        USER,
    )
    .await;
    refused(
        &app,
        "PATCH",
        "/items/articles",
        Some(json!({"keys": [1], "data": {"views": 0}})),
        USER,
    )
    .await;
    refused(&app, "DELETE", "/items/articles/1", None, USER).await;
    refused(&app, "DELETE", "/items/articles", Some(json!([1, 2])), USER).await;
    assert_eq!(app.count("articles").await, 4);
    assert_eq!(snapshot(&app).await, seeded_snapshot());
});

// Directus checks that every key of a non-admin's write is one the caller may touch; a
// key with no row fails that check (rest-and-query.md §1: "Non-admins get 403 if the item
// is missing").
both!(
    non_admin_writes_to_missing_ids_are_forbidden,
    |app| async move {
        seed(&app).await;
        let role = editor(&app).await;
        for action in ["read", "update", "delete"] {
            grant(
                &app,
                Some(&role),
                "articles",
                action,
                Value::Null,
                Value::Null,
            )
            .await;
        }
        refused(&app, "DELETE", "/items/articles/99", None, USER).await;
        refused(
            &app,
            "DELETE",
            "/items/articles",
            Some(json!([1, 99])),
            USER,
        )
        .await;
        assert_eq!(app.count("articles").await, 4);
        refused(
            &app,
            "PATCH",
            "/items/articles/99",
            Some(json!({"views": 5})),
            USER,
        )
        .await;
        assert_eq!(snapshot(&app).await, seeded_snapshot());
    }
);

both!(anonymous_callers_get_the_public_grants, |app| async move {
    seed(&app).await;
    let role = editor(&app).await;
    grant(
        &app,
        None,
        "articles",
        "read",
        json!({"published": {"_eq": true}}),
        json!(["title"]),
    )
    .await;
    app.expect(
        "GET",
        "/items/articles?sort=id&meta=total_count",
        None,
        None,
        200,
        json!({"data": [{"id": 1, "title": "Alpha"}, {"id": 4, "title": "Delta"}],
               "meta": {"total_count": 2}}),
    )
    .await;
    app.expect(
        "GET",
        "/items/articles?fields=views",
        None,
        None,
        403,
        forbidden_field("views", "articles"),
    )
    .await;
    refused(&app, "GET", "/items/articles/2", None, None).await;
    // Public grants are not a signed-in user's: the editor's role has none.
    refused(&app, "GET", "/items/articles", None, USER).await;
    // And a role's grants are not the public's.
    grant(
        &app,
        Some(&role),
        "articles",
        "create",
        Value::Null,
        Value::Null,
    )
    .await;
    refused(
        &app,
        "POST",
        "/items/articles",
        Some(json!({"title": "anon"})),
        None,
    )
    .await;
    assert_eq!(app.count("articles").await, 4);
    grant(
        &app,
        None,
        "articles",
        "create",
        Value::Null,
        json!(["title"]),
    )
    .await;
    let hidden = app
        .send(
            "POST",
            "/items/articles",
            Some(&json!({"title": "Anon", "published": true}).to_string()),
            None,
        )
        .await;
    assert_eq!(hidden.status.as_u16(), 403, "{}", hidden.text);
    assert_eq!(app.count("articles").await, 4);
    // Created, but not readable by the public (unpublished): 204.
    app.expect_empty(
        "POST",
        "/items/articles",
        Some(json!({"title": "Anon"})),
        None,
    )
    .await;
    assert_eq!(app.count("articles").await, 5);
    assert_eq!(hidden.json(), forbidden_payload(&["published"], "articles"));
});

both!(grants_of_one_role_add_up, |app| async move {
    seed(&app).await;
    let role = editor(&app).await;
    grant(
        &app,
        Some(&role),
        "articles",
        "read",
        json!({"published": {"_eq": true}}),
        json!(["title"]),
    )
    .await;
    grant(
        &app,
        Some(&role),
        "articles",
        "read",
        json!({"views": {"_eq": 0}}),
        json!(["views"]),
    )
    .await;
    app.expect(
        "GET",
        "/items/articles?sort=id",
        None,
        USER,
        200,
        json!({"data": [
            {"id": 1, "title": "Alpha", "views": 10},
            {"id": 3, "title": "Gamma", "views": 0},
            {"id": 4, "title": "Delta", "views": 1},
        ]}),
    )
    .await;
    app.expect(
        "GET",
        "/items/articles?aggregate[count]=*",
        None,
        USER,
        200,
        json!({"data": [{"count": 3}]}),
    )
    .await;
    app.expect(
        "GET",
        "/items/articles?fields=body",
        None,
        USER,
        403,
        forbidden_field("body", "articles"),
    )
    .await;
    // A row without a filter opens every row.
    grant(
        &app,
        Some(&role),
        "articles",
        "read",
        Value::Null,
        json!(["title"]),
    )
    .await;
    app.expect(
        "GET",
        "/items/articles?fields=id&sort=id",
        None,
        USER,
        200,
        json!({"data": ids(&[1, 2, 3, 4])}),
    )
    .await;
    // Update grants add up the same way.
    grant(
        &app,
        Some(&role),
        "articles",
        "update",
        json!({"id": {"_eq": 1}}),
        json!(["title"]),
    )
    .await;
    grant(
        &app,
        Some(&role),
        "articles",
        "update",
        json!({"id": {"_eq": 2}}),
        json!(["views"]),
    )
    .await;
    app.expect(
        "PATCH",
        "/items/articles?fields=id,title,views",
        Some(json!({"keys": [1, 2], "data": {"title": "Both", "views": 5}})),
        USER,
        200,
        json!({"data": [
            {"id": 1, "title": "Both", "views": 5},
            {"id": 2, "title": "Both", "views": 5},
        ]}),
    )
    .await;
    refused(
        &app,
        "PATCH",
        "/items/articles/3",
        Some(json!({"title": "No"})),
        USER,
    )
    .await;
});

both!(grants_belong_to_their_role_only, |app| async move {
    seed(&app).await;
    let editors = editor(&app).await;
    let readers = app.create_role("Readers", false).await;
    app.create_user_in("reader@example.com", "reader-token", &readers)
        .await;
    grant(
        &app,
        Some(&editors),
        "articles",
        "read",
        json!({"id": {"_eq": 1}}),
        Value::Null,
    )
    .await;
    grant(
        &app,
        Some(&readers),
        "articles",
        "read",
        json!({"id": {"_eq": 2}}),
        Value::Null,
    )
    .await;
    grant(
        &app,
        Some(&readers),
        "articles",
        "delete",
        Value::Null,
        Value::Null,
    )
    .await;
    app.expect(
        "GET",
        "/items/articles?fields=id",
        None,
        USER,
        200,
        json!({"data": ids(&[1])}),
    )
    .await;
    app.expect(
        "GET",
        "/items/articles?fields=id",
        None,
        Some("reader-token"),
        200,
        json!({"data": ids(&[2])}),
    )
    .await;
    refused(&app, "DELETE", "/items/articles/1", None, USER).await;
    assert_eq!(app.count("articles").await, 4);
});

both!(users_of_admin_roles_bypass_grants, |app| async move {
    seed(&app).await;
    let chiefs = app.create_role("Chiefs", true).await;
    app.create_user_in("chief@example.com", "chief-token", &chiefs)
        .await;
    // A narrow grant for the admin role changes nothing.
    grant(
        &app,
        Some(&chiefs),
        "articles",
        "read",
        json!({"id": {"_eq": 1}}),
        json!(["title"]),
    )
    .await;
    let chief = Some("chief-token");
    app.expect("GET",
        "/items/articles?fields=id,body&filter[id][_lt]=3&sort=id",
        None,
        chief,
        200,
        json!({"data": [{"id": 1, "body": "First post about Rust"}, {"id": 2, "body": "Second post"}]}),
    )
    .await;
    app.expect("PATCH",
        "/items/articles/2?fields=id,price",
        Some(json!({"price": 5})),
        chief,
        200,
        json!({"data": {"id": 2, "price": if app.db.get_database_backend() == sea_orm::DbBackend::Postgres { "5.00" } else { "5" }}}),
    )
    .await;
    app.expect_empty("DELETE", "/items/articles/3", None, chief)
        .await;
    assert_eq!(app.count("articles").await, 3);
    app.expect(
        "GET",
        "/permissions?fields=id",
        None,
        chief,
        200,
        json!({"data": [{"id": 1}]}),
    )
    .await;
});

both!(
    permission_filters_resolve_the_current_user,
    |app| async move {
        let role = app.create_role("Editors", false).await;
        let me = app
            .create_user_in("editor@example.com", USER_TOKEN, &role)
            .await;
        let other = app
            .create_user_in("other@example.com", "other-token", &role)
            .await;
        app.exec(
            "CREATE TABLE tasks (id INTEGER PRIMARY KEY, title TEXT NOT NULL, owner UUID)",
            "CREATE TABLE tasks (id SERIAL PRIMARY KEY, title TEXT NOT NULL, owner UUID)",
        )
        .await;
        let reply = app
            .send(
                "POST",
                "/items/tasks?fields=id",
                Some(
                    &json!([
                        {"title": "mine", "owner": me},
                        {"title": "theirs", "owner": other},
                        {"title": "nobody's"},
                    ])
                    .to_string(),
                ),
                ADMIN,
            )
            .await;
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
        let own = json!({"owner": {"_eq": "$CURRENT_USER"}});
        grant(&app, Some(&role), "tasks", "read", own.clone(), Value::Null).await;
        grant(&app, Some(&role), "tasks", "update", own, json!(["title"])).await;
        app.expect(
            "GET",
            "/items/tasks?fields=id,title",
            None,
            USER,
            200,
            json!({"data": [{"id": 1, "title": "mine"}]}),
        )
        .await;
        app.expect(
            "GET",
            "/items/tasks?fields=id,title",
            None,
            Some("other-token"),
            200,
            json!({"data": [{"id": 2, "title": "theirs"}]}),
        )
        .await;
        refused(
            &app,
            "PATCH",
            "/items/tasks/2",
            Some(json!({"title": "stolen"})),
            USER,
        )
        .await;
        app.expect(
            "PATCH",
            "/items/tasks/1?fields=title",
            Some(json!({"title": "still mine"})),
            USER,
            200,
            json!({"data": {"title": "still mine"}}),
        )
        .await;
        app.expect(
            "GET",
            "/items/tasks?fields=title&sort=id",
            None,
            ADMIN,
            200,
            json!({"data": [{"title": "still mine"}, {"title": "theirs"}, {"title": "nobody's"}]}),
        )
        .await;
    }
);

// The app's recommended policy (rest-and-query.md §1): read flows filtered to manual
// triggers, some fields only.
both!(grants_apply_to_system_collections, |app| async move {
    let role = editor(&app).await;
    let flows = json!([
        {"id": "f1000000-0000-4000-8000-000000000001", "name": "Button", "trigger": "manual",
         "description": "secret"},
        {"id": "f1000000-0000-4000-8000-000000000002", "name": "Hook", "trigger": "webhook"},
    ]);
    let reply = app
        .send("POST", "/flows?fields=id", Some(&flows.to_string()), ADMIN)
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    grant(
        &app,
        Some(&role),
        "directus_flows",
        "read",
        json!({"trigger": {"_eq": "manual"}}),
        json!([
            "id", "status", "name", "icon", "color", "options", "trigger"
        ]),
    )
    .await;
    app.expect(
        "GET",
        "/flows",
        None,
        USER,
        200,
        json!({"data": [{"id": "f1000000-0000-4000-8000-000000000001", "status": "active",
                         "name": "Button", "icon": null, "color": null, "options": null,
                         "trigger": "manual"}]}),
    )
    .await;
    app.expect(
        "GET",
        "/flows?fields=description",
        None,
        USER,
        403,
        forbidden_field("description", "directus_flows"),
    )
    .await;
    refused(
        &app,
        "GET",
        "/flows/f1000000-0000-4000-8000-000000000002",
        None,
        USER,
    )
    .await;
    refused(&app, "GET", "/operations", None, USER).await;
    refused(
        &app,
        "PATCH",
        "/flows/f1000000-0000-4000-8000-000000000001",
        Some(json!({"name": "Mine"})),
        USER,
    )
    .await;
    app.expect(
        "GET",
        "/flows?fields=name&sort=name",
        None,
        ADMIN,
        200,
        json!({"data": [{"name": "Button"}, {"name": "Hook"}]}),
    )
    .await;
});

both!(grant_changes_apply_to_the_next_request, |app| async move {
    seed(&app).await;
    let role = editor(&app).await;
    let id = grant(
        &app,
        Some(&role),
        "articles",
        "read",
        json!({"id": {"_eq": 1}}),
        Value::Null,
    )
    .await;
    app.expect(
        "GET",
        "/items/articles?fields=id",
        None,
        USER,
        200,
        json!({"data": ids(&[1])}),
    )
    .await;
    let reply = app
        .send(
            "PATCH",
            &format!("/permissions/{id}"),
            Some(&json!({"permissions": {"id": {"_in": [2, 3]}}}).to_string()),
            ADMIN,
        )
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    app.expect(
        "GET",
        "/items/articles?fields=id&sort=id",
        None,
        USER,
        200,
        json!({"data": ids(&[2, 3])}),
    )
    .await;
    app.expect_empty("DELETE", &format!("/permissions/{id}"), None, ADMIN)
        .await;
    refused(&app, "GET", "/items/articles", None, USER).await;
});
