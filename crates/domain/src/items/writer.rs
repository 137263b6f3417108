//! The writer of one transaction: creates, updates and deletes with their nested relations,
//! permission checks, activity and revisions.

use std::collections::HashSet;

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query as Sql};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend};
use serde_json::{Map, Value};

use crate::accountability::Accountability;
use crate::catalog::{Catalog, Collection, Field, FieldKind, Managed, Relation};
use crate::error::{Error, FieldViolation, Result};
use crate::flow_graph;
use crate::permissions::{Action, Grants};
use crate::query::ReadNode;
use crate::read::{self, in_list};
use crate::sql::{self, col};
use crate::statement::Scope;

use super::*;

/// One transaction's writes.
pub(super) struct Writer<'s> {
    pub(super) catalog: &'s Catalog,
    pub(super) grants: &'s Grants,
    pub(super) acc: &'s Accountability,
    pub(super) origin: Origin,
    pub(super) backend: DbBackend,
    pub(super) changes: Changes,
}

pub(super) type BoxFuture<'a, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

impl<'s> Writer<'s> {
    pub(super) fn collection(&self, name: &str) -> Result<&'s Collection> {
        self.catalog
            .get(name)
            .ok_or_else(|| Error::Internal(format!("unknown collection {name}")))
    }

    pub(super) async fn exists(
        &self,
        tx: &DatabaseTransaction,
        coll: &Collection,
        key: &str,
    ) -> Result<bool> {
        let mut stmt = Sql::select();
        stmt.expr(Expr::cust("1"))
            .from_as(Alias::new(coll.name), Alias::new("t0"))
            .and_where(in_list(
                self.backend,
                "t0",
                coll.primary_key,
                coll.pk_field().kind,
                &[key.to_string()],
            ))
            .limit(1);
        Ok(tx.query_one(&stmt).await?.is_some())
    }

    /// Creates one item (and the related items nested in it); answers its key.
    pub(super) fn create<'a>(
        &'a mut self,
        tx: &'a DatabaseTransaction,
        coll: &'a Collection,
        item: Value,
    ) -> BoxFuture<'a, Result<String>> {
        Box::pin(async move {
            let Value::Object(mut obj) = item else {
                return Err(Error::payload(format!(
                    "Items in \"{}\" have to be objects",
                    coll.name
                )));
            };
            let grant = self.grants.get(coll.name, Action::Create)?;
            check_fields(coll, grant, &obj)?;
            let given = match obj.get(coll.primary_key).and_then(key_text) {
                Some(key) => {
                    self.bind(coll, coll.pk_field(), &Value::from(key.clone()))
                        .map_err(|_| {
                            Error::payload(format!(
                                "Invalid {} value for field \"{}\"",
                                coll.pk_field().kind.directus_name(),
                                coll.primary_key
                            ))
                        })?;
                    if self.exists(tx, coll, &key).await? {
                        return Err(Error::RecordNotUnique {
                            collection: coll.name.to_string(),
                            field: coll.primary_key.to_string(),
                            value: key,
                        });
                    }
                    Some(key)
                }
                None if coll.generated_key => None,
                // System collections generate uuid keys as Directus's `uuid` special does;
                // a user table's key comes from its default or from the client.
                None if !coll.is_user() && coll.pk_field().kind == FieldKind::Uuid => {
                    Some(uuid::Uuid::new_v4().to_string())
                }
                None => {
                    return Err(Error::FailedValidation(vec![FieldViolation::required(
                        coll.primary_key,
                    )]));
                }
            };
            match &given {
                Some(key) => {
                    obj.insert(coll.primary_key.to_string(), Value::from(key.clone()));
                }
                None => {
                    obj.remove(coll.primary_key);
                }
            }
            for field in &coll.fields {
                match field.managed {
                    Managed::DateCreated => {
                        obj.insert(
                            field.name.to_string(),
                            Value::from(sql::format_timestamp(chrono::Utc::now())),
                        );
                    }
                    Managed::UserCreated => {
                        obj.insert(
                            field.name.to_string(),
                            self.acc.user.clone().map_or(Value::Null, Value::from),
                        );
                    }
                    Managed::No => {}
                }
            }
            let deferred = self
                .resolve_relations(tx, coll, &mut obj, given.as_deref())
                .await?;
            let violations = validate(coll, &obj, true);
            if !violations.is_empty() {
                return Err(Error::FailedValidation(violations));
            }
            self.check_references(tx, coll, &obj, given.as_deref().unwrap_or_default())
                .await?;
            let mut columns = Vec::new();
            let mut values = Vec::new();
            for field in coll.columns() {
                if let Some(value) = obj.get(field.name) {
                    columns.push(Alias::new(field.name));
                    values.push(Expr::val(self.bind(coll, field, value)?));
                }
            }
            let mut stmt = Sql::insert();
            stmt.into_table(Alias::new(coll.name))
                .columns(columns)
                .values(values)
                .map_err(|e| Error::Internal(e.to_string()))?;
            let key = match given {
                Some(key) => {
                    tx.execute(&stmt).await.map_err(translate)?;
                    key
                }
                None => {
                    if obj.is_empty() {
                        // `INSERT INTO t () VALUES ()` is not SQL: every column defaulted.
                        stmt = Sql::insert();
                        stmt.into_table(Alias::new(coll.name)).or_default_values();
                    }
                    stmt.returning_col(Alias::new(coll.primary_key));
                    let row = tx
                        .query_one(&stmt)
                        .await
                        .map_err(translate)?
                        .ok_or_else(|| Error::Internal("insert returned no key".into()))?;
                    let key = sql::decode(
                        self.backend,
                        &row,
                        0,
                        sql::Decode::Field(coll.pk_field().kind),
                    )?;
                    obj.insert(coll.primary_key.to_string(), key.clone());
                    key_text(&key)
                        .ok_or_else(|| Error::Internal("insert returned a null key".into()))?
                }
            };
            if let Some(guard) = grant.and_then(|g| g.filter.as_ref()) {
                // The new row must be one the caller's filter allows.
                self.check_guard(tx, coll, std::slice::from_ref(&key), guard)
                    .await?;
            }
            self.touch(coll, &obj, &key);
            self.changes.record(
                coll.name,
                MutationEvent::Create,
                &key,
                Some(Value::Object(obj.clone())),
                self.acc,
                self.origin,
            );
            self.log(tx, coll, MutationEvent::Create, &key, Some(&obj))
                .await?;
            self.write_children(tx, &key, deferred, false).await?;
            Ok(key)
        })
    }

    /// Updates one item; a key that matches nothing changes nothing (Directus answers it
    /// like a success).
    pub(super) fn update<'a>(
        &'a mut self,
        tx: &'a DatabaseTransaction,
        coll: &'a Collection,
        key: &'a str,
        data: Value,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let Value::Object(mut obj) = data else {
                return Err(Error::payload("\"data\" must be of type object"));
            };
            let grant = self.grants.get(coll.name, Action::Update)?;
            check_fields(coll, grant, &obj)?;
            if !self.exists(tx, coll, key).await? {
                // Admins may update nothing; others learn no more than Directus tells them.
                return if self.grants.is_all() {
                    Ok(())
                } else {
                    Err(Error::forbidden())
                };
            }
            if let Some(guard) = grant.and_then(|g| g.filter.as_ref()) {
                self.check_guard(tx, coll, &[key.to_string()], guard)
                    .await?;
            }
            obj.remove(coll.primary_key);
            for field in &coll.fields {
                if field.managed != Managed::No {
                    obj.remove(field.name);
                }
            }
            let deferred = self
                .resolve_relations(tx, coll, &mut obj, Some(key))
                .await?;
            let violations = validate(coll, &obj, false);
            if !violations.is_empty() {
                return Err(Error::FailedValidation(violations));
            }
            self.check_references(tx, coll, &obj, key).await?;
            if coll.name == "directus_operations" {
                // The flow it belongs to before the change must be re-checked too: moving an
                // operation out may leave pointers of that flow leading outside it.
                if let Some(flow) = self.operation_flow(tx, key).await? {
                    self.changes.flows.insert(flow);
                }
            }
            let mut stmt = Sql::update();
            stmt.table(Alias::new(coll.name));
            let mut any = false;
            for field in coll.columns() {
                if let Some(value) = obj.get(field.name) {
                    stmt.value(
                        Alias::new(field.name),
                        Expr::val(self.bind(coll, field, value)?),
                    );
                    any = true;
                }
            }
            if any {
                stmt.and_where(
                    Expr::col(Alias::new(coll.primary_key)).eq(Expr::val(sql::bind(
                        self.backend,
                        coll.pk_field().kind,
                        coll.primary_key,
                        &Value::from(key),
                    )?)),
                );
                tx.execute(&stmt).await.map_err(translate)?;
            }
            self.touch(coll, &obj, key);
            self.changes.record(
                coll.name,
                MutationEvent::Update,
                key,
                Some(Value::Object(obj.clone())),
                self.acc,
                self.origin,
            );
            self.log(tx, coll, MutationEvent::Update, key, Some(&obj))
                .await?;
            self.write_children(tx, key, deferred, true).await?;
            Ok(())
        })
    }

    /// Deletes items; whatever still points at them is cleared (nullable references) or
    /// deleted with them (required ones, such as an operation's flow).
    ///
    /// `checked` writes need the caller's delete permission; the cascades a delete causes
    /// do not, as the database's own `ON DELETE` rules would not ask either.
    pub(super) fn delete<'a>(
        &'a mut self,
        tx: &'a DatabaseTransaction,
        coll: &'a Collection,
        keys: &'a [String],
        checked: bool,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let grant = if checked {
                self.grants.get(coll.name, Action::Delete)?
            } else {
                None
            };
            // Non-admins may only delete rows that all exist (and match their filter).
            let requested = keys.iter().collect::<HashSet<_>>().len();
            let keys: Vec<String> = keys
                .iter()
                .filter(|k| {
                    coll.pk_field().kind != FieldKind::Uuid || uuid::Uuid::parse_str(k).is_ok()
                })
                .cloned()
                .collect();
            if checked && !self.grants.is_all() && keys.len() < requested {
                return Err(Error::forbidden());
            }
            if keys.is_empty() {
                return Ok(());
            }
            // Only rows that exist are announced and logged.
            let mut existing = Sql::select();
            existing
                .expr(col("t0", coll.primary_key))
                .from_as(Alias::new(coll.name), Alias::new("t0"))
                .and_where(in_list(
                    self.backend,
                    "t0",
                    coll.primary_key,
                    coll.pk_field().kind,
                    &keys,
                ));
            let keys = read_keys(tx, self.backend, coll, existing).await?;
            if checked && !self.grants.is_all() && keys.len() < requested {
                return Err(Error::forbidden());
            }
            if keys.is_empty() {
                return Ok(());
            }
            if let Some(guard) = grant.and_then(|g| g.filter.as_ref()) {
                self.check_guard(tx, coll, &keys, guard).await?;
            }
            let catalog = self.catalog;
            for other in catalog.collections() {
                for field in other.columns() {
                    if field.m2o_target() != Some(coll.name) {
                        continue;
                    }
                    let cond = in_list(self.backend, "t0", field.name, field.kind, &keys);
                    if field.not_null {
                        let mut stmt = Sql::select();
                        stmt.expr(col("t0", other.primary_key))
                            .from_as(Alias::new(other.name), Alias::new("t0"))
                            .and_where(cond);
                        let dependants = read_keys(tx, self.backend, other, stmt).await?;
                        let dependants: Vec<String> = dependants
                            .into_iter()
                            .filter(|k| !(other.name == coll.name && keys.contains(k)))
                            .collect();
                        if !dependants.is_empty() {
                            self.delete(tx, other, &dependants, false).await?;
                        }
                    } else {
                        let mut stmt = Sql::update();
                        stmt.table(Alias::new(other.name))
                            .value(
                                Alias::new(field.name),
                                Expr::val(sql::bind(
                                    self.backend,
                                    field.kind,
                                    field.name,
                                    &Value::Null,
                                )?),
                            )
                            .and_where(in_list(
                                self.backend,
                                other.name,
                                field.name,
                                field.kind,
                                &keys,
                            ));
                        tx.execute(&stmt).await.map_err(translate)?;
                    }
                }
            }
            let mut stmt = Sql::delete();
            stmt.from_table(Alias::new(coll.name)).and_where(in_list(
                self.backend,
                coll.name,
                coll.primary_key,
                coll.pk_field().kind,
                &keys,
            ));
            tx.execute(&stmt).await.map_err(translate)?;
            for key in &keys {
                self.changes.record(
                    coll.name,
                    MutationEvent::Delete,
                    key,
                    None,
                    self.acc,
                    self.origin,
                );
                self.log(tx, coll, MutationEvent::Delete, key, None).await?;
            }
            Ok(())
        })
    }

    /// Refuses the write unless every key's row matches the caller's row filter.
    pub(super) async fn check_guard(
        &self,
        tx: &DatabaseTransaction,
        coll: &Collection,
        keys: &[String],
        guard: &Value,
    ) -> Result<()> {
        let scope = Scope::new(self.backend, self.catalog, self.acc);
        let alias = scope.next_alias();
        let mut stmt = Sql::select();
        stmt.expr(col(&alias, coll.primary_key))
            .from_as(Alias::new(coll.name), Alias::new(&alias))
            .and_where(in_list(
                self.backend,
                &alias,
                coll.primary_key,
                coll.pk_field().kind,
                keys,
            ))
            .and_where(crate::filter::compile(&scope, coll, &alias, guard)?);
        let allowed = read_keys(tx, self.backend, coll, stmt).await?;
        if allowed.len() == keys.len() {
            Ok(())
        } else {
            Err(Error::forbidden())
        }
    }

    /// Records a write as Directus does, in the write's transaction: an activity row
    /// (`create`, `update`, `delete`) and, except for deletes, a revision holding the full
    /// row (`data`) and the fields written (`delta`).
    pub(super) async fn log(
        &self,
        tx: &DatabaseTransaction,
        coll: &Collection,
        event: MutationEvent,
        key: &str,
        written: Option<&Map<String, Value>>,
    ) -> Result<()> {
        let backend = self.backend;
        let activity =
            crate::activity::insert(tx, event.as_str(), Some(self.acc), coll.name, key).await?;
        let Some(written) = written else {
            return Ok(());
        };
        let mut node = ReadNode::new(coll.name);
        for field in coll.columns() {
            node.select.push(crate::query::Select::Field {
                field: field.name.to_string(),
                key: field.name.to_string(),
            });
        }
        let scope = Scope::new(backend, self.catalog, self.acc);
        let data = read::read(tx, &scope, &node, Some(&[key.to_string()]))
            .await?
            .into_iter()
            .next()
            .unwrap_or(Value::Null);
        let delta: Map<String, Value> = written
            .iter()
            .filter(|(name, _)| coll.field(name).is_some_and(Field::has_column))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        crate::activity::insert_revision(
            tx,
            activity,
            coll.name,
            key,
            &data,
            &Value::Object(delta),
        )
        .await?;
        Ok(())
    }

    pub(super) async fn operation_flow(
        &self,
        tx: &DatabaseTransaction,
        key: &str,
    ) -> Result<Option<String>> {
        let coll = self.collection("directus_operations")?;
        let mut stmt = Sql::select();
        stmt.expr(col("t0", "flow"))
            .from_as(Alias::new(coll.name), Alias::new("t0"))
            .and_where(in_list(
                self.backend,
                "t0",
                "id",
                FieldKind::Uuid,
                &[key.to_string()],
            ));
        Ok(read_keys(tx, self.backend, coll, stmt)
            .await?
            .into_iter()
            .next())
    }

    /// Remembers which flows' graphs this write may have changed.
    pub(super) fn touch(&mut self, coll: &Collection, obj: &Map<String, Value>, key: &str) {
        match coll.name {
            "directus_flows" => {
                self.changes.flows.insert(key.to_string());
            }
            "directus_operations" => {
                if let Some(flow) = obj.get("flow").and_then(key_text) {
                    self.changes.flows.insert(flow);
                }
            }
            _ => {}
        }
    }

    pub(super) fn bind(
        &self,
        coll: &Collection,
        field: &Field,
        value: &Value,
    ) -> Result<sea_orm::sea_query::Value> {
        sql::bind(self.backend, field.kind, field.name, value)
            .map_err(|err| match err {
                Error::InvalidQuery(reason) => Error::FailedValidation(vec![FieldViolation {
                    field: field.name.to_string(),
                    kind: "type",
                    message: format!("Validation failed for field \"{}\". {reason}.", field.name),
                    extra: Map::new(),
                }]),
                other => other,
            })
            .and_then(|v| {
                if let (Some(max), Value::String(s)) = (field.max_length, value)
                    && s.chars().count() > max
                {
                    return Err(Error::ValueTooLong {
                        collection: coll.name.to_string(),
                        field: field.name.to_string(),
                    });
                }
                let decimal_overflows = field.numeric.is_some_and(|(precision, scale)| {
                    let text = match value {
                        Value::Number(n) => n.to_string(),
                        Value::String(s) => s.trim().to_string(),
                        _ => return false,
                    };
                    let whole = text
                        .trim_start_matches(['-', '+'])
                        .split(['.', 'e', 'E'])
                        .next()
                        .unwrap_or_default()
                        .trim_start_matches('0')
                        .len();
                    whole > precision.saturating_sub(scale) as usize
                });
                let integer_overflows = field.kind == FieldKind::Integer
                    && value
                        .as_i64()
                        .or_else(|| value.as_f64().map(|f| f as i64))
                        .is_some_and(|n| i32::try_from(n).is_err());
                if decimal_overflows || integer_overflows {
                    return Err(Error::ValueOutOfRange {
                        collection: coll.name.to_string(),
                        field: field.name.to_string(),
                    });
                }
                Ok(v)
            })
    }

    /// Replaces nested m2o objects by the keys of the rows they create or link, and takes
    /// o2m arrays out of the payload to be written once the parent exists.
    pub(super) async fn resolve_relations(
        &mut self,
        tx: &DatabaseTransaction,
        coll: &Collection,
        obj: &mut Map<String, Value>,
        _key: Option<&str>,
    ) -> Result<Vec<(&'s Field, Value)>> {
        let mut deferred = Vec::new();
        let names: Vec<String> = obj.keys().cloned().collect();
        for name in names {
            let Some(field) = self.collection(coll.name)?.field(&name) else {
                // Unknown payload fields are ignored, as Directus does.
                obj.remove(&name);
                continue;
            };
            match &field.relation {
                Some(Relation::ManyToOne { target }) => {
                    if let Some(Value::Object(nested)) = obj.get(&name).cloned() {
                        let target = self.collection(target)?;
                        let key = self.upsert_related(tx, target, nested).await?;
                        obj.insert(name.clone(), Value::from(key));
                    }
                }
                Some(Relation::OneToMany { .. }) => {
                    if let Some(value) = obj.remove(&name)
                        && !Value::is_null(&value)
                    {
                        deferred.push((field, value));
                    }
                }
                None => {}
            }
        }
        Ok(deferred)
    }

    /// A nested object links the row with its key when that row exists (updating it with
    /// any other fields given), and creates a new row otherwise.
    pub(super) async fn upsert_related(
        &mut self,
        tx: &DatabaseTransaction,
        target: &'s Collection,
        mut nested: Map<String, Value>,
    ) -> Result<String> {
        if let Some(key) = nested.get(target.primary_key).and_then(key_text)
            && self.exists(tx, target, &key).await?
        {
            nested.remove(target.primary_key);
            if !nested.is_empty() {
                if !target.writable {
                    return Err(Error::forbidden());
                }
                self.update(tx, target, &key, Value::Object(nested)).await?;
            }
            return Ok(key);
        }
        if !target.writable {
            return Err(Error::forbidden());
        }
        self.create(tx, target, Value::Object(nested)).await
    }

    /// Writes o2m children: scalars link existing rows, objects with a known key update them,
    /// other objects create them. On update the list replaces the set: children left out are
    /// deleted (Directus's `one_deselect_action: delete` for operations) or unlinked.
    /// The detailed form `{create, update, delete}` changes only what it names.
    pub(super) async fn write_children(
        &mut self,
        tx: &DatabaseTransaction,
        key: &str,
        deferred: Vec<(&'s Field, Value)>,
        replace: bool,
    ) -> Result<()> {
        for (field, value) in deferred {
            let Some(Relation::OneToMany {
                target,
                foreign_field,
            }) = &field.relation
            else {
                continue;
            };
            let target = self.collection(target)?;
            if !target.writable {
                return Err(Error::forbidden());
            }
            let (items, deletes, replace) = match value {
                Value::Array(items) => (items, Vec::new(), replace),
                Value::Object(mut detail) => {
                    let mut items = Vec::new();
                    for part in ["create", "update"] {
                        if let Some(Value::Array(list)) = detail.remove(part) {
                            items.extend(list);
                        }
                    }
                    let deletes = match detail.remove("delete") {
                        Some(Value::Array(list)) => list.iter().filter_map(key_text).collect(),
                        _ => Vec::new(),
                    };
                    (items, deletes, false)
                }
                _ => {
                    return Err(Error::payload(format!(
                        "\"{}\" has to be an array",
                        field.name
                    )));
                }
            };
            check_batch(items.len())?;
            let mut kept = Vec::new();
            for item in items {
                let child_key = match item {
                    Value::Object(mut obj) => {
                        obj.insert(foreign_field.to_string(), Value::from(key));
                        match obj.get(target.primary_key).and_then(key_text) {
                            Some(existing) if self.exists(tx, target, &existing).await? => {
                                self.update(tx, target, &existing, Value::Object(obj))
                                    .await?;
                                existing
                            }
                            _ => self.create(tx, target, Value::Object(obj)).await?,
                        }
                    }
                    other => {
                        let existing = key_text(&other).ok_or_else(|| {
                            Error::payload(format!("Invalid item in \"{}\"", field.name))
                        })?;
                        if !self.exists(tx, target, &existing).await? {
                            return Err(Error::InvalidForeignKey {
                                collection: target.name.to_string(),
                                field: target.primary_key.to_string(),
                                value: existing,
                            });
                        }
                        let mut link = Map::new();
                        link.insert(foreign_field.to_string(), Value::from(key));
                        self.update(tx, target, &existing, Value::Object(link))
                            .await?;
                        existing
                    }
                };
                kept.push(child_key);
            }
            let mut removed = deletes;
            if replace {
                let mut stmt = Sql::select();
                let fk = target
                    .field(foreign_field)
                    .ok_or_else(|| Error::Internal("o2m foreign key missing".into()))?;
                stmt.expr(col("t0", target.primary_key))
                    .from_as(Alias::new(target.name), Alias::new("t0"))
                    .and_where(in_list(
                        self.backend,
                        "t0",
                        foreign_field,
                        fk.kind,
                        &[key.to_string()],
                    ));
                for child in read_keys(tx, self.backend, target, stmt).await? {
                    if !kept.contains(&child) {
                        removed.push(child);
                    }
                }
            }
            if !removed.is_empty() {
                self.delete(tx, target, &removed, true).await?;
            }
        }
        Ok(())
    }

    /// Foreign keys must name existing rows, and unique references must stay unique:
    /// checked here so that clients get Directus's codes with the field and value.
    pub(super) async fn check_references(
        &self,
        tx: &DatabaseTransaction,
        coll: &Collection,
        obj: &Map<String, Value>,
        key: &str,
    ) -> Result<()> {
        for field in coll.columns() {
            let Some(value) = obj.get(field.name).and_then(key_text) else {
                continue;
            };
            if let Some(target) = field.m2o_target() {
                let target = self.collection(target)?;
                let valid = uuid::Uuid::parse_str(&value).is_ok()
                    || target.pk_field().kind != FieldKind::Uuid;
                if !valid || !self.exists(tx, target, &value).await? {
                    return Err(Error::InvalidForeignKey {
                        collection: coll.name.to_string(),
                        field: field.name.to_string(),
                        value,
                    });
                }
            }
            if field.unique {
                let mut stmt = Sql::select();
                stmt.expr(Expr::cust("1"))
                    .from_as(Alias::new(coll.name), Alias::new("t0"))
                    .and_where(in_list(
                        self.backend,
                        "t0",
                        field.name,
                        field.kind,
                        std::slice::from_ref(&value),
                    ))
                    .and_where(
                        in_list(
                            self.backend,
                            "t0",
                            coll.primary_key,
                            coll.pk_field().kind,
                            &[key.to_string()],
                        )
                        .not(),
                    )
                    .limit(1);
                if tx.query_one(&stmt).await?.is_some() {
                    return Err(Error::RecordNotUnique {
                        collection: coll.name.to_string(),
                        field: field.name.to_string(),
                        value,
                    });
                }
            }
        }
        if coll.name == "directus_operations" {
            flow_graph::check_key_unique(tx, self.backend, obj, key).await?;
        }
        if coll.name == "directus_permissions"
            && let (Some(Value::String(target)), Some(filter @ Value::Object(_))) =
                (obj.get("collection"), obj.get("permissions"))
            && let Some(target) = self.catalog.get(target)
        {
            // A filter that cannot compile would break every later read of that role:
            // refuse it now, with the reason.
            let scope = Scope::new(self.backend, self.catalog, self.acc);
            crate::filter::compile(&scope, target, "t0", filter).map_err(|err| {
                Error::payload(format!("\"permissions\" is not a valid filter: {err}"))
            })?;
        }
        Ok(())
    }
}

/// A payload may only name fields the grant lists (fields unknown to the collection are
/// dropped later, as Directus ignores them).
pub(super) fn check_fields(
    coll: &Collection,
    grant: Option<&crate::permissions::Grant>,
    obj: &Map<String, Value>,
) -> Result<()> {
    let Some(grant) = grant else { return Ok(()) };
    let hidden: Vec<&str> = obj
        .keys()
        .map(String::as_str)
        .filter(|name| coll.field(name).is_some() && !grant.allows_field(name))
        .collect();
    if hidden.is_empty() {
        Ok(())
    } else {
        Err(Error::forbidden_fields(&hidden, coll.name))
    }
}

/// Payload checks that need no database: required fields, enums, JSON shapes.
pub(super) fn validate(
    coll: &Collection,
    obj: &Map<String, Value>,
    creating: bool,
) -> Vec<FieldViolation> {
    let mut violations = Vec::new();
    for field in coll.columns() {
        let value = obj.get(field.name);
        let missing = match value {
            None => creating && !field.has_default,
            Some(v) => v.is_null(),
        };
        if field.not_null && missing {
            violations.push(FieldViolation::required(field.name));
            continue;
        }
        let Some(value) = value.filter(|v| !v.is_null()) else {
            continue;
        };
        if let Some(allowed) = field.allowed
            && !value.as_str().is_some_and(|s| allowed.contains(&s))
        {
            violations.push(FieldViolation::one_of(field.name, allowed));
        }
        if field.name == "options" && field.kind == FieldKind::Json && !value.is_object() {
            violations.push(FieldViolation {
                field: field.name.to_string(),
                kind: "type",
                message: format!(
                    "Validation failed for field \"{}\". Value has to be an object.",
                    field.name
                ),
                extra: Map::new(),
            });
        }
        if coll.name == "directus_permissions" {
            let shape = match field.name {
                "permissions" if !value.is_object() => Some("Value has to be an object"),
                "fields"
                    if !value
                        .as_array()
                        .is_some_and(|list| list.iter().all(Value::is_string)) =>
                {
                    Some("Value has to be an array of field names")
                }
                _ => None,
            };
            if let Some(shape) = shape {
                violations.push(FieldViolation {
                    field: field.name.to_string(),
                    kind: "type",
                    message: format!("Validation failed for field \"{}\". {shape}.", field.name),
                    extra: Map::new(),
                });
            }
        }
        if coll.name == "directus_flows" && field.name == "accountability" {
            let ok = value
                .as_str()
                .is_some_and(|s| ACCOUNTABILITY.contains(&s) || uuid::Uuid::parse_str(s).is_ok());
            if !ok {
                violations.push(FieldViolation::one_of(field.name, ACCOUNTABILITY));
            }
        }
    }
    violations
}
