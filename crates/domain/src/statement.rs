//! The state one SQL statement is compiled in: the backend, the catalogue, the caller (for
//! dynamic filter values) and a counter handing out table aliases.

use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::Utc;
use sea_orm::DbBackend;
use serde_json::Value;

use crate::accountability::Accountability;
use crate::catalog::{Catalog, Collection, Field};
use crate::error::{Error, Result};
use crate::js;
use crate::sql::format_timestamp;

pub struct Scope<'a> {
    pub backend: DbBackend,
    /// What the caller may see: unknown and hidden fields alike are refused.
    pub catalog: &'a Catalog,
    /// Everything, for compiling permission filters.
    pub full: &'a Catalog,
    pub accountability: &'a Accountability,
    aliases: AtomicUsize,
    prefix: &'static str,
}

impl<'a> Scope<'a> {
    pub fn new(
        backend: DbBackend,
        catalog: &'a Catalog,
        accountability: &'a Accountability,
    ) -> Self {
        Scope {
            backend,
            catalog,
            full: catalog,
            accountability,
            aliases: AtomicUsize::new(0),
            prefix: "t",
        }
    }

    /// A scope whose user-given parts see `catalog` while permission filters see `full`.
    pub fn guarded(
        backend: DbBackend,
        catalog: &'a Catalog,
        full: &'a Catalog,
        accountability: &'a Accountability,
    ) -> Self {
        Scope {
            full,
            ..Scope::new(backend, catalog, accountability)
        }
    }

    /// The scope permission filters compile in: the whole catalogue, and table aliases of
    /// their own so that they never clash with the statement around them.
    pub fn for_guard(&self) -> Scope<'a> {
        let start = self.aliases.fetch_add(1, Ordering::Relaxed) * 1000;
        Scope {
            backend: self.backend,
            catalog: self.full,
            full: self.full,
            accountability: self.accountability,
            aliases: AtomicUsize::new(start),
            prefix: "g",
        }
    }

    /// A table alias not used elsewhere in this statement.
    pub fn next_alias(&self) -> String {
        let n = self.aliases.fetch_add(1, Ordering::Relaxed);
        format!("{}{n}", self.prefix)
    }

    pub fn collection(&self, name: &str) -> Result<&'a Collection> {
        self.catalog
            .get(name)
            .ok_or_else(|| Error::Internal(format!("collection {name} missing from catalogue")))
    }

    /// Looks a field up, answering an unknown one as Directus does (403, naming it).
    pub fn field<'c>(&self, coll: &'c Collection, name: &str) -> Result<&'c Field> {
        coll.field(name)
            .ok_or_else(|| Error::unknown_field(name, coll.name, "root"))
    }

    /// Replaces Directus's dynamic variables (`$NOW`, `$NOW(-1 day)` as [`js::date`] reads it, `$CURRENT_USER`,
    /// `$CURRENT_ROLE`, `$CURRENT_ROLES`) in a filter operand.
    pub fn resolve_variables(&self, operand: &Value) -> Value {
        match operand {
            Value::String(s) => self.variable(s).unwrap_or_else(|| operand.clone()),
            Value::Array(items) => {
                Value::Array(items.iter().map(|i| self.resolve_variables(i)).collect())
            }
            other => other.clone(),
        }
    }

    fn variable(&self, text: &str) -> Option<Value> {
        let acc = self.accountability;
        match text {
            "$CURRENT_USER" => return Some(acc.user.clone().map_or(Value::Null, Value::from)),
            "$CURRENT_ROLE" => return Some(acc.role.clone().map_or(Value::Null, Value::from)),
            "$CURRENT_ROLES" => return Some(Value::from(acc.roles.clone())),
            _ => {}
        }
        // An adjustment Directus cannot read leaves the operand as it was written.
        let at = js::date::now_variable(text, Utc::now())??;
        Some(Value::from(format_timestamp(at)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now_adjusted(adjust: &str) -> Option<chrono::DateTime<Utc>> {
        js::date::adjust_date(Utc::now(), adjust)
    }

    #[test]
    fn now_accepts_directus_adjustments() {
        let day = now_adjusted("-1 day").expect("day");
        let diff = Utc::now() - day;
        assert!(diff.num_hours() >= 23 && diff.num_hours() <= 24);
        assert!(now_adjusted("+2 hours").is_some());
        assert!(now_adjusted("3").is_some());
        assert!(now_adjusted("1 fortnight").is_none());
    }

    /// REST and GraphQL filters read `$NOW(...)` as the `condition` operation does: fractions
    /// and every unit spelling Directus knows, and nothing Directus refuses.
    #[test]
    fn now_variables_match_the_condition_operation() {
        let catalog = Catalog::system();
        let acc = Accountability::default();
        let scope = Scope::new(DbBackend::Sqlite, &catalog, &acc);
        for text in [
            "$NOW(1.5 hours)",
            "$NOW(-2 yrs)",
            "$NOW(1 mth)",
            "$NOW(3 hrs)",
            "$NOW",
        ] {
            let resolved = scope.resolve_variables(&Value::from(text));
            assert!(
                resolved.as_str().is_some_and(|s| s.ends_with('Z')),
                "{text}: {resolved}"
            );
        }
        // Directus refuses spaces around the adjustment; the operand stays as written.
        for text in ["$NOW( 1 day)", "$NOW(1 dayss)", "$NOW(soon)"] {
            assert_eq!(
                scope.resolve_variables(&Value::from(text)),
                Value::from(text)
            );
        }
    }
}
