//! Reads on `/graphql/system`: the list and by-id root fields of both collections, nested
//! relations with their own arguments, `_func` fields, sorting, pagination and search.

use crate::common::*;
use e2e::both;
use serde_json::json;

both!(flows_lists_every_row_in_key_order, |app| async move {
    seed(&app).await;
    let out = data(
        &app,
        "{ flows { id name trigger status accountability description } }",
    )
    .await;
    assert_eq!(
        out,
        json!({"flows": [
            {"id": fid(1), "name": "Alpha Webhook", "trigger": "webhook", "status": "active", "accountability": "all", "description": "Sends mail"},
            {"id": fid(2), "name": "beta webhook", "trigger": "webhook", "status": "inactive", "accountability": "all", "description": null},
            {"id": fid(3), "name": "Gamma schedule", "trigger": "schedule", "status": "active", "accountability": "all", "description": ""},
            {"id": fid(4), "name": "Delta_event", "trigger": "event", "status": "active", "accountability": "activity", "description": "Runs on create"},
            {"id": fid(5), "name": "Epsilon manual", "trigger": "manual", "status": "inactive", "accountability": null, "description": null},
        ]})
    );
});

both!(flows_by_id_answers_every_field, |app| async move {
    seed(&app).await;
    let out = data(
        &app,
        &format!(
            r#"{{ flows_by_id(id: "{}") {{
                id name icon color description status trigger accountability options
                operation {{ id }} folder {{ id }} user_created {{ email first_name last_name }}
                operations {{ id }} operations_func {{ count }}
                __typename
            }} }}"#,
            fid(1)
        ),
    )
    .await;
    assert_eq!(
        out,
        json!({"flows_by_id": {
            "id": fid(1),
            "name": "Alpha Webhook",
            "icon": "bolt",
            "color": "#FF0000",
            "description": "Sends mail",
            "status": "active",
            "trigger": "webhook",
            "accountability": "all",
            "options": {"method": "POST", "async": false},
            "operation": {"id": oid(1)},
            "folder": null,
            "user_created": {"email": "admin@example.com", "first_name": "Admin", "last_name": "User"},
            "operations": [{"id": oid(1)}, {"id": oid(2)}, {"id": oid(3)}],
            "operations_func": {"count": 3},
            "__typename": "directus_flows",
        }})
    );
});

both!(operations_list_and_by_id, |app| async move {
    seed(&app).await;
    let out = data(
        &app,
        "{ operations { id name key type position_x position_y options } }",
    )
    .await;
    assert_eq!(
        out,
        json!({"operations": [
            {"id": oid(1), "name": "Start", "key": "start", "type": "log", "position_x": 10, "position_y": 20, "options": {"message": "hi"}},
            {"id": oid(2), "name": null, "key": "check", "type": "condition", "position_x": 30, "position_y": 20, "options": {"filter": {}}},
            {"id": oid(3), "name": null, "key": "notify", "type": "mail", "position_x": 50, "position_y": 40, "options": null},
            {"id": oid(4), "name": null, "key": "start", "type": "request", "position_x": 10, "position_y": 10, "options": {"url": "https://example.com", "method": "GET"}},
            {"id": oid(5), "name": null, "key": "log", "type": "log", "position_x": 0, "position_y": 0, "options": {"message": "created"}},
        ]})
    );
    let out = data(
        &app,
        &format!(
            r#"{{ operations_by_id(id: "{}") {{ id key resolve {{ key }} reject {{ id key }} flow {{ id name }} user_created {{ email }} }} }}"#,
            oid(2)
        ),
    )
    .await;
    assert_eq!(
        out,
        json!({"operations_by_id": {
            "id": oid(2),
            "key": "check",
            "resolve": null,
            "reject": {"id": oid(3), "key": "notify"},
            "flow": {"id": fid(1), "name": "Alpha Webhook"},
            "user_created": {"email": "admin@example.com"},
        }})
    );
});

both!(
    many_to_one_chains_resolve_level_by_level,
    |app| async move {
        seed(&app).await;
        let out = data(
            &app,
            r#"{ operations(filter: {flow: {id: {_eq: "f1000000-0000-4000-8000-000000000001"}}}) {
            key
            flow { name operation { key resolve { key reject { key } } } }
            resolve { key resolve { key } reject { key flow { trigger } } }
        } }"#,
        )
        .await;
        let flow = json!({"name": "Alpha Webhook", "operation": {"key": "start", "resolve": {"key": "check", "reject": {"key": "notify"}}}});
        assert_eq!(
            out,
            json!({"operations": [
                {"key": "start", "flow": flow, "resolve": {"key": "check", "resolve": null, "reject": {"key": "notify", "flow": {"trigger": "webhook"}}}},
                {"key": "check", "flow": flow, "resolve": null},
                {"key": "notify", "flow": flow, "resolve": null},
            ]})
        );
    }
);

// `last_two` (5 operations, at most 2 for each of 3 flows) is cut per flow after a plain
// read; `first` (5 operations, at most 1 each) overflows that read and takes the window.
both!(
    nested_operations_take_their_own_arguments,
    |app| async move {
        seed(&app).await;
        let out = data(
            &app,
            r#"{ flows(filter: {operations_func: {count: {_gt: 0}}}) {
            name
            last_two: operations(sort: ["-position_x"], limit: 2) { key position_x }
            first: operations(sort: ["key"], limit: 1) { key }
            logs: operations(filter: {type: {_eq: "log"}}) { key }
            second: operations(sort: ["key"], limit: 1, offset: 1) { key }
            page_two: operations(sort: ["key"], limit: 1, page: 2) { key }
            found: operations(search: "NOTI") { key }
            all: operations(limit: -1, sort: ["-key"]) { key }
        } }"#,
        )
        .await;
        assert_eq!(
            out,
            json!({"flows": [
                {
                    "name": "Alpha Webhook",
                    "last_two": [{"key": "notify", "position_x": 50}, {"key": "check", "position_x": 30}],
                    "first": [{"key": "check"}],
                    "logs": [{"key": "start"}],
                    "second": [{"key": "notify"}],
                    "page_two": [{"key": "notify"}],
                    "found": [{"key": "notify"}],
                    "all": [{"key": "start"}, {"key": "notify"}, {"key": "check"}],
                },
                {
                    "name": "beta webhook",
                    "last_two": [{"key": "start", "position_x": 10}],
                    "first": [{"key": "start"}],
                    "logs": [],
                    "second": [],
                    "page_two": [],
                    "found": [],
                    "all": [{"key": "start"}],
                },
                {
                    "name": "Delta_event",
                    "last_two": [{"key": "log", "position_x": 0}],
                    "first": [{"key": "log"}],
                    "logs": [{"key": "log"}],
                    "second": [],
                    "page_two": [],
                    "found": [],
                    "all": [{"key": "log"}],
                },
            ]})
        );
    }
);

both!(many_to_one_arguments_filter_the_target, |app| async move {
    seed(&app).await;
    let out = data(
        &app,
        r#"{ flows(filter: {trigger: {_eq: "webhook"}}) {
            name
            log_first: operation(filter: {type: {_eq: "log"}}) { key }
            any_first: operation { key type }
        } }"#,
    )
    .await;
    assert_eq!(
        out,
        json!({"flows": [
            {"name": "Alpha Webhook", "log_first": {"key": "start"}, "any_first": {"key": "start", "type": "log"}},
            {"name": "beta webhook", "log_first": null, "any_first": {"key": "start", "type": "request"}},
        ]})
    );
});

both!(func_fields_are_computed, |app| async move {
    seed(&app).await;
    let out = data(
        &app,
        r#"{ flows {
            name
            operations_func { count }
            options_func { count method: json(path: "method") nested: json(path: "a.b") list: json(path: "collections") }
        } }"#,
    )
    .await;
    assert_eq!(
        out,
        json!({"flows": [
            {"name": "Alpha Webhook", "operations_func": {"count": 3}, "options_func": {"count": 2, "method": "POST", "nested": null, "list": null}},
            {"name": "beta webhook", "operations_func": {"count": 1}, "options_func": {"count": 1, "method": "GET", "nested": null, "list": null}},
            {"name": "Gamma schedule", "operations_func": {"count": 0}, "options_func": {"count": 1, "method": null, "nested": null, "list": null}},
            {"name": "Delta_event", "operations_func": {"count": 1}, "options_func": {"count": null, "method": null, "nested": null, "list": null}},
            {"name": "Epsilon manual", "operations_func": {"count": 0}, "options_func": {"count": 3, "method": null, "nested": 7, "list": ["a", "b"]}},
        ]})
    );
    let out = data(
        &app,
        r#"{ operations(limit: 2) { key options_func { count message: json(path: "message") } } }"#,
    )
    .await;
    assert_eq!(
        out,
        json!({"operations": [
            {"key": "start", "options_func": {"count": 1, "message": "hi"}},
            {"key": "check", "options_func": {"count": 1, "message": null}},
        ]})
    );
});

both!(
    date_created_func_splits_the_creation_date,
    |app| async move {
        seed(&app).await;
        let out = data(
        &app,
        &format!(
            r#"{{ flows_by_id(id: "{}") {{ date_created date_created_func {{ year month day hour minute second }} }}
                 operations_by_id(id: "{}") {{ date_created_func {{ year month day }} }} }}"#,
            fid(1),
            oid(1)
        ),
    )
    .await;
        let row = &out["flows_by_id"];
        let created = row["date_created"]
            .as_str()
            .expect("date_created")
            .to_string();
        let num = |r: std::ops::Range<usize>| created[r].parse::<i64>().expect("number");
        assert_eq!(
            row["date_created_func"],
            json!({"year": num(0..4), "month": num(5..7), "day": num(8..10), "hour": num(11..13), "minute": num(14..16), "second": num(17..19)})
        );
        assert!(
            (now_seconds() - epoch_seconds(&created)).abs() < 120,
            "{created}"
        );
        let (y, m, d) = today();
        let op = &out["operations_by_id"]["date_created_func"];
        // Around midnight the creation day may be yesterday.
        assert!(
            op == &json!({"year": y, "month": m, "day": d}) || op["year"] == json!(num(0..4)),
            "{op}"
        );
    }
);

both!(sort_by_several_fields_and_descending, |app| async move {
    seed(&app).await;
    assert_eq!(
        names(&app, "flows", r#"(sort: ["trigger", "-name"])"#).await,
        [
            "Delta_event",
            "Epsilon manual",
            "Gamma schedule",
            "beta webhook",
            "Alpha Webhook"
        ]
    );
    assert_eq!(
        names(&app, "flows", r#"(sort: ["-status", "trigger"])"#).await,
        [
            "Epsilon manual",
            "beta webhook",
            "Delta_event",
            "Gamma schedule",
            "Alpha Webhook"
        ]
    );
    // One string with commas works too, as over REST.
    assert_eq!(
        names(&app, "flows", r#"(sort: "-status,trigger")"#).await,
        [
            "Epsilon manual",
            "beta webhook",
            "Delta_event",
            "Gamma schedule",
            "Alpha Webhook"
        ]
    );
    let out = data(
        &app,
        r#"{ operations(sort: ["-position_y", "position_x"]) { key position_x position_y } }"#,
    )
    .await;
    assert_eq!(
        out,
        json!({"operations": [
            {"key": "notify", "position_x": 50, "position_y": 40},
            {"key": "start", "position_x": 10, "position_y": 20},
            {"key": "check", "position_x": 30, "position_y": 20},
            {"key": "start", "position_x": 10, "position_y": 10},
            {"key": "log", "position_x": 0, "position_y": 0},
        ]})
    );
});

both!(sort_by_a_many_to_one_path, |app| async move {
    seed(&app).await;
    assert_eq!(
        keys(&app, r#"(sort: ["-flow.trigger", "key"])"#).await,
        [
            "Alpha Webhook/check",
            "Alpha Webhook/notify",
            "Alpha Webhook/start",
            "beta webhook/start",
            "Delta_event/log"
        ]
    );
    assert_eq!(
        names(
            &app,
            "flows",
            r#"(filter: {operation: {id: {_nnull: true}}}, sort: ["-operation.position_y"])"#
        )
        .await,
        ["Alpha Webhook", "beta webhook"]
    );
    assert_eq!(
        keys(
            &app,
            r#"(filter: {flow: {trigger: {_eq: "webhook"}}}, sort: ["flow.status", "-position_x"])"#
        )
        .await,
        [
            "Alpha Webhook/notify",
            "Alpha Webhook/check",
            "Alpha Webhook/start",
            "beta webhook/start"
        ]
    );
});

both!(limit_defaults_to_one_hundred, |app| async move {
    let data_list: Vec<_> = (1..=105)
        .map(|n| json!({"id": fid(n), "name": format!("flow {n:03}")}))
        .collect();
    let out = app
        .gql_ok(
            "mutation ($data: [create_directus_flows_input!]) { create_flows_items(data: $data, limit: -1) { id } }",
            json!({"data": data_list}),
        )
        .await;
    assert_eq!(
        out["create_flows_items"].as_array().map(Vec::len),
        Some(105)
    );
    assert_eq!(app.count("directus_flows").await, 105);
    let default = data(&app, "{ flows { id } }").await;
    let ids = pluck(&default["flows"], "id");
    assert_eq!(ids.len(), 100);
    assert_eq!(ids.first(), Some(&fid(1)));
    assert_eq!(ids.last(), Some(&fid(100)));
    let all = data(&app, "{ flows(limit: -1) { id } }").await;
    assert_eq!(all["flows"].as_array().map(Vec::len), Some(105));
    let none = data(&app, "{ flows(limit: 0) { id } }").await;
    assert_eq!(none, json!({"flows": []}));
    let tail = data(&app, "{ flows(offset: 103) { name } }").await;
    assert_eq!(
        tail,
        json!({"flows": [{"name": "flow 104"}, {"name": "flow 105"}]})
    );
});

both!(offset_and_page_window_the_rows, |app| async move {
    seed(&app).await;
    let ids = |args: &'static str| {
        let app = &app;
        async move {
            let out = data(app, &format!("{{ flows{args} {{ id }} }}")).await;
            pluck(&out["flows"], "id")
        }
    };
    assert_eq!(ids("(limit: 2, offset: 1)").await, [fid(2), fid(3)]);
    assert_eq!(ids("(limit: 2, page: 1)").await, [fid(1), fid(2)]);
    assert_eq!(ids("(limit: 2, page: 2)").await, [fid(3), fid(4)]);
    assert_eq!(ids("(limit: 2, page: 3)").await, [fid(5)]);
    assert_eq!(ids("(limit: 2, page: 4)").await, Vec::<String>::new());
    // `page` wins over `offset`, as in Directus.
    assert_eq!(
        ids("(limit: 2, page: 2, offset: 4)").await,
        [fid(3), fid(4)]
    );
    assert_eq!(ids("(offset: 3)").await, [fid(4), fid(5)]);
    // An offset without a limit.
    assert_eq!(ids("(limit: -1, offset: 3)").await, [fid(4), fid(5)]);
    assert_eq!(
        ids("(limit: -1, page: 2)").await,
        [fid(1), fid(2), fid(3), fid(4), fid(5)]
    );
    assert_eq!(
        ids(r#"(sort: ["-id"], limit: 2, offset: 1)"#).await,
        [fid(4), fid(3)]
    );
    let out = data(&app, "{ operations(limit: 2, page: 2) { id } }").await;
    assert_eq!(out, json!({"operations": [{"id": oid(3)}, {"id": oid(4)}]}));
});

both!(
    search_looks_through_strings_numbers_and_ids,
    |app| async move {
        seed(&app).await;
        assert_eq!(
            names(&app, "flows", r#"(search: "WEBHOOK")"#).await,
            ["Alpha Webhook", "beta webhook"]
        );
        // Descriptions, icons and other string fields count too.
        assert_eq!(
            names(&app, "flows", r#"(search: "sends")"#).await,
            ["Alpha Webhook"]
        );
        assert_eq!(
            names(&app, "flows", r#"(search: "bolt")"#).await,
            ["Alpha Webhook"]
        );
        // `%` and `_` are searched for literally.
        assert_eq!(
            names(&app, "flows", r#"(search: "a_e")"#).await,
            ["Delta_event"]
        );
        assert_eq!(
            names(&app, "flows", r#"(search: "%")"#).await,
            Vec::<String>::new()
        );
        assert_eq!(
            names(&app, "flows", &format!(r#"(search: "{}")"#, fid(3))).await,
            ["Gamma schedule"]
        );
        assert_eq!(
            names(&app, "flows", r#"(search: "  ")"#).await.len(),
            5,
            "a blank search matches everything"
        );
        assert_eq!(
            keys(&app, r#"(search: "50")"#).await,
            ["Alpha Webhook/notify"]
        );
        assert_eq!(
            keys(
                &app,
                r#"(search: "start", filter: {type: {_eq: "request"}})"#
            )
            .await,
            ["beta webhook/start"]
        );
    }
);

both!(aliases_and_fragments_shape_the_answer, |app| async move {
    seed(&app).await;
    let out = data(
        &app,
        &format!(
            r#"query Pick {{
                one: flows_by_id(id: "{}") {{ ...F title: name }}
                two: flows_by_id(id: "{}") {{ ...F }}
                ops: operations(filter: {{key: {{_eq: "log"}}}}) {{ ... on directus_operations {{ label: key }} }}
            }}
            fragment F on directus_flows {{ id trigger }}"#,
            fid(1),
            fid(3)
        ),
    )
    .await;
    assert_eq!(
        out,
        json!({
            "one": {"id": fid(1), "trigger": "webhook", "title": "Alpha Webhook"},
            "two": {"id": fid(3), "trigger": "schedule"},
            "ops": [{"label": "log"}],
        })
    );
});

both!(an_empty_database_answers_empty_lists, |app| async move {
    let out = data(
        &app,
        "{ flows { id } operations { id } flows_aggregated { countAll } }",
    )
    .await;
    assert_eq!(
        out,
        json!({"flows": [], "operations": [], "flows_aggregated": [{"countAll": 0}]})
    );
});

both!(date_functions_of_a_known_date, |app| async move {
    seed(&app).await;
    set_created(&app, "directus_flows", &fid(1), "2024-02-29T23:59:58.750Z").await;
    set_created(
        &app,
        "directus_operations",
        &oid(1),
        "2023-12-31T00:00:01.000Z",
    )
    .await;
    let out = data(
        &app,
        &format!(
            r#"{{ flows_by_id(id: "{}") {{ date_created date_created_func {{ year month day hour minute second weekday }} }}
                 operations_by_id(id: "{}") {{ date_created date_created_func {{ year month day weekday }} }} }}"#,
            fid(1),
            oid(1)
        ),
    )
    .await;
    assert_eq!(
        out,
        json!({
            "flows_by_id": {
                "date_created": "2024-02-29T23:59:58.750Z",
                "date_created_func": {"year": 2024, "month": 2, "day": 29, "hour": 23, "minute": 59, "second": 58, "weekday": 4},
            },
            "operations_by_id": {
                "date_created": "2023-12-31T00:00:01.000Z",
                "date_created_func": {"year": 2023, "month": 12, "day": 31, "weekday": 0},
            },
        })
    );
    assert_eq!(
        names(
            &app,
            "flows",
            "(filter: {date_created_func: {year: {_eq: 2024}, month: {_eq: 2}}})"
        )
        .await,
        ["Alpha Webhook"]
    );
    assert_eq!(
        names(
            &app,
            "flows",
            r#"(filter: {date_created: {_lt: "2025-01-01"}})"#
        )
        .await,
        ["Alpha Webhook"]
    );
    assert_eq!(
        names(&app, "flows", r#"(filter: {date_created: {_between: ["2024-02-29T23:59:58Z", "2024-02-29T23:59:59Z"]}})"#).await,
        ["Alpha Webhook"]
    );
    assert_eq!(
        names(&app, "flows", r#"(sort: ["date_created"], limit: 1)"#).await,
        ["Alpha Webhook"]
    );
    assert_eq!(
        keys(
            &app,
            "(filter: {date_created_func: {weekday: {_eq: 0}, day: {_eq: 31}}})"
        )
        .await,
        ["Alpha Webhook/start"]
    );
    let out = data(
        &app,
        r#"{ flows_aggregated(groupBy: ["year(date_created)"], sort: ["year(date_created)"], limit: 1) { group countAll } }"#,
    )
    .await;
    assert_eq!(
        out,
        json!({"flows_aggregated": [{"group": {"date_created_year": 2024}, "countAll": 1}]})
    );
});
