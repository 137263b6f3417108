//! Checks the entities against the schema the migrations create, and round-trips them where the backend allows.

use std::error::Error;
use std::time::{SystemTime, UNIX_EPOCH};

use entity::prelude::*;
use entity::{
    directus_activity, directus_flows, directus_folders, directus_notifications,
    directus_operations, directus_revisions, directus_roles, directus_users,
};
use migration::{Migrator, MigratorTrait};
use sea_orm::prelude::Uuid;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, Database, DatabaseConnection, EntityTrait,
    IdenStatic, Iterable, ModelTrait, QueryFilter, Set, Statement,
};
use serde_json::json;

type TestResult = Result<(), Box<dyn Error>>;

fn ensure(cond: bool, msg: impl Into<String>) -> TestResult {
    if cond { Ok(()) } else { Err(msg.into().into()) }
}

/// The entity's columns, in order, with nullability, must match the table's.
async fn same_columns<E: EntityTrait>(db: &DatabaseConnection, entity: E) -> TestResult {
    let table = entity.table_name();
    let sql = format!("SELECT name, \"notnull\" FROM pragma_table_info('{table}') ORDER BY cid");
    let mut actual = Vec::new();
    for row in db
        .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?
    {
        let name: String = row.try_get_by_index(0)?;
        let not_null: i32 = row.try_get_by_index(1)?;
        actual.push((name, not_null == 0));
    }
    let expected: Vec<(String, bool)> = E::Column::iter()
        .map(|c| (c.as_str().to_owned(), c.def().is_null()))
        .collect();
    ensure(
        actual == expected,
        format!("{table}: table {actual:?} != entity {expected:?}"),
    )
}

#[tokio::test]
async fn entities_match_the_migrated_schema() -> TestResult {
    let db = Database::connect("sqlite::memory:").await?;
    Migrator::up(&db, None).await?;
    same_columns(&db, DirectusRoles).await?;
    same_columns(&db, DirectusUsers).await?;
    same_columns(&db, DirectusFolders).await?;
    same_columns(&db, DirectusFlows).await?;
    same_columns(&db, DirectusOperations).await?;
    same_columns(&db, DirectusActivity).await?;
    same_columns(&db, DirectusRevisions).await?;
    same_columns(&db, DirectusNotifications).await?;
    db.close().await?;
    Ok(())
}

#[tokio::test]
async fn sqlite_round_trips_rows_without_uuids() -> TestResult {
    let db = Database::connect("sqlite::memory:").await?;
    Migrator::up(&db, None).await?;

    // `ActiveModel::insert` would read the row back with `RETURNING`, where SQLite
    // names the timestamp's text cast `CAST(...)` instead of `timestamp`; insert,
    // then find.
    let inserted = DirectusActivity::insert(directus_activity::ActiveModel {
        action: Set("run".into()),
        collection: Set("directus_flows".into()),
        item: Set("1".into()),
        ..Default::default()
    })
    .exec(&db)
    .await?;
    let activity = DirectusActivity::find_by_id(inserted.last_insert_id)
        .one(&db)
        .await?
        .ok_or("activity not found")?;
    let b = activity.timestamp.as_bytes();
    ensure(
        b.len() == 24 && b[10] == b'T' && b[23] == b'Z',
        format!("default timestamp: {}", activity.timestamp),
    )?;
    directus_revisions::ActiveModel {
        activity: Set(activity.id),
        collection: Set("directus_flows".into()),
        item: Set("1".into()),
        data: Set(Some(json!({"name": "a", "options": {"x": [1, 2]}}))),
        ..Default::default()
    }
    .insert(&db)
    .await?;

    let revisions = activity.find_related(DirectusRevisions).all(&db).await?;
    ensure(revisions.len() == 1, "one revision")?;
    ensure(
        revisions[0].data == Some(json!({"name": "a", "options": {"x": [1, 2]}})),
        "json round trip",
    )?;

    // Timestamps are plain text on SQLite, so entities can write them there.
    DirectusActivity::update_many()
        .set(directus_activity::ActiveModel {
            timestamp: Set("2026-11-23T02:49:08.123Z".into()),
            ..Default::default()
        })
        .filter(directus_activity::Column::Id.eq(activity.id))
        .exec(&db)
        .await?;
    let found = DirectusActivity::find()
        .filter(directus_activity::Column::Timestamp.eq("2026-11-23T02:49:08.123Z"))
        .one(&db)
        .await?;
    ensure(found.is_some(), "timestamp written as text")?;
    db.close().await?;
    Ok(())
}

/// Documents a limit stated in the crate docs: sea-orm's `Uuid` decodes only
/// 16-byte blobs on SQLite, so it cannot read the text uuids the schema stores.
#[tokio::test]
async fn sqlite_text_uuids_are_not_readable_as_uuid() -> TestResult {
    let db = Database::connect("sqlite::memory:").await?;
    Migrator::up(&db, None).await?;
    db.execute_unprepared(
        "INSERT INTO directus_roles (id, name) VALUES ('0b6c3a52-2f5e-4c39-9e0c-6f5b2a8d1e01', 'r')",
    )
    .await?;
    ensure(
        DirectusRoles::find().all(&db).await.is_err(),
        "sea-orm now reads text uuids on SQLite: revisit the entity crate's docs",
    )?;
    db.close().await?;
    Ok(())
}

async fn postgres_round_trip(db: &DatabaseConnection) -> TestResult {
    Migrator::up(db, None).await?;

    let role = directus_roles::ActiveModel {
        id: Set(Uuid::new_v4()),
        name: Set("Editors".into()),
        admin_access: Set(false),
        app_access: Set(true),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let user = directus_users::ActiveModel {
        id: Set(Uuid::new_v4()),
        email: Set(Some("ed@example.com".into())),
        status: Set("active".into()),
        role: Set(Some(role.id)),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let folder = directus_folders::ActiveModel {
        id: Set(Uuid::new_v4()),
        name: Set("Flows".into()),
        r#type: Set("flows".into()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let flow = directus_flows::ActiveModel {
        id: Set(Uuid::new_v4()),
        name: Set("On create".into()),
        status: Set("active".into()),
        trigger: Set(Some("event".into())),
        options: Set(Some(json!({"type": "action", "scope": ["items.create"]}))),
        user_created: Set(Some(user.id)),
        folder: Set(Some(folder.id)),
        ..Default::default()
    }
    .insert(db)
    .await?;
    ensure(flow.date_created.is_some(), "date_created default")?;
    ensure(
        flow.accountability.as_deref() == Some("all"),
        "accountability",
    )?;

    let op = |key: &str, resolve: Option<Uuid>| directus_operations::ActiveModel {
        id: Set(Uuid::new_v4()),
        key: Set(key.into()),
        r#type: Set("log".into()),
        position_x: Set(19),
        position_y: Set(1),
        options: Set(Some(json!({"message": key}))),
        resolve: Set(resolve),
        flow: Set(flow.id),
        user_created: Set(Some(user.id)),
        ..Default::default()
    };
    let second = op("second", None).insert(db).await?;
    let first = op("first", Some(second.id)).insert(db).await?;
    ensure(op("first", None).insert(db).await.is_err(), "duplicate key")?;

    let mut flow_am: directus_flows::ActiveModel = flow.clone().into();
    flow_am.operation = Set(Some(first.id));
    let flow = flow_am.update(db).await?;

    let ops = flow.find_related(DirectusOperations).all(db).await?;
    ensure(ops.len() == 2, "flow has two operations")?;
    let head = flow
        .find_linked(directus_flows::FirstOperationLink)
        .one(db)
        .await?
        .ok_or("no first operation")?;
    ensure(head.key == "first", "first operation")?;
    let next = head
        .find_linked(directus_operations::ResolveLink)
        .one(db)
        .await?
        .ok_or("no resolve")?;
    ensure(next.id == second.id, "resolve link")?;
    let owner = flow
        .find_related(DirectusUsers)
        .one(db)
        .await?
        .ok_or("no creator")?;
    ensure(owner.role == Some(role.id), "creator's role")?;
    ensure(
        owner
            .find_related(DirectusRoles)
            .one(db)
            .await?
            .map(|r| r.name)
            == Some("Editors".into()),
        "user -> role",
    )?;
    ensure(
        folder.find_related(DirectusFlows).all(db).await?.len() == 1,
        "folder -> flows",
    )?;

    directus_notifications::ActiveModel {
        recipient: Set(user.id),
        subject: Set("Hello".into()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let inbox = user.find_related(DirectusNotifications).all(db).await?;
    ensure(
        inbox.len() == 1 && inbox[0].status.as_deref() == Some("inbox"),
        "inbox",
    )?;

    // Deleting the flow cascades to its operations.
    flow.delete(db).await?;
    ensure(
        DirectusOperations::find()
            .filter(directus_operations::Column::Flow.eq(head.flow))
            .all(db)
            .await?
            .is_empty(),
        "operations survived their flow",
    )?;
    Ok(())
}

#[tokio::test]
async fn postgres_round_trips_all_entities() -> TestResult {
    let Ok(url) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!("TEST_DATABASE_URL not set; skipping the PostgreSQL entity test");
        return Ok(());
    };
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH)?.subsec_nanos();
    let schema = format!("ent_{}_{nanos}", std::process::id());
    let admin = Database::connect(&url).await?;
    admin
        .execute_unprepared(&format!("CREATE SCHEMA \"{schema}\""))
        .await?;
    let sep = if url.contains('?') { '&' } else { '?' };
    let scoped = format!("{url}{sep}options=-c%20search_path%3D{schema}");
    let result = async {
        let db = Database::connect(&scoped).await?;
        let outcome = postgres_round_trip(&db).await;
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
