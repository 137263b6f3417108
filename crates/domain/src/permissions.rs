//! What a caller may do: `directus_permissions` rows grant a role (or the public, role null)
//! an action on a collection, with an optional row filter and field list. Admins bypass
//! them.
//!
//! Several rows for the same role, collection and action add up, as Directus merges
//! permissions: their row filters are OR-ed (a row without a filter allows every row) and
//! their field lists united (`*` or a missing list allows every field). The primary key is
//! always readable, so that rows can be told apart.

use std::collections::HashMap;

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query as Sql};
use sea_orm::{ConnectionTrait, DbBackend};
use serde_json::{Value, json};

use crate::accountability::Accountability;
use crate::catalog::{Catalog, Collection, Relation};
use crate::error::{Error, Result};
use crate::sql::{self, col};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Create,
    Read,
    Update,
    Delete,
}

impl Action {
    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "create" => Action::Create,
            "read" => Action::Read,
            "update" => Action::Update,
            "delete" => Action::Delete,
            _ => return None,
        })
    }
}

/// One merged grant.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Grant {
    /// The rows the action may touch; `None` for all.
    pub filter: Option<Value>,
    /// The fields the action may touch; `None` for all.
    pub fields: Option<Vec<String>>,
}

impl Grant {
    pub fn allows_field(&self, name: &str) -> bool {
        self.fields
            .as_ref()
            .is_none_or(|list| list.iter().any(|f| f == name))
    }

    fn merge(&mut self, filter: Option<Value>, fields: Option<Vec<String>>, first: bool) {
        self.filter = match (first, self.filter.take(), filter) {
            (true, _, f) => f,
            (false, None, _) | (false, _, None) => None,
            (false, Some(Value::Object(mut a)), Some(b)) if a.contains_key("_or") => {
                if let Some(Value::Array(list)) = a.get_mut("_or") {
                    list.push(b);
                }
                Some(Value::Object(a))
            }
            (false, Some(a), Some(b)) => Some(json!({"_or": [a, b]})),
        };
        self.fields = match (first, self.fields.take(), fields) {
            (true, _, f) => f,
            (false, None, _) | (false, _, None) => None,
            (false, Some(mut a), Some(b)) => {
                for f in b {
                    if !a.contains(&f) {
                        a.push(f);
                    }
                }
                Some(a)
            }
        };
    }
}

/// Everything one caller may do, loaded once per request.
#[derive(Debug, Clone)]
pub enum Grants {
    /// Admins (and flows running with full access): no checks.
    All,
    /// The caller's role's grants, by collection and action.
    Some(HashMap<(String, Action), Grant>),
}

impl Grants {
    /// Loads the grants of `acc`'s role, or of the public when it has none.
    pub async fn load(db: &impl ConnectionTrait, acc: &Accountability) -> Result<Self> {
        if acc.admin {
            return Ok(Grants::All);
        }
        let backend = db.get_database_backend();
        let mut stmt = Sql::select();
        stmt.exprs([
            col("p", "collection"),
            col("p", "action"),
            col("p", "permissions"),
            col("p", "fields"),
        ])
        .from_as(Alias::new("directus_permissions"), Alias::new("p"));
        match acc.role.as_deref().map(uuid::Uuid::parse_str) {
            Some(Ok(role)) => {
                stmt.and_where(col("p", "role").eq(Expr::val(sql::uuid_value(backend, role))));
            }
            // A role that is not a uuid matches no row.
            Some(Err(_)) => return Ok(Grants::Some(HashMap::new())),
            None => {
                stmt.and_where(col("p", "role").is_null());
            }
        }
        stmt.order_by_expr(col("p", "id"), sea_orm::Order::Asc);
        let rows = db.query_all(&stmt).await?;
        let mut grants: HashMap<(String, Action), Grant> = HashMap::new();
        for row in rows {
            let collection: String = row.try_get_by_index(0)?;
            let action: String = row.try_get_by_index(1)?;
            let Some(action) = Action::parse(&action) else {
                continue;
            };
            let filter = json_column(backend, &row, 2)?.filter(|f| {
                // `{}` is Directus's "no restriction".
                !f.as_object().is_some_and(serde_json::Map::is_empty)
            });
            let fields = match json_column(backend, &row, 3)? {
                Some(Value::Array(list)) => {
                    let names: Vec<String> = list
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect();
                    (!names.iter().any(|n| n == "*")).then_some(names)
                }
                Some(Value::String(csv)) => {
                    let names: Vec<String> = csv.split(',').map(|n| n.trim().to_string()).collect();
                    (!names.iter().any(|n| n == "*")).then_some(names)
                }
                _ => None,
            };
            let entry = grants.entry((collection, action));
            let first = matches!(entry, std::collections::hash_map::Entry::Vacant(_));
            entry.or_default().merge(filter, fields, first);
        }
        Ok(Grants::Some(grants))
    }

    /// The grant for an action, `Ok(None)` when unrestricted, `FORBIDDEN` when there is none.
    pub fn get(&self, collection: &str, action: Action) -> Result<Option<&Grant>> {
        match self {
            Grants::All => Ok(None),
            Grants::Some(map) => map
                .get(&(collection.to_string(), action))
                .map(Some)
                .ok_or_else(Error::forbidden),
        }
    }

    pub fn is_all(&self) -> bool {
        matches!(self, Grants::All)
    }

    /// The catalogue as a reader sees it: only the fields it may read, relations to
    /// collections it may not read left out. Unknown fields then answer `FORBIDDEN` in
    /// `fields`, filters, sorts and search, exactly as hidden ones must.
    pub fn readable(&self, catalog: &Catalog) -> Catalog {
        let Grants::Some(map) = self else {
            return catalog.clone();
        };
        let can_read = |name: &str| map.contains_key(&(name.to_string(), Action::Read));
        catalog.map_collections(|coll: &Collection| {
            let grant = map.get(&(coll.name.to_string(), Action::Read));
            let mut coll = coll.clone();
            coll.fields.retain(|f| {
                let allowed =
                    f.name == coll.primary_key || grant.is_some_and(|g| g.allows_field(f.name));
                let target_ok = match &f.relation {
                    Some(Relation::ManyToOne { target }) => can_read(target),
                    Some(Relation::OneToMany { target, .. }) => can_read(target),
                    None => true,
                };
                allowed && (target_ok || f.has_column())
            });
            coll
        })
    }
}

fn json_column(
    backend: DbBackend,
    row: &sea_orm::QueryResult,
    idx: usize,
) -> Result<Option<Value>> {
    let value = sql::decode(
        backend,
        row,
        idx,
        sql::Decode::Field(crate::catalog::FieldKind::Json),
    )?;
    Ok((!Value::is_null(&value)).then_some(value))
}
