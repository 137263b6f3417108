//! Run logs: one `directus_activity` row per run when the flow's `accountability` is set,
//! plus a `directus_revisions` row holding the steps and the final chain when it is `all`.

use domain::Accountability;
use sea_orm::{ConnectionTrait, TransactionSession, TransactionTrait};
use serde_json::{Map, Value, json};

use crate::plan::FlowPlan;
use crate::redact;
use crate::runner::Run;

/// Writes the logs of a finished run. Errors are logged, never surfaced, as in Directus.
///
/// `db` is the pool, or the write transaction a filter flow runs in: its log then commits
/// or rolls back with the write.
pub async fn write<C: ConnectionTrait + TransactionTrait>(
    db: &C,
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

async fn insert<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    flow: &FlowPlan,
    run: &Run,
    acc: Option<&Accountability>,
    env: &Map<String, Value>,
    with_revision: bool,
) -> Result<(), domain::Error> {
    if !with_revision {
        domain::activity::insert(db, "run", acc, "directus_flows", &flow.id).await?;
        return Ok(());
    }
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
    // One transaction: readers never see the activity row without its revision, and the
    // two rows cost one commit.
    let tx = db.begin().await?;
    let activity = domain::activity::insert(&tx, "run", acc, "directus_flows", &flow.id).await?;
    domain::activity::insert_revision(
        &tx,
        activity,
        "directus_flows",
        &flow.id,
        &data,
        &Value::Null,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
