//! Backend-specific column definitions and naming helpers shared by the migrations.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

/// The two database backends flowline supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The dialect of the database the migration is running against.
    pub(crate) fn of(manager: &SchemaManager) -> Result<Self, DbErr> {
        match manager.get_database_backend() {
            DbBackend::Sqlite => Ok(Self::Sqlite),
            DbBackend::Postgres => Ok(Self::Postgres),
            other => Err(DbErr::Migration(format!(
                "flowline supports SQLite and PostgreSQL only, not {other:?}"
            ))),
        }
    }

    /// A uuid column: native `uuid` on PostgreSQL, `char(36)` text on SQLite
    /// (lowercase hyphenated, as Directus stores them).
    pub(crate) fn uuid<T: IntoIden>(self, name: T) -> ColumnDef {
        let mut col = ColumnDef::new(name);
        match self {
            Self::Postgres => col.uuid(),
            Self::Sqlite => col.char_len(36),
        };
        col
    }

    /// A timestamp column: `timestamp with time zone` on PostgreSQL, `varchar(32)`
    /// holding ISO-8601 UTC text such as `2026-11-23T02:49:08.123Z` on SQLite.
    pub(crate) fn timestamp<T: IntoIden>(self, name: T) -> ColumnDef {
        let mut col = ColumnDef::new(name);
        match self {
            Self::Postgres => col.timestamp_with_time_zone(),
            Self::Sqlite => col.string_len(32),
        };
        col
    }

    /// A timestamp column defaulting to the current time, in the column's format.
    pub(crate) fn timestamp_now<T: IntoIden>(self, name: T) -> ColumnDef {
        let mut col = self.timestamp(name);
        match self {
            Self::Postgres => col.default(Expr::current_timestamp()),
            // sea-query wraps non-literal defaults in parentheses, as SQLite requires.
            Self::Sqlite => col.default(Expr::cust("strftime('%Y-%m-%dT%H:%M:%fZ','now')")),
        };
        col
    }

    /// A JSON column: `json` on PostgreSQL, `text` on SQLite.
    pub(crate) fn json<T: IntoIden>(self, name: T) -> ColumnDef {
        let mut col = ColumnDef::new(name);
        match self {
            Self::Postgres => col.json(),
            Self::Sqlite => col.text(),
        };
        col
    }
}

/// An auto-incrementing integer primary key (`serial` on PostgreSQL).
pub(crate) fn increments<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name)
        .integer()
        .not_null()
        .auto_increment()
        .primary_key()
        .to_owned()
}

/// A `varchar(len)` column.
pub(crate) fn varchar<T: IntoIden>(name: T, len: u32) -> ColumnDef {
    ColumnDef::new(name).string_len(len).to_owned()
}

/// A plain (non-unique) index named `name` on `table (columns)`.
pub(crate) fn index<T, C, I>(name: &str, table: T, columns: I) -> IndexCreateStatement
where
    T: IntoIden,
    C: IntoIndexColumn,
    I: IntoIterator<Item = C>,
{
    let mut index = Index::create();
    index.name(name).table(table);
    for column in columns {
        index.col(column);
    }
    index
}

/// A named `UNIQUE (columns)` table constraint, for use inside `Table::create`.
pub(crate) fn unique<C, I>(name: &str, columns: I) -> IndexCreateStatement
where
    C: IntoIndexColumn,
    I: IntoIterator<Item = C>,
{
    let mut index = Index::create();
    index.name(name).unique();
    for column in columns {
        index.col(column);
    }
    index
}

/// A named foreign key from `from.0 (from.1)` to `to.0 (to.1)`, for use inside `Table::create`.
pub(crate) fn foreign_key<T1, C1, T2, C2>(
    name: &str,
    from: (T1, C1),
    to: (T2, C2),
    on_delete: Option<ForeignKeyAction>,
) -> ForeignKeyCreateStatement
where
    T1: IntoIden,
    C1: IntoIden,
    T2: IntoIden,
    C2: IntoIden,
{
    let mut fk = ForeignKey::create();
    fk.name(name).from(from.0, from.1).to(to.0, to.1);
    if let Some(action) = on_delete {
        fk.on_delete(action);
    }
    fk
}
