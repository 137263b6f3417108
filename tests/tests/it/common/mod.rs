//! Fixture builders shared by the GraphQL suites: fixed ids, flows and operations created
//! through `/graphql/system`, a standard data set, and small request helpers.
//!
//! Each test file is its own crate and uses only some of these helpers.
#![allow(dead_code)]

use domain::catalog::FieldKind;
use domain::sql::Decode;
use e2e::TestApp;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

/// A fixed flow id, so that response bodies can be compared whole.
pub fn fid(n: u32) -> String {
    format!("f1000000-0000-4000-8000-{n:012}")
}

/// A fixed operation id.
pub fn oid(n: u32) -> String {
    format!("0e000000-0000-4000-8000-{n:012}")
}

/// An id no row has.
pub const MISSING: &str = "dead0000-0000-4000-8000-000000000000";

/// Creates a flow from a `create_directus_flows_input` (an `id` in `data` pins it);
/// answers the created row's `id`.
pub async fn create_flow(app: &TestApp, data: Value) -> String {
    let out = app
        .gql_ok(
            "mutation ($data: create_directus_flows_input!) { create_flows_item(data: $data) { id } }",
            json!({ "data": data }),
        )
        .await;
    out["create_flows_item"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {out}"))
        .to_string()
}

/// A flow with a fixed id and name; `extra` adds or overrides fields.
pub async fn flow(app: &TestApp, id: &str, name: &str, extra: Value) -> String {
    let mut data = json!({ "id": id, "name": name });
    merge(&mut data, extra);
    create_flow(app, data).await
}

/// An operation of `flow` (its id and current name, which `create_directus_flows_input`
/// requires) with a fixed id, key and position; `extra` adds or overrides fields.
#[allow(clippy::too_many_arguments)]
pub async fn op(
    app: &TestApp,
    id: &str,
    flow: (&str, &str),
    key: &str,
    kind: &str,
    x: i64,
    y: i64,
    extra: Value,
) -> String {
    let mut data = json!({
        "id": id,
        "key": key,
        "type": kind,
        "position_x": x,
        "position_y": y,
        "flow": { "id": flow.0, "name": flow.1 },
    });
    merge(&mut data, extra);
    let out = app
        .gql_ok(
            "mutation ($data: create_directus_operations_input!) { create_operations_item(data: $data) { id } }",
            json!({ "data": data }),
        )
        .await;
    out["create_operations_item"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {out}"))
        .to_string()
}

/// Points an operation's `resolve` and/or `reject` at other operations (by nested id).
pub async fn link(app: &TestApp, id: &str, resolve: Option<&str>, reject: Option<&str>) {
    let mut data = json!({});
    if let Some(r) = resolve {
        data["resolve"] = json!({ "id": r });
    }
    if let Some(r) = reject {
        data["reject"] = json!({ "id": r });
    }
    app.gql_ok(
        "mutation ($id: ID!, $data: update_directus_operations_input!) { update_operations_item(id: $id, data: $data) { id } }",
        json!({ "id": id, "data": data }),
    )
    .await;
}

/// Makes `op` the first operation of `flow`.
pub async fn set_first(app: &TestApp, flow: &str, op: &str) {
    app.gql_ok(
        "mutation ($id: ID!, $data: update_directus_flows_input!) { update_flows_item(id: $id, data: $data) { id } }",
        json!({ "id": flow, "data": { "operation": { "id": op } } }),
    )
    .await;
}

fn merge(base: &mut Value, extra: Value) {
    if let (Value::Object(base), Value::Object(extra)) = (base, extra) {
        for (k, v) in extra {
            base.insert(k, v);
        }
    }
}

/// The standard data set of the read suites:
///
/// | flow | name | trigger | status | accountability | operations |
/// |---|---|---|---|---|---|
/// | F1 | `Alpha Webhook` | webhook | active | all | O1 start -> O2 check -(reject)-> O3 notify |
/// | F2 | `beta webhook` | webhook | inactive | all | O4 start |
/// | F3 | `Gamma schedule` | schedule | active | all | – |
/// | F4 | `Delta_event` | event | active | activity | O5 log |
/// | F5 | `Epsilon manual` | manual | inactive | null | – |
pub async fn seed(app: &TestApp) {
    flow(
        app,
        &fid(1),
        "Alpha Webhook",
        json!({"trigger": "webhook", "description": "Sends mail", "icon": "bolt", "color": "#FF0000",
               "options": {"method": "POST", "async": false}}),
    )
    .await;
    flow(
        app,
        &fid(2),
        "beta webhook",
        json!({"trigger": "webhook", "status": "inactive", "options": {"method": "GET"}}),
    )
    .await;
    flow(
        app,
        &fid(3),
        "Gamma schedule",
        json!({"trigger": "schedule", "description": "", "options": {"cron": "*/5 * * * *"}}),
    )
    .await;
    flow(
        app,
        &fid(4),
        "Delta_event",
        json!({"trigger": "event", "accountability": "activity", "description": "Runs on create"}),
    )
    .await;
    flow(
        app,
        &fid(5),
        "Epsilon manual",
        json!({"trigger": "manual", "status": "inactive", "accountability": null,
               "options": {"collections": ["a", "b"], "location": "item", "a": {"b": 7}}}),
    )
    .await;
    let f1 = fid(1);
    let f1 = (f1.as_str(), "Alpha Webhook");
    op(
        app,
        &oid(1),
        f1,
        "start",
        "log",
        10,
        20,
        json!({"name": "Start", "options": {"message": "hi"}}),
    )
    .await;
    op(
        app,
        &oid(2),
        f1,
        "check",
        "condition",
        30,
        20,
        json!({"options": {"filter": {}}}),
    )
    .await;
    op(app, &oid(3), f1, "notify", "mail", 50, 40, json!({})).await;
    op(
        app,
        &oid(4),
        (&fid(2), "beta webhook"),
        "start",
        "request",
        10,
        10,
        json!({"options": {"url": "https://example.com", "method": "GET"}}),
    )
    .await;
    op(
        app,
        &oid(5),
        (&fid(4), "Delta_event"),
        "log",
        "log",
        0,
        0,
        json!({"options": {"message": "created"}}),
    )
    .await;
    link(app, &oid(1), Some(&oid(2)), None).await;
    link(app, &oid(2), None, Some(&oid(3))).await;
    set_first(app, &fid(1), &oid(1)).await;
    set_first(app, &fid(2), &oid(4)).await;
}

/// The `data` of a query that must succeed.
pub async fn data(app: &TestApp, query: &str) -> Value {
    app.gql_ok(query, json!({})).await
}

/// The names of `data[field]`'s rows, in order: compact checks for filters and sorts.
pub async fn names(app: &TestApp, field: &str, args: &str) -> Vec<String> {
    let query = format!("{{ {field}{args} {{ name }} }}");
    let out = data(app, &query).await;
    pluck(&out[field], "name")
}

/// The keys of the operations a query selects, in order.
pub async fn keys(app: &TestApp, args: &str) -> Vec<String> {
    let query = format!("{{ operations{args} {{ key flow {{ name }} }} }}");
    let out = data(app, &query).await;
    out["operations"]
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {out}"))
        .iter()
        .map(|r| {
            format!(
                "{}/{}",
                r["flow"]["name"].as_str().unwrap_or("?"),
                r["key"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

pub fn pluck(rows: &Value, key: &str) -> Vec<String> {
    rows.as_array()
        .unwrap_or_else(|| panic!("not a list: {rows}"))
        .iter()
        .map(|r| match &r[key] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect()
}

/// A GraphQL request as the admin that answers 200 with an error: the whole body.
pub async fn gql_error(app: &TestApp, query: &str, variables: Value) -> Value {
    let reply = app.gql(query, variables).await;
    let body = reply.json();
    assert_eq!(reply.status, 200, "{body}");
    assert!(body.get("errors").is_some(), "expected errors: {body}");
    body
}

/// The row counts of both collections, to show that a failed write changed nothing.
pub async fn counts(app: &TestApp) -> (i64, i64) {
    (
        app.count("directus_flows").await,
        app.count("directus_operations").await,
    )
}

/// A full snapshot of both collections (every column but the creation dates), to show
/// that a failed write changed nothing at all.
pub async fn snapshot(app: &TestApp) -> Value {
    data(
        app,
        "{ flows(sort: [\"id\"], limit: -1) { id name icon color description status trigger accountability options operation { id } folder { id } }
           operations(sort: [\"id\"], limit: -1) { id name key type position_x position_y options resolve { id } reject { id } flow { id } } }",
    )
    .await
}

/// Percent-encodes a query-string value.
pub fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The id of the admin user of the test database.
pub async fn admin_id(app: &TestApp) -> String {
    let backend = app.db.get_database_backend();
    let row = app
        .db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT id FROM directus_users WHERE email = 'admin@example.com'",
        ))
        .await
        .expect("query")
        .expect("admin row");
    let id = domain::sql::decode(backend, &row, 0, Decode::Field(FieldKind::Uuid)).expect("id");
    id.as_str().expect("uuid text").to_string()
}

/// The error body of an HTTP-level refusal.
pub fn error_body(message: &str, code: &str) -> Value {
    json!({"errors": [{"message": message, "extensions": {"code": code}}]})
}

/// 403 `FORBIDDEN` with Directus's generic message.
pub fn forbidden() -> Value {
    error_body("You don't have permission to access this.", "FORBIDDEN")
}

/// Today's UTC date as `(year, month, day)`, from the system clock.
pub fn today() -> (i64, i64, i64) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    civil(secs.div_euclid(86_400))
}

/// The civil date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
pub fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Seconds since the epoch of a `YYYY-MM-DDTHH:MM:SS.mmmZ` timestamp.
pub fn epoch_seconds(ts: &str) -> i64 {
    let num = |range: std::ops::Range<usize>| -> i64 {
        ts.get(range)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad timestamp {ts}"))
    };
    assert_eq!(ts.len(), 24, "timestamp shape: {ts}");
    assert!(ts.ends_with('Z'), "UTC timestamp: {ts}");
    let (y, m, d) = (num(0..4), num(5..7), num(8..10));
    // Days from civil (inverse of `civil`).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + num(11..13) * 3600 + num(14..16) * 60 + num(17..19)
}

pub fn now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

/// Overwrites a row's `date_created` (which clients cannot set) straight in the database.
pub async fn set_created(app: &TestApp, table: &str, id: &str, timestamp: &str) {
    app.db
        .execute_unprepared(&format!(
            "UPDATE {table} SET date_created = '{timestamp}' WHERE id = '{id}'"
        ))
        .await
        .expect("set date_created");
}
