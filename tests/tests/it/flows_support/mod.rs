//! Helpers of the flow-engine suites (`flows_*.rs`): a builder that creates a flow and its
//! operations over REST with fixed ids, trigger requests with any headers, exact reply
//! checks, and readers of the run logs (`directus_activity`, `directus_revisions`).
//!
//! Each test file is its own crate and uses only some of these helpers.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use e2e::{ADMIN_TOKEN, Reply, TestApp};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Map, Value, json};

/// A fixed flow id.
pub fn fid(n: u32) -> String {
    format!("f10e0000-0000-4000-8000-{n:012}")
}

/// A fixed operation id: the `i`-th operation (from 1) of flow `n`.
pub fn oid(n: u32, i: usize) -> String {
    format!("0e{i:06}-0000-4000-8000-{n:012}")
}

/// A well-formed id no flow or operation has.
pub const MISSING: &str = "dead0000-0000-4000-8000-000000000000";

pub use crate::common::forbidden;

/// `$accountability` of an anonymous caller.
pub fn public_accountability() -> Value {
    json!({"user": null, "role": null, "roles": [], "admin": false, "app": false, "ip": null})
}

struct OpSpec {
    key: String,
    kind: String,
    options: Value,
    resolve: Option<String>,
    reject: Option<String>,
}

/// A flow to create: trigger, options and operations, linked by key.
pub struct FlowBuilder {
    n: u32,
    name: String,
    trigger: String,
    status: Option<String>,
    accountability: Option<Value>,
    options: Map<String, Value>,
    ops: Vec<OpSpec>,
    root: Option<String>,
}

/// A created flow: its id and its operations' ids by key.
#[derive(Debug, Clone)]
pub struct Flow {
    pub id: String,
    pub ops: HashMap<String, String>,
}

impl Flow {
    /// The id of the operation with this key.
    pub fn op(&self, key: &str) -> String {
        self.ops
            .get(key)
            .cloned()
            .unwrap_or_else(|| panic!("no operation {key} in flow {}", self.id))
    }

    /// `/flows/trigger/<id>`.
    pub fn url(&self) -> String {
        format!("/flows/trigger/{}", self.id)
    }
}

impl FlowBuilder {
    /// A flow with this trigger and the fixed id [`fid`]`(n)`.
    pub fn new(n: u32, trigger: &str) -> Self {
        FlowBuilder {
            n,
            name: format!("Flow {n}"),
            trigger: trigger.to_string(),
            status: None,
            accountability: None,
            options: Map::new(),
            ops: Vec::new(),
            root: None,
        }
    }

    pub fn webhook(n: u32) -> Self {
        Self::new(n, "webhook")
    }

    pub fn manual(n: u32) -> Self {
        Self::new(n, "manual")
    }

    /// A flow run by the `trigger` operation.
    pub fn operation(n: u32) -> Self {
        Self::new(n, "operation")
    }

    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// The webhook's `method` option.
    pub fn method(self, method: &str) -> Self {
        self.option("method", json!(method))
    }

    /// One trigger option.
    pub fn option(mut self, name: &str, value: Value) -> Self {
        self.options.insert(name.to_string(), value);
        self
    }

    pub fn status(mut self, status: &str) -> Self {
        self.status = Some(status.to_string());
        self
    }

    /// `all`, `activity` or null; the server's default (`all`) when not called.
    pub fn accountability(mut self, value: Value) -> Self {
        self.accountability = Some(value);
        self
    }

    /// Adds an operation; the first one added is the flow's first operation.
    pub fn op(mut self, key: &str, kind: &str, options: Value) -> Self {
        self.ops.push(OpSpec {
            key: key.to_string(),
            kind: kind.to_string(),
            options,
            resolve: None,
            reject: None,
        });
        self
    }

    /// Adds an operation that the previously added one resolves to.
    pub fn then(self, key: &str, kind: &str, options: Value) -> Self {
        let from = self.last_key();
        self.op(key, kind, options).resolve(&from, key)
    }

    /// Adds an operation that the previously added one rejects to.
    pub fn or_else(self, key: &str, kind: &str, options: Value) -> Self {
        let from = self.last_key();
        self.op(key, kind, options).reject(&from, key)
    }

    /// Links `from` to `to` on success.
    pub fn resolve(mut self, from: &str, to: &str) -> Self {
        self.spec(from).resolve = Some(to.to_string());
        self
    }

    /// Links `from` to `to` on failure.
    pub fn reject(mut self, from: &str, to: &str) -> Self {
        self.spec(from).reject = Some(to.to_string());
        self
    }

    /// Starts the flow at this operation instead of the first one added.
    pub fn root(mut self, key: &str) -> Self {
        self.root = Some(key.to_string());
        self
    }

    fn last_key(&self) -> String {
        self.ops
            .last()
            .map(|o| o.key.clone())
            .expect("an operation to link from")
    }

    fn spec(&mut self, key: &str) -> &mut OpSpec {
        self.ops
            .iter_mut()
            .find(|o| o.key == key)
            .unwrap_or_else(|| panic!("no operation {key}"))
    }

    /// Creates the flow with its operations (`POST /flows` with nested `operations`, every
    /// link target created before the operation pointing at it), then sets its first
    /// operation (`PATCH /flows/:id`). Both requests must answer 200.
    pub async fn insert(self, app: &TestApp) -> Flow {
        let id = fid(self.n);
        let ids: HashMap<String, String> = self
            .ops
            .iter()
            .enumerate()
            .map(|(i, op)| (op.key.clone(), oid(self.n, i + 1)))
            .collect();
        let id_of = |key: &str| {
            ids.get(key)
                .cloned()
                .unwrap_or_else(|| panic!("link to unknown operation {key}"))
        };
        // Targets first: a depth-first post-order over resolve/reject links.
        let mut order: Vec<usize> = Vec::new();
        let mut seen = HashSet::new();
        fn visit(i: usize, ops: &[OpSpec], seen: &mut HashSet<usize>, order: &mut Vec<usize>) {
            if !seen.insert(i) {
                return;
            }
            for target in [&ops[i].resolve, &ops[i].reject].into_iter().flatten() {
                if let Some(j) = ops.iter().position(|o| &o.key == target) {
                    visit(j, ops, seen, order);
                }
            }
            order.push(i);
        }
        for i in 0..self.ops.len() {
            visit(i, &self.ops, &mut seen, &mut order);
        }
        let operations: Vec<Value> = order
            .iter()
            .map(|&i| {
                let op = &self.ops[i];
                json!({
                    "id": id_of(&op.key),
                    "name": op.key,
                    "key": op.key,
                    "type": op.kind,
                    "position_x": 20 * (i + 1),
                    "position_y": 1,
                    "options": op.options,
                    "resolve": op.resolve.as_deref().map(id_of),
                    "reject": op.reject.as_deref().map(id_of),
                })
            })
            .collect();
        let mut flow = json!({
            "id": id,
            "name": self.name,
            "icon": "bolt",
            "trigger": self.trigger,
            "options": Value::Object(self.options.clone()),
            "operations": operations,
        });
        if let Some(status) = &self.status {
            flow["status"] = json!(status);
        }
        if let Some(acc) = &self.accountability {
            flow["accountability"] = acc.clone();
        }
        let reply = app
            .send("POST", "/flows", Some(&flow.to_string()), Some(ADMIN_TOKEN))
            .await;
        assert_eq!(reply.status, 200, "creating flow {id}: {}", reply.text);
        let root = self
            .root
            .clone()
            .or_else(|| self.ops.first().map(|o| o.key.clone()));
        if let Some(root) = root {
            let body = json!({"operation": id_of(&root)}).to_string();
            let reply = app
                .send(
                    "PATCH",
                    &format!("/flows/{id}"),
                    Some(&body),
                    Some(ADMIN_TOKEN),
                )
                .await;
            assert_eq!(reply.status, 200, "linking flow {id}: {}", reply.text);
        }
        Flow { id, ops: ids }
    }
}

/// `GET` anonymously.
pub async fn get(app: &TestApp, path: &str) -> Reply {
    app.send("GET", path, None, None).await
}

/// `POST` a JSON body anonymously.
pub async fn post(app: &TestApp, path: &str, body: Value) -> Reply {
    app.send("POST", path, Some(&body.to_string()), None).await
}

/// `POST` a JSON body as the admin.
pub async fn post_admin(app: &TestApp, path: &str, body: Value) -> Reply {
    app.send("POST", path, Some(&body.to_string()), Some(ADMIN_TOKEN))
        .await
}

/// The reply is `status` with exactly this JSON body.
#[track_caller]
pub fn assert_json(reply: &Reply, status: u16, body: Value) {
    assert_eq!(
        (reply.status.as_u16(), reply.json()),
        (status, body),
        "raw body: {}",
        reply.text
    );
}

/// The reply is `204` with an empty body.
#[track_caller]
pub fn assert_no_content(reply: &Reply) {
    assert_eq!(
        (reply.status.as_u16(), reply.text.as_str()),
        (204, ""),
        "expected 204 with no body"
    );
}

/// The body of a webhook `$trigger` as the harness's requests produce it.
pub fn trigger_value(
    flow: &Flow,
    method: &str,
    query: Value,
    body: Value,
    headers: Value,
) -> Value {
    json!({
        "path": format!("/trigger/{}", flow.id),
        "query": query,
        "body": body,
        "method": method,
        "headers": headers,
    })
}

/// The admin's `$accountability` (ids read from the database).
pub async fn admin_accountability(app: &TestApp) -> Value {
    let (user, role) = admin_ids(app).await;
    json!({"user": user, "role": role, "roles": [role], "admin": true, "app": true, "ip": null})
}

/// The admin user's id and role id.
pub async fn admin_ids(app: &TestApp) -> (String, String) {
    let rows = query(
        app,
        &format!(
            "SELECT CAST(id AS TEXT), CAST(role AS TEXT) FROM directus_users WHERE token = '{ADMIN_TOKEN}'"
        ),
        2,
    )
    .await;
    let row = rows.first().expect("the admin user");
    (
        row[0].as_str().expect("id").to_string(),
        row[1].as_str().expect("role").to_string(),
    )
}

/// `PATCH path` with `body` as the admin; it must answer 200.
pub async fn patch(app: &TestApp, path: &str, body: Value) {
    let reply = app
        .send("PATCH", path, Some(&body.to_string()), Some(ADMIN_TOKEN))
        .await;
    assert_eq!(reply.status, 200, "PATCH {path}: {}", reply.text);
}

/// `DELETE path` as the admin; it must answer 204.
pub async fn delete(app: &TestApp, path: &str) {
    let reply = app.send("DELETE", path, None, Some(ADMIN_TOKEN)).await;
    assert_eq!(reply.status, 204, "DELETE {path}: {}", reply.text);
}

/// Runs a query whose `columns` columns are all text (or null).
pub async fn query(app: &TestApp, sql: &str, columns: usize) -> Vec<Vec<Value>> {
    let rows = app
        .db
        .query_all_raw(Statement::from_string(
            app.db.get_database_backend(),
            sql.to_string(),
        ))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.iter()
        .map(|row| {
            (0..columns)
                .map(|i| {
                    row.try_get_by_index::<Option<String>>(i)
                        .unwrap_or_else(|e| panic!("{sql} column {i}: {e}"))
                        .map_or(Value::Null, Value::String)
                })
                .collect()
        })
        .collect()
}

/// One `run` row of `directus_activity`, with its id.
#[derive(Debug, Clone, PartialEq)]
pub struct RunActivity {
    pub id: i64,
    /// `{action, user, collection, item, ip, user_agent, origin}`.
    pub row: Value,
}

/// The `run` activity rows of a flow, oldest first.
pub async fn run_activity(app: &TestApp, flow: &str) -> Vec<RunActivity> {
    let sql = format!(
        "SELECT CAST(id AS TEXT), action, CAST(\"user\" AS TEXT), collection, item, ip, user_agent, origin \
         FROM directus_activity WHERE action = 'run' AND item = '{flow}' ORDER BY directus_activity.id"
    );
    query(app, &sql, 8)
        .await
        .into_iter()
        .map(|r| RunActivity {
            id: r[0].as_str().and_then(|s| s.parse().ok()).expect("id"),
            row: json!({
                "action": r[1], "user": r[2], "collection": r[3], "item": r[4],
                "ip": r[5], "user_agent": r[6], "origin": r[7],
            }),
        })
        .collect()
}

/// The revisions of one activity row: `{collection, item, data, delta, parent}` with `data`
/// and `delta` parsed.
pub async fn revisions_of(app: &TestApp, activity: i64) -> Vec<Value> {
    let sql = format!(
        "SELECT collection, item, CAST(data AS TEXT), CAST(delta AS TEXT), CAST(parent AS TEXT) \
         FROM directus_revisions WHERE activity = {activity} ORDER BY directus_revisions.id"
    );
    query(app, &sql, 5)
        .await
        .into_iter()
        .map(|r| {
            let parse = |v: &Value| match v {
                Value::String(s) => serde_json::from_str(s).expect("json column"),
                _ => Value::Null,
            };
            json!({
                "collection": r[0], "item": r[1], "data": parse(&r[2]),
                "delta": parse(&r[3]), "parent": r[4],
            })
        })
        .collect()
}

/// Revisions written for `run` activity rows of any flow.
pub async fn run_revision_count(app: &TestApp) -> usize {
    query(
        app,
        "SELECT CAST(r.id AS TEXT) FROM directus_revisions r \
         JOIN directus_activity a ON a.id = r.activity WHERE a.action = 'run'",
        1,
    )
    .await
    .len()
}

/// Removes the timing fields of every step (`started_at`, `duration_ms`) after checking
/// their types: a timestamp string and a non-negative number.
#[track_caller]
pub fn strip_timing(data: &mut Value) {
    let steps = data["steps"].as_array_mut().expect("steps");
    for step in steps {
        let obj = step.as_object_mut().expect("step object");
        let started = obj.remove("started_at").expect("started_at");
        assert!(
            started.as_str().is_some_and(|s| s.len() >= 19),
            "started_at {started}"
        );
        let duration = obj.remove("duration_ms").expect("duration_ms");
        assert!(
            duration.as_f64().is_some_and(|d| d >= 0.0),
            "duration_ms {duration}"
        );
    }
}

/// Waits until the flow has `n` run activity rows (background runs), up to 10 seconds.
pub async fn wait_for_runs(app: &TestApp, flow: &str, n: usize) -> Vec<RunActivity> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let rows = run_activity(app, flow).await;
        if rows.len() >= n || Instant::now() > deadline {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
