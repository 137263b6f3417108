//! `flows_aggregated` and `operations_aggregated`: counts, sums, averages, minima and maxima
//! computed in SQL, grouped or not, with the list arguments narrowing the rows.
//!
//! The seeded operations sit at x = 10, 30, 50, 10, 0 and y = 20, 20, 40, 10, 0.

use crate::common::*;
use e2e::both;
use serde_json::json;

both!(flows_counts, |app| async move {
    seed(&app).await;
    let out = data(
        &app,
        "{ flows_aggregated {
            countAll
            count { id name description trigger accountability options operation folder }
            countDistinct { trigger status accountability }
        } }",
    )
    .await;
    assert_eq!(
        out,
        json!({"flows_aggregated": [{
            "countAll": 5,
            "count": {"id": 5, "name": 5, "description": 3, "trigger": 5, "accountability": 4, "options": 4, "operation": 2, "folder": 0},
            "countDistinct": {"trigger": 4, "status": 2, "accountability": 2},
        }]})
    );
});

both!(operations_numeric_aggregates, |app| async move {
    seed(&app).await;
    let out = data(
        &app,
        "{ operations_aggregated {
            countAll
            count { id options resolve reject }
            countDistinct { key type position_x }
            sum { position_x position_y }
            sumDistinct { position_x position_y }
            avg { position_x position_y }
            avgDistinct { position_x position_y }
            min { position_x position_y }
            max { position_x position_y }
        } }",
    )
    .await;
    assert_eq!(
        out,
        json!({"operations_aggregated": [{
            "countAll": 5,
            "count": {"id": 5, "options": 4, "resolve": 1, "reject": 1},
            "countDistinct": {"key": 4, "type": 4, "position_x": 4},
            "sum": {"position_x": 100, "position_y": 90},
            "sumDistinct": {"position_x": 90, "position_y": 70},
            "avg": {"position_x": 20, "position_y": 18},
            "avgDistinct": {"position_x": 22.5, "position_y": 17.5},
            "min": {"position_x": 0, "position_y": 0},
            "max": {"position_x": 50, "position_y": 40},
        }]})
    );
});

both!(group_by_puts_the_keys_under_group, |app| async move {
    seed(&app).await;
    let out = data(
        &app,
        r#"{ flows_aggregated(groupBy: ["trigger"]) { group count { id } } }"#,
    )
    .await;
    assert_eq!(
        out,
        json!({"flows_aggregated": [
            {"group": {"trigger": "event"}, "count": {"id": 1}},
            {"group": {"trigger": "manual"}, "count": {"id": 1}},
            {"group": {"trigger": "schedule"}, "count": {"id": 1}},
            {"group": {"trigger": "webhook"}, "count": {"id": 2}},
        ]})
    );
    // One group key may be given without the list brackets.
    let out = data(
        &app,
        r#"{ flows_aggregated(groupBy: "status") { group countAll } }"#,
    )
    .await;
    assert_eq!(
        out,
        json!({"flows_aggregated": [
            {"group": {"status": "active"}, "countAll": 3},
            {"group": {"status": "inactive"}, "countAll": 2},
        ]})
    );
});

both!(
    group_by_several_fields_with_filter_and_sort,
    |app| async move {
        seed(&app).await;
        let out = data(
            &app,
            r#"{ flows_aggregated(
            groupBy: ["trigger", "status"],
            filter: {trigger: {_in: ["webhook", "schedule"]}},
            sort: ["-trigger", "-status"]
        ) { group countAll count { description } } }"#,
        )
        .await;
        assert_eq!(
            out,
            json!({"flows_aggregated": [
                {"group": {"trigger": "webhook", "status": "inactive"}, "countAll": 1, "count": {"description": 0}},
                {"group": {"trigger": "webhook", "status": "active"}, "countAll": 1, "count": {"description": 1}},
                {"group": {"trigger": "schedule", "status": "active"}, "countAll": 1, "count": {"description": 1}},
            ]})
        );
        let out = data(
        &app,
        r#"{ flows_aggregated(groupBy: ["trigger"], sort: ["trigger"], limit: 2, offset: 1) { group } }"#,
    )
    .await;
        assert_eq!(
            out,
            json!({"flows_aggregated": [
                {"group": {"trigger": "manual"}},
                {"group": {"trigger": "schedule"}},
            ]})
        );
        let out = data(
            &app,
            r#"{ flows_aggregated(groupBy: ["trigger"], limit: -1, offset: 2) { group } }"#,
        )
        .await;
        assert_eq!(
            out,
            json!({"flows_aggregated": [
                {"group": {"trigger": "schedule"}},
                {"group": {"trigger": "webhook"}},
            ]})
        );
    }
);

both!(operations_grouped_by_flow, |app| async move {
    seed(&app).await;
    let out = data(
        &app,
        r#"{ operations_aggregated(groupBy: ["flow"]) {
            group countAll avg { position_x } max { position_y } countDistinct { type }
        } }"#,
    )
    .await;
    assert_eq!(
        out,
        json!({"operations_aggregated": [
            {"group": {"flow": fid(1)}, "countAll": 3, "avg": {"position_x": 30}, "max": {"position_y": 40}, "countDistinct": {"type": 3}},
            {"group": {"flow": fid(2)}, "countAll": 1, "avg": {"position_x": 10}, "max": {"position_y": 10}, "countDistinct": {"type": 1}},
            {"group": {"flow": fid(4)}, "countAll": 1, "avg": {"position_x": 0}, "max": {"position_y": 0}, "countDistinct": {"type": 1}},
        ]})
    );
    let out = data(
        &app,
        r#"{ operations_aggregated(groupBy: ["type"], filter: {flow: {trigger: {_eq: "webhook"}}}, search: "STAR") {
            group sum { position_x }
        } }"#,
    )
    .await;
    assert_eq!(
        out,
        json!({"operations_aggregated": [
            {"group": {"type": "log"}, "sum": {"position_x": 10}},
            {"group": {"type": "request"}, "sum": {"position_x": 10}},
        ]})
    );
});

both!(group_by_a_date_function, |app| async move {
    seed(&app).await;
    let (year, _, _) = today();
    let out = data(
        &app,
        r#"{ flows_aggregated(groupBy: ["year(date_created)"]) { group countAll } }"#,
    )
    .await;
    let rows = out["flows_aggregated"].as_array().expect("rows");
    // Around New Year the seed may straddle two years.
    let total: i64 = rows.iter().filter_map(|r| r["countAll"].as_i64()).sum();
    assert_eq!(total, 5);
    assert!(
        rows.iter()
            .any(|r| r["group"] == json!({"date_created_year": year})),
        "{out}"
    );
});

both!(aggregates_of_no_rows, |app| async move {
    seed(&app).await;
    let out = data(
        &app,
        r#"{ operations_aggregated(filter: {key: {_eq: "nope"}}) {
            countAll count { id } sum { position_x } avg { position_y } min { position_x } max { position_x }
        } }"#,
    )
    .await;
    assert_eq!(
        out,
        json!({"operations_aggregated": [{
            "countAll": 0,
            "count": {"id": 0},
            "sum": {"position_x": null},
            "avg": {"position_y": null},
            "min": {"position_x": null},
            "max": {"position_x": null},
        }]})
    );
    let grouped = data(
        &app,
        r#"{ operations_aggregated(groupBy: ["flow"], filter: {key: {_eq: "nope"}}) { group countAll } }"#,
    )
    .await;
    assert_eq!(grouped, json!({"operations_aggregated": []}));
});

both!(
    aggregate_errors_are_reported_on_the_field,
    |app| async move {
        seed(&app).await;
        let body = gql_error(
            &app,
            r#"{ flows_aggregated(groupBy: ["operations"]) { countAll } }"#,
            json!({}),
        )
        .await;
        assert_eq!(
            body,
            json!({
                "data": {"flows_aggregated": []},
                "errors": [{
                    "message": "Invalid query. Can't group by alias field \"operations\".",
                    "locations": [{"line": 1, "column": 3}],
                    "path": ["flows_aggregated"],
                    "extensions": {"code": "INVALID_QUERY", "reason": "Can't group by alias field \"operations\""},
                }],
            })
        );
        let body = gql_error(
            &app,
            r#"{ flows_aggregated(groupBy: ["nope"]) { countAll } }"#,
            json!({}),
        )
        .await;
        assert_eq!(
            body["errors"][0]["extensions"],
            json!({"code": "FORBIDDEN"})
        );
        assert_eq!(
            body["errors"][0]["message"],
            "You don't have permission to access field \"nope\" in collection \"directus_flows\" or it does not exist. Queried in root."
        );
    }
);
