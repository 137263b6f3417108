//! REST writes: `POST` (one object or an array), `PATCH` by id (and the `/operation/:id`
//! alias), the three batch `PATCH` forms, `DELETE` by id and the three batch `DELETE` forms,
//! nested relational writes, and query parameters shaping what a write answers. One table
//! per theme, each run in order on a freshly seeded database.

use crate::rest_support::*;
use e2e::both;
use serde_json::json;

fn create_cases() -> Vec<Case> {
    vec![
        req(
            "POST one object; fields shape the answer",
            "POST",
            "/flows?fields=id,name,status,accountability,trigger,options,operation,operations",
        )
        .body(json!({"id": fid(10), "name": "Zeta"}))
        .data(json!({"id": fid(10), "name": "Zeta", "status": "active", "accountability": "all",
                     "trigger": null, "options": null, "operation": null, "operations": []})),
        req("POST without fields answers every field", "POST", "/flows")
            .body(json!({"id": fid(11), "name": "Eta", "trigger": "manual",
                         "options": {"collections": ["x"]}}))
            .data_stable(json!({"id": fid(11), "name": "Eta", "icon": null, "color": null,
                "description": null, "status": "active", "trigger": "manual",
                "accountability": "all", "options": {"collections": ["x"]},
                "operation": null, "folder": null, "operations": []})),
        // Directus answers an array create in key order; flowline keeps the input order.
        req(
            "POST an array answers an array, input order",
            "POST",
            "/flows?fields=id,name",
        )
        .body(json!([{"id": fid(13), "name": "Theta"}, {"id": fid(12), "name": "Iota"}]))
        .data(json!([{"id": fid(13), "name": "Theta"}, {"id": fid(12), "name": "Iota"}])),
        req("POST without an id gets a uuid", "POST", "/flows?fields=id,name")
            .body(json!({"name": "Nameless"}))
            .shape(200, |body| {
                let id = body["data"]["id"].as_str().unwrap_or_default();
                let uuid_like = id.len() == 36 && id.chars().filter(|c| *c == '-').count() == 4;
                if uuid_like && body["data"]["name"] == json!("Nameless") {
                    Ok(())
                } else {
                    Err("expected a generated uuid and the name".into())
                }
            }),
        req(
            "POST an operation; its m2o read back",
            "POST",
            "/operations?fields=id,key,flow.name",
        )
        .body(json!({"id": oid(10), "flow": fid(10), "key": "a", "type": "log",
                     "position_x": 1, "position_y": 2}))
        .data(json!({"id": oid(10), "key": "a", "flow": {"name": "Zeta"}})),
        req(
            "POST a flow with nested operations",
            "POST",
            "/flows?fields=name,operations.key,operations.flow",
        )
        .body(json!({"id": fid(14), "name": "Kappa", "operations": [
            {"id": oid(11), "key": "k1", "type": "log", "position_x": 0, "position_y": 0},
            {"id": oid(13), "key": "k2", "type": "log", "position_x": 5, "position_y": 0},
        ]}))
        .data(json!({"name": "Kappa", "operations": [
            {"key": "k1", "flow": fid(14)}, {"key": "k2", "flow": fid(14)},
        ]})),
        req(
            "unknown payload fields are ignored",
            "POST",
            "/flows?fields=id,name",
        )
        .body(json!({"id": fid(15), "name": "Lambda", "bogus": 1}))
        .data(json!({"id": fid(15), "name": "Lambda"})),
        req(
            "POST an array of operations linked to each other",
            "POST",
            "/operations?fields=key,resolve",
        )
        .body(json!([
            {"id": oid(14), "flow": fid(15), "key": "l2", "type": "log", "position_x": 2, "position_y": 0},
            {"id": oid(15), "flow": fid(15), "key": "l1", "type": "log", "position_x": 1,
             "position_y": 0, "resolve": oid(14)},
        ]))
        .data(json!([{"key": "l2", "resolve": null}, {"key": "l1", "resolve": oid(14)}])),
        get(
            "the new flows are stored",
            format!(
                "/flows?fields=name&sort=name&filter[id][_in]={},{},{},{},{},{}",
                fid(10),
                fid(11),
                fid(12),
                fid(13),
                fid(14),
                fid(15)
            ),
        )
        .data(names(&["Eta", "Iota", "Kappa", "Lambda", "Theta", "Zeta"])),
        get("flow count after the creates", "/flows?aggregate[count]=*")
            .data(json!([{"count": 12}])),
        get("operation count after the creates", "/operations?aggregate[count]=*")
            .data(json!([{"count": 11}])),
    ]
}

fn update_cases() -> Vec<Case> {
    let patch = |name, path: String| req(name, "PATCH", path);
    vec![
        patch("PATCH by id", format!("/flows/{}?fields=id,name,status", fid(1)))
            .body(json!({"name": "Alpha Hook 2", "status": "inactive"}))
            .data(json!({"id": fid(1), "name": "Alpha Hook 2", "status": "inactive"})),
        patch("PATCH sets JSON options", format!("/flows/{}?fields=options", fid(3)))
            .body(json!({"options": {"a": {"b": 1}}}))
            .data(json!({"options": {"a": {"b": 1}}})),
        patch(
            "JSON options are replaced, not merged",
            format!("/flows/{}?fields=options", fid(3)),
        )
        .body(json!({"options": {"c": 2}}))
        .data(json!({"options": {"c": 2}})),
        patch(
            "PATCH /operation/:id is an alias",
            format!("/operation/{}?fields=key,position_x", oid(4)),
        )
        .body(json!({"position_x": 5}))
        .data(json!({"key": "fetch", "position_x": 5})),
        patch(
            "PATCH /operations/:id",
            format!("/operations/{}?fields=key,position_x,position_y", oid(4)),
        )
        .body(json!({"position_y": 7}))
        .data(json!({"key": "fetch", "position_x": 5, "position_y": 7})),
        patch(
            "PATCH of an unknown id answers 204 and changes nothing",
            format!("/flows/{MISSING}"),
        )
        .body(json!({"name": "ghost"}))
        .no_content()
        .unchanged(),
        patch(
            "PATCH without fields reads back every field",
            format!("/flows/{}", fid(5)),
        )
        .body(json!({"description": "solo"}))
        .data_stable({
            let mut row = flow_row(5);
            row["description"] = json!("solo");
            row
        }),
        patch("batch: an array of objects with ids", "/flows?fields=id,status".into())
            .body(json!([{"id": fid(1), "status": "active"}, {"id": fid(2), "status": "active"}]))
            .data(json!([{"id": fid(1), "status": "active"}, {"id": fid(2), "status": "active"}])),
        // Input order again (Directus reads the keys back in key order).
        patch("batch: {keys, data}", "/flows?fields=id,description".into())
            .body(json!({"keys": [fid(4), fid(3)], "data": {"description": "batch"}}))
            .data(json!([
                {"id": fid(4), "description": "batch"},
                {"id": fid(3), "description": "batch"},
            ])),
        patch("batch: {query, data}", "/flows?fields=name,color".into())
            .body(json!({"query": {"filter": {"description": {"_eq": "batch"}}},
                         "data": {"color": "#00FF00"}}))
            .data(json!([
                {"name": "Gamma Nightly", "color": "#00FF00"},
                {"name": "Delta Events", "color": "#00FF00"},
            ])),
        patch(
            "batch query: its own sort and limit pick the rows",
            "/flows?fields=name,icon".into(),
        )
        .body(json!({"query": {"filter": {"color": {"_eq": "#00FF00"}}, "sort": ["-trigger"],
                               "limit": 1},
                     "data": {"icon": "one"}}))
        .data(json!([{"name": "Gamma Nightly", "icon": "one"}])),
        patch(
            "the URL's filter shapes what a batch answers",
            "/flows?fields=id&filter[trigger][_eq]=event".into(),
        )
        .body(json!({"keys": [fid(3), fid(4)], "data": {"color": "#0000FF"}}))
        .data(json!([{"id": fid(4)}])),
        get(
            "the batch updates are stored",
            "/flows?fields=name,icon,color,description&filter[description][_eq]=batch",
        )
        .data(json!([
            {"name": "Gamma Nightly", "icon": "one", "color": "#0000FF", "description": "batch"},
            {"name": "Delta Events", "icon": null, "color": "#0000FF", "description": "batch"},
        ])),
        patch(
            "nested o2m: update one child, create another",
            format!("/flows/{}?fields=operations.key", fid(2)),
        )
        .body(json!({"operations": [
            {"id": oid(4), "key": "fetch2"},
            {"id": oid(12), "key": "new", "type": "log", "position_x": 9, "position_y": 9},
        ]}))
        .data(json!({"operations": keys(&["fetch2", "new"])})),
        patch(
            "nested o2m: children left out are deleted",
            format!("/flows/{}?fields=operations", fid(2)),
        )
        .body(json!({"operations": [oid(12)]}))
        .data(json!({"operations": [oid(12)]})),
        get("the left-out child is gone", format!("/operations/{}", oid(4)))
            .status(403, forbidden()),
        get(
            "its flow's first operation was cleared",
            format!("/flows/{}?fields=operation", fid(2)),
        )
        .data(json!({"operation": null})),
        patch(
            "m2o: link the first operation",
            format!("/flows/{}?fields=operation.key", fid(2)),
        )
        .body(json!({"operation": oid(12)}))
        .data(json!({"operation": {"key": "new"}})),
        patch(
            "nested o2m in the detailed form {create, update, delete}",
            format!("/flows/{}?fields=operations.key", fid(4)),
        )
        .body(json!({"operations": {
            "create": [{"id": oid(16), "key": "k3", "type": "log", "position_x": 7, "position_y": 0}],
            "update": [{"id": oid(5), "key": "tx2"}],
            "delete": [oid(6)],
        }}))
        .data(json!({"operations": keys(&["tx2", "k3"])})),
        patch(
            "batch update read back with a sort",
            "/operations?fields=key&sort=-position_x".into(),
        )
        .body(json!({"keys": [oid(1), oid(2), oid(3)], "data": {"name": "chain"}}))
        .data(keys(&["notify", "check", "start"])),
    ]
}

fn delete_cases() -> Vec<Case> {
    let del = |name, path: String| req(name, "DELETE", path);
    vec![
        del("DELETE by id", format!("/flows/{}", fid(5))).no_content(),
        get(
            "the deleted flow is forbidden",
            format!("/flows/{}", fid(5)),
        )
        .status(403, forbidden()),
        del("DELETE twice is fine", format!("/flows/{}", fid(5))).no_content(),
        del("DELETE of an unknown id", format!("/flows/{MISSING}"))
            .no_content()
            .unchanged(),
        del("batch: an array of keys", "/flows".into())
            .body(json!([fid(3)]))
            .no_content(),
        del(
            "DELETE an operation clears the pointers to it",
            format!("/operations/{}", oid(2)),
        )
        .no_content(),
        get(
            "the resolve that pointed at it is null",
            format!("/operations/{}?fields=key,resolve", oid(1)),
        )
        .data(json!({"key": "start", "resolve": null})),
        del("batch: {keys}", "/operations".into())
            .body(json!({"keys": [oid(1), MISSING]}))
            .no_content(),
        get(
            "a flow's first operation is cleared with it",
            format!("/flows/{}?fields=operation,operations", fid(1)),
        )
        .data(json!({"operation": null, "operations": [oid(3)]})),
        del("batch: {query}", "/operations".into())
            .body(json!({"query": {"filter": {"flow": {"name": {"_eq": "Delta Events"}}}}}))
            .no_content(),
        get("operations left", "/operations?fields=key").data(keys(&["notify", "fetch"])),
        del(
            "DELETE a flow deletes its operations",
            format!("/flows/{}", fid(1)),
        )
        .no_content(),
        get("its operations are gone", "/operations?fields=key").data(keys(&["fetch"])),
        del(
            "batch {query} with its own limit deletes only that many",
            "/flows".into(),
        )
        .body(json!({"query": {"filter": {"trigger": {"_in": ["webhook", "event"]}}, "limit": 1}}))
        .no_content(),
        get("flows left", "/flows?fields=name").data(names(&["Delta Events"])),
    ]
}

both!(creates, |app| async move {
    seed(&app).await;
    run(&app, create_cases()).await;
});

both!(updates, |app| async move {
    seed(&app).await;
    run(&app, update_cases()).await;
});

both!(deletes, |app| async move {
    seed(&app).await;
    run(&app, delete_cases()).await;
});
