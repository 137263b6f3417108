//! One filter means one thing everywhere: the same filter, sort, search and pagination give
//! the same rows over REST (`GET` with JSON or bracket parameters, and `SEARCH`) and over
//! GraphQL on `/graphql/system`, at the root and on a nested o2m.

use crate::rest_support::*;
use e2e::{ADMIN_TOKEN, TestApp, both};
use serde_json::{Map, Value, json};

/// One query, written once and sent both ways.
struct Scenario {
    collection: &'static str,
    filter: Option<Value>,
    sort: &'static [&'static str],
    limit: Option<i64>,
    offset: Option<u64>,
    page: Option<u64>,
    search: Option<&'static str>,
    /// The rows both APIs must give, by the listed field.
    expected: &'static [&'static str],
}

impl Scenario {
    fn field(&self) -> &'static str {
        if self.collection == "flows" {
            "name"
        } else {
            "key"
        }
    }

    fn rest_query(&self) -> String {
        let mut parts = vec![format!("fields=id,{}", self.field())];
        if let Some(filter) = &self.filter {
            parts.push(format!("filter={}", qjson(filter.clone())));
        }
        if !self.sort.is_empty() {
            parts.push(format!("sort={}", self.sort.join(",")));
        }
        if let Some(limit) = self.limit {
            parts.push(format!("limit={limit}"));
        }
        if let Some(offset) = self.offset {
            parts.push(format!("offset={offset}"));
        }
        if let Some(page) = self.page {
            parts.push(format!("page={page}"));
        }
        if let Some(search) = self.search {
            parts.push(format!("search={}", enc(search)));
        }
        parts.join("&")
    }

    /// The same query as a `SEARCH` body.
    fn search_body(&self) -> Value {
        let mut query = Map::new();
        query.insert("fields".into(), json!(["id", self.field()]));
        if let Some(filter) = &self.filter {
            query.insert("filter".into(), filter.clone());
        }
        if !self.sort.is_empty() {
            query.insert("sort".into(), json!(self.sort));
        }
        if let Some(limit) = self.limit {
            query.insert("limit".into(), json!(limit));
        }
        if let Some(offset) = self.offset {
            query.insert("offset".into(), json!(offset));
        }
        if let Some(page) = self.page {
            query.insert("page".into(), json!(page));
        }
        if let Some(search) = self.search {
            query.insert("search".into(), json!(search));
        }
        json!({ "query": query })
    }

    fn graphql(&self) -> (String, Value) {
        let document = format!(
            "query ($filter: directus_{c}_filter, $sort: [String], $limit: Int, $offset: Int, $page: Int, $search: String) {{
                {c}(filter: $filter, sort: $sort, limit: $limit, offset: $offset, page: $page, search: $search) {{ id {f} }}
            }}",
            c = self.collection,
            f = self.field()
        );
        let variables = json!({
            "filter": self.filter,
            "sort": if self.sort.is_empty() { Value::Null } else { json!(self.sort) },
            "limit": self.limit,
            "offset": self.offset,
            "page": self.page,
            "search": self.search,
        });
        (document, variables)
    }
}

fn scenarios() -> Vec<Scenario> {
    let base = |collection| Scenario {
        collection,
        filter: None,
        sort: &[],
        limit: None,
        offset: None,
        page: None,
        search: None,
        expected: &[],
    };
    vec![
        Scenario {
            filter: Some(json!({"status": {"_eq": "active"}})),
            sort: &["-trigger"],
            expected: &["Alpha Hook", "Gamma Nightly", "Delta Events"],
            ..base("flows")
        },
        Scenario {
            filter: Some(json!({"_or": [
                {"operations": {"type": {"_eq": "log"}}},
                {"accountability": {"_null": true}},
            ]})),
            sort: &["status", "-name"],
            expected: &["Delta Events", "Alpha Hook", "Epsilon Button"],
            ..base("flows")
        },
        Scenario {
            filter: Some(json!({"operations": {"_none": {"position_x": {"_gt": 20}}}})),
            limit: Some(2),
            page: Some(2),
            expected: &["Delta Events", "Epsilon Button"],
            ..base("flows")
        },
        Scenario {
            search: Some("HOOK"),
            sort: &["-status"],
            expected: &["beta hook", "Alpha Hook"],
            ..base("flows")
        },
        Scenario {
            filter: Some(
                json!({"date_created": {"_lte": "$NOW"}, "trigger": {"_in": ["webhook", "event"]}}),
            ),
            sort: &["trigger", "id"],
            offset: Some(1),
            limit: Some(10),
            expected: &["Alpha Hook", "beta hook"],
            ..base("flows")
        },
        Scenario {
            filter: Some(
                json!({"flow": {"trigger": {"_eq": "webhook"}}, "position_y": {"_gte": 20}}),
            ),
            sort: &["-position_x"],
            expected: &["notify", "check", "start"],
            ..base("operations")
        },
        Scenario {
            filter: Some(json!({"_and": [
                {"resolve": {"id": {"_nnull": true}}},
                {"flow": {"operation": {"key": {"_eq": "start"}}}},
            ]})),
            expected: &["start", "check"],
            ..base("operations")
        },
        Scenario {
            sort: &["-flow.trigger", "key"],
            limit: Some(3),
            offset: Some(2),
            expected: &["notify", "start", "log"],
            ..base("operations")
        },
    ]
}

async fn rest_rows(app: &TestApp, method: &str, path: &str, body: Option<Value>) -> Value {
    let reply = app
        .send(
            method,
            path,
            body.map(|b| b.to_string()).as_deref(),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(reply.status, 200, "{method} {path}: {}", reply.text);
    reply.json()["data"].clone()
}

both!(same_rows_over_rest_and_graphql, |app| async move {
    seed(&app).await;
    for (i, scenario) in scenarios().iter().enumerate() {
        let path = format!("/{}?{}", scenario.collection, scenario.rest_query());
        let rest = rest_rows(&app, "GET", &path, None).await;
        let searched = rest_rows(
            &app,
            "SEARCH",
            &format!("/{}", scenario.collection),
            Some(scenario.search_body()),
        )
        .await;
        let (document, variables) = scenario.graphql();
        let gql = app.gql_ok(&document, variables).await[scenario.collection].clone();
        let expected: Vec<Value> = scenario.expected.iter().map(|n| json!(n)).collect();
        assert_eq!(
            pluck(&rest, scenario.field()),
            expected,
            "scenario {i}: REST {path}"
        );
        assert_eq!(rest, gql, "scenario {i}: REST and GraphQL differ ({path})");
        assert_eq!(
            rest, searched,
            "scenario {i}: GET and SEARCH differ ({path})"
        );
    }
});

both!(
    bracket_and_json_filters_agree_with_graphql,
    |app| async move {
        seed(&app).await;
        let bracket = rest_rows(
        &app,
        "GET",
        "/flows?fields=id,name&filter[operations][type][_in]=log,request&filter[status][_eq]=active&sort=-name",
        None,
    )
    .await;
        let json_form = rest_rows(
        &app,
        "GET",
        &format!(
            "/flows?fields=id,name&sort=-name&filter={}",
            qjson(json!({"operations": {"type": {"_in": ["log", "request"]}}, "status": {"_eq": "active"}}))
        ),
        None,
    )
    .await;
        let gql = app
        .gql_ok(
            r#"{ flows(filter: {operations: {type: {_in: ["log", "request"]}}, status: {_eq: "active"}}, sort: ["-name"]) { id name } }"#,
            json!({}),
        )
        .await["flows"]
        .clone();
        assert_eq!(
            pluck(&bracket, "name"),
            [json!("Delta Events"), json!("Alpha Hook")]
        );
        assert_eq!(bracket, json_form);
        assert_eq!(bracket, gql);
    }
);

both!(nested_arguments_agree_with_deep, |app| async move {
    seed(&app).await;
    let rest = rest_rows(
        &app,
        "GET",
        "/flows?fields=name,operations.key&filter[operations][_some][id][_nnull]=true&deep[operations][_filter][position_y][_gte]=20&deep[operations][_sort]=-position_x&deep[operations][_limit]=2",
        None,
    )
    .await;
    let gql = app
        .gql_ok(
            r#"{ flows(filter: {operations: {_some: {id: {_nnull: true}}}}) {
                name
                operations(filter: {position_y: {_gte: 20}}, sort: ["-position_x"], limit: 2) { key }
            } }"#,
            json!({}),
        )
        .await["flows"]
        .clone();
    assert_eq!(
        rest,
        json!([
            {"name": "Alpha Hook", "operations": [{"key": "notify"}, {"key": "check"}]},
            {"name": "beta hook", "operations": []},
            {"name": "Delta Events", "operations": []},
        ])
    );
    assert_eq!(rest, gql);
});
