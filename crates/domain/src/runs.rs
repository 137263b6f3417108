//! The durable run queue (`flowline_runs`): runs that nobody waits for are written here
//! before they are acknowledged, claimed by workers under a lease, and finished in place.
//!
//! Claims take the oldest queued runs, and runs whose lease ran out (their replica died or
//! stopped), with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so that replicas claiming at the
//! same moment never take the same run; SQLite has one writer and one server, and needs no
//! row lock. A worker renews the leases of the runs it holds; a stopping worker hands its
//! unfinished runs back at once.

use chrono::Utc;
use entity::flowline_run_steps as steps;
use entity::flowline_runs as runs;
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionSession, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Accountability;
use crate::error::{Error, Result};

/// A run's state, as the `status` column spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    Queued,
    Running,
    /// Running, and waiting out the backoff before it tries a failed step again.
    Retrying,
    Resolved,
    Rejected,
    Cancelled,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Retrying => "retrying",
            RunStatus::Resolved => "resolved",
            RunStatus::Rejected => "rejected",
            RunStatus::Cancelled => "cancelled",
        }
    }
}

/// The statuses of a run some worker holds under a lease.
const HELD: [&str; 2] = ["running", "retrying"];
/// The statuses of a run that ended.
const ENDED: [&str; 3] = ["resolved", "rejected", "cancelled"];

/// How a queued run starts: everything the engine needs, and nothing of HTTP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueuedStart {
    /// `$trigger`.
    pub trigger: Value,
    /// Who started it; `None` for schedules.
    pub accountability: Option<Accountability>,
    /// Flows triggering flows: 1 for a run started from outside.
    pub depth: usize,
}

/// A run a worker claimed.
#[derive(Debug, Clone, PartialEq)]
pub struct Claimed {
    pub id: String,
    pub flow: String,
    pub start: QueuedStart,
    /// Counting this one.
    pub attempts: i32,
}

/// The current time in unix milliseconds, as the queue and its journal store times.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// Writes a queued run; answers its id. Inside a transaction, the run exists exactly when
/// the transaction commits.
pub async fn enqueue(
    db: &impl ConnectionTrait,
    flow: &str,
    trigger: &str,
    start: &QueuedStart,
) -> Result<String> {
    let start = serde_json::to_string(start).map_err(|e| Error::Internal(e.to_string()))?;
    let mut ids = enqueue_many(
        db,
        &[NewRun {
            flow,
            trigger,
            start: &start,
        }],
    )
    .await?;
    ids.pop()
        .ok_or_else(|| Error::Internal("a queued run got no id".into()))
}

/// A run to queue, its start already serialised ([`QueuedStart`] as JSON text).
#[derive(Debug, Clone, Copy)]
pub struct NewRun<'a> {
    pub flow: &'a str,
    pub trigger: &'a str,
    pub start: &'a str,
}

/// Writes `new` runs in one statement, so that they cost one commit; answers their ids in
/// order.
pub async fn enqueue_many(db: &impl ConnectionTrait, new: &[NewRun<'_>]) -> Result<Vec<String>> {
    let now = now_ms();
    let ids: Vec<String> = new
        .iter()
        .map(|_| uuid::Uuid::new_v4().to_string())
        .collect();
    // SQLite takes at most 32,766 parameters a statement: 12 a run.
    for (chunk, chunk_ids) in new.chunks(2_000).zip(ids.chunks(2_000)) {
        let rows = chunk
            .iter()
            .zip(chunk_ids)
            .map(|(run, id)| runs::ActiveModel {
                id: Set(id.clone()),
                flow: Set(run.flow.to_string()),
                trigger: Set(run.trigger.to_string()),
                status: Set(RunStatus::Queued.as_str().to_string()),
                start: Set(run.start.to_string()),
                attempts: Set(0),
                lease_owner: Set(None),
                lease_until: Set(None),
                enqueued_at: Set(now),
                started_at: Set(None),
                finished_at: Set(None),
                error: Set(None),
            });
        runs::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await?;
    }
    Ok(ids)
}

/// Claims up to `n` runs for `owner` until `lease_ms` from now: the oldest queued ones, and
/// running ones whose lease expired.
pub async fn claim<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    owner: &str,
    lease_ms: i64,
    n: u64,
) -> Result<Vec<Claimed>> {
    let now = now_ms();
    let tx = db.begin().await?;
    // Two reads rather than one with an OR: each then follows the (status, enqueued_at)
    // index instead of sorting the whole backlog (14 to 18 ms a claim with 20,000 queued).
    // Runs whose lease ran out come first; they are few (at most the workers of the
    // replicas that died).
    let mut rows = runs::Entity::find()
        .filter(runs::Column::Status.is_in(HELD))
        .filter(runs::Column::LeaseUntil.lt(now))
        .limit(n)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .all(&tx)
        .await?;
    let left = n.saturating_sub(rows.len() as u64);
    if left > 0 {
        rows.extend(
            runs::Entity::find()
                .filter(runs::Column::Status.eq(RunStatus::Queued.as_str()))
                .order_by_asc(runs::Column::EnqueuedAt)
                .limit(left)
                .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
                .all(&tx)
                .await?,
        );
    }
    if rows.is_empty() {
        tx.commit().await?;
        return Ok(Vec::new());
    }
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    // Read again: a run queued while the select ran was enqueued after `now`.
    let now = now_ms();
    runs::Entity::update_many()
        .col_expr(
            runs::Column::Status,
            Expr::value(RunStatus::Running.as_str()),
        )
        .col_expr(runs::Column::LeaseOwner, Expr::value(owner))
        .col_expr(runs::Column::LeaseUntil, Expr::value(now + lease_ms))
        .col_expr(
            runs::Column::Attempts,
            Expr::col(runs::Column::Attempts).add(1),
        )
        .col_expr(runs::Column::StartedAt, Expr::value(now))
        .filter(runs::Column::Id.is_in(ids))
        .exec(&tx)
        .await?;
    tx.commit().await?;
    let mut claimed = Vec::with_capacity(rows.len());
    for row in rows {
        match serde_json::from_str::<QueuedStart>(&row.start) {
            Ok(start) => claimed.push(Claimed {
                id: row.id,
                flow: row.flow,
                start,
                attempts: row.attempts + 1,
            }),
            Err(err) => {
                // Written by this code, so unreadable only if tampered with: it cannot run.
                tracing::error!(run = %row.id, %err, "a queued run cannot be read; rejected");
                let ending = Ending {
                    run: row.id,
                    status: RunStatus::Rejected,
                    error: Some(err.to_string()),
                };
                finish_many(db, owner, &[&ending]).await?;
            }
        }
    }
    Ok(claimed)
}

/// Extends `owner`'s leases on `ids` to `lease_ms` from now.
pub async fn renew(
    db: &impl ConnectionTrait,
    owner: &str,
    ids: Vec<String>,
    lease_ms: i64,
) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    runs::Entity::update_many()
        .col_expr(runs::Column::LeaseUntil, Expr::value(now_ms() + lease_ms))
        .filter(runs::Column::LeaseOwner.eq(owner))
        .filter(runs::Column::Status.is_in(HELD))
        .filter(runs::Column::Id.is_in(ids.clone()))
        .exec(db)
        .await?;
    Ok(())
}

/// Which of `ids` `owner` no longer holds: cancelled, or taken over after its lease ran out.
pub async fn lost(db: &impl ConnectionTrait, owner: &str, ids: Vec<String>) -> Result<Vec<String>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let held: Vec<String> = runs::Entity::find()
        .select_only()
        .column(runs::Column::Id)
        .filter(runs::Column::LeaseOwner.eq(owner))
        .filter(runs::Column::Status.is_in(HELD))
        .filter(runs::Column::Id.is_in(ids.clone()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(ids.into_iter().filter(|id| !held.contains(id)).collect())
}

/// Marks `owner`'s run `id` as waiting to try a failed step again (`retrying: true`), or
/// as running again.
pub async fn set_retrying(
    db: &impl ConnectionTrait,
    id: &str,
    owner: &str,
    retrying: bool,
) -> Result<()> {
    let (from, to) = if retrying {
        (RunStatus::Running, RunStatus::Retrying)
    } else {
        (RunStatus::Retrying, RunStatus::Running)
    };
    runs::Entity::update_many()
        .col_expr(runs::Column::Status, Expr::value(to.as_str()))
        .filter(runs::Column::Id.eq(id))
        .filter(runs::Column::LeaseOwner.eq(owner))
        .filter(runs::Column::Status.eq(from.as_str()))
        .exec(db)
        .await?;
    Ok(())
}

/// How a cancellation went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cancel {
    /// It was queued or under way, and is cancelled now; `owner` is the replica that held it.
    Cancelled { owner: Option<String> },
    /// It had already ended, with this status.
    Ended(String),
    /// No such run.
    Missing,
}

/// Cancels run `id` unless it already ended.
pub async fn cancel(db: &impl ConnectionTrait, id: &str) -> Result<Cancel> {
    // A run may end between the read and the update: the update names the state it read,
    // and a miss reads again.
    for _ in 0..3 {
        let Some(row) = runs::Entity::find_by_id(id.to_string()).one(db).await? else {
            return Ok(Cancel::Missing);
        };
        if ENDED.contains(&row.status.as_str()) {
            return Ok(Cancel::Ended(row.status));
        }
        let done = runs::Entity::update_many()
            .col_expr(
                runs::Column::Status,
                Expr::value(RunStatus::Cancelled.as_str()),
            )
            .col_expr(runs::Column::FinishedAt, Expr::value(now_ms()))
            .col_expr(
                runs::Column::LeaseOwner,
                Expr::value(Option::<String>::None),
            )
            .col_expr(runs::Column::LeaseUntil, Expr::value(Option::<i64>::None))
            .filter(runs::Column::Id.eq(id))
            .filter(runs::Column::Status.eq(row.status.as_str()))
            .filter(match &row.lease_owner {
                Some(owner) => runs::Column::LeaseOwner.eq(owner.as_str()),
                None => runs::Column::LeaseOwner.is_null(),
            })
            .exec(db)
            .await?;
        if done.rows_affected == 1 {
            return Ok(Cancel::Cancelled {
                owner: row.lease_owner,
            });
        }
    }
    Err(Error::Internal(format!(
        "run {id} kept changing while it was being cancelled"
    )))
}

/// Deletes the runs that ended before `before` (unix milliseconds), with their journals;
/// answers how many runs went.
pub async fn prune<C: ConnectionTrait + TransactionTrait>(db: &C, before: i64) -> Result<u64> {
    use sea_orm::sea_query::Query;
    let ended = || {
        Query::select()
            .column(runs::Column::Id)
            .from(runs::Entity)
            .and_where(runs::Column::Status.is_in(ENDED))
            .and_where(runs::Column::FinishedAt.lt(before))
            .to_owned()
    };
    let tx = db.begin().await?;
    steps::Entity::delete_many()
        .filter(steps::Column::Run.in_subquery(ended()))
        .exec(&tx)
        .await?;
    let gone = runs::Entity::delete_many()
        .filter(runs::Column::Status.is_in(ENDED))
        .filter(runs::Column::FinishedAt.lt(before))
        .exec(&tx)
        .await?;
    tx.commit().await?;
    Ok(gone.rows_affected)
}

/// How a queued run ended, on its way to [`finish_many`].
#[derive(Debug, Clone, PartialEq)]
pub struct Ending {
    pub run: String,
    pub status: RunStatus,
    pub error: Option<String>,
}

/// Records how runs `owner` holds ended. A run whose lease another replica took over
/// meanwhile is left to it.
///
/// Runs that ended the same way without an error (most of them) share one statement; the
/// others, each with its own error text, take one each. The caller commits them together
/// (the journal writer's transaction), so a burst of runs ending pays one commit.
pub async fn finish_many(db: &impl ConnectionTrait, owner: &str, ended: &[&Ending]) -> Result<()> {
    let now = now_ms();
    let finish = |status: RunStatus, error: Option<&str>| {
        runs::Entity::update_many()
            .col_expr(runs::Column::Status, Expr::value(status.as_str()))
            .col_expr(runs::Column::FinishedAt, Expr::value(now))
            .col_expr(
                runs::Column::LeaseOwner,
                Expr::value(Option::<String>::None),
            )
            .col_expr(runs::Column::LeaseUntil, Expr::value(Option::<i64>::None))
            .col_expr(runs::Column::Error, Expr::value(error.map(str::to_string)))
            .filter(runs::Column::LeaseOwner.eq(owner))
    };
    for status in [RunStatus::Resolved, RunStatus::Rejected] {
        let ids: Vec<&str> = ended
            .iter()
            .filter(|e| e.status == status && e.error.is_none())
            .map(|e| e.run.as_str())
            .collect();
        // Bounded by the writer's batch, far below SQLite's parameter limit.
        for chunk in ids.chunks(2_000) {
            finish(status, None)
                .filter(runs::Column::Id.is_in(chunk.iter().copied()))
                .exec(db)
                .await?;
        }
    }
    for e in ended.iter().filter(|e| {
        e.error.is_some() || !matches!(e.status, RunStatus::Resolved | RunStatus::Rejected)
    }) {
        finish(e.status, e.error.as_deref())
            .filter(runs::Column::Id.eq(e.run.as_str()))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Hands `owner`'s unfinished runs back to the queue, for another worker to take at once.
pub async fn release(db: &impl ConnectionTrait, owner: &str) -> Result<u64> {
    requeue(
        db,
        Condition::all()
            .add(runs::Column::LeaseOwner.eq(owner))
            .add(runs::Column::Status.is_in(HELD)),
    )
    .await
}

/// Queues again every run left running: on SQLite, whose one server is this process, such
/// runs were held by a previous process that died, and need not wait for their leases.
pub async fn release_all(db: &impl ConnectionTrait) -> Result<u64> {
    requeue(db, Condition::all().add(runs::Column::Status.is_in(HELD))).await
}

/// Puts the runs `which` selects back in the queue, their leases cleared.
async fn requeue(db: &impl ConnectionTrait, which: Condition) -> Result<u64> {
    let released = runs::Entity::update_many()
        .col_expr(
            runs::Column::Status,
            Expr::value(RunStatus::Queued.as_str()),
        )
        .col_expr(
            runs::Column::LeaseOwner,
            Expr::value(Option::<String>::None),
        )
        .col_expr(runs::Column::LeaseUntil, Expr::value(Option::<i64>::None))
        .filter(which)
        .exec(db)
        .await?;
    Ok(released.rows_affected)
}

/// How many runs wait to be claimed.
pub async fn queued(db: &impl ConnectionTrait) -> Result<u64> {
    Ok(runs::Entity::find()
        .filter(runs::Column::Status.eq(RunStatus::Queued.as_str()))
        .count(db)
        .await?)
}

/// One completed step of a queued run, as journaled.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalStep {
    pub operation: String,
    pub key: String,
    /// `true` when the run followed the operation's resolve link.
    pub resolved: bool,
    pub output: Value,
    /// Unix milliseconds.
    pub started_at: i64,
    pub finished_at: i64,
    /// Tries it took.
    pub attempts: i32,
}

/// A `sleep` that was waiting when its run stopped: resumed, it waits only until `until`.
#[derive(Debug, Clone, PartialEq)]
pub struct Waiting {
    pub operation: String,
    /// Unix milliseconds.
    pub until: i64,
}

/// What a run's journal holds: its completed steps, and the sleep it was in, if any.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Journal {
    pub done: Vec<JournalStep>,
    pub waiting: Option<Waiting>,
}

/// Step status of a sleep under way.
const WAITING: &str = "waiting";

/// Journals step `seq` of `run`. Inside the transaction of the step's own write, the step
/// and the write commit together. It replaces the waiting mark a sleep left at `seq`.
pub async fn journal_step(
    db: &impl ConnectionTrait,
    run: &str,
    seq: i32,
    step: &JournalStep,
) -> Result<()> {
    upsert_step(db, step_row(run, seq, step)).await
}

/// The journal row of completed step `seq` of `run`.
fn step_row(run: &str, seq: i32, step: &JournalStep) -> steps::ActiveModel {
    steps::ActiveModel {
        run: Set(run.to_string()),
        seq: Set(seq),
        operation: Set(step.operation.clone()),
        key: Set(step.key.clone()),
        status: Set(if step.resolved { "resolve" } else { "reject" }.to_string()),
        output: Set(match &step.output {
            Value::Null => None,
            output => Some(output.clone()),
        }),
        started_at: Set(Some(step.started_at)),
        finished_at: Set(Some(step.finished_at)),
        wait_until: Set(None),
        attempts: Set(step.attempts),
        ..Default::default()
    }
}

/// Journals that step `seq` of `run`, a sleep that started at `started`, waits until
/// `until` (unix milliseconds).
pub async fn journal_wait(
    db: &impl ConnectionTrait,
    run: &str,
    seq: i32,
    operation: &str,
    key: &str,
    started: i64,
    until: i64,
) -> Result<()> {
    let row = steps::ActiveModel {
        run: Set(run.to_string()),
        seq: Set(seq),
        operation: Set(operation.to_string()),
        key: Set(key.to_string()),
        status: Set(WAITING.to_string()),
        output: Set(None),
        started_at: Set(Some(started)),
        finished_at: Set(None),
        wait_until: Set(Some(until)),
        attempts: Set(1),
        ..Default::default()
    };
    upsert_step(db, row).await
}

/// Journals completed steps of several runs (`(run, seq, step)`) in one statement, so that
/// they cost one commit.
pub async fn journal_steps(
    db: &impl ConnectionTrait,
    entries: &[(&str, i32, &JournalStep)],
) -> Result<()> {
    // SQLite takes at most 32,766 parameters a statement: 11 a step.
    for chunk in entries.chunks(2_000) {
        let rows = chunk
            .iter()
            .map(|(run, seq, step)| step_row(run, *seq, step));
        steps::Entity::insert_many(rows)
            .on_conflict(step_conflict())
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// On a step journaled again at its place (a sleep's mark, then its completion): the
/// completion, keeping when it started and was due, from its mark.
fn step_conflict() -> sea_orm::sea_query::OnConflict {
    sea_orm::sea_query::OnConflict::columns([steps::Column::Run, steps::Column::Seq])
        .update_columns([
            steps::Column::Operation,
            steps::Column::Key,
            steps::Column::Status,
            steps::Column::Output,
            steps::Column::FinishedAt,
            steps::Column::Attempts,
        ])
        .to_owned()
}

async fn upsert_step(db: &impl ConnectionTrait, row: steps::ActiveModel) -> Result<()> {
    steps::Entity::insert(row)
        .on_conflict(step_conflict())
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// The journal of `run`: its completed steps in order, then the sleep it was in.
pub async fn journal(db: &impl ConnectionTrait, run: &str) -> Result<Journal> {
    let rows = steps::Entity::find()
        .filter(steps::Column::Run.eq(run))
        .order_by_asc(steps::Column::Seq)
        .all(db)
        .await?;
    let mut journal = Journal::default();
    for row in rows {
        if row.status == WAITING {
            journal.waiting = Some(Waiting {
                operation: row.operation,
                until: row.wait_until.unwrap_or_else(now_ms),
            });
            // Nothing follows a step still under way.
            break;
        }
        journal.done.push(JournalStep {
            output: row.output.unwrap_or(Value::Null),
            operation: row.operation,
            key: row.key,
            resolved: row.status == "resolve",
            started_at: row.started_at.unwrap_or_default(),
            finished_at: row.finished_at.unwrap_or_default(),
            attempts: row.attempts,
        });
    }
    Ok(journal)
}

/// A run that ended without passing through the queue: a synchronous run whose flow logs
/// its runs (`accountability` set), recorded so that `/runs` lists it beside queued ones.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    pub flow: String,
    /// The flow's trigger type.
    pub trigger: String,
    pub resolved: bool,
    /// Unix milliseconds.
    pub started_at: i64,
    pub finished_at: i64,
    pub error: Option<String>,
    /// Its steps when the flow records them (`accountability: all`).
    pub steps: Vec<JournalStep>,
}

/// Records `ended` runs as rows of `flowline_runs` with their steps, in few statements.
pub async fn record(db: &impl ConnectionTrait, ended: &[&Finished]) -> Result<()> {
    if ended.is_empty() {
        return Ok(());
    }
    let mut rows = Vec::with_capacity(ended.len());
    let mut step_rows = Vec::new();
    for run in ended {
        let id = uuid::Uuid::new_v4().to_string();
        let status = if run.resolved {
            RunStatus::Resolved
        } else {
            RunStatus::Rejected
        };
        for (seq, step) in run.steps.iter().enumerate() {
            step_rows.push(step_row(&id, i32::try_from(seq).unwrap_or(i32::MAX), step));
        }
        rows.push(runs::ActiveModel {
            id: Set(id),
            flow: Set(run.flow.clone()),
            trigger: Set(run.trigger.clone()),
            status: Set(status.as_str().to_string()),
            // Nothing to resume from: it ran where it was called.
            start: Set("null".to_string()),
            attempts: Set(1),
            lease_owner: Set(None),
            lease_until: Set(None),
            enqueued_at: Set(run.started_at),
            started_at: Set(Some(run.started_at)),
            finished_at: Set(Some(run.finished_at)),
            error: Set(run.error.clone()),
        });
    }
    runs::Entity::insert_many(rows)
        .exec_without_returning(db)
        .await?;
    // Bound the statement's parameters (SQLite allows 32,766): 11 columns a step.
    for chunk in step_rows.chunks(1_000) {
        steps::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Queues `owner`'s run `id` again, for a worker to resume it from its journal.
pub async fn release_one(db: &impl ConnectionTrait, id: &str, owner: &str) -> Result<()> {
    requeue(
        db,
        Condition::all()
            .add(runs::Column::Id.eq(id))
            .add(runs::Column::LeaseOwner.eq(owner)),
    )
    .await?;
    Ok(())
}
