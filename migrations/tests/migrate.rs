//! Runs the migrations up, down and up again on SQLite (and on PostgreSQL when `TEST_DATABASE_URL` is set) and checks the constraints they create.

use std::error::Error;
use std::time::{SystemTime, UNIX_EPOCH};

use migration::{Migrator, MigratorTrait};
use sea_orm_migration::sea_orm::{
    ConnectionTrait, Database, DatabaseConnection, DbBackend, QueryResult, Statement,
};

type TestResult = Result<(), Box<dyn Error>>;

const TABLES: [&str; 12] = [
    "directus_activity",
    "directus_flows",
    "directus_folders",
    "directus_notifications",
    "directus_operations",
    "directus_permissions",
    "directus_revisions",
    "directus_roles",
    "directus_users",
    "flowline_run_steps",
    "flowline_runs",
    "flowline_schedule_ticks",
];

const INDEXES: [&str; 16] = [
    "directus_activity_collection_item_index",
    "directus_flows_folder_index",
    "directus_flows_status_id_index",
    "directus_flows_user_created_index",
    "directus_folders_parent_index",
    "directus_notifications_recipient_index",
    "directus_notifications_sender_index",
    "directus_operations_flow_index",
    "directus_operations_user_created_index",
    "directus_permissions_role_collection_index",
    "directus_revisions_activity_index",
    "directus_revisions_parent_index",
    "directus_users_role_index",
    "flowline_schedule_ticks_tick_index",
    "flowline_runs_status_enqueued_at_index",
    // Created as a table constraint; SQLite names its index `sqlite_autoindex_*`.
    "directus_operations_flow_key_unique",
];

const FLOW_A: &str = "0b6c3a52-2f5e-4c39-9e0c-6f5b2a8d1e01";
const FLOW_B: &str = "0b6c3a52-2f5e-4c39-9e0c-6f5b2a8d1e02";
const OP_1: &str = "5d1e8f0a-7b2c-4d3e-8f9a-0b1c2d3e4f01";
const OP_2: &str = "5d1e8f0a-7b2c-4d3e-8f9a-0b1c2d3e4f02";
const OP_3: &str = "5d1e8f0a-7b2c-4d3e-8f9a-0b1c2d3e4f03";
const USER: &str = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c01";

fn ensure(cond: bool, msg: impl Into<String>) -> TestResult {
    if cond { Ok(()) } else { Err(msg.into().into()) }
}

async fn query(db: &DatabaseConnection, sql: &str) -> Result<Vec<QueryResult>, Box<dyn Error>> {
    let stmt = Statement::from_string(db.get_database_backend(), sql);
    Ok(db.query_all_raw(stmt).await?)
}

async fn strings(db: &DatabaseConnection, sql: &str) -> Result<Vec<String>, Box<dyn Error>> {
    let mut out = Vec::new();
    for row in query(db, sql).await? {
        out.push(row.try_get_by_index::<String>(0)?);
    }
    Ok(out)
}

async fn count(db: &DatabaseConnection, sql: &str) -> Result<i64, Box<dyn Error>> {
    let rows = query(db, sql).await?;
    let row = rows.first().ok_or("count query returned no row")?;
    Ok(row.try_get_by_index::<i64>(0)?)
}

async fn tables(db: &DatabaseConnection) -> Result<Vec<String>, Box<dyn Error>> {
    let sql = match db.get_database_backend() {
        DbBackend::Postgres => {
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() \
             AND (table_name LIKE 'directus%' OR table_name LIKE 'flowline%') \
             ORDER BY table_name"
        }
        _ => {
            "SELECT name FROM sqlite_master \
             WHERE type = 'table' AND (name LIKE 'directus%' OR name LIKE 'flowline%') ORDER BY name"
        }
    };
    strings(db, sql).await
}

async fn indexes(db: &DatabaseConnection) -> Result<Vec<String>, Box<dyn Error>> {
    let sql = match db.get_database_backend() {
        DbBackend::Postgres => {
            "SELECT indexname::text FROM pg_indexes WHERE schemaname = current_schema()"
        }
        _ => "SELECT name FROM sqlite_master WHERE type = 'index'",
    };
    strings(db, sql).await
}

/// Up, down, up; then the schema's shape and constraints.
async fn check(db: &DatabaseConnection) -> TestResult {
    let backend = db.get_database_backend();

    Migrator::up(db, None).await?;
    ensure(tables(db).await? == TABLES, "first up: tables")?;

    Migrator::down(db, None).await?;
    let left = tables(db).await?;
    ensure(
        left.is_empty(),
        format!("down left tables behind: {left:?}"),
    )?;

    Migrator::up(db, None).await?;
    ensure(tables(db).await? == TABLES, "second up: tables")?;
    ensure(
        Migrator::get_pending_migrations(db).await?.is_empty(),
        "migrations still pending",
    )?;
    ensure(Migrator::migrations().len() == 9, "nine migrations")?;

    let found = indexes(db).await?;
    for name in INDEXES {
        if backend == DbBackend::Sqlite && name.ends_with("_unique") {
            continue;
        }
        ensure(
            found.iter().any(|n| n == name),
            format!("missing index {name}"),
        )?;
    }
    if backend == DbBackend::Postgres {
        for name in [
            "directus_users_email_unique",
            "directus_users_token_unique",
            "directus_flows_operation_unique",
            "directus_operations_resolve_unique",
            "directus_operations_reject_unique",
        ] {
            ensure(found.iter().any(|n| n == name), format!("missing {name}"))?;
        }
        let types = strings(
            db,
            "SELECT table_name || '.' || column_name || ':' || data_type \
             FROM information_schema.columns WHERE table_schema = current_schema() \
             AND table_name = 'directus_flows' \
             AND column_name IN ('id', 'options', 'date_created') ORDER BY column_name",
        )
        .await?;
        ensure(
            types
                == [
                    "directus_flows.date_created:timestamp with time zone",
                    "directus_flows.id:uuid",
                    "directus_flows.options:json",
                ],
            format!("postgres column types: {types:?}"),
        )?;
    }

    // Defaults and storage formats.
    db.execute_unprepared(&format!(
        "INSERT INTO directus_users (id, email) VALUES ('{USER}', 'a@example.com')"
    ))
    .await?;
    db.execute_unprepared(&format!(
        "INSERT INTO directus_flows (id, name, user_created, options) \
         VALUES ('{FLOW_A}', 'a', '{USER}', '{{\"x\":1}}'), ('{FLOW_B}', 'b', NULL, NULL)"
    ))
    .await?;
    ensure(
        count(
            db,
            &format!(
                "SELECT COUNT(*) FROM directus_flows WHERE id = '{FLOW_A}' \
                 AND status = 'active' AND accountability = 'all' \
                 AND date_created IS NOT NULL"
            ),
        )
        .await?
            == 1,
        "flow defaults",
    )?;
    if backend == DbBackend::Sqlite {
        let rows = strings(
            db,
            &format!(
                "SELECT typeof(id) || ' ' || date_created FROM directus_flows WHERE id = '{FLOW_A}'"
            ),
        )
        .await?;
        let row = rows.first().ok_or("flow not found")?;
        let (kind, created) = row.split_once(' ').ok_or("bad row")?;
        ensure(kind == "text", format!("uuid stored as {kind}"))?;
        let b = created.as_bytes();
        ensure(
            b.len() == 24 && b[4] == b'-' && b[10] == b'T' && b[19] == b'.' && b[23] == b'Z',
            format!("date_created not ISO-8601 UTC millis: {created}"),
        )?;
    }

    // (flow, key) is unique; the same key in another flow is fine.
    let insert_op = |id: &str, flow: &str, key: &str| {
        format!(
            "INSERT INTO directus_operations (id, key, type, position_x, position_y, flow) \
             VALUES ('{id}', '{key}', 'log', 1, 1, '{flow}')"
        )
    };
    db.execute_unprepared(&insert_op(OP_1, FLOW_A, "log"))
        .await?;
    let duplicate = db.execute_unprepared(&insert_op(OP_2, FLOW_A, "log")).await;
    ensure(duplicate.is_err(), "duplicate (flow, key) was accepted")?;
    db.execute_unprepared(&insert_op(OP_3, FLOW_B, "log"))
        .await?;

    // Deleting a user nulls user_created; deleting a flow cascades to its operations.
    db.execute_unprepared(&format!("DELETE FROM directus_users WHERE id = '{USER}'"))
        .await?;
    ensure(
        count(
            db,
            &format!(
                "SELECT COUNT(*) FROM directus_flows WHERE id = '{FLOW_A}' AND user_created IS NULL"
            ),
        )
        .await?
            == 1,
        "user_created was not set null",
    )?;
    db.execute_unprepared(&format!("DELETE FROM directus_flows WHERE id = '{FLOW_A}'"))
        .await?;
    ensure(
        count(
            db,
            &format!("SELECT COUNT(*) FROM directus_operations WHERE flow = '{FLOW_A}'"),
        )
        .await?
            == 0,
        "operations of a deleted flow survived",
    )?;
    ensure(
        count(db, "SELECT COUNT(*) FROM directus_operations").await? == 1,
        "operations of other flows must survive",
    )?;

    // Finally, down still works with rows present.
    Migrator::down(db, None).await?;
    ensure(tables(db).await?.is_empty(), "final down left tables")?;

    // Giving the journal a key keeps what runs in flight across the upgrade journaled.
    Migrator::up(db, Some(8)).await?;
    db.execute_unprepared(
        "INSERT INTO flowline_run_steps (run, seq, operation, key, status, output) \
         VALUES ('r1', 0, 'op', 'first', 'resolve', '{\"n\":1}'), \
                ('r1', 1, 'op2', 'second', 'reject', 'null')",
    )
    .await?;
    Migrator::up(db, None).await?;
    ensure(
        strings(
            db,
            "SELECT run || '/' || CAST(seq AS TEXT) || '/' || key || '/' || status || '/' \
             || COALESCE(CAST(output AS TEXT), 'NULL') || '/' || COALESCE(CAST(started_at AS TEXT), '-') \
             FROM flowline_run_steps ORDER BY id",
        )
        .await?
            == ["r1/0/first/resolve/{\"n\":1}/-", "r1/1/second/reject/NULL/-"],
        "journal rows lost when the journal was given a key",
    )?;
    ensure(
        db.execute_unprepared(
            "INSERT INTO flowline_run_steps (run, seq, operation, key, status, output) \
             VALUES ('r1', 1, 'op2', 'again', 'resolve', NULL)",
        )
        .await
        .is_err(),
        "a step journaled twice at one place must be refused",
    )?;
    Migrator::down(db, None).await?;
    Ok(())
}

#[tokio::test]
async fn sqlite_up_down_up() -> TestResult {
    let db = Database::connect("sqlite::memory:").await?;
    let fk = count(&db, "PRAGMA foreign_keys").await?;
    ensure(fk == 1, "sqlx should enable foreign keys")?;
    check(&db).await?;
    db.close().await?;
    Ok(())
}

#[tokio::test]
async fn postgres_up_down_up() -> TestResult {
    let Ok(url) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!("TEST_DATABASE_URL not set; skipping the PostgreSQL migration test");
        return Ok(());
    };
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH)?.subsec_nanos();
    let schema = format!("mig_{}_{nanos}", std::process::id());

    let admin = Database::connect(&url).await?;
    admin
        .execute_unprepared(&format!("CREATE SCHEMA \"{schema}\""))
        .await?;

    let sep = if url.contains('?') { '&' } else { '?' };
    let scoped = format!("{url}{sep}options=-c%20search_path%3D{schema}");
    let result = async {
        let db = Database::connect(&scoped).await?;
        let outcome = check(&db).await;
        db.close().await?;
        outcome
    }
    .await;

    admin
        .execute_unprepared(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
        .await?;
    admin.close().await?;
    result
}
