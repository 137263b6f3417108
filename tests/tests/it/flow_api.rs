//! The second flow API (issue 7): `/api/flows/`, `/api/flows/<id>/` and
//! `/api/apps/<id>/status/` over the Directus store, and what the declared input and output
//! fields mean when a `trigger` operation runs such a flow.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use e2e::{ADMIN_TOKEN, Reply, TestApp, both};
use http_body_util::BodyExt;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use tower::ServiceExt;

const INVALID_NAME: &str = "Invalid flow name. Flow name must contain only alphanumeric characters and the underscore character.";
const MISSING: &str = "dead0000-0000-4000-8000-000000000000";

fn not_found() -> Value {
    json!({"detail": "Not found."})
}

fn forbidden() -> Value {
    json!({"errors": [{"message": "You don't have permission to access this.", "extensions": {"code": "FORBIDDEN"}}]})
}

fn invalid_credentials() -> Value {
    json!({"errors": [{"message": "Invalid user credentials.", "extensions": {"code": "INVALID_CREDENTIALS"}}]})
}

/// Checks a reply's status and exact JSON body.
fn assert_reply(reply: &Reply, status: u16, body: Value) {
    assert_eq!(reply.status.as_u16(), status, "{}", reply.text);
    assert_eq!(reply.json(), body);
}

/// A request as the admin.
async fn admin(app: &TestApp, method: &str, path: &str, body: Option<Value>) -> Reply {
    let body = body.map(|b| b.to_string());
    app.send(method, path, body.as_deref(), Some(ADMIN_TOKEN))
        .await
}

/// `POST /api/flows/` as the admin; answers the new flow's id (from `Location`) and body.
async fn create(app: &TestApp, body: Value) -> (String, Value) {
    let req = Request::builder()
        .method("POST")
        .uri("/api/flows/")
        .header(header::AUTHORIZATION, format!("Bearer {ADMIN_TOKEN}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .expect("request");
    let res = app.router.clone().oneshot(req).await.expect("response");
    let status = res.status();
    let location = res
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    assert_eq!(status, StatusCode::CREATED, "{text}");
    let location = location.expect("a Location header");
    let id = location
        .strip_prefix("/api/flows/")
        .and_then(|rest| rest.strip_suffix('/'))
        .expect("Location is /api/flows/<id>/")
        .to_string();
    let body: Value = serde_json::from_str(&text).expect("JSON");
    (id, body)
}

/// Creates a flow through the Directus API; answers its id.
async fn directus_flow(app: &TestApp, body: Value) -> String {
    let reply = admin(app, "POST", "/flows", Some(body)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.json()["data"]["id"]
        .as_str()
        .expect("flow id")
        .to_string()
}

/// Adds an operation to a flow through the Directus API and makes it the first one.
async fn first_operation(app: &TestApp, flow: &str, key: &str, kind: &str, options: Value) {
    let op = json!({
        "flow": flow, "key": key, "name": key, "type": kind,
        "position_x": 1, "position_y": 1, "options": options,
    });
    let reply = admin(app, "POST", "/operations", Some(op)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let op_id = reply.json()["data"]["id"].clone();
    let reply = admin(
        app,
        "PATCH",
        &format!("/flows/{flow}"),
        Some(json!({"operation": op_id})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
}

/// A webhook flow (POST) whose only operation runs `target` with the request body.
async fn caller(app: &TestApp, name: &str, target: &str, options: Value) -> String {
    let mut flow_options = json!({"method": "POST"});
    if let (Some(all), Some(extra)) = (flow_options.as_object_mut(), options.as_object()) {
        all.extend(extra.clone());
    }
    let id = directus_flow(
        app,
        json!({"name": name, "status": "active", "trigger": "webhook", "options": flow_options}),
    )
    .await;
    first_operation(
        app,
        &id,
        "call",
        "trigger",
        json!({"flow": target, "payload": "{{$trigger.body}}"}),
    )
    .await;
    id
}

async fn insert_folder(app: &TestApp, name: &str) -> String {
    let backend = app.db.get_database_backend();
    let id = uuid::Uuid::new_v4();
    let sql = if backend == sea_orm::DbBackend::Postgres {
        "INSERT INTO directus_folders (id, name) VALUES ($1, $2)"
    } else {
        "INSERT INTO directus_folders (id, name) VALUES (?, ?)"
    };
    app.db
        .execute_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [domain::sql::uuid_value(backend, id), name.into()],
        ))
        .await
        .expect("folder");
    id.to_string()
}

fn canvas(body: &Value) -> String {
    let id = body["canvas_id"].as_str().expect("canvas_id").to_string();
    let parsed = uuid::Uuid::parse_str(&id).expect("canvas_id is a UUID");
    assert_eq!(parsed.get_version_num(), 5);
    id
}

both!(
    create_answers_201_and_the_flow_reads_back,
    |app| async move {
        let (id, body) = create(
            &app,
            json!({"name": "Adder_2", "input_fields": ["a", "b"], "output_fields": ["sum"]}),
        )
        .await;
        let canvas_id = canvas(&body);
        assert_eq!(
            body,
            json!({"name": "Adder_2", "input_fields": ["a", "b"], "output_fields": ["sum"], "canvas_id": canvas_id})
        );
        for path in [format!("/api/flows/{id}/"), format!("/api/flows/{id}")] {
            assert_reply(&admin(&app, "GET", &path, None).await, 200, body.clone());
        }
        // In Directus terms: an active flow with trigger `operation`, the lists in its options.
        let reply = admin(
            &app,
            "GET",
            &format!("/flows/{id}?fields=name,status,trigger,options"),
            None,
        )
        .await;
        assert_reply(
            &reply,
            200,
            json!({"data": {"name": "Adder_2", "status": "active", "trigger": "operation",
            "options": {"input_fields": ["a", "b"], "output_fields": ["sum"], "return": "$last"}}}),
        );
        // The lists default to empty; the path without its slash works too.
        let reply = admin(&app, "POST", "/api/flows", Some(json!({"name": "plain"}))).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        let plain = reply.json();
        assert_eq!(
            plain,
            json!({"name": "plain", "input_fields": [], "output_fields": [], "canvas_id": canvas(&plain)})
        );
        // Created through the items service: logged as Directus logs its writes.
        let reply = admin(
            &app,
            "GET",
            &format!("/activity?filter[item][_eq]={id}&fields=action,collection"),
            None,
        )
        .await;
        assert_reply(
            &reply,
            200,
            json!({"data": [{"action": "create", "collection": "directus_flows"}]}),
        );
    }
);

both!(
    invalid_names_answer_400_and_write_nothing,
    |app| async move {
        let before = app.count("directus_flows").await;
        for name in ["bad name", "bad-name", "naïve", "semi;colon", "dot.ted"] {
            let reply = admin(&app, "POST", "/api/flows/", Some(json!({"name": name}))).await;
            assert_reply(&reply, 400, json!({"name": [INVALID_NAME]}));
        }
        let reply = admin(
            &app,
            "POST",
            "/api/flows/",
            Some(json!({"input_fields": "a"})),
        )
        .await;
        assert_reply(
            &reply,
            400,
            json!({
                "name": ["This field is required."],
                "input_fields": ["Expected a list of items but got type \"str\"."],
            }),
        );
        let reply = admin(
            &app,
            "POST",
            "/api/flows/",
            Some(json!({"name": "ok", "output_fields": ["x", 1]})),
        )
        .await;
        assert_reply(
            &reply,
            400,
            json!({"output_fields": {"1": ["Not a valid string."]}}),
        );
        assert_eq!(app.count("directus_flows").await, before);
    }
);

both!(
    list_filters_by_name_and_group_case_insensitively,
    |app| async move {
        let sales = insert_folder(&app, "Sales").await;
        let ops = insert_folder(&app, "Ops").await;
        let (one, _) = create(&app, json!({"name": "Alpha_One", "input_fields": ["q"]})).await;
        let (two, _) = create(&app, json!({"name": "alpha_one"})).await;
        let (_three, _) = create(&app, json!({"name": "Beta"})).await;
        for (flow, folder) in [(&one, &sales), (&two, &ops)] {
            let reply = admin(
                &app,
                "PATCH",
                &format!("/flows/{flow}"),
                Some(json!({"folder": folder})),
            )
            .await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        }
        let names = |reply: &Reply| -> Vec<String> {
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
            let mut names: Vec<String> = reply
                .json()
                .as_array()
                .expect("a list")
                .iter()
                .map(|f| f["name"].as_str().expect("name").to_string())
                .collect();
            names.sort();
            names
        };
        let cases: [(&str, &[&str]); 9] = [
            ("/api/flows/", &["Alpha_One", "Beta", "alpha_one"]),
            ("/api/flows", &["Alpha_One", "Beta", "alpha_one"]),
            (
                "/api/flows/?name__iexact=ALPHA_ONE",
                &["Alpha_One", "alpha_one"],
            ),
            ("/api/flows/?name__iexact=beta", &["Beta"]),
            ("/api/flows/?name__iexact=alpha", &[]),
            ("/api/flows/?group__iexact=sAlEs", &["Alpha_One"]),
            (
                "/api/flows/?name__iexact=alpha_ONE&group__iexact=OPS",
                &["alpha_one"],
            ),
            ("/api/flows/?name__iexact=beta&group__iexact=ops", &[]),
            (
                "/api/flows?name__iexact=&group__iexact=",
                &["Alpha_One", "Beta", "alpha_one"],
            ),
        ];
        for (path, expected) in cases {
            let reply = admin(&app, "GET", path, None).await;
            assert_eq!(names(&reply), expected, "{path}");
        }
        // Whole objects in the list.
        let reply = admin(&app, "GET", "/api/flows/?group__iexact=sales", None).await;
        let list = reply.json();
        assert_eq!(
            list,
            json!([{"name": "Alpha_One", "input_fields": ["q"], "output_fields": [], "canvas_id": canvas(&list[0])}])
        );
    }
);

both!(
    put_replaces_the_lists_and_keeps_other_options,
    |app| async move {
        let (id, created) = create(
            &app,
            json!({"name": "Echo", "input_fields": ["a"], "output_fields": ["a"]}),
        )
        .await;
        // Options the Directus side set stay.
        let reply = admin(
        &app,
        "PATCH",
        &format!("/flows/{id}"),
        Some(json!({"options": {"input_fields": ["a"], "output_fields": ["a"], "return": "$last"}})),
    )
    .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        let activity = app.count("directus_activity").await;
        let reply = admin(
            &app,
            "PUT",
            &format!("/api/flows/{id}/"),
            Some(json!({"input_fields": ["a", "b"]})),
        )
        .await;
        assert_reply(
            &reply,
            200,
            json!({"name": "Echo", "input_fields": ["a", "b"], "output_fields": ["a"], "canvas_id": canvas(&created)}),
        );
        let reply = admin(
            &app,
            "PUT",
            &format!("/api/flows/{id}"),
            Some(json!({"output_fields": []})),
        )
        .await;
        assert_reply(
            &reply,
            200,
            json!({"name": "Echo", "input_fields": ["a", "b"], "output_fields": [], "canvas_id": canvas(&created)}),
        );
        assert_eq!(app.count("directus_activity").await, activity + 2);
        let reply = admin(&app, "GET", &format!("/flows/{id}?fields=options"), None).await;
        assert_reply(
            &reply,
            200,
            json!({"data": {"options": {"input_fields": ["a", "b"], "output_fields": [], "return": "$last"}}}),
        );
        let reply = admin(
            &app,
            "PUT",
            &format!("/api/flows/{id}/"),
            Some(json!({"name": "no spaces please"})),
        )
        .await;
        assert_reply(&reply, 400, json!({"name": [INVALID_NAME]}));
        for path in [
            format!("/api/flows/{MISSING}/"),
            format!("/api/flows/{MISSING}"),
            "/api/flows/not-a-uuid/".to_string(),
        ] {
            let reply = admin(&app, "PUT", &path, Some(json!({"input_fields": []}))).await;
            assert_reply(&reply, 404, not_found());
        }
    }
);

both!(
    delete_answers_204_404_and_409_naming_the_callers,
    |app| async move {
        let (child, _) = create(&app, json!({"name": "Child", "input_fields": ["x"]})).await;
        let zeta = caller(&app, "zeta caller", &child, json!({})).await;
        let alpha = caller(&app, "Alpha caller", &child, json!({})).await;
        // A flow calling itself is not another flow.
        first_operation(
            &app,
            &child,
            "again",
            "trigger",
            json!({"flow": child.clone()}),
        )
        .await;
        let conflict = |names: &str| json!({"detail": format!("Cannot delete the Flow, because it is used by these apps/flows: {names}")});
        let reply = admin(&app, "DELETE", &format!("/api/flows/{child}/"), None).await;
        assert_reply(&reply, 409, conflict("Alpha caller,zeta caller"));
        let reply = admin(&app, "DELETE", &format!("/flows/{zeta}"), None).await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
        let reply = admin(&app, "DELETE", &format!("/api/flows/{child}"), None).await;
        assert_reply(&reply, 409, conflict("Alpha caller"));
        let reply = admin(&app, "DELETE", &format!("/flows/{alpha}"), None).await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
        let reply = admin(&app, "DELETE", &format!("/api/flows/{child}/"), None).await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
        assert_eq!(reply.text, "");
        // Gone, with its operations.
        assert_reply(
            &admin(&app, "GET", &format!("/api/flows/{child}/"), None).await,
            404,
            not_found(),
        );
        assert_eq!(app.count("directus_operations").await, 0);
        for path in [
            format!("/api/flows/{child}/"),
            format!("/api/flows/{MISSING}"),
        ] {
            assert_reply(&admin(&app, "DELETE", &path, None).await, 404, not_found());
        }
    }
);

both!(
    status_is_started_stopped_or_not_deployed,
    |app| async move {
        let status = |id: String| {
            let app = &app;
            async move {
                let a = admin(app, "GET", &format!("/api/apps/{id}/status/"), None).await;
                let b = admin(app, "GET", &format!("/api/apps/{id}/status"), None).await;
                assert_eq!(a.status, StatusCode::OK, "{}", a.text);
                assert_eq!(a.json(), b.json());
                a.json()["status"].as_str().expect("status").to_string()
            }
        };
        // Active, but no operation to start at.
        let (id, _) = create(&app, json!({"name": "Worker"})).await;
        assert_eq!(status(id.clone()).await, "not-deployed");
        first_operation(
            &app,
            &id,
            "work",
            "transform",
            json!({"json": {"ok": true}}),
        )
        .await;
        assert_eq!(status(id.clone()).await, "started");
        let reply = admin(
            &app,
            "PATCH",
            &format!("/flows/{id}"),
            Some(json!({"status": "inactive"})),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(status(id.clone()).await, "stopped");
        // Active with an operation but no trigger.
        let untriggered =
            directus_flow(&app, json!({"name": "No trigger", "status": "active"})).await;
        first_operation(&app, &untriggered, "x", "log", json!({"message": "hi"})).await;
        assert_eq!(status(untriggered).await, "not-deployed");
        for id in [MISSING, "not-a-uuid"] {
            assert_reply(
                &admin(&app, "GET", &format!("/api/apps/{id}/status/"), None).await,
                404,
                not_found(),
            );
        }
    }
);

both!(
    directus_flows_are_visible_with_empty_lists,
    |app| async move {
        let id = directus_flow(
            &app,
            json!({"name": "Made in Directus", "trigger": "webhook", "options": {"method": "GET"}}),
        )
        .await;
        let reply = admin(&app, "GET", &format!("/api/flows/{id}/"), None).await;
        let body = reply.json();
        assert_reply(
            &reply,
            200,
            json!({"name": "Made in Directus", "input_fields": [], "output_fields": [], "canvas_id": canvas(&body)}),
        );
        let reply = admin(
            &app,
            "GET",
            "/api/flows/?name__iexact=made%20in%20DIRECTUS",
            None,
        )
        .await;
        assert_reply(&reply, 200, json!([body.clone()]));
        // The canvas id follows the operation graph, not the flow's other fields.
        let reply = admin(
            &app,
            "PATCH",
            &format!("/flows/{id}"),
            Some(json!({"description": "changed", "color": "#FF0000"})),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        let again = admin(&app, "GET", &format!("/api/flows/{id}/"), None).await;
        assert_eq!(canvas(&again.json()), canvas(&body));
        first_operation(&app, &id, "step", "log", json!({"message": "x"})).await;
        let changed = admin(&app, "GET", &format!("/api/flows/{id}/"), None).await;
        assert_ne!(canvas(&changed.json()), canvas(&body));
        for path in [
            format!("/api/flows/{MISSING}/"),
            format!("/api/flows/{MISSING}"),
            "/api/flows/not-a-uuid/".to_string(),
        ] {
            assert_reply(&admin(&app, "GET", &path, None).await, 404, not_found());
        }
    }
);

both!(a_parent_flow_calls_a_declared_flow, |app| async move {
    let (child, _) = create(
        &app,
        json!({"name": "Adder", "input_fields": ["a", "b"], "output_fields": ["sum", "b"]}),
    )
    .await;
    let reply = admin(
        &app,
        "PATCH",
        &format!("/flows/{child}"),
        Some(json!({"options": {"input_fields": ["a", "b"], "output_fields": ["sum", "b"], "return": "$last"}})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    first_operation(
        &app,
        &child,
        "add",
        "transform",
        json!({"json": {"sum": "{{$trigger.a}}", "b": "{{$trigger.b}}", "internal": "hidden"}}),
    )
    .await;
    assert_eq!(
        admin(&app, "GET", &format!("/api/apps/{child}/status/"), None)
            .await
            .json(),
        json!({"status": "started"})
    );
    let parent = caller(
        &app,
        "Parent",
        &child,
        json!({"return": "$last", "error_on_reject": true}),
    )
    .await;
    let url = format!("/flows/trigger/{parent}");
    // A good payload: the answer keeps only the declared outputs.
    let reply = admin(&app, "POST", &url, Some(json!({"a": 3, "b": "x", "c": 1}))).await;
    assert_reply(&reply, 200, json!({"sum": 3, "b": "x"}));
    // A bad payload: the trigger operation rejects, naming the missing field.
    let reply = admin(&app, "POST", &url, Some(json!({"a": 3}))).await;
    assert_reply(
        &reply,
        400,
        json!({"errors": [{
            "message": "Validation failed for field \"b\". Value is required.",
            "extensions": {"field": "b", "path": [], "type": "required", "code": "FAILED_VALIDATION"},
        }]}),
    );
    // What the parent's chain holds: the error, as Directus keeps a rejected operation's.
    let observer = caller(&app, "Observer", &child, json!({"return": "$all"})).await;
    let reply = admin(
        &app,
        "POST",
        &format!("/flows/trigger/{observer}"),
        Some(json!({"b": 1})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        reply.json()["call"],
        json!({"name": "DirectusError", "extensions": {"field": "a", "path": [], "type": "required"}, "code": "FAILED_VALIDATION", "status": 400})
    );
    let reply = admin(
        &app,
        "POST",
        &format!("/flows/trigger/{observer}"),
        Some(json!({"a": "1", "b": 2})),
    )
    .await;
    assert_eq!(reply.json()["call"], json!({"sum": "1", "b": 2}));
});

both!(
    anonymous_callers_get_403_and_bad_tokens_401,
    |app| async move {
        let (id, _) = create(&app, json!({"name": "Guarded"})).await;
        app.create_user("user@example.com", "user-token", false)
            .await;
        let routes: Vec<(&str, String, Option<Value>)> = vec![
            ("GET", "/api/flows/".into(), None),
            ("GET", "/api/flows".into(), None),
            ("POST", "/api/flows/".into(), Some(json!({"name": "x"}))),
            ("GET", format!("/api/flows/{id}/"), None),
            (
                "PUT",
                format!("/api/flows/{id}/"),
                Some(json!({"input_fields": []})),
            ),
            ("DELETE", format!("/api/flows/{id}"), None),
            ("GET", format!("/api/apps/{id}/status/"), None),
            ("GET", format!("/api/apps/{MISSING}/status"), None),
        ];
        for (method, path, body) in &routes {
            let body = body.as_ref().map(Value::to_string);
            let reply = app.send(method, path, body.as_deref(), None).await;
            assert_reply(&reply, 403, forbidden());
            let reply = app
                .send(method, path, body.as_deref(), Some("user-token"))
                .await;
            assert_reply(&reply, 403, forbidden());
            let reply = app
                .send(method, path, body.as_deref(), Some("wrong-token"))
                .await;
            assert_reply(&reply, 401, invalid_credentials());
        }
        // `?access_token=` works here as everywhere.
        let reply = app
            .send(
                "GET",
                &format!("/api/apps/{id}/status/?access_token={ADMIN_TOKEN}"),
                None,
                None,
            )
            .await;
        assert_reply(&reply, 200, json!({"status": "not-deployed"}));
        assert_eq!(app.count("directus_flows").await, 1);
    }
);
