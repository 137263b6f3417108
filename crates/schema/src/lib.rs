//! The `/graphql/system` schema, generated from the domain's catalogue with async-graphql's
//! dynamic schema: one builder per kind of root field and type, no per-collection code.

pub mod document;
mod error;
pub mod naming;
mod plain;
mod resolve;
mod roots;
mod selection;
mod shared;
mod types;

use async_graphql::dynamic::{Object, Schema, SchemaError, Subscription};
use domain::{Catalog, ItemsService};

/// Deepest selection accepted; deeper documents are refused before they run.
pub const MAX_DEPTH: usize = 16;
/// Largest query complexity (roughly, fields selected) accepted.
pub const MAX_COMPLEXITY: usize = 2_000;

pub use error::to_graphql;
pub use plain::{Plain, PlainCache};

/// Builds the schema. `items` is `None` when only the SDL is wanted (`flowline schema`).
pub fn build(catalog: &Catalog, items: Option<ItemsService>) -> Result<Schema, SchemaError> {
    let mut query = Object::new("Query");
    let mut mutation = Object::new("Mutation");
    let (mut creates, mut updates, mut deletes) = (Vec::new(), Vec::new(), Vec::new());
    let mut subscription = Subscription::new("Subscription");
    let mut builder_types: Vec<async_graphql::dynamic::Type> = Vec::new();
    for coll in catalog.collections() {
        for obj in types::object(coll) {
            builder_types.push(obj.into());
        }
        for input in types::filters(catalog, coll) {
            builder_types.push(input.into());
        }
        for input in types::inputs(coll) {
            builder_types.push(input.into());
        }
        let Some(root) = coll.root else { continue };
        for field in roots::queries(catalog, coll, root) {
            query = query.field(field);
        }
        if coll.writable {
            let fields = roots::mutations(catalog, coll, root);
            creates.extend(fields.create);
            updates.extend(fields.update);
            deletes.extend(fields.delete);
        }
        if coll.streams() {
            subscription = subscription.field(roots::subscription(catalog, coll));
            builder_types.push(types::mutated(coll).into());
        }
        for obj in types::aggregated(coll) {
            builder_types.push(obj.into());
        }
    }
    for field in creates.into_iter().chain(updates).chain(deletes) {
        mutation = mutation.field(field);
    }
    let mut builder = Schema::build("Query", Some("Mutation"), Some("Subscription"))
        .register(query)
        .register(mutation)
        .register(subscription)
        .register(shared::event_enum())
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .limit_recursive_depth(64)
        .limit_directives(32);
    for scalar in shared::scalars() {
        builder = builder.register(scalar);
    }
    for obj in shared::objects() {
        builder = builder.register(obj);
    }
    for input in shared::inputs() {
        builder = builder.register(input);
    }
    for ty in builder_types {
        builder = builder.register(ty);
    }
    if let Some(items) = items {
        builder = builder.data(items);
    }
    builder.finish()
}

/// The SDL served at `/graphql/system`, as committed in `schema.graphql`.
pub fn sdl(catalog: &Catalog) -> Result<String, SchemaError> {
    Ok(build(catalog, None)?.sdl())
}
