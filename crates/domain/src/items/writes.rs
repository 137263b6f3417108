//! Writes through the items service: each batch validated and run in one transaction, its
//! filter hooks first and its announcements after the commit.

use std::sync::Arc;

use sea_orm::{DatabaseTransaction, TransactionTrait};
use serde_json::{Map, Value};

use crate::accountability::Accountability;
use crate::catalog::{Catalog, Collection};
use crate::error::{Error, Result};
use crate::flow_graph;
use crate::hooks::{FilterHooks, item_event};
use crate::permissions::Grants;

use super::*;

impl ItemsService {
    pub async fn create_many(
        &self,
        acc: &Accountability,
        collection: &str,
        items: Vec<Value>,
    ) -> Result<Vec<String>> {
        let catalog = self.catalog();
        let (coll, grants) = self
            .prepare_write(&catalog, acc, collection, items.len())
            .await?;
        let hooks = self.filter_hooks(coll, "create").await;
        self.transaction(&catalog, &grants, acc, |w, tx| {
            Box::pin(async move {
                let mut keys = Vec::with_capacity(items.len());
                for item in items {
                    let item = match &hooks {
                        Some((hooks, event)) => {
                            let mut meta = Map::new();
                            meta.insert("collection".into(), Value::from(coll.name));
                            hooks.filter(event, item, meta, w.acc, w.origin, tx).await?
                        }
                        None => item,
                    };
                    keys.push(w.create(tx, coll, item).await?);
                }
                Ok(keys)
            })
        })
        .await
    }

    pub async fn update_many(
        &self,
        acc: &Accountability,
        collection: &str,
        keys: Vec<String>,
        data: Value,
    ) -> Result<Vec<String>> {
        let catalog = self.catalog();
        let (coll, grants) = self
            .prepare_write(&catalog, acc, collection, keys.len())
            .await?;
        if !data.is_object() {
            return Err(Error::payload("\"data\" must be of type object"));
        }
        let hooks = self.filter_hooks(coll, "update").await;
        self.transaction(&catalog, &grants, acc, |w, tx| {
            Box::pin(async move {
                let data = match &hooks {
                    Some((hooks, event)) => {
                        let mut meta = Map::new();
                        meta.insert(
                            "keys".into(),
                            keys.iter().map(|k| coll.key_json(k)).collect(),
                        );
                        meta.insert("collection".into(), Value::from(coll.name));
                        hooks.filter(event, data, meta, w.acc, w.origin, tx).await?
                    }
                    None => data,
                };
                for key in &keys {
                    w.update(tx, coll, key, data.clone()).await?;
                }
                Ok(keys)
            })
        })
        .await
    }

    /// Each item carries its own key (`[{id, ...}, ...]`).
    pub async fn update_batch(
        &self,
        acc: &Accountability,
        collection: &str,
        items: Vec<Value>,
    ) -> Result<Vec<String>> {
        let catalog = self.catalog();
        let (coll, grants) = self
            .prepare_write(&catalog, acc, collection, items.len())
            .await?;
        let hooks = self.filter_hooks(coll, "update").await;
        self.transaction(&catalog, &grants, acc, |w, tx| {
            Box::pin(async move {
                let mut keys = Vec::with_capacity(items.len());
                for item in items {
                    let Value::Object(mut obj) = item else {
                        return Err(Error::payload("Items in update have to be objects"));
                    };
                    let key = obj
                        .remove(coll.primary_key)
                        .as_ref()
                        .and_then(key_text)
                        .ok_or_else(|| Error::payload("Item in update misses primary key"))?;
                    let data = match &hooks {
                        Some((hooks, event)) => {
                            let mut meta = Map::new();
                            meta.insert("keys".into(), Value::from(vec![coll.key_json(&key)]));
                            meta.insert("collection".into(), Value::from(coll.name));
                            hooks
                                .filter(event, Value::Object(obj), meta, w.acc, w.origin, tx)
                                .await?
                        }
                        None => Value::Object(obj),
                    };
                    w.update(tx, coll, &key, data).await?;
                    keys.push(key);
                }
                Ok(keys)
            })
        })
        .await
    }

    pub async fn delete_many(
        &self,
        acc: &Accountability,
        collection: &str,
        keys: Vec<String>,
    ) -> Result<Vec<String>> {
        let catalog = self.catalog();
        let (coll, grants) = self
            .prepare_write(&catalog, acc, collection, keys.len())
            .await?;
        let hooks = self.filter_hooks(coll, "delete").await;
        self.transaction(&catalog, &grants, acc, |w, tx| {
            Box::pin(async move {
                if let Some((hooks, event)) = &hooks {
                    // A delete filter can refuse the delete; its return value is not used,
                    // as in Directus.
                    let mut meta = Map::new();
                    meta.insert("collection".into(), Value::from(coll.name));
                    hooks
                        .filter(
                            event,
                            keys.iter().map(|k| coll.key_json(k)).collect(),
                            meta,
                            w.acc,
                            w.origin,
                            tx,
                        )
                        .await?;
                }
                w.delete(tx, coll, &keys, true).await?;
                Ok(keys)
            })
        })
        .await
    }

    /// The filter hooks to run for a write, when events are on and a flow listens.
    pub(super) async fn filter_hooks(
        &self,
        coll: &Collection,
        action: &str,
    ) -> Option<(Arc<dyn FilterHooks>, String)> {
        if !self.origin.emit_events {
            return None;
        }
        let hooks = self.hooks.get()?;
        // Inside another transaction (a filter flow's write, a queued run's item step) the
        // plan was brought up to date before it began; a reload now would ask the pool for a
        // connection while this one is held, which on SQLite is the only writer.
        if self.tx.is_none() {
            hooks.prepare().await;
        }
        Some((hooks.clone(), item_event(coll.name, action)))
    }

    /// Lets the flow engine run filter flows inside writes; set once, at engine start.
    pub fn set_filter_hooks(&self, hooks: Arc<dyn FilterHooks>) {
        // A second engine over the same service keeps the first one's hooks.
        let _ = self.hooks.set(hooks);
    }

    /// What every write checks first: a bounded batch, a writable collection, and the
    /// caller's grants (checked per item by the writer).
    pub(super) async fn prepare_write<'c>(
        &self,
        catalog: &'c Catalog,
        acc: &Accountability,
        collection: &str,
        len: usize,
    ) -> Result<(&'c Collection, Grants)> {
        check_batch(len)?;
        let coll = lookup(catalog, collection)?;
        if !coll.writable {
            return Err(Error::forbidden());
        }
        Ok((coll, self.grants(acc).await?))
    }

    pub(super) async fn transaction<'s, T, F>(
        &'s self,
        catalog: &'s Catalog,
        grants: &'s Grants,
        acc: &'s Accountability,
        body: F,
    ) -> Result<T>
    where
        F: for<'w> FnOnce(
            &'w mut Writer<'s>,
            &'w Arc<DatabaseTransaction>,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<T>> + Send + 'w>,
        >,
        T: Send,
    {
        // Action runs are queued with the write from the plan as it is: bring it up to date
        // first, unless this write is nested in another's transaction (which did so, and
        // whose connection a reload would wait for).
        if self.origin.emit_events
            && self.tx.is_none()
            && let Some(hooks) = self.hooks.get()
        {
            hooks.prepare().await;
        }
        let tx = Arc::new(self.writer().begin().await?);
        let mut writer = Writer {
            catalog,
            grants,
            acc,
            origin: self.origin,
            backend: self.backend(),
            changes: Changes::default(),
        };
        let result = body(&mut writer, &tx).await;
        let result = match result {
            Ok(value) => flow_graph::check(&*tx, self.backend(), &writer.changes.flows)
                .await
                .map(|()| value),
            Err(err) => Err(err),
        };
        // Filter flows may hold clones while they run; all are gone once they finished.
        let Ok(tx) = Arc::try_unwrap(tx) else {
            return Err(Error::Internal(
                "the write's transaction is still in use after its filter flows".into(),
            ));
        };
        let result = match (result, self.hooks.get()) {
            (Ok(value), Some(hooks)) if !writer.changes.mutations.is_empty() => hooks
                .queue_actions(&writer.changes.mutations, &tx)
                .await
                .map(|()| value),
            (result, _) => result,
        };
        // Announced inside the transaction: PostgreSQL delivers the notices on commit, and
        // drops them with a rollback.
        let result = match (result, &self.replicas) {
            (Ok(value), Some(replicas)) => replicas
                .announce(&tx, &writer.changes.mutations)
                .await
                .map(|()| value),
            (result, _) => result,
        };
        match result {
            Ok(value) => {
                tx.commit().await.map_err(translate)?;
                for mutation in writer.changes.mutations {
                    // Nobody listening is fine.
                    let _ = self.mutations.send(Change::Mutation(mutation));
                }
                Ok(value)
            }
            Err(err) => {
                tx.rollback().await?;
                Err(err)
            }
        }
    }
}
