//! The user's own tables, read from the database's catalogue so that every table that is not
//! a system one is a collection, typed from its column types.
//!
//! What is left out, and why: tables without a single-column primary key (Directus cannot
//! address their rows either), tables named `directus_*` or used by the migrator, and columns
//! of types flowline does not map (arrays, binary, intervals, geometry...), which are logged
//! once per introspection. Foreign keys between user tables are not turned into relations:
//! their `ON DELETE` rules stay the database's business.

use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::catalog::{Collection, Field, FieldKind, intern};
use crate::error::Result;

/// One column as the database describes it.
struct Column {
    name: String,
    /// The declared type, lower case (`integer`, `character varying`, `numeric(10,2)`...).
    kind: String,
    not_null: bool,
    has_default: bool,
    max_length: Option<usize>,
    /// `numeric(10, 2)` -> (10, 2).
    numeric: Option<(u32, u32)>,
    primary: bool,
    /// The database generates its value (identity, serial, SQLite's integer primary key).
    generated: bool,
}

/// The user tables of the connected database, as collections.
pub async fn user_tables(db: &impl ConnectionTrait) -> Result<Vec<Collection>> {
    let tables = match db.get_database_backend() {
        DbBackend::Postgres => postgres(db).await?,
        _ => sqlite(db).await?,
    };
    Ok(tables
        .into_iter()
        .filter_map(|(name, columns)| collection(&name, columns))
        .collect())
}

fn is_internal(table: &str) -> bool {
    crate::catalog::is_system_name(table)
        || table.starts_with("seaql_")
        || table.starts_with("sqlite_")
}

async fn sqlite(db: &impl ConnectionTrait) -> Result<Vec<(String, Vec<Column>)>> {
    let backend = db.get_database_backend();
    let names = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
        ))
        .await?;
    let mut tables = Vec::new();
    for row in names {
        let table: String = row.try_get_by_index(0)?;
        if is_internal(&table) {
            continue;
        }
        let info = db
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?)",
                [table.clone().into()],
            ))
            .await?;
        let keys = info
            .iter()
            .filter(|r| r.try_get_by_index::<i64>(4).unwrap_or(0) > 0)
            .count();
        let mut columns = Vec::new();
        for r in info {
            let declared: String = r.try_get_by_index(1)?;
            let declared = declared.to_lowercase();
            let primary = r.try_get_by_index::<i64>(4)? > 0 && keys == 1;
            columns.push(Column {
                name: r.try_get_by_index(0)?,
                max_length: length_of(&declared),
                numeric: precision_of(&declared),
                // `INTEGER PRIMARY KEY` is the rowid: SQLite assigns it.
                generated: primary && declared == "integer",
                kind: declared,
                not_null: r.try_get_by_index::<i64>(2)? != 0,
                has_default: r.try_get_by_index::<Option<String>>(3)?.is_some(),
                primary,
            });
        }
        tables.push((table, columns));
    }
    Ok(tables)
}

/// The primary key is read from `pg_index` for the table at hand. Through
/// `information_schema.table_constraints` and `key_column_usage`, the check ran for every
/// column over the constraints of the whole database: on a server holding a few hundred
/// schemas (one per test run, or one per tenant) start-up spent 850 ms in this statement,
/// against 120 ms now.
async fn postgres(db: &impl ConnectionTrait) -> Result<Vec<(String, Vec<Column>)>> {
    let backend = db.get_database_backend();
    let rows = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT c.table_name::text, c.column_name::text, c.data_type::text, \
                    c.is_nullable = 'NO', c.column_default::text, \
                    c.character_maximum_length::int8, c.is_identity = 'YES', \
                    c.column_name::name IN (SELECT a.attname FROM pg_catalog.pg_index i \
                            JOIN pg_catalog.pg_attribute a \
                              ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) \
                            WHERE i.indisprimary \
                              AND i.indrelid = format('%I.%I', c.table_schema, c.table_name)::regclass), \
                    c.numeric_precision::int8, c.numeric_scale::int8 \
             FROM information_schema.columns c \
             JOIN information_schema.tables t \
               ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
             WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' \
             ORDER BY c.table_name, c.ordinal_position",
        ))
        .await?;
    let mut tables: Vec<(String, Vec<Column>)> = Vec::new();
    for r in rows {
        let table: String = r.try_get_by_index(0)?;
        if is_internal(&table) {
            continue;
        }
        let default: Option<String> = r.try_get_by_index(4)?;
        let column = Column {
            name: r.try_get_by_index(1)?,
            kind: r.try_get_by_index::<String>(2)?.to_lowercase(),
            not_null: r.try_get_by_index(3)?,
            generated: r.try_get_by_index::<bool>(6)?
                || default
                    .as_deref()
                    .is_some_and(|d| d.starts_with("nextval(")),
            has_default: default.is_some(),
            max_length: r
                .try_get_by_index::<Option<i64>>(5)?
                .and_then(|n| usize::try_from(n).ok()),
            primary: r.try_get_by_index(7)?,
            numeric: match (
                r.try_get_by_index::<Option<i64>>(8)?,
                r.try_get_by_index::<Option<i64>>(9)?,
            ) {
                (Some(p), Some(s)) => u32::try_from(p).ok().zip(u32::try_from(s).ok()),
                _ => None,
            },
        };
        match tables.last_mut() {
            Some((name, columns)) if *name == table => columns.push(column),
            _ => tables.push((table, vec![column])),
        }
    }
    for (_, columns) in &mut tables {
        if columns.iter().filter(|c| c.primary).count() > 1 {
            for c in columns.iter_mut() {
                c.primary = false;
            }
        }
    }
    Ok(tables)
}

/// `varchar(64)` -> 64.
fn length_of(declared: &str) -> Option<usize> {
    let inner = declared.split_once('(')?.1.split_once(')')?.0;
    if inner.contains(',') {
        return None;
    }
    inner.trim().parse().ok()
}

/// `numeric(10,2)` -> (10, 2); `numeric(5)` -> (5, 0).
fn precision_of(declared: &str) -> Option<(u32, u32)> {
    let inner = declared.split_once('(')?.1.split_once(')')?.0;
    let mut parts = inner.split(',').map(|p| p.trim().parse::<u32>().ok());
    let precision = parts.next()??;
    let scale = parts.next().flatten().unwrap_or(0);
    Some((precision, scale))
}

/// The field kind of a declared column type, on either backend.
fn kind_of(declared: &str) -> Option<FieldKind> {
    let base = declared.split('(').next().unwrap_or(declared).trim();
    Some(match base {
        "uuid" => FieldKind::Uuid,
        "char" | "character" if length_of(declared) == Some(36) => FieldKind::Uuid,
        "integer" | "int" | "int4" | "smallint" | "int2" | "tinyint" | "mediumint" => {
            FieldKind::Integer
        }
        "bigint" | "int8" => FieldKind::BigInteger,
        "real" | "float" | "float4" | "float8" | "double" | "double precision" => FieldKind::Float,
        "numeric" | "decimal" => FieldKind::Decimal,
        "boolean" | "bool" => FieldKind::Boolean,
        "text" | "clob" => FieldKind::Text,
        "varchar" | "character varying" | "char" | "character" | "nvarchar" | "string" => {
            FieldKind::String
        }
        "json" | "jsonb" => FieldKind::Json,
        "timestamp with time zone" | "timestamptz" => FieldKind::Timestamp,
        "timestamp" | "timestamp without time zone" | "datetime" => FieldKind::DateTime,
        "date" => FieldKind::Date,
        _ => return None,
    })
}

fn collection(table: &str, columns: Vec<Column>) -> Option<Collection> {
    let pk = columns.iter().find(|c| c.primary)?;
    let primary_key = intern(&pk.name);
    // A key the database fills in (a sequence, or a default such as gen_random_uuid())
    // is left out of inserts and read back.
    let generated_key = pk.generated || pk.has_default;
    let mut fields = Vec::new();
    for c in columns {
        let Some(kind) = kind_of(&c.kind) else {
            tracing::warn!(
                table,
                column = %c.name,
                r#type = %c.kind,
                "column type not mapped: the column is not part of the collection"
            );
            continue;
        };
        let mut field = Field::new(intern(&c.name), kind);
        field.max_length = match kind {
            FieldKind::String => c.max_length,
            _ => None,
        };
        if kind == FieldKind::Decimal {
            field.numeric = c.numeric;
        }
        if c.primary {
            field = field.not_null();
            if c.generated || c.has_default {
                field = field.defaulted();
            }
        } else if c.not_null && !c.has_default {
            field = field.required();
        } else if c.not_null {
            field = field.not_null().defaulted();
        } else if c.has_default {
            field = field.defaulted();
        }
        fields.push(field);
    }
    if !fields.iter().any(|f| f.name == primary_key) {
        return None;
    }
    Some(Collection {
        name: intern(table),
        root: None,
        primary_key,
        fields,
        writable: true,
        generated_key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types_map_to_kinds() {
        assert_eq!(kind_of("integer"), Some(FieldKind::Integer));
        assert_eq!(kind_of("character varying"), Some(FieldKind::String));
        assert_eq!(kind_of("varchar(40)"), Some(FieldKind::String));
        assert_eq!(kind_of("char(36)"), Some(FieldKind::Uuid));
        assert_eq!(kind_of("numeric(10,2)"), Some(FieldKind::Decimal));
        assert_eq!(
            kind_of("timestamp with time zone"),
            Some(FieldKind::Timestamp)
        );
        assert_eq!(kind_of("datetime"), Some(FieldKind::DateTime));
        assert_eq!(kind_of("bytea"), None);
        assert_eq!(length_of("varchar(40)"), Some(40));
        assert_eq!(length_of("numeric(10,2)"), None);
    }
}
