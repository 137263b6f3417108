//! Connecting to SQLite or PostgreSQL, migrating, and creating the first admin.

use migration::{Migrator, MigratorTrait};
use rand::RngCore;
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement,
};

use domain::sql::uuid_value;

/// How long a pooled connection may sit idle before it is pinged on checkout.
const IDLE_BEFORE_PING: std::time::Duration = std::time::Duration::from_secs(30);

/// Opens the database with the default pool ([`pool_size`]).
pub async fn connect(url: &str) -> Result<DatabaseConnection, sea_orm::DbErr> {
    connect_with(url, None).await
}

/// PostgreSQL connections kept by default: twice the cores this process may use, at least
/// four and at most 32.
///
/// sqlx's default of ten let ten PostgreSQL backends compete with the server for the CPU
/// under load. With four on a two-core machine, requests queue for a connection in order
/// instead of being time-sliced by the kernel: on the 25-flow REST and GraphQL lists the
/// p99 went from 10 to 11 ms down to about 8 ms at the same throughput (pairwise, three
/// rounds). Directus's `DB_POOL__MAX` sets it.
pub fn pool_size() -> u32 {
    pool_size_for(std::thread::available_parallelism().map_or(2, usize::from))
}

fn pool_size_for(cores: usize) -> u32 {
    u32::try_from(cores.saturating_mul(2).clamp(4, 32)).unwrap_or(4)
}

/// Opens the database, creating a SQLite file when missing, and applies every migration.
/// `pool_max` bounds PostgreSQL's pool ([`pool_size`] when `None`); SQLite keeps its one
/// writing connection ([`read_pool`]).
pub async fn connect_with(
    url: &str,
    pool_max: Option<u32>,
) -> Result<DatabaseConnection, sea_orm::DbErr> {
    let db = open(url, pool_max).await?;
    under_start_lock(&db, Migrator::up(&db, None)).await?;
    Ok(db)
}

/// What the server opens: the database, migrated, and on SQLite the lock that makes this
/// process its one server ([`own_sqlite_file`]), taken before anything is migrated or
/// written, so that a second process refused on the file changes nothing in it (not even
/// the schema under a running older server).
pub async fn open_owned(
    url: &str,
    pool_max: Option<u32>,
) -> anyhow::Result<(DatabaseConnection, Option<std::fs::File>)> {
    let db = open(url, pool_max).await?;
    let owner = own_sqlite_file(&db)?;
    under_start_lock(&db, Migrator::up(&db, None)).await?;
    Ok((db, owner))
}

/// Opens the pool, creating a SQLite file when missing; migrates nothing.
async fn open(url: &str, pool_max: Option<u32>) -> Result<DatabaseConnection, sea_orm::DbErr> {
    let url = if url.starts_with("sqlite:") && !url.contains("mode=") && !url.contains(":memory:") {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}mode=rwc")
    } else {
        url.to_string()
    };
    let postgres = url.starts_with("postgres");
    let mut options = ConnectOptions::new(url);
    options.sqlx_logging(false);
    // sqlx pings a connection on every checkout by default: one more round trip per
    // statement, which cost a short PostgreSQL list a fifth of its throughput. Only a
    // connection idle long enough for a server, proxy or firewall to have dropped it is
    // checked.
    options.test_before_acquire_if_idle_for(IDLE_BEFORE_PING);
    if postgres {
        options.max_connections(pool_max.unwrap_or_else(pool_size).max(1));
    }
    let db = Database::connect(options).await?;
    if db.get_database_backend() == DbBackend::Sqlite {
        // WAL lets readers proceed while a write transaction is open.
        db.execute_unprepared("PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON;")
            .await?;
    }
    Ok(db)
}

/// Runs `work` (migrations, creating the first admin) while no other replica starting on
/// the same PostgreSQL schema does: replicas started together would otherwise apply the same
/// migration twice, or each create an admin. The lock is a session advisory lock held on a
/// connection of its own while `work` runs on the pool; PostgreSQL releases it if the process
/// dies. SQLite has one server ([`own_sqlite_file`]) and needs none.
pub async fn under_start_lock<T>(
    db: &DatabaseConnection,
    work: impl Future<Output = Result<T, sea_orm::DbErr>>,
) -> Result<T, sea_orm::DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return work.await;
    }
    let sqlx_err = |err: sea_orm::sqlx::Error| {
        sea_orm::DbErr::Conn(sea_orm::RuntimeErr::SqlxError(err.into()))
    };
    let mut holder = db
        .get_postgres_connection_pool()
        .acquire()
        .await
        .map_err(sqlx_err)?;
    sea_orm::sqlx::query(
        "SELECT pg_advisory_lock(hashtext('flowline.start.' || current_schema()))",
    )
    .execute(&mut *holder)
    .await
    .map_err(sqlx_err)?;
    let result = work.await;
    let unlocked = sea_orm::sqlx::query(
        "SELECT pg_advisory_unlock(hashtext('flowline.start.' || current_schema()))",
    )
    .execute(&mut *holder)
    .await;
    if let Err(err) = unlocked {
        // Closing the connection releases the lock as well.
        tracing::warn!(%err, "could not release the start-up lock; closing its connection");
        holder.close_on_drop();
    }
    result
}

/// Most connections of the SQLite read pool.
const MAX_READERS: usize = 8;

/// A pool of read-only connections to the same SQLite file, for reads outside transactions
/// ([`domain::ItemsService::with_read_pool`]); `None` for PostgreSQL (whose pool already has
/// several connections) and for SQLite without WAL (an in-memory database, where each
/// connection would open a database of its own).
///
/// The main SQLite pool keeps one connection, which all writes share: SQLite has one writer
/// at a time, and a second writing connection would make deferred transactions fail with
/// `SQLITE_BUSY` when they move from reading to writing. Read-only connections cannot write
/// by mistake, and under WAL they read the last committed state while the writer works.
pub async fn read_pool(
    db: &DatabaseConnection,
) -> Result<Option<DatabaseConnection>, sea_orm::DbErr> {
    if db.get_database_backend() != DbBackend::Sqlite {
        return Ok(None);
    }
    let mode = db
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "PRAGMA journal_mode",
        ))
        .await?
        .map(|row| row.try_get_by_index::<String>(0))
        .transpose()?
        .unwrap_or_default();
    if !mode.eq_ignore_ascii_case("wal") {
        return Ok(None);
    }
    let readers = std::thread::available_parallelism()
        .map_or(2, usize::from)
        .clamp(2, MAX_READERS);
    let options = (*db.get_sqlite_connection_pool().connect_options())
        .clone()
        .read_only(true);
    // A read-only connection to a local file cannot be dropped by anyone: never ping it.
    let pool = sea_orm::sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(u32::try_from(readers).unwrap_or(2))
        .test_before_acquire(false)
        .connect_with(options)
        .await
        .map_err(|err| sea_orm::DbErr::Conn(sea_orm::RuntimeErr::SqlxError(err.into())))?;
    Ok(Some(sea_orm::SqlxSqliteConnector::from_sqlx_sqlite_pool(
        pool,
    )))
}

/// Makes this process the one server of its SQLite file, or says who already is.
///
/// Two processes on one SQLite file would each run every schedule and every queued run, and
/// neither would hear the other's edits: SQLite is the single-process default, and several
/// replicas share PostgreSQL instead. The lock is an exclusive `flock` on `<file>.lock`
/// beside the database (not on the database itself, whose byte-range locks SQLite owns), held
/// for as long as the returned file is open; the kernel releases it when the process dies, so
/// a crash leaves nothing to clean up. `None` for PostgreSQL and in-memory databases.
pub fn own_sqlite_file(db: &DatabaseConnection) -> anyhow::Result<Option<std::fs::File>> {
    if db.get_database_backend() != DbBackend::Sqlite {
        return Ok(None);
    }
    let options = db.get_sqlite_connection_pool().connect_options();
    let file = options.get_filename();
    if file.as_os_str().is_empty() || file.as_os_str() == ":memory:" {
        return Ok(None);
    }
    let mut path = file.as_os_str().to_owned();
    path.push(".lock");
    let path = std::path::PathBuf::from(path);
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|err| anyhow::anyhow!("opening the lock file {}: {err}", path.display()))?;
    match lock.try_lock() {
        Ok(()) => Ok(Some(lock)),
        Err(std::fs::TryLockError::WouldBlock) => Err(anyhow::anyhow!(
            "another flowline process is already serving {} (it holds {}); stop it first, \
             or use PostgreSQL (DATABASE_URL=postgres://...) to run several replicas",
            file.display(),
            path.display()
        )),
        Err(std::fs::TryLockError::Error(err)) => {
            Err(anyhow::anyhow!("locking {}: {err}", path.display()))
        }
    }
}

/// A fresh static token: 32 random bytes, hex-encoded.
pub fn generate_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Makes sure an admin exists. On an empty database it creates the admin role and user with
/// `token` (or a generated one, returned so that it can be printed once). When `token` is
/// given and the admin already exists, the stored token follows it.
pub async fn ensure_admin(
    db: &DatabaseConnection,
    email: &str,
    token: Option<&str>,
) -> Result<Option<String>, sea_orm::DbErr> {
    under_start_lock(db, create_or_update_admin(db, email, token)).await
}

async fn create_or_update_admin(
    db: &DatabaseConnection,
    email: &str,
    token: Option<&str>,
) -> Result<Option<String>, sea_orm::DbErr> {
    let backend = db.get_database_backend();
    let count = db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT COUNT(*) AS n FROM directus_users",
        ))
        .await?
        .map(|row| row.try_get_by_index::<i64>(0))
        .transpose()?
        .unwrap_or(0);
    if count == 0 {
        let role = uuid::Uuid::new_v4();
        let user = uuid::Uuid::new_v4();
        let (token, generated) = match token {
            Some(t) => (t.to_string(), false),
            None => (generate_token(), true),
        };
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            placeholders(backend, "INSERT INTO directus_roles (id, name, admin_access, app_access) VALUES (?, ?, ?, ?)"),
            [uuid_value(backend, role), "Administrator".into(), true.into(), true.into()],
        ))
        .await?;
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            placeholders(
                backend,
                "INSERT INTO directus_users (id, first_name, last_name, email, status, role, token) VALUES (?, ?, ?, ?, ?, ?, ?)",
            ),
            [
                uuid_value(backend, user),
                "Admin".into(),
                "User".into(),
                email.into(),
                "active".into(),
                uuid_value(backend, role),
                token.clone().into(),
            ],
        ))
        .await?;
        return Ok(generated.then_some(token));
    }
    if let Some(token) = token {
        // The admin: the user with the configured email, else the first admin-role user.
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            placeholders(
                backend,
                "UPDATE directus_users SET token = ? WHERE id = (SELECT u.id FROM directus_users u \
                 LEFT JOIN directus_roles r ON r.id = u.role \
                 ORDER BY CASE WHEN u.email = ? THEN 0 WHEN r.admin_access THEN 1 ELSE 2 END, u.id LIMIT 1)",
            ),
            [token.into(), email.into()],
        ))
        .await?;
    }
    Ok(None)
}

/// Rewrites `?` placeholders as `$1, $2, ...` for PostgreSQL.
fn placeholders(backend: DbBackend, sql: &str) -> String {
    if backend != DbBackend::Postgres {
        return sql.to_string();
    }
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push_str(&format!("${n}"));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_pool_is_twice_the_cores_from_four_to_thirty_two() {
        let sizes: Vec<u32> = [1, 2, 3, 8, 16, 17, 256].map(pool_size_for).to_vec();
        assert_eq!(sizes, [4, 4, 6, 16, 32, 32, 32]);
    }
}
