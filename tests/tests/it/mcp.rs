//! The MCP endpoint `/mcp` (spec/mcp.md; issue 21), served on a real socket and driven by
//! `rmcp`'s own client over streamable HTTP with a bearer token; raw HTTP only for what a
//! client cannot send (a GET's 405, the anonymous challenge, bare notifications, unknown
//! methods, malformed messages).

use crate::flows_support::*;
use e2e::{ADMIN_TOKEN, TestApp};
use flowline::mcp::McpConfig;
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};
use std::collections::HashMap;

type Client = RunningService<RoleClient, ()>;

const USER_TOKEN: &str = "plain-user-token";

/// Defines one test per database from one body, the app serving `/mcp` with `$config`:
/// `mcp_test!(name, config, |app, addr| async move { ... })`.
macro_rules! mcp_test {
    ($name:ident, $config:expr, |$app:ident, $addr:ident| $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let ($app, $addr) = serve(TestApp::sqlite().await, $config).await;
                $body.await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let ($app, $addr) = serve(TestApp::postgres().await, $config).await;
                $body.await
            }
        }
    };
}

/// The default settings: MCP on, deletes refused.
fn enabled() -> McpConfig {
    McpConfig::default()
}

/// Serves the app with these MCP settings on a loopback port; answers it and `http://addr`.
async fn serve(mut app: TestApp, config: McpConfig) -> (TestApp, String) {
    app.state = app.state.clone().with_mcp(config);
    app.router = flowline::router(app.state.clone());
    let addr = app.serve().await;
    (app, format!("http://{addr}"))
}

/// A connected client: `initialize` done, as `token`.
async fn client(base: &str, token: &str) -> Client {
    client_at(&format!("{base}/mcp"), token).await
}

async fn client_at(url: &str, token: &str) -> Client {
    let config = StreamableHttpClientTransportConfig::with_uri(url.to_string())
        .auth_header(token.to_string());
    ().serve(StreamableHttpClientTransport::from_config(config))
        .await
        .expect("initialize")
}

/// Calls a tool; answers the whole result as JSON.
async fn call(client: &Client, name: &str, args: Value) -> Value {
    let mut params = CallToolRequestParams::new(name.to_string());
    params.arguments = args.as_object().cloned();
    let result = client.call_tool(params).await.expect("tools/call");
    serde_json::to_value(result).expect("result as JSON")
}

/// The `{raw, url}` text of a successful call, parsed.
async fn ok(client: &Client, name: &str, args: Value) -> Value {
    let result = call(client, name, args.clone()).await;
    assert_eq!(result.get("isError"), None, "{name} {args}: {result}");
    let text = result["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("no text in {result}"));
    serde_json::from_str(text).expect("JSON text")
}

/// The result of a call that fails with exactly this error list.
fn failure(errors: Value) -> Value {
    json!({"content": [{"type": "text", "text": errors.to_string()}], "isError": true})
}

fn payload_error(message: &str) -> Value {
    failure(json!([{"error": format!("Invalid payload. {message}."), "code": "INVALID_PAYLOAD"}]))
}

fn forbidden_result() -> Value {
    failure(json!([{"error": "You don't have permission to access this.", "code": "FORBIDDEN"}]))
}

/// A raw POST to `/mcp` with the admin's token; answers status, headers and body text.
async fn raw(
    base: &str,
    token: Option<&str>,
    accept: Option<&str>,
    body: &str,
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut req = reqwest::Client::new()
        .post(format!("{base}/mcp"))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(token) = token {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    if let Some(accept) = accept {
        req = req.header("accept", accept);
    }
    let res = req.send().await.expect("send");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, headers, res.text().await.expect("body"))
}

async fn rpc(base: &str, body: Value) -> (u16, Value) {
    let (status, _, text) = raw(
        base,
        Some(ADMIN_TOKEN),
        Some("application/json, text/event-stream"),
        &body.to_string(),
    )
    .await;
    (status, serde_json::from_str(&text).expect("JSON reply"))
}

fn strings() -> Value {
    json!({"type": "array", "items": {"type": "string"}})
}

fn nullable(kind: &str) -> Value {
    json!({"anyOf": [{"type": kind}, {"type": "null"}]})
}

fn record() -> Value {
    json!({"type": "object", "propertyNames": {"type": "string"}, "additionalProperties": {}})
}

fn object(properties: Value) -> Value {
    json!({"type": "object", "properties": properties, "additionalProperties": false})
}

/// spec/mcp.md §4.1, Query.
fn query_schema() -> Value {
    object(json!({
        "fields": strings(),
        "sort": strings(),
        "filter": record(),
        "limit": {"type": "number"},
        "offset": {"type": "number"},
        "page": {"type": "number"},
        "search": {"type": "string"},
        "deep": record(),
        "alias": {"type": "object", "propertyNames": {"type": "string"}, "additionalProperties": {"type": "string"}},
        "aggregate": object(json!({
            "count": strings(), "sum": strings(), "avg": strings(), "min": strings(), "max": strings(),
        })),
        "backlink": {"type": "boolean"},
        "version": {"type": "string"},
        "versionRaw": {"type": "boolean"},
        "export": {"type": "string"},
        "groupBy": strings(),
    }))
}

/// spec/mcp.md §4.1, Operation.
fn operation_schema() -> Value {
    object(json!({
        "id": {"type": "string"},
        "name": nullable("string"),
        "key": {"type": "string"},
        "type": {"type": "string"},
        "position_x": {"type": "number"},
        "position_y": {"type": "number"},
        "options": record(),
        "resolve": nullable("string"),
        "reject": nullable("string"),
        "flow": {"type": "string"},
        "date_created": {"type": "string"},
        "user_created": {"type": "string"},
    }))
}

/// spec/mcp.md §4.1, Flow.
fn flow_schema() -> Value {
    object(json!({
        "id": {"type": "string"},
        "name": {"type": "string"},
        "icon": nullable("string"),
        "color": nullable("string"),
        "description": nullable("string"),
        "status": {"type": "string", "enum": ["active", "inactive"]},
        "trigger": {"type": "string", "enum": ["event", "schedule", "operation", "webhook", "manual"]},
        "options": {"anyOf": [record(), {"type": "null"}]},
        "operation": nullable("string"),
        "operations": {"type": "array", "items": operation_schema()},
        "date_created": {"type": "string"},
        "user_created": {"type": "string"},
        "accountability": {"type": "string", "enum": ["all", "activity"]},
        "folder": nullable("string"),
    }))
}

async fn admin_get(app: &TestApp, path: &str) -> e2e::Reply {
    app.send("GET", path, None, Some(ADMIN_TOKEN)).await
}

async fn get_flow(app: &TestApp, id: &str) -> Value {
    let reply = admin_get(app, &format!("/flows/{id}")).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json()["data"].clone()
}

/// Everything a refused call must leave alone: the flows and operations as REST reads
/// them, and the number of activity and revision rows.
async fn state(app: &TestApp) -> (Value, Value, i64, i64) {
    let flows = admin_get(app, "/flows?sort=id&limit=-1").await.json();
    let operations = admin_get(app, "/operations?sort=id&limit=-1").await.json();
    (
        flows,
        operations,
        app.count("directus_activity").await,
        app.count("directus_revisions").await,
    )
}

/// A flow's operations by key: `(id, position_x, position_y)`.
async fn placed(app: &TestApp, flow: &str) -> HashMap<String, (String, i64, i64)> {
    let reply = admin_get(
        app,
        &format!("/operations?filter[flow][_eq]={flow}&fields=id,key,position_x,position_y"),
    )
    .await;
    reply.json()["data"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["key"].as_str().expect("key").to_string(),
                (
                    r["id"].as_str().expect("id").to_string(),
                    r["position_x"].as_i64().expect("x"),
                    r["position_y"].as_i64().expect("y"),
                ),
            )
        })
        .collect()
}

/// Grid positions of these keys, sorted.
fn grid(ops: &HashMap<String, (String, i64, i64)>, keys: &[&str]) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = keys.iter().map(|k| (ops[*k].1, ops[*k].2)).collect();
    out.sort();
    out
}

mcp_test!(handshake_and_tool_list, enabled(), |app, base| async move {
    let admin = client(&base, ADMIN_TOKEN).await;
    let info = admin.peer_info().expect("server info");
    assert_eq!(
        serde_json::to_value(&info.server_info).expect("json"),
        json!({"name": "directus-mcp", "version": "0.1.0"})
    );
    let tools = admin.list_all_tools().await.expect("tools/list");
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(
        names,
        ["system-prompt", "flows", "trigger-flow", "operations"]
    );
    let trigger = serde_json::to_value(&tools[2]).expect("json");
    assert_eq!(
        trigger["inputSchema"].to_string(),
        json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {
                "id": {"anyOf": [{"type": "number"}, {"type": "string"}]},
                "collection": {"type": "string"},
                "keys": {"type": "array", "items": {"anyOf": [{"type": "number"}, {"type": "string"}]}},
                "headers": {"type": "object", "propertyNames": {"type": "string"}, "additionalProperties": {}},
                "query": {"type": "object", "propertyNames": {"type": "string"}, "additionalProperties": {}},
                "data": {"type": "object", "propertyNames": {"type": "string"}, "additionalProperties": {}},
            },
            "required": ["id", "collection"],
            "additionalProperties": false,
        })
        .to_string()
    );
    assert_eq!(
        trigger["annotations"],
        json!({"title": "Directus - Trigger Flow"})
    );
    // The whole schemas, key order included, as spec/mcp.md §4.1 lists them.
    for (i, name, data) in [
        (1, "flows", flow_schema()),
        (3, "operations", operation_schema()),
    ] {
        let tool = serde_json::to_value(&tools[i]).expect("json");
        assert_eq!(tool["name"], json!(name));
        let want = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {
                "action": {"description": "The operation to perform", "type": "string", "enum": ["create", "read", "update", "delete"]},
                "query": query_schema(),
                "data": data,
                "key": {"type": "string"},
            },
            "required": ["action"],
            "additionalProperties": false,
        });
        assert_eq!(tool["inputSchema"].to_string(), want.to_string(), "{name}");
        let title = if name == "flows" {
            "Directus - Flows"
        } else {
            "Directus - Operations"
        };
        assert_eq!(
            tool["annotations"],
            json!({"title": title, "destructiveHint": true})
        );
    }
    let system = serde_json::to_value(&tools[0]).expect("json");
    assert_eq!(
        system["inputSchema"].to_string(),
        r#"{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{},"additionalProperties":false}"#
    );
    admin.cancel().await.expect("close");

    // Someone who is not an administrator sees only what they may use.
    app.create_user("user@example.com", USER_TOKEN, false).await;
    let user = client(&base, USER_TOKEN).await;
    let tools = user.list_all_tools().await.expect("tools/list");
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(names, ["system-prompt", "trigger-flow"]);
    assert_eq!(
        call(&user, "flows", json!({"action": "read"})).await,
        failure(
            json!([{"error": "You must be an admin to access this tool", "code": "FORBIDDEN"}])
        )
    );
    assert_eq!(
        call(&user, "nope", json!({})).await,
        payload_error("\"nope\" doesn't exist in the toolset")
    );
    user.cancel().await.expect("close");
});

mcp_test!(
    flows_are_created_read_updated_and_kept,
    enabled(),
    |app, base| async move {
        let admin = client(&base, ADMIN_TOKEN).await;
        let created = ok(
        &admin,
        "flows",
        json!({"action": "create", "data": {"name": "Ping", "trigger": "manual", "options": {"collections": ["directus_flows"]}, "unknown": 1}}),
    )
    .await;
        let id = created["raw"]["id"].as_str().expect("id").to_string();
        // The flow comes back as `GET /flows/:id` shows it, with its page in the app.
        assert_eq!(
            created,
            json!({"raw": get_flow(&app, &id).await, "url": format!("/admin/settings/flows/{id}")})
        );
        assert_eq!(created["raw"]["name"], json!("Ping"));

        let read = ok(
        &admin,
        "flows",
        json!({"action": "read", "query": {"fields": ["id", "name"], "filter": {"name": {"_eq": "Ping"}}}}),
    )
    .await;
        assert_eq!(
            read,
            json!({"raw": [{"id": id, "name": "Ping"}], "url": format!("/admin/settings/flows/{id}")})
        );
        // The whole query may come as JSON text.
        let read = ok(
            &admin,
            "flows",
            json!({"action": "read", "query": "{\"fields\":[\"name\"]}"}),
        )
        .await;
        assert_eq!(read, json!({"raw": [{"name": "Ping"}]}));

        let updated = ok(
        &admin,
        "flows",
        json!({"action": "update", "key": id, "data": {"status": "inactive"}, "query": {"fields": ["id", "status"]}}),
    )
    .await;
        assert_eq!(
            updated,
            json!({"raw": {"id": id, "status": "inactive"}, "url": format!("/admin/settings/flows/{id}")})
        );

        // Deletes are refused unless allowed; the flow stays.
        assert_eq!(
            call(&admin, "flows", json!({"action": "delete", "key": id})).await,
            payload_error("Delete actions are disabled")
        );
        assert_eq!(app.count("directus_flows").await, 1);
        // An unreadable key reads as the REST error.
        assert_eq!(
            call(
                &admin,
                "flows",
                json!({"action": "update", "key": MISSING, "data": {"name": "x"}})
            )
            .await,
            forbidden_result()
        );
        admin.cancel().await.expect("close");
    }
);

mcp_test!(
    build_link_and_run_a_flow,
    enabled(),
    |app, base| async move {
        let admin = client(&base, ADMIN_TOKEN).await;
        // 1. The flow.
        let flow = ok(
        &admin,
        "flows",
        json!({"action": "create", "data": {"name": "Greeter", "trigger": "manual", "status": "active",
            "options": {"collections": ["directus_flows"], "requireSelection": false}}}),
    )
    .await["raw"]["id"]
        .as_str()
        .expect("id")
        .to_string();
        // 2. Two operations: one placed by the server, one placed by the caller.
        let greet = ok(
            &admin,
            "operations",
            json!({"action": "create", "data": {"flow": flow, "key": "greet", "type": "transform",
            "options": {"json": {"hello": "{{ $trigger.body.name }}"}}}}),
        )
        .await["raw"]
            .clone();
        assert_eq!(
            (&greet["position_x"], &greet["position_y"]),
            (&json!(19), &json!(1))
        );
        let shout = ok(
        &admin,
        "operations",
        json!({"action": "create", "data": {"flow": flow, "key": "shout", "type": "transform",
            "options": {"json": {"loud": "{{ greet.hello }}!"}}, "position_x": 40, "position_y": 20}}),
    )
    .await["raw"]
        .clone();
        assert_eq!(
            (&shout["position_x"], &shout["position_y"]),
            (&json!(40), &json!(20))
        );
        let greet_id = greet["id"].as_str().expect("id").to_string();
        let shout_id = shout["id"].as_str().expect("id").to_string();
        // 3. Linked: the chain is laid out again, shout right of greet.
        ok(
            &admin,
            "operations",
            json!({"action": "update", "key": greet_id, "data": {"resolve": shout_id}}),
        )
        .await;
        let ops = placed(&app, &flow).await;
        assert_eq!((ops["greet"].1, ops["greet"].2), (19, 1));
        assert_eq!((ops["shout"].1, ops["shout"].2), (37, 1));
        // 4. The entry.
        let updated = ok(
            &admin,
            "flows",
            json!({"action": "update", "key": flow, "data": {"operation": greet_id}}),
        )
        .await;
        assert_eq!(
            updated,
            json!({"raw": get_flow(&app, &flow).await, "url": format!("/admin/settings/flows/{flow}")})
        );
        assert_eq!(updated["raw"]["operation"], json!(greet_id));
        // 5. Run it.
        assert_eq!(
            ok(
                &admin,
                "trigger-flow",
                json!({"id": flow, "collection": "directus_flows", "data": {"name": "Ada"}}),
            )
            .await,
            json!({"raw": {"loud": "Ada!"}})
        );
        // 6. Read it back through its relations.
        assert_eq!(
            ok(
                &admin,
                "flows",
                json!({"action": "read", "query": {"filter": {"name": {"_eq": "Greeter"}},
                "fields": ["name", "operation.key", "operation.resolve.key"]}}),
            )
            .await,
            json!({"raw": [{"name": "Greeter", "operation": {"key": "greet", "resolve": {"key": "shout"}}}]})
        );
        assert_eq!(
            ok(
                &admin,
                "operations",
                json!({"action": "read", "query": {"filter": {"flow": {"name": {"_eq": "Greeter"}}},
                "fields": ["key", "flow.name"], "sort": ["key"]}}),
            )
            .await,
            json!({"raw": [
                {"key": "greet", "flow": {"name": "Greeter"}},
                {"key": "shout", "flow": {"name": "Greeter"}},
            ]})
        );
        admin.cancel().await.expect("close");

        // Someone who is not an administrator runs it too, when they may read what they run it
        // on, and gets what `POST /flows/trigger/:id` answers them.
        let role = app.create_role("Editors", false).await;
        app.create_user_in("editor@example.com", USER_TOKEN, &role)
            .await;
        let grant = json!({"role": role, "collection": "directus_flows", "action": "read",
            "permissions": {}, "fields": ["*"]});
        let reply = app
            .send(
                "POST",
                "/permissions",
                Some(&grant.to_string()),
                Some(ADMIN_TOKEN),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let user = client(&base, USER_TOKEN).await;
        let body = json!({"collection": "directus_flows", "name": "Ada"});
        let rest = app
            .send(
                "POST",
                &format!("/flows/trigger/{flow}"),
                Some(&body.to_string()),
                Some(USER_TOKEN),
            )
            .await;
        assert_eq!(rest.status, 200, "{}", rest.text);
        assert_eq!(rest.json(), json!({"loud": "Ada!"}));
        assert_eq!(
            ok(
                &user,
                "trigger-flow",
                json!({"id": flow, "collection": "directus_flows", "data": {"name": "Ada"}}),
            )
            .await,
            json!({"raw": {"loud": "Ada!"}})
        );
        // Refused: a key they cannot read, a tool for administrators.
        let before = state(&app).await;
        assert_eq!(
            call(&user, "trigger-flow", json!({"id": flow, "collection": "directus_flows", "keys": [MISSING], "data": {"name": "Ada"}})).await,
            forbidden_result()
        );
        assert_eq!(
            call(
                &user,
                "operations",
                json!({"action": "update", "key": greet_id, "data": {"key": "x"}})
            )
            .await,
            failure(
                json!([{"error": "You must be an admin to access this tool", "code": "FORBIDDEN"}])
            )
        );
        assert_eq!(state(&app).await, before);
        user.cancel().await.expect("close");
    }
);

mcp_test!(
    deletes_when_allowed,
    McpConfig {
        allow_deletes: true,
        ..enabled()
    },
    |app, base| async move {
        let flow = FlowBuilder::manual(1)
            .op("a", "log", json!({"message": "a"}))
            .then("b", "log", json!({"message": "b"}))
            .insert(&app)
            .await;
        let admin = client(&base, ADMIN_TOKEN).await;
        assert_eq!(
            ok(
                &admin,
                "operations",
                json!({"action": "delete", "key": flow.op("b")})
            )
            .await,
            json!({"raw": flow.op("b")})
        );
        assert_eq!(app.count("directus_operations").await, 1);
        assert_eq!(
            ok(&admin, "flows", json!({"action": "delete", "key": flow.id})).await,
            json!({"raw": flow.id})
        );
        assert_eq!(app.count("directus_flows").await, 0);
        assert_eq!(app.count("directus_operations").await, 0);
        admin.cancel().await.expect("close");
    }
);

mcp_test!(
    operations_are_laid_out_on_the_grid,
    enabled(),
    |app, base| async move {
        let admin = client(&base, ADMIN_TOKEN).await;
        let created = ok(
        &admin,
        "flows",
        json!({"action": "create", "data": {"name": "Chain", "trigger": "manual", "operations": [
            {"key": "a", "type": "log", "options": {}},
            {"key": "b", "type": "log", "options": {}},
        ]}}),
    )
    .await;
        let flow = created["raw"]["id"].as_str().expect("id").to_string();
        // Nothing starts the flow yet: each operation is a chain of its own, one row each
        // (in creation order, which within one write is by id).
        let ops = placed(&app, &flow).await;
        assert_eq!(grid(&ops, &["a", "b"]), [(19, 1), (19, 17)]);
        let c = ok(
        &admin,
        "operations",
        json!({"action": "create", "data": {"flow": flow, "key": "c", "type": "log", "options": {}}}),
    )
    .await;
        assert_eq!(c["raw"]["key"], json!("c"));
        assert_eq!(c.get("url"), None);
        let ops = placed(&app, &flow).await;
        assert_eq!(grid(&ops, &["a", "b", "c"]), [(19, 1), (19, 17), (19, 33)]);
        // a → c on success: c moves right of a; a and b keep a row each.
        let a_id = ops["a"].0.clone();
        let updated = ok(
        &admin,
        "operations",
        json!({"action": "update", "key": a_id, "data": {"resolve": ops["c"].0}, "query": {"fields": ["key", "resolve"]}}),
    )
    .await;
        assert_eq!(updated, json!({"raw": {"key": "a", "resolve": ops["c"].0}}));
        let ops = placed(&app, &flow).await;
        assert_eq!(grid(&ops, &["a", "b"]), [(19, 1), (19, 17)]);
        assert_eq!((ops["c"].1, ops["c"].2), (37, ops["a"].2));
        // A linked operation cannot move to another flow.
        let other_flow = FlowBuilder::manual(9).insert(&app).await;
        assert_eq!(
            call(
                &admin,
                "operations",
                json!({"action": "update", "key": a_id, "data": {"flow": other_flow.id}})
            )
            .await,
            payload_error(
                "Cannot move a linked operation to another flow. Clear its resolve/reject and any references to it first"
            )
        );
        // Explicit positions are kept.
        let pinned = ok(
        &admin,
        "operations",
        json!({"action": "create", "data": {"flow": flow, "key": "d", "type": "log", "options": {}, "position_x": 70, "position_y": 70}}),
    )
    .await;
        assert_eq!(
            (
                pinned["raw"]["position_x"].clone(),
                pinned["raw"]["position_y"].clone()
            ),
            (json!(70), json!(70))
        );
        admin.cancel().await.expect("close");
    }
);

mcp_test!(
    invalid_input_is_refused_with_its_reason,
    enabled(),
    |app, base| async move {
        let flow = FlowBuilder::manual(1)
            .op("a", "log", json!({"message": "a"}))
            .insert(&app)
            .await;
        let before = state(&app).await;
        let admin = client(&base, ADMIN_TOKEN).await;
        let cases: Vec<(&str, Value, &str)> = vec![
            (
                "flows",
                json!({"action": "list"}),
                "Invalid input at \"action\"",
            ),
            ("flows", json!({}), "Invalid input at \"action\""),
            (
                "flows",
                json!({"action": "read", "key": "x"}),
                "Unrecognized key: \"key\"",
            ),
            (
                "flows",
                json!({"action": "update", "data": {"name": "x"}}),
                "Invalid input: expected string, received undefined at \"key\"",
            ),
            (
                "flows",
                json!({"action": "create", "data": {"name": "x", "status": "draft"}}),
                "Invalid option: expected one of \"active\"|\"inactive\" at \"data.status\"",
            ),
            (
                "flows",
                json!({"action": "create", "data": {"name": "x", "accountability": null}}),
                "Invalid option: expected one of \"all\"|\"activity\" at \"data.accountability\"",
            ),
            (
                "flows",
                json!({"action": "create"}),
                "Invalid input: expected object, received undefined at \"data\"",
            ),
            (
                "flows",
                json!({"action": "create", "data": "not json"}),
                "Invalid input: expected object, received string at \"data\"",
            ),
            (
                "flows",
                json!({"action": "delete", "key": 5}),
                "Invalid input: expected string, received number at \"key\"",
            ),
            (
                "operations",
                json!({"action": "read", "query": {"limit": "10"}}),
                "Invalid input: expected number, received string at \"query.limit\"",
            ),
            (
                "operations",
                json!({"action": "create", "data": {"key": "k", "type": "log", "position_x": 3}}),
                "Provide both `position_x` and `position_y`, or omit both for automatic layout at \"data\"",
            ),
            (
                "trigger-flow",
                json!({"flowId": "x", "collection": "a"}),
                "Invalid input: expected number, received undefined at \"id\" or Invalid input: expected string, received undefined at \"id\"; Unrecognized key: \"flowId\"",
            ),
            (
                "trigger-flow",
                json!({"id": "x", "collection": "a", "headers": "[1]"}),
                "Invalid input: expected record, received array at \"headers\"",
            ),
        ];
        for (tool, args, issues) in cases {
            assert_eq!(
                call(&admin, tool, args.clone()).await,
                payload_error(&format!("Validation error: {issues}")),
                "{tool} {args}"
            );
        }
        // A delete without a key fails validation before the delete gate.
        assert_eq!(
            call(&admin, "flows", json!({"action": "delete"})).await,
            payload_error(
                "Validation error: Invalid input: expected string, received undefined at \"key\""
            )
        );
        // Refused by the rules of the data, as REST refuses them.
        let second = call(
            &admin,
            "operations",
            json!({"action": "create", "data": {"flow": flow.id, "key": "a", "type": "log", "options": {}}}),
        )
        .await;
        assert_eq!(second["isError"], json!(true), "{second}");
        assert_eq!(
            call(&admin, "flows", json!({"action": "delete", "key": flow.id})).await,
            payload_error("Delete actions are disabled")
        );
        // Nothing was written.
        assert_eq!(state(&app).await, before);
        admin.cancel().await.expect("close");
    }
);

mcp_test!(
    trigger_flow_runs_manual_flows,
    enabled(),
    |app, base| async move {
        let flow = FlowBuilder::manual(1)
            .option("collections", json!(["directus_flows"]))
            .option(
                "fields",
                json!([{"field": "reason", "meta": {"required": true}}]),
            )
            .op(
                "seen",
                "transform",
                json!({"json": {"trigger": "{{ $trigger }}"}}),
            )
            .insert(&app)
            .await;
        let admin = client(&base, ADMIN_TOKEN).await;
        let result = ok(
        &admin,
        "trigger-flow",
        json!({"id": flow.id, "collection": "directus_flows", "keys": ["1"], "data": {"reason": "x"}, "headers": {"x-a": "b"}}),
    )
    .await;
        assert_eq!(
            result,
            json!({"raw": {"trigger": {
                "path": format!("/trigger/{}", flow.id),
                "query": {},
                "body": {"collection": "directus_flows", "keys": ["1"], "reason": "x"},
                "method": "POST",
                "headers": {"x-a": "b"},
            }}})
        );
        assert_eq!(
            call(
                &admin,
                "trigger-flow",
                json!({"id": flow.id, "collection": "directus_flows", "keys": ["1"]})
            )
            .await,
            payload_error("Required field \"reason\" is missing")
        );
        // The manual trigger's own checks: the collection must be one of the flow's.
        assert_eq!(
        call(&admin, "trigger-flow", json!({"id": flow.id, "collection": "directus_users", "keys": ["1"], "data": {"reason": "x"}})).await,
        forbidden_result()
    );
        // Only active manual flows run.
        let hook = FlowBuilder::webhook(2).method("POST").insert(&app).await;
        let off = FlowBuilder::manual(3)
            .status("inactive")
            .option("collections", json!(["directus_flows"]))
            .insert(&app)
            .await;
        for id in [hook.id.as_str(), off.id.as_str(), MISSING, "not-a-uuid"] {
            assert_eq!(
                call(
                    &admin,
                    "trigger-flow",
                    json!({"id": id, "collection": "directus_flows", "keys": [1]})
                )
                .await,
                forbidden_result(),
                "{id}"
            );
        }
        // A run in the background gives no data.
        let later = FlowBuilder::manual(4)
            .option("collections", json!(["directus_flows"]))
            .option("async", json!(true))
            .op("x", "log", json!({"message": "x"}))
            .insert(&app)
            .await;
        assert_eq!(
            call(
                &admin,
                "trigger-flow",
                json!({"id": later.id, "collection": "directus_flows", "keys": [1]})
            )
            .await,
            json!({"content": []})
        );
        admin.cancel().await.expect("close");
    }
);

mcp_test!(
    system_prompt_default_and_configured,
    enabled(),
    |_app, base| async move {
        let admin = client(&base, ADMIN_TOKEN).await;
        let text = ok(&admin, "system-prompt", json!({"ignored": true})).await;
        let prompt = text["raw"].as_str().expect("text");
        assert!(
            prompt.starts_with("You are connected to a flowline server"),
            "{prompt}"
        );
        admin.cancel().await.expect("close");
    }
);

mcp_test!(
    system_prompt_from_configuration,
    McpConfig {
        system_prompt: Some("Be brief.".to_string()),
        ..enabled()
    },
    |_app, base| async move {
        let admin = client(&base, ADMIN_TOKEN).await;
        assert_eq!(
            call(&admin, "system-prompt", json!({})).await,
            json!({"content": [{"type": "text", "text": "{\"raw\":\"Be brief.\"}"}]})
        );
        admin.cancel().await.expect("close");
    }
);

mcp_test!(
    system_prompt_switched_off,
    McpConfig {
        system_prompt_enabled: false,
        ..enabled()
    },
    |_app, base| async move {
        let admin = client(&base, ADMIN_TOKEN).await;
        let tools = admin.list_all_tools().await.expect("tools/list");
        let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
        assert_eq!(names, ["flows", "trigger-flow", "operations"]);
        assert_eq!(
            call(&admin, "system-prompt", json!({})).await,
            payload_error("\"system-prompt\" doesn't exist in the toolset")
        );
        admin.cancel().await.expect("close");
    }
);

mcp_test!(transport_rules, enabled(), |_app, base| async move {
    // No event stream: a GET is 405 with no body.
    let res = reqwest::Client::new()
        .get(format!("{base}/mcp"))
        .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
        .header("accept", "text/event-stream")
        .send()
        .await
        .expect("send");
    assert_eq!(res.status().as_u16(), 405);
    assert_eq!(res.text().await.expect("body"), "");
    // Anonymous callers are challenged.
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}).to_string();
    let (status, headers, body) = raw(&base, None, None, &ping).await;
    assert_eq!((status, body.as_str()), (401, ""));
    assert_eq!(
        headers["www-authenticate"],
        "Bearer resource_metadata=\"/.well-known/oauth-protected-resource/mcp\", scope=\"mcp:access\""
    );
    assert_eq!(headers["access-control-expose-headers"], "WWW-Authenticate");
    // A bad token is the REST error.
    let (status, _, body) = raw(&base, Some("wrong"), None, &ping).await;
    assert_eq!(status, 401);
    assert_eq!(
        serde_json::from_str::<Value>(&body).expect("json"),
        json!({"errors": [{"message": "Invalid user credentials.", "extensions": {"code": "INVALID_CREDENTIALS"}}]})
    );
    // The token may come in the URL, as Directus's own docs tell Claude users to send it.
    let res = reqwest::Client::new()
        .post(format!("{base}/mcp?access_token={ADMIN_TOKEN}"))
        .header("content-type", "application/json")
        .body(ping.clone())
        .send()
        .await
        .expect("send");
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(
        res.text().await.expect("body"),
        r#"{"jsonrpc":"2.0","id":1,"result":{}}"#
    );
    // A client that does not take JSON.
    let (status, _, body) = raw(&base, Some(ADMIN_TOKEN), Some("text/event-stream"), &ping).await;
    assert_eq!((status, body.as_str()), (405, ""));
    // No Accept at all is fine, and the reply is plain JSON.
    let (status, headers, body) = raw(&base, Some(ADMIN_TOKEN), None, &ping).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/json; charset=utf-8");
    assert_eq!(body, r#"{"jsonrpc":"2.0","id":1,"result":{}}"#);
    // Notifications and client responses are accepted with no body.
    for message in [
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 3}}),
        json!({"jsonrpc": "2.0", "id": 4, "result": {}}),
    ] {
        let (status, _, body) = raw(&base, Some(ADMIN_TOKEN), None, &message.to_string()).await;
        assert_eq!((status, body.as_str()), (202, ""), "{message}");
    }
    assert_eq!(
        rpc(
            &base,
            json!({"jsonrpc": "2.0", "id": "r", "method": "resources/list"})
        )
        .await,
        (
            200,
            json!({"jsonrpc": "2.0", "id": "r", "error": {"code": -32601, "message": "Method not found"}})
        )
    );
    assert_eq!(
        rpc(
            &base,
            json!({"jsonrpc": "2.0", "id": 5, "method": "prompts/list"})
        )
        .await,
        (
            200,
            json!({"jsonrpc": "2.0", "id": 5, "error": {"code": 1001, "message": "MCP error 1001: A prompts collection must be set in settings"}})
        )
    );
    let init = |id: u32, version: &str| json!({"jsonrpc": "2.0", "id": id, "method": "initialize", "params": {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    assert_eq!(
        rpc(&base, init(1, "2025-06-18")).await,
        (
            200,
            json!({"jsonrpc": "2.0", "id": 1, "result": {
                "protocolVersion": "2025-06-18",
                "capabilities": {"prompts": {}, "tools": {}},
                "serverInfo": {"name": "directus-mcp", "version": "0.1.0"},
            }})
        )
    );
    assert_eq!(
        rpc(&base, init(2, "1999-01-01")).await.1["result"]["protocolVersion"],
        json!("2025-11-25")
    );
    let (status, reply) = rpc(
        &base,
        json!({"jsonrpc": "2.0", "id": 6, "method": "tools/call", "params": {}}),
    )
    .await;
    assert_eq!(
        (status, &reply["id"], &reply["error"]["code"]),
        (200, &json!(6), &json!(-32603))
    );
    // A batch is not one message.
    assert_eq!(
        rpc(
            &base,
            json!([{"jsonrpc": "2.0", "id": 1, "method": "ping"}])
        )
        .await,
        (
            400,
            json!({"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}})
        )
    );
    // Malformed JSON is the REST payload error.
    let (status, _, body) = raw(&base, Some(ADMIN_TOKEN), None, "{").await;
    assert_eq!(status, 400);
    assert_eq!(
        serde_json::from_str::<Value>(&body).expect("json")["errors"][0]["extensions"]["code"],
        json!("INVALID_PAYLOAD")
    );
    // No other method is routed.
    let res = reqwest::Client::new()
        .delete(format!("{base}/mcp"))
        .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
        .send()
        .await
        .expect("send");
    assert_eq!(res.status().as_u16(), 404);
});

mcp_test!(
    switched_off,
    McpConfig {
        enabled: false,
        ..McpConfig::default()
    },
    |_app, base| async move {
        let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}).to_string();
        let (status, _, body) = raw(&base, Some(ADMIN_TOKEN), None, &ping).await;
        assert_eq!(status, 404);
        assert_eq!(
            serde_json::from_str::<Value>(&body).expect("json"),
            json!({"errors": [{"message": "Route /mcp doesn't exist.", "extensions": {"path": "/mcp", "code": "ROUTE_NOT_FOUND"}}]})
        );
        let (status, _, _) = raw(&base, Some("wrong"), None, &ping).await;
        assert_eq!(status, 401);
    }
);

mcp_test!(registry_listing, enabled(), |app, base| async move {
    let flow = FlowBuilder::manual(1).insert(&app).await;
    let admin = client_at(&format!("{base}/mcp?tool_mode=registry"), ADMIN_TOKEN).await;
    let tools = admin.list_all_tools().await.expect("tools/list");
    let tools: Vec<Value> = tools
        .iter()
        .map(|t| serde_json::to_value(t).expect("json"))
        .collect();
    let names: Vec<&Value> = tools.iter().map(|t| &t["name"]).collect();
    assert_eq!(names, [&json!("search"), &json!("execute")]);
    assert_eq!(
        tools[0]["annotations"],
        json!({"readOnlyHint": true, "destructiveHint": false})
    );
    assert_eq!(
        tools[1]["annotations"],
        json!({"readOnlyHint": false, "destructiveHint": true, "openWorldHint": true})
    );
    assert_eq!(
        tools[1]["inputSchema"],
        json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "input": {"default": {}, "type": "object", "propertyNames": {"type": "string"}, "additionalProperties": {}},
            },
            "required": ["name", "input"],
            "additionalProperties": false,
        })
    );
    let search_props = &tools[0]["inputSchema"]["properties"];
    assert_eq!(
        search_props["query"]["anyOf"],
        json!([{"type": "string"}, {"type": "null"}])
    );
    assert_eq!(search_props["names"]["items"], json!({"type": "string"}));

    // Discovery, then details.
    let found = ok(&admin, "search", json!({"query": "webhook automation"})).await;
    assert_eq!(found["data"]["results"][0]["name"], json!("flows"));
    let nothing = ok(&admin, "search", json!({"query": "zzz"})).await;
    assert_eq!(
        nothing["data"]["availableToolNames"],
        json!(["flows", "operations", "system-prompt", "trigger-flow"])
    );
    assert_eq!(nothing["data"]["results"], json!([]));
    let details = ok(&admin, "search", json!({"names": ["trigger-flow"]})).await;
    let detail = &details["data"]["results"][0];
    assert_eq!(detail["name"], json!("trigger-flow"));
    assert_eq!(
        detail["inputType"],
        json!(
            "{ id: number | string; collection: string; keys?: (number | string)[]; headers?: Record<string, unknown>; query?: Record<string, unknown>; data?: Record<string, unknown> }"
        )
    );
    assert!(
        detail["instructions"]
            .as_str()
            .expect("text")
            .starts_with("Run a manual flow")
    );
    let both = call(&admin, "search", json!({"query": "x", "names": ["flows"]})).await;
    assert_eq!(both["isError"], json!(true), "{both}");

    // Execution, with the registry's envelopes.
    assert_eq!(
        ok(
            &admin,
            "execute",
            json!({"name": "flows", "input": {"action": "read", "query": {"fields": ["id", "name"]}}}),
        )
        .await,
        json!({"data": [{"id": flow.id, "name": "Flow 1"}], "url": format!("/admin/settings/flows/{}", flow.id)})
    );
    let before = state(&app).await;
    assert_eq!(
        call(
            &admin,
            "execute",
            json!({"name": "flows", "input": {"action": "delete", "key": flow.id}})
        )
        .await,
        failure(
            json!([{"error": "Invalid payload. Delete actions are disabled.", "code": "INVALID_PAYLOAD",
            "recoverable": true, "next": {"tool": "search", "input": {"names": ["flows"]}}}])
        )
    );
    assert_eq!(
        call(&admin, "execute", json!({"name": "nope", "input": {}})).await,
        failure(
            json!([{"error": "\"nope\" doesn't exist in the toolset", "code": "UNKNOWN_TOOL",
            "recoverable": true, "next": {"tool": "search", "input": {"query": "nope"}}}])
        )
    );
    assert_eq!(
        call(&admin, "flows", json!({"action": "read"})).await,
        failure(
            json!([{"error": "\"flows\" doesn't exist in the root toolset", "code": "UNKNOWN_META_TOOL",
            "recoverable": false}])
        )
    );
    assert_eq!(
        call(
            &admin,
            "execute",
            json!({"name": "operations", "input": {"action": "update", "key": MISSING, "data": {}}})
        )
        .await,
        failure(
            json!([{"error": "You don't have permission to access this.", "code": "FORBIDDEN", "recoverable": false}])
        )
    );
    admin.cancel().await.expect("close");

    // Tools a user may not use are as good as absent.
    app.create_user("user@example.com", USER_TOKEN, false).await;
    let user = client_at(&format!("{base}/mcp?tool_mode=registry"), USER_TOKEN).await;
    assert_eq!(
        call(
            &user,
            "execute",
            json!({"name": "flows", "input": {"action": "read"}})
        )
        .await,
        failure(
            json!([{"error": "\"flows\" doesn't exist in the toolset", "code": "UNKNOWN_TOOL",
            "recoverable": true, "next": {"tool": "search", "input": {"query": "flows"}}}])
        )
    );
    let nothing = ok(&user, "search", json!({"query": "zzz"})).await;
    assert_eq!(
        nothing["data"]["availableToolNames"],
        json!(["system-prompt", "trigger-flow"])
    );
    assert_eq!(state(&app).await, before);
    user.cancel().await.expect("close");
});
