//! How the rows of a node become the client's JSON objects.

use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::catalog::Collection;
use crate::error::Result;
use crate::query::{ReadNode, Select};

use super::*;

/// How a node's rows are written as JSON.
pub(super) enum Writing {
    /// Cell by cell, after these keys ([`Finisher::written_keys`]).
    Keys(Vec<Vec<u8>>),
    /// Through the value [`Finisher::finish`] builds.
    Finished,
}

/// How the rows of one node become the client's objects, worked out once per statement.
pub(super) struct Finisher<'n> {
    pub(super) node: &'n ReadNode,
    /// `keys_only`: where the primary key is.
    pub(super) key: Option<usize>,
    /// Per selection entry: for a field, its column and whether a later entry reads the
    /// same column (then it is copied, else moved).
    pub(super) fields: Vec<Option<(usize, bool)>>,
}

impl<'n> Finisher<'n> {
    pub(super) fn new(coll: &Collection, node: &'n ReadNode, names: &[&str]) -> Self {
        let mut fields: Vec<Option<(usize, bool)>> = node
            .select
            .iter()
            .map(|select| match select {
                Select::Field { field, .. } => position(names, field).map(|at| (at, false)),
                _ => None,
            })
            .collect();
        let mut used = HashSet::new();
        for entry in fields.iter_mut().rev().flatten() {
            entry.1 = !used.insert(entry.0);
        }
        Finisher {
            node,
            key: position(names, coll.primary_key),
            fields,
        }
    }

    /// Each selection entry's key as JSON text followed by `:`, when [`Finisher::write`] can
    /// write the rows: a plain object whose keys are all distinct and none a function's.
    pub(super) fn written_keys(&self) -> Result<Option<Vec<Vec<u8>>>> {
        if self.node.keys_only {
            return Ok(None);
        }
        let mut seen = HashSet::new();
        let mut keys = Vec::with_capacity(self.node.select.len());
        for select in &self.node.select {
            let key = match select {
                Select::Field { key, .. } | Select::Relation { key, .. } => key,
                Select::Function { .. } => return Ok(None),
            };
            if !seen.insert(key.as_str()) {
                return Ok(None);
            }
            let mut text = Vec::with_capacity(key.len() + 3);
            write_value(&mut text, &Value::String(key.clone()))?;
            text.push(b':');
            keys.push(text);
        }
        Ok(Some(keys))
    }

    /// How rows of this node are written in `shape`: `None` for [`Shape::Values`].
    pub(super) fn keys_for(&self, shape: Shape) -> Result<Option<Writing>> {
        if shape == Shape::Values {
            return Ok(None);
        }
        Ok(Some(match self.written_keys()? {
            Some(keys) => Writing::Keys(keys),
            None => Writing::Finished,
        }))
    }

    /// Writes a row as JSON, straight from its cells when it can.
    pub(super) fn write_any(&self, row: Row, writing: &Writing, out: &mut Vec<u8>) -> Result<()> {
        match writing {
            Writing::Keys(keys) => self.write(row, keys, out),
            Writing::Finished => write_value(out, &self.finish(row)),
        }
    }

    /// Writes the object [`Finisher::finish`] would build, as JSON, given
    /// [`Finisher::written_keys`].
    pub(super) fn write(&self, row: Row, keys: &[Vec<u8>], out: &mut Vec<u8>) -> Result<()> {
        out.push(b'{');
        let mut relations = row.relations.into_iter();
        for (n, ((select, field), key)) in self
            .node
            .select
            .iter()
            .zip(&self.fields)
            .zip(keys)
            .enumerate()
        {
            if n > 0 {
                out.push(b',');
            }
            out.extend_from_slice(key);
            match select {
                Select::Field { .. } => match *field {
                    Some((at, _)) => row.columns[at].write(out)?,
                    None => out.extend_from_slice(b"null"),
                },
                Select::Relation { .. } => match relations.next() {
                    Some(attached) => attached.write(out)?,
                    None => out.extend_from_slice(b"null"),
                },
                // `written_keys` leaves nodes with functions to `finish`.
                Select::Function { .. } => out.extend_from_slice(b"null"),
            }
        }
        out.push(b'}');
        Ok(())
    }

    /// Builds the client-visible object: the selection in its order, internal columns
    /// dropped.
    pub(super) fn finish(&self, mut row: Row) -> Value {
        if self.node.keys_only {
            return self
                .key
                .map(|at| row.columns[at].take())
                .unwrap_or(Value::Null);
        }
        // Sized up front: growing the map rehashes every key already in it.
        let mut out = Map::with_capacity(self.node.select.len());
        let mut relations = row.relations.into_iter();
        for (select, field) in self.node.select.iter().zip(&self.fields) {
            match select {
                Select::Field { key, .. } => {
                    let value = match *field {
                        Some((at, true)) => row.columns[at].to_value(),
                        Some((at, false)) => row.columns[at].take(),
                        None => Value::Null,
                    };
                    out.insert(key.clone(), value);
                }
                Select::Relation { key, .. } => {
                    let value = relations.next().map_or(Value::Null, Cell::into_value);
                    out.insert(key.clone(), value);
                }
                Select::Function { key, .. } => {
                    if let Some(head) = key.first()
                        && let Some(value) = row.functions.get(head)
                    {
                        match out.get_mut(head) {
                            Some(Value::Object(existing)) => {
                                if let Value::Object(more) = value {
                                    existing.extend(more.clone());
                                }
                            }
                            _ => {
                                out.insert(head.clone(), value.clone());
                            }
                        }
                    }
                }
            }
        }
        Value::Object(out)
    }
}
