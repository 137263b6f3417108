//! Reads through the items service: each caller's view of the catalogue, its row filters
//! folded into the query, and the reads, counts and aggregates built on it.

use std::borrow::Cow;

use sea_orm::{ConnectionTrait, DbBackend};
use serde_json::Value;

use crate::accountability::Accountability;
use crate::aggregate::{self, AggregateQuery, AggregateRow};
use crate::catalog::{Catalog, Collection};
use crate::error::Result;
use crate::permissions::{Action, Grants};
use crate::query::{ListArgs, ReadNode};
use crate::read;
use crate::sql;
use crate::statement::Scope;

use super::*;

impl ItemsService {
    /// What a reader may see: its grants (loaded once per call; admins skip the query), the
    /// catalogue narrowed to readable fields, and the tree with row filters attached.
    /// Admins read the tree as given: it is copied only to attach row filters.
    pub(super) async fn read_view<'n>(
        &self,
        acc: &Accountability,
        node: &'n ReadNode,
    ) -> Result<ReadView<'n>> {
        let grants = self.grants(acc).await?;
        let full = self.catalog();
        let node = if grants.is_all() {
            Cow::Borrowed(node)
        } else {
            let mut node = node.clone();
            guard_tree(&grants, &mut node)?;
            Cow::Owned(node)
        };
        Ok(ReadView {
            readable: grants.readable(&full),
            full,
            node,
        })
    }

    /// The caller's grants; admins bypass permissions.
    pub async fn grants(&self, acc: &Accountability) -> Result<Grants> {
        Grants::load(&self.executor(), acc).await
    }

    /// The catalogue as `acc` may read it: `fields=*` expands to readable fields only.
    pub async fn readable_catalog(&self, acc: &Accountability) -> Result<Catalog> {
        Ok(self.grants(acc).await?.readable(&self.catalog()))
    }

    pub async fn read(&self, acc: &Accountability, node: &ReadNode) -> Result<Vec<Value>> {
        let view = self.read_view(acc, node).await?;
        let scope = Scope::guarded(self.backend(), &view.readable, &view.full, acc);
        read::read(&self.executor(), &scope, &view.node, None).await
    }

    /// [`ItemsService::read`] as the JSON text of the rows' array, for responses that only
    /// serialise them ([`read::read_json`]).
    pub async fn read_json(&self, acc: &Accountability, node: &ReadNode) -> Result<Vec<u8>> {
        let view = self.read_view(acc, node).await?;
        let scope = Scope::guarded(self.backend(), &view.readable, &view.full, acc);
        read::read_json(&self.executor(), &scope, &view.node).await
    }

    /// Reads the given keys in the order given; unknown keys are left out.
    pub async fn read_keys(
        &self,
        acc: &Accountability,
        node: &ReadNode,
        keys: &[String],
    ) -> Result<Vec<Value>> {
        let view = self.read_view(acc, node).await?;
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let coll = lookup(&view.full, &node.collection)?;
        let scope = Scope::guarded(self.backend(), &view.readable, &view.full, acc);
        let mut node = view.node.into_owned();
        node.args.limit = Some(-1);
        node.args.offset = None;
        node.args.page = None;
        // Input order wins over any sort, so the key must be read to reorder.
        let pk = coll.primary_key.to_string();
        let probe = format!("\u{2}{pk}");
        node.select.push(crate::query::Select::Field {
            field: pk.clone(),
            key: probe.clone(),
        });
        let mut rows = Vec::new();
        for chunk in keys.chunks(500) {
            rows.extend(read::read(&self.executor(), &scope, &node, Some(chunk)).await?);
        }
        let mut by_key: std::collections::HashMap<String, Value> = rows
            .into_iter()
            .filter_map(|mut row| {
                let key = row
                    .as_object_mut()?
                    .remove(&probe)
                    .as_ref()
                    .and_then(key_text)?;
                Some((key, row))
            })
            .collect();
        let ordered = keys.iter().filter_map(|key| by_key.remove(key)).collect();
        Ok(ordered)
    }

    /// Reads back written keys: in input order unless the request sorts (flowline keeps
    /// input order where Directus answers in key order), with the request's filter and
    /// window applied.
    pub async fn read_written(
        &self,
        acc: &Accountability,
        node: &ReadNode,
        keys: &[String],
    ) -> Result<Vec<Value>> {
        if node.args.sort.is_empty() {
            let mut rows = self.read_keys(acc, node, keys).await?;
            let (limit, offset) = node.args.window();
            let offset = usize::try_from(offset).unwrap_or(usize::MAX);
            rows = rows.into_iter().skip(offset).collect();
            if let (Some(limit), Some(_)) = (limit, node.args.limit) {
                rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
            }
            return Ok(rows);
        }
        let view = self.read_view(acc, node).await?;
        let scope = Scope::guarded(self.backend(), &view.readable, &view.full, acc);
        let mut rows = Vec::new();
        for chunk in keys.chunks(500) {
            rows.extend(read::read(&self.executor(), &scope, &view.node, Some(chunk)).await?);
        }
        Ok(rows)
    }

    pub async fn aggregate(
        &self,
        acc: &Accountability,
        collection: &str,
        query: &AggregateQuery,
    ) -> Result<Vec<AggregateRow>> {
        let grants = self.grants(acc).await?;
        let full = self.catalog();
        let readable = grants.readable(&full);
        let coll = lookup(&readable, collection)?;
        let mut query = query.clone();
        query.args.guard = grants
            .get(collection, Action::Read)?
            .and_then(|g| g.filter.clone());
        let scope = Scope::guarded(self.backend(), &readable, &full, acc);
        aggregate::aggregate(&self.executor(), &scope, coll, &query).await
    }

    /// How many rows match `args`' filter and search (limits ignored): `meta.filter_count`,
    /// or with default arguments `meta.total_count`.
    pub async fn count(
        &self,
        acc: &Accountability,
        collection: &str,
        args: &ListArgs,
    ) -> Result<u64> {
        let query = AggregateQuery {
            functions: vec![("countAll".to_string(), Vec::new())],
            group_by: Vec::new(),
            args: ListArgs {
                filter: args.filter.clone(),
                search: args.search.clone(),
                ..ListArgs::default()
            },
        };
        let rows = self.aggregate(acc, collection, &query).await?;
        Ok(rows
            .first()
            .and_then(|r| r.values.get("countAll"))
            .and_then(Value::as_u64)
            .unwrap_or(0))
    }

    /// The keys a query selects (its own limit applies, default 100, as Directus).
    pub async fn keys_by_query(
        &self,
        acc: &Accountability,
        collection: &str,
        args: &ListArgs,
    ) -> Result<Vec<String>> {
        let catalog = self.catalog();
        let coll = lookup(&catalog, collection)?;
        let mut node = ReadNode::new(collection);
        node.args = args.clone();
        node.select.push(crate::query::Select::Field {
            field: coll.primary_key.to_string(),
            key: coll.primary_key.to_string(),
        });
        let rows = self.read(acc, &node).await?;
        Ok(rows
            .iter()
            .filter_map(|r| r.get(coll.primary_key).and_then(key_text))
            .collect())
    }
}

/// A read prepared for one caller.
pub(super) struct ReadView<'n> {
    pub(super) readable: Catalog,
    pub(super) full: Catalog,
    pub(super) node: Cow<'n, ReadNode>,
}

/// Checks that every collection of the tree may be read and attaches its row filter.
pub(super) fn guard_tree(grants: &Grants, node: &mut ReadNode) -> Result<()> {
    if grants.is_all() {
        return Ok(());
    }
    node.args.guard = grants
        .get(&node.collection, Action::Read)?
        .and_then(|g| g.filter.clone());
    for select in &mut node.select {
        if let crate::query::Select::Relation { node: child, .. } = select {
            guard_tree(grants, child)?;
        }
    }
    Ok(())
}

/// Reads the first column of each row as key text.
pub(crate) async fn read_keys(
    tx: &impl ConnectionTrait,
    backend: DbBackend,
    coll: &Collection,
    stmt: sea_orm::sea_query::SelectStatement,
) -> Result<Vec<String>> {
    let rows = tx.query_all(&stmt).await?;
    let kind = coll.pk_field().kind;
    let mut keys = Vec::with_capacity(rows.len());
    for row in &rows {
        if let Some(key) = key_text(&sql::decode(backend, row, 0, sql::Decode::Field(kind))?) {
            keys.push(key);
        }
    }
    Ok(keys)
}
