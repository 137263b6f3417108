//! Micro-benchmarks of the engine's pure hot functions: template rendering (a whole-string
//! placeholder, embedded placeholders, a whole options object), condition evaluation and
//! plan loading (`build_flow` on a generated row).
//!
//! `cargo bench -p engine --bench engine`; quick by default (see `quick`), pass criterion's
//! own flags (`-- --measurement-time 10`) for longer runs.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use engine::{condition, plan, template};
use serde_json::{Value, json};

/// A data chain as a webhook run sees it after two operations.
fn chain() -> Value {
    json!({
        "$trigger": {
            "path": "/trigger/f10e0000-0000-4000-8000-000000000001",
            "query": {},
            "method": "POST",
            "headers": {"content-type": "application/json", "user-agent": "wrk"},
            "body": {
                "name": "Ada",
                "count": 3,
                "status": "published",
                "items": [
                    {"id": 1, "title": "one", "tags": ["a", "b"]},
                    {"id": 2, "title": "two", "tags": []},
                    {"id": 3, "title": "three", "tags": ["c"]}
                ]
            }
        },
        "$last": {"ok": true},
        "$accountability": {"user": null, "role": null, "roles": [], "admin": false, "app": false, "ip": "127.0.0.1"},
        "$env": {},
        "transform": {"n": 3, "greeting": "hello Ada"}
    })
}

fn templates(c: &mut Criterion) {
    let data = chain();
    let mut group = c.benchmark_group("template");
    group.bench_function("whole_string", |b| {
        b.iter(|| template::render_str(black_box("{{ $trigger.body.items[2].id }}"), &data))
    });
    group.bench_function("whole_string_object", |b| {
        b.iter(|| template::render_str(black_box("{{ $trigger.body.items }}"), &data))
    });
    group.bench_function("embedded", |b| {
        b.iter(|| {
            template::render_str(
                black_box("Hello {{ $trigger.body.name }}, {{ $trigger.body.count }} items, first {{ $trigger.body.items[0].title }}"),
                &data,
            )
        })
    });
    group.bench_function("embedded_json", |b| {
        b.iter(|| template::render_str(black_box("items: {{ $trigger.body.items }}"), &data))
    });
    group.bench_function("no_placeholder", |b| {
        b.iter(|| template::render_str(black_box("a plain option without any tag"), &data))
    });
    // The options of the load benchmark's transform operation.
    let options = json!({"json": {
        "n": "{{ $trigger.body.count }}",
        "greeting": "hello {{ $trigger.body.name }}",
        "first": "{{ $trigger.body.items[0] }}",
        "fixed": 42
    }});
    group.bench_function("options_object", |b| {
        b.iter(|| template::render_options(black_box(&options), &data))
    });
    group.finish();
}

fn conditions(c: &mut Criterion) {
    let data = chain();
    let acc = Value::Null;
    let mut group = c.benchmark_group("condition");
    let eq = json!({"$trigger": {"body": {"status": {"_eq": "published"}}}});
    group.bench_function("eq_pass", |b| {
        b.iter(|| condition::check(black_box(&eq), &data, &acc))
    });
    let gte = json!({"transform": {"n": {"_gte": 0}}});
    group.bench_function("gte_pass", |b| {
        b.iter(|| condition::check(black_box(&gte), &data, &acc))
    });
    let and = json!({"_and": [
        {"$trigger": {"body": {"status": {"_in": ["draft", "published"]}}}},
        {"$trigger": {"body": {"name": {"_icontains": "ad"}}}},
        {"$trigger": {"body": {"count": {"_between": [1, 10]}}}},
        {"transform": {"greeting": {"_starts_with": "hello"}}}
    ]});
    group.bench_function("and_of_four_pass", |b| {
        b.iter(|| condition::check(black_box(&and), &data, &acc))
    });
    let fail = json!({"_or": [
        {"$trigger": {"body": {"status": {"_eq": "draft"}}}},
        {"$trigger": {"body": {"count": {"_gt": 100}}}}
    ]});
    group.bench_function("or_of_two_fail", |b| {
        b.iter(|| condition::check(black_box(&fail), &data, &acc))
    });
    group.finish();
}

/// A flow row as the plan loader reads it (`*, operations.*`): `n` operations chained by
/// `resolve`, listed in reverse so that links point forward and backward in the array.
fn flow_row(n: usize) -> Value {
    let op_id = |i: usize| format!("0e{i:06}-0000-4000-8000-000000000001");
    let ops: Vec<Value> = (0..n)
        .rev()
        .map(|i| {
            json!({
                "id": op_id(i),
                "name": format!("step {i}"),
                "key": format!("step_{i}"),
                "type": if i % 3 == 1 { "condition" } else { "transform" },
                "position_x": 20 * (i + 1),
                "position_y": 1,
                "options": {"json": {"i": i, "prev": "{{ $last.i }}"}},
                "resolve": if i + 1 < n { Value::from(op_id(i + 1)) } else { Value::Null },
                "reject": null,
                "flow": "f10e0000-0000-4000-8000-000000000001",
                "date_created": "2024-01-01T00:00:00.000Z",
                "user_created": null
            })
        })
        .collect();
    json!({
        "id": "f10e0000-0000-4000-8000-000000000001",
        "name": "chain",
        "icon": "bolt",
        "color": null,
        "description": null,
        "status": "active",
        "trigger": "webhook",
        "accountability": "all",
        "options": {"method": "POST", "async": false, "return": "$last"},
        "operation": op_id(0),
        "date_created": "2024-01-01T00:00:00.000Z",
        "user_created": null,
        "folder": null,
        "operations": ops
    })
}

fn plans(c: &mut Criterion) {
    let mut group = c.benchmark_group("plan_build_flow");
    for n in [3usize, 10, 100, 1000] {
        let row = flow_row(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &row, |b, row| {
            b.iter(|| plan::build_flow(black_box(row)))
        });
    }
    group.finish();
}

/// Short runs by default: the whole file takes well under a minute.
fn quick() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(30)
}

criterion_group! {
    name = benches;
    config = quick();
    targets = templates, conditions, plans
}
criterion_main!(benches);
