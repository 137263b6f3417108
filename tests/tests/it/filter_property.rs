//! Property test: for random flows, operations and filters, the rows the SQL filter selects
//! are exactly those a small in-memory evaluator of Directus's filter rules selects, on
//! SQLite and PostgreSQL. The evaluator follows SQL's three-valued logic, as Directus does.

use domain::Accountability;
use domain::query::{ReadNode, Select};
use e2e::both;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Value, json};

const TEXTS: &[&str] = &["alpha", "Alpha", "beta", "al_pha", "50%", "gamma ray", ""];
const TRIGGERS: &[&str] = &["webhook", "manual", "schedule"];
const TYPES: &[&str] = &["log", "condition", "transform"];

#[derive(Debug, Clone)]
struct Flow {
    id: String,
    name: String,
    description: Option<String>,
    trigger: Option<String>,
    ops: Vec<Op>,
}

#[derive(Debug, Clone)]
struct Op {
    id: String,
    key: String,
    kind: String,
    x: i64,
}

fn text() -> impl Strategy<Value = String> {
    prop::sample::select(TEXTS).prop_map(str::to_string)
}

fn flows() -> impl Strategy<Value = Vec<Flow>> {
    let op = (prop::sample::select(TYPES), -3i64..4).prop_map(|(kind, x)| (kind.to_string(), x));
    let flow = (
        text().prop_filter("names are required", |n| !n.is_empty()),
        prop::option::of(text()),
        prop::option::of(prop::sample::select(TRIGGERS).prop_map(str::to_string)),
        prop::collection::vec(op, 0..3),
    );
    prop::collection::vec(flow, 1..7).prop_map(|raw| {
        raw.into_iter()
            .enumerate()
            .map(|(i, (name, description, trigger, ops))| Flow {
                id: format!("00000000-0000-4000-8000-{:012}", i + 1),
                name,
                description,
                trigger,
                ops: ops
                    .into_iter()
                    .enumerate()
                    .map(|(j, (kind, x))| Op {
                        id: format!("00000000-0000-4000-9000-{:06}{:06}", i + 1, j + 1),
                        key: format!("k{j}"),
                        kind,
                        x,
                    })
                    .collect(),
            })
            .collect()
    })
}

/// A comparison on one field of a flow.
fn text_condition(field: &'static str) -> impl Strategy<Value = Value> {
    let ops = prop::sample::select(vec![
        "_eq",
        "_neq",
        "_contains",
        "_icontains",
        "_ncontains",
        "_starts_with",
        "_istarts_with",
        "_nstarts_with",
        "_nistarts_with",
        "_ends_with",
        "_iends_with",
        "_nends_with",
        "_niends_with",
    ]);
    let value = text().prop_filter("empty strings are refused", |t| !t.is_empty());
    prop_oneof![
        (ops, value).prop_map(move |(op, v)| json!({field: {op: v}})),
        prop::sample::select(vec!["_null", "_nnull", "_empty", "_nempty"])
            .prop_map(move |op| json!({field: {op: true}})),
        prop::collection::vec(text().prop_filter("non-empty", |t| !t.is_empty()), 1..3)
            .prop_flat_map(move |vals| prop::sample::select(vec!["_in", "_nin"])
                .prop_map(move |op| json!({field: {op: vals.clone()}}))),
    ]
}

fn op_condition() -> impl Strategy<Value = Value> {
    prop_oneof![
        (
            prop::sample::select(vec!["_eq", "_neq", "_lt", "_lte", "_gt", "_gte"]),
            -3i64..4
        )
            .prop_map(|(op, v)| json!({"position_x": {op: v}})),
        (
            prop::sample::select(vec!["_between", "_nbetween"]),
            -3i64..4,
            0i64..3
        )
            .prop_map(|(op, a, w)| json!({"position_x": {op: [a, a + w]}})),
        prop::sample::select(TYPES).prop_map(|t| json!({"type": {"_eq": t}})),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        text_condition("name"),
        text_condition("description"),
        prop::sample::select(TRIGGERS).prop_map(|t| json!({"trigger": {"_eq": t}})),
        op_condition().prop_map(|c| json!({"operations": c})),
        op_condition().prop_map(|c| json!({"operations": {"_some": c}})),
        op_condition().prop_map(|c| json!({"operations": {"_none": c}})),
    ]
}

fn filter() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 12, 3, |inner| {
        prop::collection::vec(inner, 1..3).prop_flat_map(|items| {
            prop::sample::select(vec!["_and", "_or"]).prop_map(move |op| json!({op: items.clone()}))
        })
    })
}

/// SQL's three-valued logic: `None` is NULL.
type Tri = Option<bool>;

fn not(t: Tri) -> Tri {
    t.map(|b| !b)
}

fn or(a: Tri, b: Tri) -> Tri {
    match (a, b) {
        (Some(true), _) | (_, Some(true)) => Some(true),
        (Some(false), Some(false)) => Some(false),
        _ => None,
    }
}

fn and(a: Tri, b: Tri) -> Tri {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

fn text_op(value: Option<&str>, op: &str, operand: &Value) -> Tri {
    let is_null = value.is_none();
    let empty = or(Some(is_null), value.map(|v| v.is_empty()));
    match op {
        "_null" => Some(is_null),
        "_nnull" => Some(!is_null),
        "_empty" => empty,
        "_nempty" => not(empty),
        "_in" | "_nin" => {
            let list: Vec<&str> = operand
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let hit = value.map(|v| list.contains(&v));
            if op == "_in" {
                hit
            } else {
                or(not(hit), Some(is_null))
            }
        }
        _ => {
            let needle = operand.as_str().unwrap_or_default();
            let negate = op.starts_with("_n");
            let base = op.trim_start_matches("_n").trim_start_matches('_');
            let (base, insensitive) = match base.strip_prefix('i') {
                Some(rest) if rest != "n" => (rest, true),
                _ => (base, false),
            };
            let hit = value.map(|v| {
                let (v, n) = if insensitive {
                    (v.to_lowercase(), needle.to_lowercase())
                } else {
                    (v.to_string(), needle.to_string())
                };
                match base {
                    "eq" => v == n,
                    "contains" => v.contains(&n),
                    "starts_with" => v.starts_with(&n),
                    "ends_with" => v.ends_with(&n),
                    other => panic!("unexpected operator {other}"),
                }
            });
            if op == "_neq" || (negate && op != "_eq") {
                or(not(hit), Some(is_null))
            } else {
                hit
            }
        }
    }
}

fn eval_op(op: &Op, cond: &Map<String, Value>) -> Tri {
    let mut result = Some(true);
    for (field, ops) in cond {
        for (name, operand) in ops.as_object().expect("operators") {
            let t = match field.as_str() {
                "type" => text_op(Some(&op.kind), name, operand),
                "position_x" => {
                    let n = |v: &Value| v.as_i64().expect("number");
                    Some(match name.as_str() {
                        "_eq" => op.x == n(operand),
                        "_neq" => op.x != n(operand),
                        "_lt" => op.x < n(operand),
                        "_lte" => op.x <= n(operand),
                        "_gt" => op.x > n(operand),
                        "_gte" => op.x >= n(operand),
                        "_between" => op.x >= n(&operand[0]) && op.x <= n(&operand[1]),
                        "_nbetween" => !(op.x >= n(&operand[0]) && op.x <= n(&operand[1])),
                        other => panic!("unexpected operator {other}"),
                    })
                }
                other => panic!("unexpected field {other}"),
            };
            result = and(result, t);
        }
    }
    result
}

// `None` is SQL's NULL, not a failure: folds must see every operand (NULL AND FALSE is
// FALSE), so `try_fold` would be wrong here.
#[allow(clippy::manual_try_fold)]
fn eval(flow: &Flow, filter: &Value) -> Tri {
    let mut result = Some(true);
    for (key, value) in filter.as_object().expect("filter object") {
        let t = match key.as_str() {
            "_and" => value
                .as_array()
                .expect("list")
                .iter()
                .fold(Some(true), |acc, f| and(acc, eval(flow, f))),
            "_or" => value
                .as_array()
                .expect("list")
                .iter()
                .fold(Some(false), |acc, f| or(acc, eval(flow, f))),
            "name" | "description" | "trigger" => {
                let v = match key.as_str() {
                    "name" => Some(flow.name.as_str()),
                    "description" => flow.description.as_deref(),
                    _ => flow.trigger.as_deref(),
                };
                value
                    .as_object()
                    .expect("ops")
                    .iter()
                    .fold(Some(true), |acc, (op, operand)| {
                        and(acc, text_op(v, op, operand))
                    })
            }
            "operations" => {
                let obj = value.as_object().expect("relation filter");
                let (none, cond) = match (obj.get("_some"), obj.get("_none")) {
                    (Some(c), _) => (false, c),
                    (_, Some(c)) => (true, c),
                    _ => (false, value),
                };
                let cond = cond.as_object().expect("condition");
                // EXISTS is two-valued: a row counts only when its condition is TRUE.
                let exists = flow.ops.iter().any(|op| eval_op(op, cond) == Some(true));
                Some(exists != none)
            }
            other => panic!("unexpected key {other}"),
        };
        result = and(result, t);
    }
    result
}

async fn run(app: e2e::TestApp) {
    let items = &app.state.items;
    let system = Accountability::system();
    let mut runner = TestRunner::new(Config {
        cases: 40,
        ..Config::default()
    });
    let data_strategy = flows();
    let filter_strategy = prop::collection::vec(filter(), 40);
    for case in 0..40 {
        let data = data_strategy.new_tree(&mut runner).expect("data").current();
        let filters = filter_strategy
            .new_tree(&mut runner)
            .expect("filters")
            .current();
        let existing = items
            .keys_by_query(
                &system,
                "directus_flows",
                &domain::query::ListArgs {
                    limit: Some(-1),
                    ..Default::default()
                },
            )
            .await
            .expect("keys");
        items
            .delete_many(&system, "directus_flows", existing)
            .await
            .expect("clear");
        let payload: Vec<Value> = data
            .iter()
            .map(|f| {
                json!({
                    "id": f.id, "name": f.name, "description": f.description, "trigger": f.trigger,
                    "operations": f.ops.iter().map(|o| json!({"id": o.id, "key": o.key, "type": o.kind, "position_x": o.x, "position_y": 0})).collect::<Vec<_>>(),
                })
            })
            .collect();
        items
            .create_many(&system, "directus_flows", payload)
            .await
            .expect("seed");
        for filter in filters {
            let mut node = ReadNode::new("directus_flows");
            node.select.push(Select::Field {
                field: "id".into(),
                key: "id".into(),
            });
            node.args.filter = Some(filter.clone());
            node.args.limit = Some(-1);
            let rows = items
                .read(&system, &node)
                .await
                .unwrap_or_else(|e| panic!("case {case}: {filter} failed: {e}"));
            let got: Vec<String> = rows
                .iter()
                .map(|r| r["id"].as_str().expect("id").to_string())
                .collect();
            let want: Vec<String> = data
                .iter()
                .filter(|f| eval(f, &filter) == Some(true))
                .map(|f| f.id.clone())
                .collect();
            assert_eq!(got, want, "case {case}: filter {filter} over {data:#?}");
        }
    }
}

both!(
    sql_filters_agree_with_the_reference_evaluator,
    |app| async move { run(app).await }
);
