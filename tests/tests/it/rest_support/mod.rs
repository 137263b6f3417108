//! The REST suites' fixture and table runner.
//!
//! `seed` creates a fixed data set over REST (the same requests a client would send): five
//! flows and six operations with fixed ids, keys, types, positions and resolve/reject links.
//! A suite is a list of [`Case`]s (request, exact status, exact body) run in order against
//! one seeded database; every mismatch is collected and reported with the case's name.
//!
//! Each test file is its own crate and uses only some of these helpers.
#![allow(dead_code)]

use e2e::{ADMIN_TOKEN, Reply, TestApp};
use serde_json::{Value, json};

pub use crate::common::{encode as enc, error_body as error, fid, forbidden, oid};

/// A well-formed id that no row has.
pub const MISSING: &str = "dead0000-0000-4000-8000-000000000000";

/// A token no user has.
pub const BAD_TOKEN: &str = "not-a-real-token";

/// What the fixture knows after seeding.
pub struct Fixture {
    /// The year the rows were created in (`year(date_created)`), read back from the server.
    pub year: i64,
}

/// The five flows of the fixture, as created (fields the server fills are left out).
///
/// | flow | name | trigger | status | accountability | operations |
/// |---|---|---|---|---|---|
/// | F1 | `Alpha Hook` | webhook | active | all | O1 start -> O2 check -> O3 notify |
/// | F2 | `beta hook` | webhook | inactive | all | O4 fetch |
/// | F3 | `Gamma Nightly` | schedule | active | all | – |
/// | F4 | `Delta Events` | event | active | activity | O5 tx -(reject)-> O6 log |
/// | F5 | `Epsilon Button` | manual | inactive | null | – |
pub fn flows_payload() -> Value {
    json!([
        {"id": fid(1), "name": "Alpha Hook", "icon": "bolt", "color": "#FF0000",
         "description": "Sends mail", "trigger": "webhook",
         "options": {"method": "POST", "async": false}},
        {"id": fid(2), "name": "beta hook", "status": "inactive", "trigger": "webhook",
         "options": {"method": "GET"}},
        {"id": fid(3), "name": "Gamma Nightly", "trigger": "schedule", "description": "",
         "options": {"cron": "0 0 * * *"}},
        {"id": fid(4), "name": "Delta Events", "trigger": "event", "accountability": "activity",
         "options": {"type": "action", "scope": ["items.create"]}},
        {"id": fid(5), "name": "Epsilon Button", "trigger": "manual", "status": "inactive",
         "accountability": null},
    ])
}

/// The six operations, created so that every `resolve`/`reject` target exists first.
pub fn operations_payload() -> Value {
    json!([
        {"id": oid(3), "key": "notify", "type": "mail", "position_x": 50, "position_y": 40,
         "flow": fid(1)},
        {"id": oid(2), "key": "check", "type": "condition", "position_x": 30, "position_y": 20,
         "options": {"filter": {"$trigger": {"ok": {"_eq": true}}}}, "resolve": oid(3), "flow": fid(1)},
        {"id": oid(1), "name": "Start", "key": "start", "type": "log", "position_x": 10,
         "position_y": 20, "options": {"message": "hi"}, "resolve": oid(2), "flow": fid(1)},
        {"id": oid(4), "key": "fetch", "type": "request", "position_x": 10, "position_y": 10,
         "options": {"url": "https://example.com", "method": "GET"}, "flow": fid(2)},
        {"id": oid(6), "key": "log", "type": "log", "position_x": 20, "position_y": 0,
         "options": {"message": "failed"}, "flow": fid(4)},
        {"id": oid(5), "key": "tx", "type": "transform", "position_x": 0, "position_y": 0,
         "options": {"json": "{}"}, "reject": oid(6), "flow": fid(4)},
    ])
}

/// Seeds the fixture over REST and answers what the cases need to know about it.
pub async fn seed(app: &TestApp) -> Fixture {
    let steps = [
        ("POST", "/flows", flows_payload()),
        ("POST", "/operations", operations_payload()),
        (
            "PATCH",
            "/flows",
            json!([
                {"id": fid(1), "operation": oid(1)},
                {"id": fid(2), "operation": oid(4)},
                {"id": fid(4), "operation": oid(5)},
            ]),
        ),
    ];
    for (method, path, body) in steps {
        let reply = app
            .send(method, path, Some(&body.to_string()), Some(ADMIN_TOKEN))
            .await;
        assert_eq!(reply.status, 200, "seeding {method} {path}: {}", reply.text);
    }
    let reply = app
        .send(
            "GET",
            &format!("/flows/{}?fields=date_created", fid(1)),
            None,
            Some(ADMIN_TOKEN),
        )
        .await;
    let created = reply.json()["data"]["date_created"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no date_created: {}", reply.text));
    let year = created
        .get(..4)
        .and_then(|y| y.parse().ok())
        .unwrap_or_else(|| panic!("bad date_created {created}"));
    Fixture { year }
}

/// A check of a JSON answer: `Err` explains what is wrong.
pub type Check = Box<dyn Fn(&Value) -> Result<(), String> + Send + Sync>;

/// What a case expects back.
pub enum Expect {
    /// This JSON body, exactly (object key order aside).
    Json(Value),
    /// No body at all.
    Empty,
    /// A JSON body that passes a check (for values the server makes up, such as dates).
    Shape(Check),
    /// A file download: `Content-Disposition: attachment; filename="<collection> <stamp>.<ext>"`,
    /// the content type, and the exact body when given.
    Download {
        collection: &'static str,
        ext: &'static str,
        content_type: &'static str,
        body: Option<String>,
    },
}

/// One row of a table: a request and the exact answer.
pub struct Case {
    pub name: &'static str,
    pub method: &'static str,
    pub path: String,
    pub body: Option<String>,
    pub token: Option<&'static str>,
    pub status: u16,
    pub expect: Expect,
    /// Check that the request left both collections as they were; by default every
    /// failing request that is not a GET is checked.
    pub unchanged: Option<bool>,
}

/// A case as the admin; finish it with `ok`, `status`, `empty` or friends.
pub fn req(name: &'static str, method: &'static str, path: impl Into<String>) -> Case {
    Case {
        name,
        method,
        path: path.into(),
        body: None,
        token: Some(ADMIN_TOKEN),
        status: 200,
        expect: Expect::Empty,
        unchanged: None,
    }
}

pub fn get(name: &'static str, path: impl Into<String>) -> Case {
    req(name, "GET", path)
}

impl Case {
    /// A JSON body.
    pub fn body(mut self, body: Value) -> Self {
        self.body = Some(body.to_string());
        self
    }

    /// A body sent as written (malformed JSON, huge payloads).
    pub fn raw(mut self, body: impl Into<String>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Also check that this (successful) request changed nothing.
    pub fn unchanged(mut self) -> Self {
        self.unchanged = Some(true);
        self
    }

    pub fn token(mut self, token: Option<&'static str>) -> Self {
        self.token = token;
        self
    }

    /// 200 with `{"data": data}`.
    pub fn data(self, data: Value) -> Self {
        self.status(200, json!({ "data": data }))
    }

    /// This status and exact JSON body.
    pub fn status(mut self, status: u16, body: Value) -> Self {
        self.status = status;
        self.expect = Expect::Json(body);
        self
    }

    /// 200 with `{"data": data}`, once every `date_created` (a UTC timestamp) and
    /// `user_created` (the admin's uuid) in the answer has been checked and taken out.
    pub fn data_stable(self, data: Value) -> Self {
        let expected = json!({ "data": data });
        self.shape(200, move |actual| {
            let mut actual = actual.clone();
            strip_volatile(&mut actual)?;
            if actual == expected {
                Ok(())
            } else {
                Err(format!("\n  expected (stable part): {expected}"))
            }
        })
    }

    /// 204 with an empty body.
    pub fn no_content(mut self) -> Self {
        self.status = 204;
        self.expect = Expect::Empty;
        self
    }

    /// This status and a body that passes `check`.
    pub fn shape(
        mut self,
        status: u16,
        check: impl Fn(&Value) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        self.status = status;
        self.expect = Expect::Shape(Box::new(check));
        self
    }

    /// 200, a download of `collection` with this extension and content type.
    pub fn download(
        mut self,
        collection: &'static str,
        ext: &'static str,
        content_type: &'static str,
        body: Option<String>,
    ) -> Self {
        self.status = 200;
        self.expect = Expect::Download {
            collection,
            ext,
            content_type,
            body,
        };
        self
    }
}

/// Every row of both collections (dates included: they never change after a create), to
/// show that a failed request changed nothing at all.
pub async fn snapshot(app: &TestApp) -> (i64, i64, Value, Value) {
    let read = |path: &'static str| async move {
        let reply = app.send("GET", path, None, Some(ADMIN_TOKEN)).await;
        assert_eq!(reply.status, 200, "snapshot {path}: {}", reply.text);
        reply.json()
    };
    (
        app.count("directus_flows").await,
        app.count("directus_operations").await,
        read("/flows?fields=*&sort=id&limit=-1").await,
        read("/operations?fields=*&sort=id&limit=-1").await,
    )
}

fn check(case: &Case, reply: &Reply) -> Result<(), String> {
    if reply.status.as_u16() != case.status {
        return Err(format!(
            "status {} (expected {}), body: {}",
            reply.status.as_u16(),
            case.status,
            reply.text
        ));
    }
    match &case.expect {
        Expect::Empty => {
            if reply.text.is_empty() {
                Ok(())
            } else {
                Err(format!("expected no body, got: {}", reply.text))
            }
        }
        Expect::Json(expected) => {
            let actual: Value = serde_json::from_str(&reply.text)
                .map_err(|e| format!("not JSON ({e}): {}", reply.text))?;
            if &actual == expected {
                Ok(())
            } else {
                Err(format!("\n  expected: {expected}\n  actual:   {actual}"))
            }
        }
        Expect::Shape(check) => {
            let actual: Value = serde_json::from_str(&reply.text)
                .map_err(|e| format!("not JSON ({e}): {}", reply.text))?;
            check(&actual).map_err(|e| format!("{e}\n  actual: {actual}"))
        }
        Expect::Download {
            collection,
            ext,
            content_type,
            body,
        } => {
            let disposition = reply.header("content-disposition").unwrap_or_default();
            let prefix = format!("attachment; filename=\"{collection} ");
            let suffix = format!(".{ext}\"");
            let stamp = disposition
                .strip_prefix(&prefix)
                .and_then(|rest| rest.strip_suffix(&suffix));
            // `YYYYMMDD-HHMMSS`, as Directus's `getDateTimeFormatted`.
            let stamp_ok = stamp.is_some_and(|s| {
                s.len() == 15
                    && s.chars()
                        .enumerate()
                        .all(|(i, c)| if i == 8 { c == '-' } else { c.is_ascii_digit() })
            });
            if !stamp_ok {
                return Err(format!("Content-Disposition: {disposition:?}"));
            }
            if reply.content_type.as_deref() != Some(*content_type) {
                return Err(format!(
                    "Content-Type {:?} (expected {content_type:?})",
                    reply.content_type
                ));
            }
            match body {
                Some(body) if body != &reply.text => Err(format!(
                    "\n  expected body: {body:?}\n  actual body:   {:?}",
                    reply.text
                )),
                _ => Ok(()),
            }
        }
    }
}

/// Runs the cases in order; panics at the end with every failing case by name. A case that
/// must fail (status 400 and up) is also checked to leave both collections unchanged.
pub async fn run(app: &TestApp, cases: Vec<Case>) {
    assert!(!cases.is_empty());
    let mut failures = Vec::new();
    for case in &cases {
        let check_unchanged = case
            .unchanged
            .unwrap_or(case.status >= 400 && case.method != "GET");
        let before = if check_unchanged {
            Some(snapshot(app).await)
        } else {
            None
        };
        let reply = app
            .send(case.method, &case.path, case.body.as_deref(), case.token)
            .await;
        if let Err(why) = check(case, &reply) {
            failures.push(format!(
                "[{}] {} {}: {why}",
                case.name, case.method, case.path
            ));
        }
        if let Some(before) = before {
            let after = snapshot(app).await;
            if before != after {
                failures.push(format!(
                    "[{}] the request changed the data:\n  before: {before:?}\n  after:  {after:?}",
                    case.name
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Removes `date_created` and `user_created` everywhere in `value`, checking their shape:
/// a millisecond UTC timestamp, and a uuid (or an expanded user object).
pub fn strip_volatile(value: &mut Value) -> Result<(), String> {
    match value {
        Value::Object(obj) => {
            if let Some(date) = obj.remove("date_created") {
                let ok = date.as_str().is_some_and(|s| {
                    s.len() == 24 && s.ends_with('Z') && s.as_bytes().get(10) == Some(&b'T')
                });
                if !ok {
                    return Err(format!("date_created is not a UTC timestamp: {date}"));
                }
            }
            if let Some(user) = obj.remove("user_created") {
                let ok = match &user {
                    Value::String(s) => s.len() == 36,
                    Value::Object(u) => u.get("email") == Some(&json!("admin@example.com")),
                    _ => false,
                };
                if !ok {
                    return Err(format!("user_created is not the admin: {user}"));
                }
            }
            for v in obj.values_mut() {
                strip_volatile(v)?;
            }
            Ok(())
        }
        Value::Array(items) => items.iter_mut().try_for_each(strip_volatile),
        _ => Ok(()),
    }
}

/// 403 `FORBIDDEN` naming an unknown field.
pub fn forbidden_field(field: &str, collection: &str) -> Value {
    error(
        &format!(
            "You don't have permission to access field \"{field}\" in collection \"{collection}\" or it does not exist. Queried in root."
        ),
        "FORBIDDEN",
    )
}

fn with_reason(prefix: &str, reason: &str, code: &str) -> Value {
    json!({"errors": [{
        "message": format!("{prefix} {reason}."),
        "extensions": {"reason": reason, "code": code},
    }]})
}

/// 400 `INVALID_QUERY` with this reason.
pub fn invalid_query(reason: &str) -> Value {
    with_reason("Invalid query.", reason, "INVALID_QUERY")
}

/// 400 `INVALID_PAYLOAD` with this reason.
pub fn invalid_payload(reason: &str) -> Value {
    with_reason("Invalid payload.", reason, "INVALID_PAYLOAD")
}

/// 404 `ROUTE_NOT_FOUND` for this path.
pub fn route_not_found(path: &str) -> Value {
    json!({"errors": [{
        "message": format!("Route {path} doesn't exist."),
        "extensions": {"path": path, "code": "ROUTE_NOT_FOUND"},
    }]})
}

/// `?filter=<json>` and friends: a JSON value, encoded.
pub fn qjson(value: Value) -> String {
    enc(&value.to_string())
}

/// The values of `key` in a list of rows, to keep filter and sort cases short.
pub fn pluck(rows: &Value, key: &str) -> Vec<Value> {
    rows.as_array()
        .map(|rows| rows.iter().map(|r| r[key].clone()).collect())
        .unwrap_or_default()
}

/// Flow `n` of the fixture as `fields=*` shows it, without `date_created`/`user_created`.
pub fn flow_row(n: u32) -> Value {
    match n {
        1 => json!({"id": fid(1), "name": "Alpha Hook", "icon": "bolt", "color": "#FF0000",
            "description": "Sends mail", "status": "active", "trigger": "webhook",
            "accountability": "all", "options": {"method": "POST", "async": false},
            "operation": oid(1), "folder": null, "operations": [oid(1), oid(2), oid(3)]}),
        2 => json!({"id": fid(2), "name": "beta hook", "icon": null, "color": null,
            "description": null, "status": "inactive", "trigger": "webhook",
            "accountability": "all", "options": {"method": "GET"},
            "operation": oid(4), "folder": null, "operations": [oid(4)]}),
        3 => json!({"id": fid(3), "name": "Gamma Nightly", "icon": null, "color": null,
            "description": "", "status": "active", "trigger": "schedule",
            "accountability": "all", "options": {"cron": "0 0 * * *"},
            "operation": null, "folder": null, "operations": []}),
        4 => json!({"id": fid(4), "name": "Delta Events", "icon": null, "color": null,
            "description": null, "status": "active", "trigger": "event",
            "accountability": "activity", "options": {"type": "action", "scope": ["items.create"]},
            "operation": oid(5), "folder": null, "operations": [oid(5), oid(6)]}),
        _ => json!({"id": fid(5), "name": "Epsilon Button", "icon": null, "color": null,
            "description": null, "status": "inactive", "trigger": "manual",
            "accountability": null, "options": null,
            "operation": null, "folder": null, "operations": []}),
    }
}

/// Operation `n` of the fixture as `fields=*` shows it, without `date_created`/`user_created`.
pub fn op_row(n: u32) -> Value {
    let (name, key, kind, x, y, options, resolve, reject, flow) = match n {
        1 => (
            "Start",
            "start",
            "log",
            10,
            20,
            json!({"message": "hi"}),
            Some(2),
            None,
            1,
        ),
        2 => (
            "",
            "check",
            "condition",
            30,
            20,
            json!({"filter": {"$trigger": {"ok": {"_eq": true}}}}),
            Some(3),
            None,
            1,
        ),
        3 => ("", "notify", "mail", 50, 40, Value::Null, None, None, 1),
        4 => (
            "",
            "fetch",
            "request",
            10,
            10,
            json!({"url": "https://example.com", "method": "GET"}),
            None,
            None,
            2,
        ),
        5 => (
            "",
            "tx",
            "transform",
            0,
            0,
            json!({"json": "{}"}),
            None,
            Some(6),
            4,
        ),
        _ => (
            "",
            "log",
            "log",
            20,
            0,
            json!({"message": "failed"}),
            None,
            None,
            4,
        ),
    };
    json!({
        "id": oid(n),
        "name": if name.is_empty() { Value::Null } else { json!(name) },
        "key": key, "type": kind, "position_x": x, "position_y": y, "options": options,
        "resolve": resolve.map(oid), "reject": reject.map(oid), "flow": fid(flow),
    })
}

/// `[{"name": ...}, ...]`: the shape of the many cases that select `fields=name`.
pub fn names(list: &[&str]) -> Value {
    Value::Array(list.iter().map(|n| json!({ "name": n })).collect())
}

/// `[{"key": ...}, ...]` for operations.
pub fn keys(list: &[&str]) -> Value {
    Value::Array(list.iter().map(|k| json!({ "key": k })).collect())
}
