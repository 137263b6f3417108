//! Every REST error path: unknown fields (403 naming the field), malformed parameters and
//! operators (400 `INVALID_QUERY`), bad bodies and batch forms (400 `INVALID_PAYLOAD`),
//! write validation, unknown routes and ids, and missing or bad tokens. Every failing
//! request other than a GET is checked to leave both collections exactly as they were.

use crate::rest_support::*;
use e2e::both;
use serde_json::{Value, json};

/// A non-admin user's token.
const USER_TOKEN: &str = "plain-user-token";

fn failed_validation(errors: &[(&str, &str, &str, Option<Value>)]) -> Value {
    let list: Vec<Value> = errors
        .iter()
        .map(|(field, kind, message, extra)| {
            let mut ext = json!({"field": field, "path": [], "type": kind});
            if let Some(Value::Object(extra)) = extra {
                for (k, v) in extra {
                    ext[k] = v.clone();
                }
            }
            ext["code"] = json!("FAILED_VALIDATION");
            json!({"message": message, "extensions": ext})
        })
        .collect();
    json!({ "errors": list })
}

fn with_fields(message: &str, code: &str, ext: Value) -> Value {
    let mut ext = ext;
    ext["code"] = json!(code);
    json!({"errors": [{"message": message, "extensions": ext}]})
}

fn query_cases() -> Vec<Case> {
    let depth = format!("/operations?fields={}key", "resolve.".repeat(11));
    vec![
        get("unknown field in fields", "/flows?fields=id,nope")
            .status(403, forbidden_field("nope", "directus_flows")),
        get("unknown field under an o2m", "/flows?fields=operations.nope")
            .status(403, forbidden_field("nope", "directus_operations")),
        get("unknown field under an m2o", "/operations?fields=flow.nope")
            .status(403, forbidden_field("nope", "directus_flows")),
        get("unknown field in a function", "/flows?fields=year(nope)")
            .status(403, forbidden_field("nope", "directus_flows")),
        get("unknown field in filter", "/flows?filter[nope][_eq]=1")
            .status(403, forbidden_field("nope", "directus_flows")),
        get("unknown field through an m2o filter", "/flows?filter[operation][nope][_eq]=x")
            .status(403, forbidden_field("nope", "directus_operations")),
        get("unknown field through an o2m filter", "/flows?filter[operations][nope][_eq]=x")
            .status(403, forbidden_field("nope", "directus_operations")),
        get("unknown field in sort", "/flows?sort=-nope")
            .status(403, forbidden_field("nope", "directus_flows")),
        get("unknown field in a relational sort", "/operations?sort=flow.nope")
            .status(403, forbidden_field("nope", "directus_flows")),
        get("unknown field in aggregate", "/flows?aggregate[count]=nope")
            .status(403, forbidden_field("nope", "directus_flows")),
        get("unknown field in groupBy", "/flows?aggregate[count]=*&groupBy=nope")
            .status(403, forbidden_field("nope", "directus_flows")),
        get(
            "unknown field in a deep filter",
            "/flows?fields=operations.key&deep[operations][_filter][nope][_eq]=1",
        )
        .status(403, forbidden_field("nope", "directus_operations")),
        get("unknown operator", "/flows?filter[name][_foo]=x").status(
            400,
            invalid_query("\"string\" field type does not contain the \"_foo\" filter operator"),
        ),
        get(
            "operator not allowed for integers",
            "/operations?filter[position_x][_contains]=1",
        )
        .status(
            400,
            invalid_query("\"integer\" field type does not contain the \"_contains\" filter operator"),
        ),
        get("_ieq is refused, as in Directus", "/flows?filter[name][_ieq]=x").status(
            400,
            invalid_query("\"string\" field type does not contain the \"_ieq\" filter operator"),
        ),
        get("_eq on a JSON field", "/flows?filter[options][_eq]=x").status(
            400,
            invalid_query("\"json\" field type does not contain the \"_eq\" filter operator"),
        ),
        get("filter is not JSON", "/flows?filter={oops")
            .status(400, invalid_query("Invalid JSON for filter object")),
        get("filter JSON is not an object", "/flows?filter=[1]")
            .status(400, invalid_query("Invalid filter object")),
        get(
            "_null needs a boolean",
            "/flows?filter[accountability][_null]=maybe",
        )
        .status(400, invalid_query("\"_null\" has to be a boolean")),
        get("_eq with an empty string", "/flows?filter[name][_eq]=").status(
            400,
            invalid_query(
                "You can't filter for an empty string in \"_eq\". Use \"_empty\" or \"_nempty\" instead",
            ),
        ),
        get(
            "_in with an empty list",
            format!("/flows?filter={}", qjson(json!({"trigger": {"_in": []}}))),
        )
        .status(400, invalid_query("\"_in\" has to be an array of values")),
        get(
            "_some below the top level",
            "/operations?filter[flow][operations][_some][key][_eq]=x",
        )
        .status(
            400,
            invalid_query("\"_some\" can only be used with top level relational alias field"),
        ),
        get("limit=abc", "/flows?limit=abc").status(400, invalid_query("\"limit\" must be a number")),
        get("limit=-2", "/flows?limit=-2")
            .status(400, invalid_query("\"limit\" must be greater than or equal to -1")),
        get(
            "a nested limit below -1, on rows the database would write as JSON",
            "/flows?fields=name,operations.key&deep[operations][_limit]=-2",
        )
        .status(400, invalid_query("\"limit\" must be greater than or equal to -1")),
        get("offset=-1", "/flows?offset=-1")
            .status(400, invalid_query("\"offset\" must be greater than or equal to 0")),
        get("page=x", "/flows?page=x").status(400, invalid_query("\"page\" must be a number")),
        get("meta=foo", "/flows?meta=foo").status(
            400,
            invalid_query("\"meta[0]\" must be one of [total_count, filter_count]"),
        ),
        get("export=pdf", "/flows?export=pdf").status(
            400,
            invalid_query("\"export\" must be one of [csv, csv_utf8, json, xml, yaml]"),
        ),
        get("nested functions in fields", "/flows?fields=year(date(date_created))")
            .status(400, invalid_query("Nested functions are not supported in \"fields\"")),
        get("unbalanced parenthesis in fields", "/flows?fields=year(date_created")
            .status(400, invalid_query("Missing closing parenthesis in \"fields\"")),
        get("fields as an object", "/flows?fields[a]=b")
            .status(400, invalid_query("\"fields\" must be a string or array")),
        get("relational depth above the maximum", depth)
            .status(400, invalid_query("Max relational depth exceeded")),
        get(
            "sort on a field that is not grouped",
            "/flows?aggregate[count]=*&groupBy=trigger&sort=name",
        )
        .status(
            400,
            invalid_query("Can't sort by \"name\" when it is not in \"groupBy\""),
        ),
        get("sum of a text field", "/flows?aggregate[sum]=name").status(
            400,
            invalid_query("Function \"sum\" can't be used on field \"name\""),
        ),
        req("SEARCH: a bad query in the body", "SEARCH", "/flows")
            .body(json!({"query": {"limit": "abc"}}))
            .status(400, invalid_query("\"limit\" must be a number")),
        req("SEARCH: an unknown field in the body's query", "SEARCH", "/flows")
            .body(json!({"query": {"filter": {"nope": {"_eq": 1}}}}))
            .status(403, forbidden_field("nope", "directus_flows")),
        req("SEARCH: an unknown body key", "SEARCH", "/flows")
            .body(json!({"query": {}, "foo": 1}))
            .status(400, invalid_payload("\"foo\" is not allowed")),
        req("SEARCH: query is not an object", "SEARCH", "/flows")
            .body(json!({"query": "x"}))
            .status(400, invalid_payload("\"query\" must be of type object")),
    ]
}

fn payload_cases() -> Vec<Case> {
    let big = format!(
        "{{\"name\": \"big\", \"description\": \"{}\"}}",
        "x".repeat(1024 * 1024 + 16)
    );
    let post = |name, path: &str| req(name, "POST", path.to_string());
    let patch = |name, path: String| req(name, "PATCH", path);
    vec![
        post("malformed JSON", "/flows").raw("{oops").status(
            400,
            invalid_payload("Invalid JSON body: key must be a string at line 1 column 2"),
        ),
        post("a body that is neither object nor array", "/flows")
            .raw("5")
            .status(400, invalid_payload("\"value\" must be of type object or array")),
        post("a body over 1 MiB", "/flows")
            .raw(big.clone())
            .status(400, invalid_payload("Request body is larger than 1048576 bytes")),
        req("a batch body over 1 MiB", "PATCH", "/flows")
            .raw(big)
            .status(400, invalid_payload("Request body is larger than 1048576 bytes")),
        post("a flow without a name", "/flows")
            .body(json!({"status": "active"}))
            .status(
                400,
                failed_validation(&[(
                    "name",
                    "required",
                    "Validation failed for field \"name\". Value is required.",
                    None,
                )]),
            ),
        post("an operation without its required fields", "/operations")
            .body(json!({"name": "lonely"}))
            .status(
                400,
                failed_validation(&[
                    ("key", "required", "Validation failed for field \"key\". Value is required.", None),
                    ("type", "required", "Validation failed for field \"type\". Value is required.", None),
                    ("position_x", "required", "Validation failed for field \"position_x\". Value is required.", None),
                    ("position_y", "required", "Validation failed for field \"position_y\". Value is required.", None),
                    ("flow", "required", "Validation failed for field \"flow\". Value is required.", None),
                ]),
            ),
        post("an array create is all or nothing", "/flows")
            .body(json!([{"id": fid(10), "name": "fine"}, {"trigger": "webhook"}]))
            .status(
                400,
                failed_validation(&[(
                    "name",
                    "required",
                    "Validation failed for field \"name\". Value is required.",
                    None,
                )]),
            ),
        post("an unknown trigger", "/flows")
            .body(json!({"name": "x", "trigger": "bogus"}))
            .status(
                400,
                failed_validation(&[(
                    "trigger",
                    "in",
                    "Validation failed for field \"trigger\". Value has to be one of event, webhook, schedule, operation, manual.",
                    Some(json!({"valid": ["event", "webhook", "schedule", "operation", "manual"]})),
                )]),
            ),
        post("an unknown foreign key", "/operations")
            .body(json!({"flow": MISSING, "key": "k", "type": "log", "position_x": 0, "position_y": 0}))
            .status(
                400,
                with_fields(
                    &format!("Invalid foreign key \"{MISSING}\" for field \"flow\" in collection \"directus_operations\"."),
                    "INVALID_FOREIGN_KEY",
                    json!({"collection": "directus_operations", "field": "flow", "value": MISSING}),
                ),
            ),
        post("a resolve target that is already taken", "/operations")
            .body(json!({"flow": fid(1), "key": "dup", "type": "log", "position_x": 0,
                         "position_y": 0, "resolve": oid(2)}))
            .status(
                400,
                with_fields(
                    &format!("Value \"{}\" for field \"resolve\" in collection \"directus_operations\" has to be unique.", oid(2)),
                    "RECORD_NOT_UNIQUE",
                    json!({"collection": "directus_operations", "field": "resolve", "value": oid(2)}),
                ),
            ),
        post("an id that exists", "/flows")
            .body(json!({"id": fid(1), "name": "again"}))
            .status(
                400,
                with_fields(
                    &format!("Value \"{}\" for field \"id\" in collection \"directus_flows\" has to be unique.", fid(1)),
                    "RECORD_NOT_UNIQUE",
                    json!({"collection": "directus_flows", "field": "id", "value": fid(1)}),
                ),
            ),
        post("a key used twice in one flow", "/operations")
            .body(json!({"flow": fid(1), "key": "start", "type": "log", "position_x": 0, "position_y": 0}))
            .status(
                400,
                with_fields(
                    "Value \"start\" for field \"key\" in collection \"directus_operations\" has to be unique.",
                    "RECORD_NOT_UNIQUE",
                    json!({"collection": "directus_operations", "field": "key", "value": "start"}),
                ),
            ),
        post("a resolve into another flow", "/operations")
            .body(json!({"flow": fid(2), "key": "jump", "type": "log", "position_x": 0,
                         "position_y": 0, "resolve": oid(6)}))
            .status(
                400,
                failed_validation(&[(
                    "resolve",
                    "flow",
                    &format!("Validation failed for field \"resolve\". Operation \"jump\" can only lead to operations of its own flow; \"{}\" is not one.", oid(6)),
                    None,
                )]),
            ),
        patch("a resolve that closes a loop", format!("/operations/{}", oid(3)))
            .body(json!({"resolve": oid(1)}))
            .status(
                400,
                failed_validation(&[(
                    "resolve",
                    "cycle",
                    "Validation failed for field \"resolve\". The resolve and reject links of operation \"start\" lead back to it; flows must not loop.",
                    None,
                )]),
            ),
        patch("a first operation from another flow", format!("/flows/{}", fid(1)))
            .body(json!({"operation": oid(6)}))
            .status(
                400,
                failed_validation(&[(
                    "operation",
                    "flow",
                    &format!("Validation failed for field \"operation\". The first operation \"{}\" has to belong to this flow.", oid(6)),
                    None,
                )]),
            ),
        patch("null for a required field", format!("/flows/{}", fid(1)))
            .body(json!({"status": null}))
            .status(
                400,
                failed_validation(&[(
                    "status",
                    "required",
                    "Validation failed for field \"status\". Value is required.",
                    None,
                )]),
            ),
        patch("a name that is too long", format!("/flows/{}", fid(1)))
            .body(json!({"name": "n".repeat(300)}))
            .status(
                400,
                with_fields(
                    "Value for field \"name\" in collection \"directus_flows\" is too long.",
                    "VALUE_TOO_LONG",
                    json!({"collection": "directus_flows", "field": "name"}),
                ),
            ),
        patch("a position out of range", format!("/operations/{}", oid(1)))
            .body(json!({"position_x": 99_999_999_999_i64}))
            .status(
                400,
                with_fields(
                    "Numeric value for field \"position_x\" in collection \"directus_operations\" is out of range.",
                    "VALUE_OUT_OF_RANGE",
                    json!({"collection": "directus_operations", "field": "position_x"}),
                ),
            ),
        patch("PATCH by id with an array body", format!("/flows/{}", fid(1)))
            .body(json!([{"name": "x"}]))
            .status(400, invalid_payload("\"value\" must be of type object")),
        patch("PATCH by id with malformed JSON", format!("/flows/{}", fid(1)))
            .raw("{\"name\": }")
            .status(
                400,
                invalid_payload("Invalid JSON body: expected value at line 1 column 10"),
            ),
    ]
}

fn batch_cases() -> Vec<Case> {
    let patch = |name| req(name, "PATCH", "/flows");
    let delete = |name| req(name, "DELETE", "/flows");
    vec![
        patch("batch PATCH: neither keys nor query")
            .body(json!({"data": {"status": "inactive"}}))
            .status(
                400,
                invalid_payload("\"value\" must contain at least one of [query, keys]"),
            ),
        patch("batch PATCH: both keys and query")
            .body(json!({"keys": [fid(1)], "query": {}, "data": {}}))
            .status(
                400,
                invalid_payload("\"value\" contains a conflict between exclusive peers [query, keys]"),
            ),
        patch("batch PATCH: no data")
            .body(json!({"keys": [fid(1)]}))
            .status(400, invalid_payload("\"data\" is required")),
        patch("batch PATCH: an unknown key")
            .body(json!({"keys": [fid(1)], "data": {}, "foo": 1}))
            .status(400, invalid_payload("\"foo\" is not allowed")),
        // Joi checks the declared keys before unknown keys and before the keys/query rule.
        patch("batch PATCH: only an unknown key")
            .body(json!({"foo": 1}))
            .status(400, invalid_payload("\"data\" is required")),
        patch("batch PATCH: an empty object")
            .body(json!({}))
            .status(400, invalid_payload("\"data\" is required")),
        patch("batch PATCH: data is not an object")
            .body(json!({"keys": [fid(1)], "data": "x"}))
            .status(400, invalid_payload("\"data\" must be of type object")),
        patch("batch PATCH: a key of the wrong type")
            .body(json!({"keys": [{}], "data": {}}))
            .status(400, invalid_payload("\"keys[0]\" must be one of [string, number]")),
        patch("batch PATCH: keys is not an array")
            .body(json!({"keys": "x", "data": {}}))
            .status(400, invalid_payload("\"keys\" must be an array")),
        patch("batch PATCH: query is not an object")
            .body(json!({"query": "x", "data": {}}))
            .status(400, invalid_payload("\"query\" must be of type object")),
        patch("batch PATCH: an unknown field in the query")
            .body(json!({"query": {"filter": {"nope": {"_eq": 1}}}, "data": {"icon": "x"}}))
            .status(403, forbidden_field("nope", "directus_flows")),
        patch("batch PATCH: a bad limit in the query")
            .body(json!({"query": {"limit": "abc"}, "data": {"icon": "x"}}))
            .status(400, invalid_query("\"limit\" must be a number")),
        patch("batch PATCH: an item without id")
            .body(json!([{"name": "x"}]))
            .status(400, invalid_payload("Item in update misses primary key")),
        patch("batch PATCH: the second item without id rolls back the first")
            .body(json!([{"id": fid(1), "name": "changed"}, {"name": "x"}]))
            .status(400, invalid_payload("Item in update misses primary key")),
        patch("batch PATCH: an invalid second item rolls back the first")
            .body(json!([{"id": fid(1), "name": "changed"}, {"id": fid(2), "status": "weird"}]))
            .status(
                400,
                failed_validation(&[(
                    "status",
                    "in",
                    "Validation failed for field \"status\". Value has to be one of active, inactive.",
                    Some(json!({"valid": ["active", "inactive"]})),
                )]),
            ),
        patch("batch PATCH: {keys, data} with invalid data")
            .body(json!({"keys": [fid(1), fid(2)], "data": {"trigger": "bogus"}}))
            .status(
                400,
                failed_validation(&[(
                    "trigger",
                    "in",
                    "Validation failed for field \"trigger\". Value has to be one of event, webhook, schedule, operation, manual.",
                    Some(json!({"valid": ["event", "webhook", "schedule", "operation", "manual"]})),
                )]),
            ),
        patch("batch PATCH: an item that is not an object")
            .body(json!([5]))
            .status(400, invalid_payload("Items in update have to be objects")),
        // Deliberate: Directus answers a 500 for a keyless DELETE body; flowline a 400.
        delete("batch DELETE: an empty object")
            .body(json!({}))
            .status(
                400,
                invalid_payload("\"value\" must be an array of keys or contain one of [keys, query]"),
            ),
        delete("batch DELETE: no body").status(
            400,
            invalid_payload("\"value\" must be an array of keys or contain one of [keys, query]"),
        ),
        delete("batch DELETE: keys is not an array")
            .body(json!({"keys": "x"}))
            .status(400, invalid_payload("\"keys\" must be an array")),
        delete("batch DELETE: a key of the wrong type")
            .body(json!([{}]))
            .status(400, invalid_payload("\"value[0]\" must be one of [string, number]")),
        delete("batch DELETE: an unknown field in the query")
            .body(json!({"query": {"filter": {"nope": {"_eq": 1}}}}))
            .status(403, forbidden_field("nope", "directus_flows")),
        delete("batch DELETE: a bad limit in the query")
            .body(json!({"query": {"limit": "abc"}}))
            .status(400, invalid_query("\"limit\" must be a number")),
        delete("batch DELETE: query is not an object")
            .body(json!({"query": "x"}))
            .status(400, invalid_payload("\"query\" must be of type object")),
        delete("batch DELETE: malformed JSON")
            .raw("[1,")
            .status(
                400,
                invalid_payload("Invalid JSON body: EOF while parsing a value at line 1 column 3"),
            ),
    ]
}

fn route_and_auth_cases() -> Vec<Case> {
    let no = |c: Case| c.token(None);
    let bad = |c: Case| c.token(Some(BAD_TOKEN));
    let user = |c: Case| c.token(Some(USER_TOKEN));
    let bad_credentials = error("Invalid user credentials.", "INVALID_CREDENTIALS");
    let f1 = format!("/flows/{}", fid(1));
    vec![
        get("an unknown route", "/flowz").status(404, route_not_found("/flowz")),
        req("an unknown method on a collection", "PUT", "/flows")
            .body(json!({"name": "x"}))
            .status(404, route_not_found("/flows")),
        get("a path below an item", format!("{f1}/extra"))
            .status(404, route_not_found(&format!("{f1}/extra"))),
        get(
            "the singular alias is PATCH only",
            format!("/operation/{}", oid(1)),
        )
        .status(404, route_not_found(&format!("/operation/{}", oid(1)))),
        req(
            "DELETE on the singular alias",
            "DELETE",
            format!("/operation/{}", oid(1)),
        )
        .status(404, route_not_found(&format!("/operation/{}", oid(1)))),
        get("an unknown id", format!("/flows/{MISSING}")).status(403, forbidden()),
        get("an id that is not a uuid", "/flows/not-a-uuid").status(403, forbidden()),
        get("an unknown operation id", format!("/operations/{MISSING}")).status(403, forbidden()),
        req(
            "DELETE of an id that is not a uuid",
            "DELETE",
            "/flows/not-a-uuid",
        )
        .no_content()
        .unchanged(),
        req(
            "PATCH of an unknown operation",
            "PATCH",
            format!("/operations/{MISSING}"),
        )
        .body(json!({"key": "ghost"}))
        .no_content()
        .unchanged(),
        no(get("no token: list", "/flows")).status(403, forbidden()),
        no(get("no token: by id", &f1)).status(403, forbidden()),
        no(req("no token: SEARCH", "SEARCH", "/flows"))
            .body(json!({"query": {}}))
            .status(403, forbidden()),
        no(req("no token: POST", "POST", "/flows"))
            .body(json!({"name": "anon"}))
            .status(403, forbidden()),
        no(req("no token: PATCH by id", "PATCH", f1.clone()))
            .body(json!({"name": "anon"}))
            .status(403, forbidden()),
        no(req("no token: batch PATCH", "PATCH", "/flows"))
            .body(json!({"keys": [fid(1)], "data": {"name": "anon"}}))
            .status(403, forbidden()),
        no(req("no token: DELETE by id", "DELETE", f1.clone())).status(403, forbidden()),
        no(req("no token: batch DELETE", "DELETE", "/flows"))
            .body(json!([fid(1)]))
            .status(403, forbidden()),
        no(get(
            "no token and a bad query: the query is checked first",
            "/flows?limit=abc",
        ))
        .status(400, invalid_query("\"limit\" must be a number")),
        bad(get("bad token: list", "/flows")).status(401, bad_credentials.clone()),
        bad(req("bad token: POST", "POST", "/flows"))
            .body(json!({"name": "bad"}))
            .status(401, bad_credentials.clone()),
        bad(req("bad token: DELETE", "DELETE", f1.clone())).status(401, bad_credentials.clone()),
        bad(get(
            "bad token and a bad query: the token is checked first",
            "/flows?limit=abc",
        ))
        .status(401, bad_credentials.clone()),
        // Directus authenticates every request before routing, so a bad token on an unknown
        // route is a 401, not a 404.
        bad(get("bad token on an unknown route", "/flowz")).status(401, bad_credentials.clone()),
        no(get(
            "a bad token in the query string",
            format!("/flows?access_token={BAD_TOKEN}"),
        ))
        .status(401, bad_credentials),
        no(get(
            "the admin token in the query string",
            "/flows?access_token=test-admin-token&fields=name&limit=1",
        ))
        .data(names(&["Alpha Hook"])),
        user(get("a user without admin access: list", "/flows")).status(403, forbidden()),
        user(req(
            "a user without admin access: DELETE",
            "DELETE",
            f1.clone(),
        ))
        .status(403, forbidden()),
    ]
}

both!(query_errors, |app| async move {
    seed(&app).await;
    run(&app, query_cases()).await;
});

both!(payload_errors, |app| async move {
    seed(&app).await;
    run(&app, payload_cases()).await;
});

both!(batch_errors, |app| async move {
    seed(&app).await;
    run(&app, batch_cases()).await;
});

both!(route_and_auth_errors, |app| async move {
    seed(&app).await;
    app.create_user("plain@example.com", USER_TOKEN, false)
        .await;
    run(&app, route_and_auth_cases()).await;
});
