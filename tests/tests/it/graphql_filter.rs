//! `filter` on `/graphql/system`: every operator of the reference's filter inputs, logical
//! groups, relational filters through m2o and o2m, `_func` filters and `_json`.
//!
//! Rows come back in key order, so each check lists the names (or `flow/key` of
//! operations) that a filter selects.

use crate::common::*;
use e2e::both;
use serde_json::json;

const NONE: [&str; 0] = [];

async fn flows(app: &e2e::TestApp, filter: &str) -> Vec<String> {
    names(app, "flows", &format!("(filter: {filter})")).await
}

async fn ops(app: &e2e::TestApp, filter: &str) -> Vec<String> {
    keys(app, &format!("(filter: {filter})")).await
}

both!(eq_and_neq, |app| async move {
    seed(&app).await;
    assert_eq!(
        flows(&app, r#"{name: {_eq: "Alpha Webhook"}}"#).await,
        ["Alpha Webhook"]
    );
    assert_eq!(flows(&app, r#"{name: {_eq: "alpha webhook"}}"#).await, NONE);
    assert_eq!(
        flows(&app, r#"{trigger: {_neq: "webhook"}}"#).await,
        ["Gamma schedule", "Delta_event", "Epsilon manual"]
    );
    // flowline counts a null as "not equal" (SQL's `<>` alone would drop it).
    assert_eq!(
        flows(&app, r#"{accountability: {_neq: "all"}}"#).await,
        ["Delta_event", "Epsilon manual"]
    );
    assert_eq!(
        flows(&app, r#"{accountability: {_eq: null}}"#).await,
        ["Epsilon manual"]
    );
    assert_eq!(
        flows(&app, &format!(r#"{{id: {{_eq: "{}"}}}}"#, fid(4))).await,
        ["Delta_event"]
    );
    // An id that is not a UUID matches nothing rather than failing.
    assert_eq!(flows(&app, r#"{id: {_eq: "not-a-uuid"}}"#).await, NONE);
    assert_eq!(
        ops(&app, "{position_x: {_eq: 10}}").await,
        ["Alpha Webhook/start", "beta webhook/start"]
    );
    assert_eq!(
        ops(&app, r#"{position_x: {_neq: "10"}}"#).await,
        [
            "Alpha Webhook/check",
            "Alpha Webhook/notify",
            "Delta_event/log"
        ]
    );
});

both!(lt_lte_gt_gte, |app| async move {
    seed(&app).await;
    assert_eq!(
        ops(&app, "{position_x: {_lt: 30}}").await,
        [
            "Alpha Webhook/start",
            "beta webhook/start",
            "Delta_event/log"
        ]
    );
    assert_eq!(
        ops(&app, "{position_x: {_lte: 30}}").await,
        [
            "Alpha Webhook/start",
            "Alpha Webhook/check",
            "beta webhook/start",
            "Delta_event/log"
        ]
    );
    assert_eq!(
        ops(&app, "{position_x: {_gt: 30}}").await,
        ["Alpha Webhook/notify"]
    );
    assert_eq!(
        ops(&app, "{position_x: {_gte: 30}}").await,
        ["Alpha Webhook/check", "Alpha Webhook/notify"]
    );
    assert_eq!(
        ops(&app, "{position_y: {_gt: 0, _lt: 40}}").await,
        [
            "Alpha Webhook/start",
            "Alpha Webhook/check",
            "beta webhook/start"
        ]
    );
    assert_eq!(
        flows(&app, r#"{date_created: {_lt: "2000-01-01"}}"#).await,
        NONE
    );
    assert_eq!(
        flows(&app, r#"{date_created: {_gte: "2000-01-01T00:00:00Z"}}"#)
            .await
            .len(),
        5
    );
    assert_eq!(
        flows(
            &app,
            r#"{date_created: {_gt: "$NOW(-1 hour)", _lte: "$NOW(+1 hour)"}}"#
        )
        .await
        .len(),
        5
    );
});

both!(in_and_nin, |app| async move {
    seed(&app).await;
    assert_eq!(
        flows(&app, r#"{trigger: {_in: ["webhook", "manual"]}}"#).await,
        ["Alpha Webhook", "beta webhook", "Epsilon manual"]
    );
    assert_eq!(
        flows(&app, r#"{trigger: {_nin: ["webhook", "manual"]}}"#).await,
        ["Gamma schedule", "Delta_event"]
    );
    // flowline counts a null as "not in the list".
    assert_eq!(
        flows(&app, r#"{accountability: {_nin: ["all"]}}"#).await,
        ["Delta_event", "Epsilon manual"]
    );
    assert_eq!(
        flows(
            &app,
            &format!(
                r#"{{id: {{_in: ["{}", "not-a-uuid", "{}"]}}}}"#,
                fid(2),
                fid(4)
            )
        )
        .await,
        ["beta webhook", "Delta_event"]
    );
    assert_eq!(
        ops(&app, "{position_x: {_in: [0, 50]}}").await,
        ["Alpha Webhook/notify", "Delta_event/log"]
    );
    assert_eq!(
        ops(&app, "{position_x: {_nin: [0, 50]}}").await,
        [
            "Alpha Webhook/start",
            "Alpha Webhook/check",
            "beta webhook/start"
        ]
    );
});

both!(null_and_nnull, |app| async move {
    seed(&app).await;
    assert_eq!(
        flows(&app, "{description: {_null: true}}").await,
        ["beta webhook", "Epsilon manual"]
    );
    assert_eq!(
        flows(&app, "{description: {_nnull: true}}").await,
        ["Alpha Webhook", "Gamma schedule", "Delta_event"]
    );
    // `false` inverts, as in Directus.
    assert_eq!(
        flows(&app, "{description: {_null: false}}").await,
        ["Alpha Webhook", "Gamma schedule", "Delta_event"]
    );
    assert_eq!(
        flows(&app, "{description: {_nnull: false}}").await,
        ["beta webhook", "Epsilon manual"]
    );
    assert_eq!(
        flows(&app, "{options: {_null: true}}").await,
        ["Delta_event"]
    );
    assert_eq!(
        flows(&app, "{operation: {id: {_null: true}}}").await,
        ["Gamma schedule", "Delta_event", "Epsilon manual"]
    );
    assert_eq!(
        ops(&app, "{resolve: {id: {_nnull: true}}}").await,
        ["Alpha Webhook/start"]
    );
    assert_eq!(flows(&app, "{date_created: {_null: true}}").await, NONE);
});

both!(contains_family, |app| async move {
    seed(&app).await;
    // `_contains` is case-sensitive, `_icontains` is not.
    assert_eq!(
        flows(&app, r#"{name: {_contains: "webhook"}}"#).await,
        ["beta webhook"]
    );
    assert_eq!(
        flows(&app, r#"{name: {_icontains: "WEBHOOK"}}"#).await,
        ["Alpha Webhook", "beta webhook"]
    );
    assert_eq!(
        flows(&app, r#"{name: {_ncontains: "webhook"}}"#).await,
        [
            "Alpha Webhook",
            "Gamma schedule",
            "Delta_event",
            "Epsilon manual"
        ]
    );
    // LIKE wildcards in the value match literally.
    assert_eq!(
        flows(&app, r#"{name: {_contains: "_"}}"#).await,
        ["Delta_event"]
    );
    assert_eq!(flows(&app, r#"{name: {_contains: "%"}}"#).await, NONE);
    assert_eq!(
        flows(&app, r#"{name: {_icontains: "A_E"}}"#).await,
        ["Delta_event"]
    );
    // A null never contains anything, and "not contains" keeps it.
    assert_eq!(
        flows(&app, r#"{description: {_ncontains: "e"}}"#).await,
        ["beta webhook", "Gamma schedule", "Epsilon manual"]
    );
    assert_eq!(
        flows(&app, r#"{id: {_contains: "000000000004"}}"#).await,
        ["Delta_event"]
    );
});

both!(starts_with_family, |app| async move {
    seed(&app).await;
    assert_eq!(
        flows(&app, r#"{name: {_starts_with: "beta"}}"#).await,
        ["beta webhook"]
    );
    assert_eq!(flows(&app, r#"{name: {_starts_with: "Beta"}}"#).await, NONE);
    assert_eq!(
        flows(&app, r#"{name: {_istarts_with: "BETA"}}"#).await,
        ["beta webhook"]
    );
    assert_eq!(
        flows(&app, r#"{name: {_nstarts_with: "beta"}}"#).await,
        [
            "Alpha Webhook",
            "Gamma schedule",
            "Delta_event",
            "Epsilon manual"
        ]
    );
    assert_eq!(
        flows(&app, r#"{name: {_nistarts_with: "ALPHA"}}"#).await,
        [
            "beta webhook",
            "Gamma schedule",
            "Delta_event",
            "Epsilon manual"
        ]
    );
    assert_eq!(
        ops(&app, r#"{key: {_starts_with: "st"}}"#).await,
        ["Alpha Webhook/start", "beta webhook/start"]
    );
});

both!(ends_with_family, |app| async move {
    seed(&app).await;
    assert_eq!(
        flows(&app, r#"{name: {_ends_with: "Webhook"}}"#).await,
        ["Alpha Webhook"]
    );
    assert_eq!(
        flows(&app, r#"{name: {_iends_with: "WEBHOOK"}}"#).await,
        ["Alpha Webhook", "beta webhook"]
    );
    assert_eq!(
        flows(&app, r#"{name: {_nends_with: "manual"}}"#).await,
        [
            "Alpha Webhook",
            "beta webhook",
            "Gamma schedule",
            "Delta_event"
        ]
    );
    assert_eq!(
        flows(&app, r#"{name: {_niends_with: "WEBHOOK"}}"#).await,
        ["Gamma schedule", "Delta_event", "Epsilon manual"]
    );
    assert_eq!(
        flows(&app, r#"{name: {_ends_with: "_event"}}"#).await,
        ["Delta_event"]
    );
});

both!(between_and_nbetween, |app| async move {
    seed(&app).await;
    assert_eq!(
        ops(&app, "{position_x: {_between: [10, 30]}}").await,
        [
            "Alpha Webhook/start",
            "Alpha Webhook/check",
            "beta webhook/start"
        ]
    );
    assert_eq!(
        ops(&app, "{position_x: {_nbetween: [10, 30]}}").await,
        ["Alpha Webhook/notify", "Delta_event/log"]
    );
    assert_eq!(
        ops(&app, r#"{position_y: {_between: ["15", "40"]}}"#).await,
        [
            "Alpha Webhook/start",
            "Alpha Webhook/check",
            "Alpha Webhook/notify"
        ]
    );
    assert_eq!(
        flows(
            &app,
            r#"{date_created: {_between: ["2000-01-01", "2999-12-31"]}}"#
        )
        .await
        .len(),
        5
    );
    assert_eq!(
        flows(
            &app,
            r#"{date_created: {_nbetween: ["2000-01-01", "2999-12-31"]}}"#
        )
        .await,
        NONE
    );
});

both!(empty_and_nempty, |app| async move {
    seed(&app).await;
    // Empty means null or "".
    assert_eq!(
        flows(&app, "{description: {_empty: true}}").await,
        ["beta webhook", "Gamma schedule", "Epsilon manual"]
    );
    assert_eq!(
        flows(&app, "{description: {_nempty: true}}").await,
        ["Alpha Webhook", "Delta_event"]
    );
    assert_eq!(
        flows(&app, "{description: {_empty: false}}").await,
        ["Alpha Webhook", "Delta_event"]
    );
    assert_eq!(
        flows(&app, "{icon: {_nempty: true}}").await,
        ["Alpha Webhook"]
    );
});

both!(and_or_nest, |app| async move {
    seed(&app).await;
    assert_eq!(
        flows(
            &app,
            r#"{_or: [{trigger: {_eq: "schedule"}}, {_and: [{status: {_eq: "inactive"}}, {trigger: {_eq: "manual"}}]}]}"#
        )
        .await,
        ["Gamma schedule", "Epsilon manual"]
    );
    assert_eq!(
        flows(
            &app,
            r#"{_and: [{status: {_eq: "active"}}, {_or: [{trigger: {_eq: "event"}}, {name: {_icontains: "alpha"}}]}]}"#
        )
        .await,
        ["Alpha Webhook", "Delta_event"]
    );
    // Fields side by side are a conjunction too.
    assert_eq!(
        flows(
            &app,
            r#"{status: {_eq: "inactive"}, trigger: {_eq: "webhook"}}"#
        )
        .await,
        ["beta webhook"]
    );
    assert_eq!(flows(&app, "{_or: []}").await, NONE);
    assert_eq!(flows(&app, "{_and: []}").await.len(), 5);
});

both!(many_to_one_filters_follow_the_link, |app| async move {
    seed(&app).await;
    assert_eq!(
        flows(&app, r#"{operation: {key: {_eq: "start"}}}"#).await,
        ["Alpha Webhook", "beta webhook"]
    );
    assert_eq!(
        flows(&app, r#"{operation: {type: {_eq: "request"}}}"#).await,
        ["beta webhook"]
    );
    assert_eq!(
        ops(&app, r#"{flow: {status: {_eq: "inactive"}}}"#).await,
        ["beta webhook/start"]
    );
    // Two levels: the operation whose resolve target rejects to `notify`.
    assert_eq!(
        ops(&app, r#"{resolve: {reject: {key: {_eq: "notify"}}}}"#).await,
        ["Alpha Webhook/start"]
    );
    assert_eq!(
        ops(
            &app,
            r#"{flow: {operation: {key: {_eq: "start"}}}, type: {_neq: "log"}}"#
        )
        .await,
        [
            "Alpha Webhook/check",
            "Alpha Webhook/notify",
            "beta webhook/start"
        ]
    );
    assert_eq!(
        flows(
            &app,
            r#"{user_created: {email: {_eq: "admin@example.com"}}}"#
        )
        .await
        .len(),
        5
    );
    assert_eq!(
        flows(&app, r#"{user_created: {id: {_eq: "$CURRENT_USER"}}}"#)
            .await
            .len(),
        5
    );
});

both!(one_to_many_filters_use_some_and_none, |app| async move {
    seed(&app).await;
    // Without a quantifier a filter through an o2m means "some child matches".
    assert_eq!(
        flows(&app, r#"{operations: {type: {_eq: "mail"}}}"#).await,
        ["Alpha Webhook"]
    );
    assert_eq!(
        flows(&app, r#"{operations: {_some: {type: {_eq: "log"}}}}"#).await,
        ["Alpha Webhook", "Delta_event"]
    );
    assert_eq!(
        flows(&app, r#"{operations: {_none: {type: {_eq: "log"}}}}"#).await,
        ["beta webhook", "Gamma schedule", "Epsilon manual"]
    );
    assert_eq!(
        flows(
            &app,
            r#"{operations: {_some: {resolve: {key: {_eq: "check"}}}}}"#
        )
        .await,
        ["Alpha Webhook"]
    );
    assert_eq!(
        flows(&app, r#"{operations: {_none: {}}}"#).await,
        ["Gamma schedule", "Epsilon manual"]
    );
    assert_eq!(
        flows(
            &app,
            r#"{_or: [{operations: {key: {_eq: "log"}}}, {trigger: {_eq: "manual"}}]}"#
        )
        .await,
        ["Delta_event", "Epsilon manual"]
    );
});

both!(func_filters, |app| async move {
    seed(&app).await;
    assert_eq!(
        flows(&app, "{operations_func: {count: {_gte: 1}}}").await,
        ["Alpha Webhook", "beta webhook", "Delta_event"]
    );
    assert_eq!(
        flows(&app, "{operations_func: {count: {_eq: 3}}}").await,
        ["Alpha Webhook"]
    );
    assert_eq!(
        flows(&app, "{operations_func: {count: {_eq: 0}}}").await,
        ["Gamma schedule", "Epsilon manual"]
    );
    assert_eq!(
        flows(&app, "{options_func: {count: {_eq: 3}}}").await,
        ["Epsilon manual"]
    );
    assert_eq!(
        flows(&app, "{options_func: {count: {_lt: 2}}}").await,
        ["beta webhook", "Gamma schedule"]
    );
    assert_eq!(
        ops(&app, "{options_func: {count: {_eq: 2}}}").await,
        ["beta webhook/start"]
    );
    let (year, _, _) = today();
    assert_eq!(
        flows(
            &app,
            &format!("{{date_created_func: {{year: {{_eq: {year}}}}}}}")
        )
        .await
        .len(),
        5
    );
    assert_eq!(
        flows(&app, "{date_created_func: {year: {_lt: 2000}}}").await,
        NONE
    );
    assert_eq!(
        ops(
            &app,
            &format!(
                "{{date_created_func: {{year: {{_gte: {year}}}, month: {{_between: [1, 12]}}}}}}"
            )
        )
        .await
        .len(),
        5
    );
});

both!(json_filters_look_inside_options, |app| async move {
    seed(&app).await;
    assert_eq!(
        flows(&app, r#"{options: {_json: {method: {_eq: "POST"}}}}"#).await,
        ["Alpha Webhook"]
    );
    assert_eq!(
        flows(&app, r#"{options: {_json: {method: {_nnull: true}}}}"#).await,
        ["Alpha Webhook", "beta webhook"]
    );
    assert_eq!(
        flows(&app, r#"{options: {_json: {async: {_eq: false}}}}"#).await,
        ["Alpha Webhook"]
    );
    assert_eq!(
        flows(&app, r#"{options: {_json: {method: {_neq: "POST"}}}}"#).await,
        [
            "beta webhook",
            "Gamma schedule",
            "Delta_event",
            "Epsilon manual"
        ]
    );
    assert_eq!(
        flows(&app, r#"{options: {_json: {location: {_eq: "item"}}}}"#).await,
        ["Epsilon manual"]
    );
    // A dotted path is not a GraphQL name: it comes in a variable.
    let out = app
        .gql_ok(
            "query ($f: directus_flows_filter) { flows(filter: $f) { name } }",
            json!({"f": {"options": {"_json": {"a.b": {"_eq": 7}}}}}),
        )
        .await;
    assert_eq!(out, json!({"flows": [{"name": "Epsilon manual"}]}));
    assert_eq!(
        ops(&app, r#"{options: {_json: {url: {_contains: "example"}}}}"#).await,
        ["beta webhook/start"]
    );
});

both!(
    filters_in_variables_work_like_inline_ones,
    |app| async move {
        seed(&app).await;
        let out = app
        .gql_ok(
            "query ($f: directus_flows_filter, $s: [String]) { flows(filter: $f, sort: $s) { name } }",
            json!({
                "f": {"_or": [{"trigger": {"_eq": "event"}}, {"operations": {"_some": {"key": {"_eq": "start"}}}}]},
                "s": ["-trigger"],
            }),
        )
        .await;
        assert_eq!(
            pluck(&out["flows"], "name"),
            ["Alpha Webhook", "beta webhook", "Delta_event"]
        );
    }
);

both!(bad_filter_values_are_invalid_queries, |app| async move {
    seed(&app).await;
    let cases = [
        (
            r#"{name: {_eq: ""}}"#,
            "You can't filter for an empty string in \"_eq\". Use \"_empty\" or \"_nempty\" instead",
        ),
        (
            r#"{name: {_in: []}}"#,
            "\"_in\" has to be an array of values",
        ),
        (
            "{position_x: {_between: [1]}}",
            "\"_between\" has to be a list of two values",
        ),
        (
            r#"{position_x: {_gt: "abc"}}"#,
            "Invalid numeric value for field \"position_x\"",
        ),
        (
            r#"{date_created: {_gt: "yesterday"}}"#,
            "Invalid date value for field \"date_created\"",
        ),
        (
            r#"{options: {_json: {a: {_gt: 1}}}}"#,
            "\"json\" field type does not contain the \"_gt\" filter operator",
        ),
    ];
    for (filter, reason) in cases {
        let query = format!("{{ operations(filter: {filter}) {{ id }} }}");
        let body = gql_error(&app, &query, json!({})).await;
        assert_eq!(
            body,
            json!({
                "data": {"operations": []},
                "errors": [{
                    "message": format!("Invalid query. {reason}."),
                    "locations": [{"line": 1, "column": 3}],
                    "path": ["operations"],
                    "extensions": {"code": "INVALID_QUERY", "reason": reason},
                }],
            }),
            "{filter}"
        );
    }
});
