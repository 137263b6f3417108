//! Writing `directus_activity` and `directus_revisions` rows: one place for the writes the
//! items service logs and the runs the engine logs.

use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query as Sql};
use serde_json::Value;

use crate::accountability::Accountability;
use crate::catalog::FieldKind;
use crate::error::{Error, Result};
use crate::sql;

/// Inserts an activity row (`create`, `update`, `delete`, `run`) and answers its id.
pub async fn insert(
    db: &impl ConnectionTrait,
    action: &str,
    acc: Option<&Accountability>,
    collection: &str,
    item: &str,
) -> Result<i64> {
    insert_at(db, action, acc, collection, item, chrono::Utc::now()).await
}

/// [`insert`] with the time the action happened: a run's log is written by the group-commit
/// writer a little after the run ended, and its row keeps the time the run ended.
pub async fn insert_at(
    db: &impl ConnectionTrait,
    action: &str,
    acc: Option<&Accountability>,
    collection: &str,
    item: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<i64> {
    let row = Activity {
        action,
        acc,
        collection,
        item,
        at,
    };
    insert_activities(db, std::slice::from_ref(&row))
        .await?
        .first()
        .copied()
        .ok_or_else(|| Error::Internal("activity insert returned no id".into()))
}

/// A `directus_activity` row.
pub struct Activity<'a> {
    pub action: &'a str,
    pub acc: Option<&'a Accountability>,
    pub collection: &'a str,
    pub item: &'a str,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// Rows per multi-row activity insert: 8 parameters each.
const ACTIVITIES_PER_STATEMENT: usize = 64;

/// Inserts activity rows, many per statement, and answers their ids in the order of `rows`.
///
/// A batch of run logs committed together then costs one round trip for its activities
/// instead of one per run (the group-commit writer is one task, and under load each round
/// trip also waits for its turn on the runtime). Both databases number the rows of one
/// multi-row `INSERT` in the order of its `VALUES` (an auto-increment key, taken row by row
/// as the rows are inserted), but neither promises the order in which `RETURNING` lists them:
/// the ids are sorted, which gives them back in the order of `rows`.
pub async fn insert_activities(
    db: &impl ConnectionTrait,
    rows: &[Activity<'_>],
) -> Result<Vec<i64>> {
    let backend = db.get_database_backend();
    let mut ids = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(ACTIVITIES_PER_STATEMENT) {
        let mut stmt = Sql::insert();
        stmt.into_table(Alias::new("directus_activity")).columns(
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
        );
        for row in chunk {
            let acc = row.acc;
            let user = acc
                .and_then(|a| a.user.as_deref())
                .and_then(|u| uuid::Uuid::parse_str(u).ok())
                .map_or_else(
                    // A typed NULL: PostgreSQL's column is a uuid.
                    || sql::bind(backend, FieldKind::Uuid, "user", &Value::Null),
                    |u| Ok(sql::uuid_value(backend, u)),
                )?;
            let text = |v: Option<&String>| Expr::val(v.cloned());
            stmt.values([
                Expr::val(row.action),
                Expr::val(user),
                Expr::val(sql::timestamp_value(backend, row.at)),
                text(acc.and_then(|a| a.ip.as_ref())),
                text(acc.and_then(|a| a.user_agent.as_ref())),
                Expr::val(row.collection),
                Expr::val(row.item),
                text(acc.and_then(|a| a.origin.as_ref())),
            ])
            .map_err(|e| Error::Internal(e.to_string()))?;
        }
        stmt.returning_col(Alias::new("id"));
        let mut chunk_ids = Vec::with_capacity(chunk.len());
        for row in db.query_all(&stmt).await? {
            chunk_ids.push(
                sql::decode(backend, &row, 0, sql::Decode::Integer)?
                    .as_i64()
                    .ok_or_else(|| Error::Internal("activity id is not a number".into()))?,
            );
        }
        if chunk_ids.len() != chunk.len() {
            return Err(Error::Internal(format!(
                "{} activity rows inserted, {} ids returned",
                chunk.len(),
                chunk_ids.len()
            )));
        }
        chunk_ids.sort_unstable();
        ids.extend(chunk_ids);
    }
    Ok(ids)
}

/// A `directus_revisions` row, its JSON already serialised: the run logs' writer is one
/// task for every run, so each run serialises its own data before queueing it, and the
/// length of the text bounds the statements (see [`STATEMENT_BYTES`]).
pub struct Revision<'a> {
    pub activity: i64,
    pub collection: &'a str,
    pub item: &'a str,
    /// JSON text.
    pub data: &'a str,
    /// JSON text; `None` is SQL `NULL` (runs have no delta).
    pub delta: Option<&'a str>,
}

/// Rows per multi-row revision insert: 5 parameters each, far below SQLite's and
/// PostgreSQL's limits on bound parameters.
const REVISIONS_PER_STATEMENT: usize = 64;

/// The most JSON text one revision insert carries, unless a single row is larger.
///
/// sqlx 0.9.0 leaves Nagle's algorithm on for its TCP connections (sqlx issue 4335, fixed
/// after that release). A statement longer than the socket's send buffer, which Linux
/// starts at 16 KiB (`net.ipv4.tcp_wmem`), leaves in two writes, and the second waits for the
/// server's delayed acknowledgement, about 40 ms. Group-committed run logs of 16 runs or more
/// crossed that and fell from thousands to about 500 runs a second on PostgreSQL; over a Unix
/// socket, which has no Nagle, the same batches took 2 ms.
const STATEMENT_BYTES: usize = 12 * 1024;

/// Inserts the revision of an activity row.
pub async fn insert_revision(
    db: &impl ConnectionTrait,
    activity: i64,
    collection: &str,
    item: &str,
    data: &Value,
    delta: &Value,
) -> Result<()> {
    let data = data.to_string();
    let delta = (!delta.is_null()).then(|| delta.to_string());
    insert_revisions(
        db,
        &[Revision {
            activity,
            collection,
            item,
            data: &data,
            delta: delta.as_deref(),
        }],
    )
    .await
}

/// Inserts revision rows in order, many per statement: a batch of run logs committed
/// together then costs a round trip per [`STATEMENT_BYTES`] of revisions instead of one per
/// run. Each row names its activity, so nothing depends on the order in which the database
/// numbers them.
pub async fn insert_revisions(db: &impl ConnectionTrait, rows: &[Revision<'_>]) -> Result<()> {
    let backend = db.get_database_backend();
    let json = |text: Option<&str>| -> Result<Expr> {
        Ok(match text {
            None => Expr::val(sql::bind(backend, FieldKind::Json, "delta", &Value::Null)?),
            Some(text) if backend == sea_orm::DbBackend::Postgres => {
                Expr::val(text).cast_as(Alias::new("json"))
            }
            Some(text) => Expr::val(text),
        })
    };
    let mut rest = rows;
    while !rest.is_empty() {
        // At least one row per statement, then as many as fit.
        let mut bytes = 0;
        let take = rest
            .iter()
            .take(REVISIONS_PER_STATEMENT)
            .position(|row| {
                bytes += row.data.len() + row.delta.map_or(0, str::len);
                bytes > STATEMENT_BYTES
            })
            .map_or(rest.len().min(REVISIONS_PER_STATEMENT), |at| at.max(1));
        let (chunk, tail) = rest.split_at(take);
        rest = tail;
        let mut stmt = Sql::insert();
        stmt.into_table(Alias::new("directus_revisions"))
            .columns(["activity", "collection", "item", "data", "delta"].map(Alias::new));
        for row in chunk {
            stmt.values([
                Expr::val(row.activity),
                Expr::val(row.collection),
                Expr::val(row.item),
                json(Some(row.data))?,
                json(row.delta)?,
            ])
            .map_err(|e| Error::Internal(e.to_string()))?;
        }
        db.execute(&stmt).await?;
    }
    Ok(())
}
