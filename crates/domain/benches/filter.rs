//! Micro-benchmark of filter-to-SQL compilation: a Directus filter compiled with
//! `domain::filter::compile` against the system catalogue, then the whole `SELECT` built as
//! PostgreSQL text with its bound values, as a list request does.
//!
//! `cargo bench -p domain --bench filter`; quick by default (see `quick`).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use domain::statement::Scope;
use domain::{Accountability, Catalog, filter};
use sea_orm::DbBackend;
use sea_orm::sea_query::{Alias, Asterisk, PostgresQueryBuilder, Query};
use serde_json::{Value, json};

fn compile_sql(catalog: &Catalog, acc: &Accountability, filter: &Value) -> String {
    let scope = Scope::new(DbBackend::Postgres, catalog, acc);
    let coll = catalog
        .get("directus_flows")
        .expect("directus_flows in the system catalogue");
    let alias = scope.next_alias();
    let expr = filter::compile(&scope, coll, &alias, filter).expect("a valid filter");
    let mut stmt = Query::select();
    stmt.column(Asterisk)
        .from_as(Alias::new(coll.name), Alias::new(alias))
        .and_where(expr)
        .limit(25);
    let (sql, _values) = stmt.build(PostgresQueryBuilder);
    sql
}

fn filters(c: &mut Criterion) {
    let catalog = Catalog::system();
    let acc = Accountability::system();
    let cases = [
        ("eq", json!({"status": {"_eq": "active"}})),
        (
            "and_of_four",
            json!({"_and": [
                {"name": {"_icontains": "order"}},
                {"trigger": {"_in": ["webhook", "manual"]}},
                {"date_created": {"_gte": "$NOW(-30 days)"}},
                {"accountability": {"_nnull": true}}
            ]}),
        ),
        (
            "or_nested",
            json!({"_or": [
                {"_and": [{"status": {"_eq": "active"}}, {"trigger": {"_eq": "webhook"}}]},
                {"_and": [{"status": {"_eq": "inactive"}}, {"name": {"_starts_with": "tmp"}}]}
            ]}),
        ),
        (
            "o2m_some",
            json!({"operations": {"_some": {"type": {"_eq": "log"}}}}),
        ),
        ("m2o_path", json!({"operation": {"key": {"_eq": "first"}}})),
        ("count_function", json!({"count(operations)": {"_gt": 2}})),
    ];
    let mut group = c.benchmark_group("filter_to_sql");
    for (name, filter) in &cases {
        // Fail loudly here rather than measure an error path.
        assert!(!compile_sql(&catalog, &acc, filter).is_empty());
        group.bench_function(*name, |b| {
            b.iter(|| compile_sql(&catalog, &acc, black_box(filter)))
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
    targets = filters
}
criterion_main!(benches);
