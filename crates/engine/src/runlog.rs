//! Run logs: one `directus_activity` row per run when the flow's `accountability` is set,
//! plus a `directus_revisions` row holding the steps and the final chain when it is `all`.

use domain::Accountability;
use domain::sql::{json_value, timestamp_value, uuid_value};
use sea_orm::sea_query::{Alias, Expr, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::{Map, Value, json};

use crate::plan::FlowPlan;
use crate::redact;
use crate::runner::Run;

/// Writes the logs of a finished run. Errors are logged, never surfaced, as in Directus.
pub async fn write(
    db: &DatabaseConnection,
    flow: &FlowPlan,
    run: &Run,
    acc: Option<&Accountability>,
    env: &Map<String, Value>,
) {
    let Some(mode) = flow.accountability.as_deref() else {
        return;
    };
    if let Err(err) = insert(db, flow, run, acc, env, mode == "all").await {
        tracing::error!(flow = %flow.id, %err, "could not write the run log");
    }
}

async fn insert(
    db: &DatabaseConnection,
    flow: &FlowPlan,
    run: &Run,
    acc: Option<&Accountability>,
    env: &Map<String, Value>,
    with_revision: bool,
) -> Result<(), sea_orm::DbErr> {
    let backend = db.get_database_backend();
    let user = acc
        .and_then(|a| a.user.as_deref())
        .and_then(|u| uuid::Uuid::parse_str(u).ok())
        .map(|u| uuid_value(backend, u));
    let text = |v: Option<&String>| Expr::val(v.cloned());
    let mut stmt = Query::insert();
    stmt.into_table(Alias::new("directus_activity"))
        .columns(
            [
                "action",
                "user",
                "timestamp",
                "ip",
                "user_agent",
                "collection",
                "item",
                "origin",
            ]
            .map(Alias::new),
        )
        .values_panic([
            Expr::val("run"),
            Expr::val(user.unwrap_or(match backend {
                // A typed NULL: PostgreSQL's column is a uuid.
                sea_orm::DbBackend::Postgres => sea_orm::sea_query::Value::Uuid(None),
                _ => sea_orm::sea_query::Value::String(None),
            })),
            Expr::val(timestamp_value(backend, chrono::Utc::now())),
            text(acc.and_then(|a| a.ip.as_ref())),
            text(acc.and_then(|a| a.user_agent.as_ref())),
            Expr::val("directus_flows"),
            Expr::val(flow.id.clone()),
            text(acc.and_then(|a| a.origin.as_ref())),
        ])
        .returning_col(Alias::new("id"));
    let row = db.query_one(&stmt).await?;
    if !with_revision {
        return Ok(());
    }
    let Some(row) = row else { return Ok(()) };
    let activity: i64 = row
        .try_get_by_index::<i64>(0)
        .or_else(|_| row.try_get_by_index::<i32>(0).map(i64::from))?;
    let steps: Vec<Value> = run
        .steps
        .iter()
        .map(|s| {
            let mut step = serde_json::to_value(s).unwrap_or(Value::Null);
            // Outputs are chain data: redacted like the chain.
            if let Some(output) = step.get_mut("output") {
                *output = redact::secrets(output);
            }
            step
        })
        .collect();
    let data = json!({
        "steps": redact::env_values(&Value::Array(steps), env),
        "data": redact::env_values(&redact::secrets(&Value::Object(run.chain.clone())), env),
    });
    let mut stmt = Query::insert();
    stmt.into_table(Alias::new("directus_revisions"))
        .columns(["activity", "collection", "item", "data"].map(Alias::new))
        .values_panic([
            Expr::val(activity),
            Expr::val("directus_flows"),
            Expr::val(flow.id.clone()),
            Expr::val(json_value(backend, &data)),
        ]);
    db.execute(&stmt).await?;
    Ok(())
}
