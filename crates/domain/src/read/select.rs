//! The SQL of a read: the base `SELECT` of a node, search, sort and `IN` lists of keys.

use sea_orm::DbBackend;
use sea_orm::sea_query::{
    Alias, Expr, ExprTrait, Order, Query as Sql, SelectStatement, SubQueryStatement,
};

use crate::catalog::{Collection, FieldKind};
use crate::error::{Error, Result};
use crate::filter::{self, split_function};
use crate::query::{ListArgs, MAX_RELATIONAL_DEPTH};
use crate::sql::{self, col};
use crate::statement::Scope;

/// `SELECT ... FROM coll AS alias WHERE <filter> AND <search>`, without columns.
pub fn base_select(
    scope: &Scope<'_>,
    coll: &Collection,
    alias: &str,
    args: &ListArgs,
) -> Result<SelectStatement> {
    args.validate()?;
    let mut stmt = Sql::select();
    stmt.from_as(Alias::new(coll.name), Alias::new(alias));
    if let Some(filter) = &args.filter {
        stmt.and_where(filter::compile(scope, coll, alias, filter)?);
    }
    if let Some(guard) = &args.guard {
        let guard_scope = scope.for_guard();
        let full = guard_scope.collection(coll.name)?;
        stmt.and_where(filter::compile(&guard_scope, full, alias, guard)?);
    }
    if let Some(search) = args
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        if search.contains('\0') {
            return Err(Error::query("\"search\" can't contain NUL characters"));
        }
        stmt.and_where(search_condition(scope.backend, coll, alias, search));
    }
    Ok(stmt)
}

/// Directus's `search`: a case-insensitive contains over text fields, equality on numeric
/// fields when the term is a number and on uuid fields when it is a uuid.
pub(super) fn search_condition(
    backend: DbBackend,
    coll: &Collection,
    alias: &str,
    term: &str,
) -> Expr {
    let pattern = format!("%{}%", sql::like_escape(&term.to_lowercase()));
    let mut parts: Vec<Expr> = Vec::new();
    for field in coll.columns() {
        let column = col(alias, field.name);
        match field.kind {
            // SQLite refuses LIKE patterns over 50,000 bytes; `instr` has no such limit.
            FieldKind::String | FieldKind::Text => parts.push(match backend {
                DbBackend::Postgres => sql::custom(
                    backend,
                    "LOWER($1) LIKE $2 ESCAPE '\\'",
                    [column, Expr::val(pattern.clone())],
                ),
                _ => sql::custom(
                    backend,
                    "instr(LOWER($1), LOWER($2)) > 0",
                    [column, Expr::val(term)],
                ),
            }),
            FieldKind::Integer | FieldKind::BigInteger => {
                if let Ok(n) = term.parse::<i64>() {
                    parts.push(column.eq(n));
                }
            }
            FieldKind::Float => {
                if let Ok(n) = term.parse::<f64>() {
                    parts.push(column.eq(n));
                }
            }
            FieldKind::Uuid => {
                if let Ok(id) = uuid::Uuid::parse_str(term) {
                    parts.push(column.eq(Expr::val(sql::uuid_value(backend, id))));
                }
            }
            _ => {}
        }
    }
    parts
        .into_iter()
        .reduce(|a, b| a.or(b))
        .unwrap_or_else(|| Expr::cust("1 = 0"))
}

/// The SQL expression of a sort entry: `name`, `-name`, `operation.key`, `year(date_created)`.
pub fn sort_expr(scope: &Scope<'_>, coll: &Collection, alias: &str, path: &str) -> Result<Expr> {
    if let Some((function, field)) = split_function(path) {
        let field = scope.field(coll, field)?;
        return filter::function_expr(scope, coll, alias, function, field);
    }
    let mut segments = path.split('.');
    let head = segments.next().unwrap_or_default();
    let rest: Vec<&str> = segments.collect();
    if rest.len() > MAX_RELATIONAL_DEPTH {
        return Err(Error::query("Max relational depth exceeded"));
    }
    let field = scope.field(coll, head)?;
    if rest.is_empty() {
        if !field.has_column() {
            return Err(Error::query(format!(
                "Can't sort by alias field \"{head}\""
            )));
        }
        return Ok(col(alias, field.name));
    }
    let Some(target) = field.m2o_target() else {
        return Err(Error::unknown_field(&rest.join("."), coll.name, "root"));
    };
    // Sorting by a field of an m2o relation: a correlated scalar subquery.
    let target = scope.collection(target)?;
    let child = scope.next_alias();
    let inner = sort_expr(scope, target, &child, &rest.join("."))?;
    let mut sub = Sql::select();
    sub.expr(inner)
        .from_as(Alias::new(target.name), Alias::new(&child))
        .and_where(
            col(&child, target.primary_key).equals((Alias::new(alias), Alias::new(field.name))),
        );
    Ok(Expr::SubQuery(
        None,
        Box::new(SubQueryStatement::SelectStatement(sub)),
    ))
}

pub(super) fn sort_terms(
    scope: &Scope<'_>,
    coll: &Collection,
    alias: &str,
    args: &ListArgs,
) -> Result<Vec<(Expr, Order)>> {
    let mut terms = Vec::new();
    for entry in &args.sort {
        let entry = entry.trim();
        if entry.is_empty() {
            continue;
        }
        let (path, order) = match entry.strip_prefix('-') {
            Some(path) => (path, Order::Desc),
            None => (entry, Order::Asc),
        };
        terms.push((sort_expr(scope, coll, alias, path)?, order));
    }
    // The primary key breaks ties, so that pages never overlap or skip rows.
    terms.push((col(alias, coll.primary_key), Order::Asc));
    Ok(terms)
}

pub(super) fn apply_order(
    scope: &Scope<'_>,
    coll: &Collection,
    alias: &str,
    args: &ListArgs,
    stmt: &mut SelectStatement,
) -> Result<()> {
    for (expr, order) in sort_terms(scope, coll, alias, args)? {
        stmt.order_by_expr(expr, order);
    }
    Ok(())
}

pub(super) fn key_values(backend: DbBackend, kind: FieldKind, ids: &[String]) -> Vec<Expr> {
    ids.iter()
        .filter_map(|id| match kind {
            FieldKind::Uuid => uuid::Uuid::parse_str(id)
                .ok()
                .map(|u| Expr::val(sql::uuid_value(backend, u))),
            FieldKind::Integer | FieldKind::BigInteger => id.parse::<i64>().ok().map(Expr::val),
            _ => Some(Expr::val(id.clone())),
        })
        .collect()
}

/// `alias.column IN (ids)`, typed for the column.
pub fn in_list(
    backend: DbBackend,
    alias: &str,
    column: &str,
    kind: FieldKind,
    ids: &[String],
) -> Expr {
    let values = key_values(backend, kind, ids);
    if values.is_empty() {
        return Expr::cust("1 = 0");
    }
    col(alias, column).is_in(values)
}

#[cfg(test)]
mod tests {
    use sea_orm::sea_query::{PostgresQueryBuilder, SqliteQueryBuilder};
    use serde_json::json;

    use super::*;
    use crate::{Accountability, Catalog};

    /// The statement as each backend's SQL text, its values inlined.
    fn sql(stmt: &SelectStatement) -> (String, String) {
        (
            stmt.to_string(SqliteQueryBuilder),
            stmt.to_string(PostgresQueryBuilder),
        )
    }

    fn select(backend: DbBackend, collection: &str, args: ListArgs) -> Result<SelectStatement> {
        let catalog = Catalog::system();
        let acc = Accountability::system();
        let scope = Scope::new(backend, &catalog, &acc);
        let coll = scope.collection(collection)?;
        let mut stmt = base_select(&scope, coll, "t0", &args)?;
        stmt.expr(col("t0", coll.primary_key));
        apply_order(&scope, coll, "t0", &args, &mut stmt)?;
        Ok(stmt)
    }

    #[test]
    fn a_plain_list_selects_from_the_aliased_table() {
        let stmt =
            select(DbBackend::Sqlite, "directus_flows", ListArgs::default()).expect("a statement");
        assert_eq!(
            sql(&stmt).0,
            r#"SELECT "t0"."id" FROM "directus_flows" AS "t0" ORDER BY "t0"."id" ASC"#
        );
    }

    #[test]
    fn search_is_a_contains_over_text_per_backend() {
        let args = ListArgs {
            search: Some("  Ada%  ".into()),
            ..ListArgs::default()
        };
        let sqlite =
            sql(&select(DbBackend::Sqlite, "directus_flows", args.clone()).expect("a statement")).0;
        let postgres =
            sql(&select(DbBackend::Postgres, "directus_flows", args).expect("a statement")).1;
        let texts = [
            "name",
            "icon",
            "color",
            "description",
            "status",
            "trigger",
            "accountability",
        ];
        let each = |part: &dyn Fn(&str) -> String| {
            texts
                .iter()
                .map(|c| format!("({})", part(c)))
                .collect::<Vec<_>>()
                .join(" OR ")
        };
        assert_eq!(
            sqlite,
            format!(
                r#"SELECT "t0"."id" FROM "directus_flows" AS "t0" WHERE {} ORDER BY "t0"."id" ASC"#,
                each(&|c| format!(r#"instr(LOWER("t0"."{c}"), LOWER('Ada%')) > 0"#))
            )
        );
        // The pattern's own `%` is escaped, the term lower-cased once.
        assert_eq!(
            postgres,
            format!(
                r#"SELECT "t0"."id" FROM "directus_flows" AS "t0" WHERE {} ORDER BY "t0"."id" ASC"#,
                each(&|c| format!(r#"LOWER("t0"."{c}") LIKE E'%ada\\%%' ESCAPE '\'"#))
            )
        );
        // A term that is no number and no uuid compares no numeric or uuid column.
        assert!(!postgres.contains(r#""t0"."id" ="#), "{postgres}");
    }

    #[test]
    fn a_blank_search_adds_nothing_and_nul_is_refused() {
        let blank = ListArgs {
            search: Some("   ".into()),
            ..ListArgs::default()
        };
        assert_eq!(
            sql(&select(DbBackend::Sqlite, "directus_flows", blank).expect("a statement")).0,
            r#"SELECT "t0"."id" FROM "directus_flows" AS "t0" ORDER BY "t0"."id" ASC"#
        );
        let nul = ListArgs {
            search: Some("a\0b".into()),
            ..ListArgs::default()
        };
        assert_eq!(
            select(DbBackend::Sqlite, "directus_flows", nul)
                .expect_err("refused")
                .to_string(),
            "Invalid query. \"search\" can't contain NUL characters."
        );
    }

    #[test]
    fn sort_entries_become_order_terms_in_their_order() {
        let args = ListArgs {
            sort: vec!["-name".into(), " status ".into()],
            ..ListArgs::default()
        };
        let (sqlite, _) =
            sql(&select(DbBackend::Sqlite, "directus_flows", args).expect("a statement"));
        assert!(
            sqlite.ends_with(r#"ORDER BY "t0"."name" DESC, "t0"."status" ASC, "t0"."id" ASC"#),
            "{sqlite}"
        );
    }

    #[test]
    fn sorting_by_an_unknown_field_is_refused() {
        let args = ListArgs {
            sort: vec!["nope".into()],
            ..ListArgs::default()
        };
        assert!(matches!(
            select(DbBackend::Sqlite, "directus_flows", args),
            Err(Error::Forbidden(_))
        ));
    }

    #[test]
    fn filters_join_the_where_clause() {
        let args = ListArgs {
            filter: Some(json!({"status": {"_eq": "active"}})),
            ..ListArgs::default()
        };
        let (sqlite, _) =
            sql(&select(DbBackend::Sqlite, "directus_flows", args).expect("a statement"));
        assert_eq!(
            sqlite,
            r#"SELECT "t0"."id" FROM "directus_flows" AS "t0" WHERE "t0"."status" = 'active' ORDER BY "t0"."id" ASC"#
        );
    }

    #[test]
    fn an_empty_in_list_matches_nothing() {
        let none = in_list(DbBackend::Sqlite, "t0", "id", FieldKind::Uuid, &[]);
        let mut stmt = Sql::select();
        stmt.expr(Expr::val(1)).and_where(none);
        assert_eq!(sql(&stmt).0, "SELECT 1 WHERE 1 = 0");
        let two = in_list(
            DbBackend::Sqlite,
            "t0",
            "id",
            FieldKind::Integer,
            &["1".into(), "2".into()],
        );
        let mut stmt = Sql::select();
        stmt.expr(Expr::val(1)).and_where(two);
        assert_eq!(sql(&stmt).0, r#"SELECT 1 WHERE "t0"."id" IN (1, 2)"#);
    }
}
