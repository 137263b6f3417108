//! `item-create`, `item-read`, `item-update`, `item-delete`: the items service from inside a
//! flow, under the accountability the `permissions` option picks
//! (operations-catalog.md §0, §3-6).

use domain::items::Origin;
use domain::{Accountability, ItemsService, js, params};
use futures_util::future::BoxFuture;
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query as Sql};
use serde_json::{Map, Value};

use super::{OpContext, Operation, option_into_object};
use crate::error::{DirectusError, Rejection};
use crate::options::{parse, present, text};

/// The options the item operations share (operations-catalog.md §0, §3-6). Values the
/// handlers test or parse themselves stay JSON; `None` is an absent option, which Directus
/// tells from `null` in places.
#[derive(Debug, Default, PartialEq, serde::Deserialize)]
struct ItemOptions {
    #[serde(default, deserialize_with = "text")]
    collection: Option<Box<str>>,
    #[serde(default, deserialize_with = "present")]
    key: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    query: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    payload: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    permissions: Option<Value>,
    /// `!!emitEvents`.
    #[serde(default, rename = "emitEvents", deserialize_with = "truthy_flag")]
    emit_events: bool,
}

/// The `notification` operation's options (operations-catalog.md §10).
#[derive(Debug, Default, PartialEq, serde::Deserialize)]
struct NotificationOptions {
    #[serde(default, deserialize_with = "present")]
    permissions: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    recipient: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    subject: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    message: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    collection: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    item: Option<Value>,
}

fn truthy_flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let value = <Value as serde::Deserialize>::deserialize(d)?;
    Ok(js::truthy(Some(&value)))
}

/// Directus's `toArray`: arrays stay, strings are split on commas, anything else is wrapped.
pub(crate) fn to_array(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.clone(),
        Value::String(s) => s.split(',').map(|p| Value::from(p.to_string())).collect(),
        other => vec![other.clone()],
    }
}

fn domain_rejection(err: domain::Error) -> Rejection {
    Rejection::directus(DirectusError::from(err))
}

fn invalid_payload(reason: &str) -> Rejection {
    domain_rejection(domain::Error::payload(reason))
}

/// The accountability an item operation acts with (§0). `None` from the trigger means no
/// permission checks, which is what the system accountability gives.
pub(crate) async fn accountability_for(
    ctx: &OpContext<'_>,
    option: Option<&Value>,
    full: Accountability,
) -> Result<Accountability, Rejection> {
    let trigger = || {
        ctx.accountability
            .cloned()
            .unwrap_or_else(Accountability::system)
    };
    let text = match option {
        None | Some(Value::Null) => return Ok(trigger()),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    match text.as_str() {
        "" | "$trigger" => Ok(trigger()),
        "$full" => Ok(full),
        "$public" => Ok(Accountability::public()),
        role => role_accountability(ctx, role).await,
    }
}

async fn role_accountability(ctx: &OpContext<'_>, role: &str) -> Result<Accountability, Rejection> {
    let unknown = || {
        Rejection::error(format!(
            "Configured role \"{role}\" isn't a valid role ID or doesn't exist."
        ))
    };
    let id = uuid::Uuid::parse_str(role).map_err(|_| unknown())?;
    let items = ctx.items();
    let db = items.executor();
    let backend = db.get_database_backend();
    let mut stmt = Sql::select();
    stmt.columns([Alias::new("admin_access"), Alias::new("app_access")])
        .from(Alias::new("directus_roles"))
        .and_where(Expr::col(Alias::new("id")).eq(Expr::val(domain::sql::uuid_value(backend, id))));
    let row = db
        .query_one(&stmt)
        .await
        .map_err(|e| domain_rejection(e.into()))?
        .ok_or_else(unknown)?;
    let flag = |idx| {
        row.try_get_by_index::<Option<bool>>(idx)
            .ok()
            .flatten()
            .unwrap_or(false)
    };
    Ok(Accountability {
        role: Some(id.to_string()),
        roles: vec![id.to_string()],
        admin: flag(0),
        app: flag(1),
        ip: ctx.accountability.and_then(|a| a.ip.clone()),
        ..Accountability::default()
    })
}

/// The full-access accountability of item operations' `$full`.
fn full_access() -> Accountability {
    Accountability {
        admin: true,
        app: true,
        ..Accountability::default()
    }
}

/// The collection an operation names: any collection flowline knows, user tables found by
/// introspection included. Unknown names are refused as Directus does (`FORBIDDEN`).
async fn collection(
    items: &ItemsService,
    options: &ItemOptions,
) -> Result<&'static str, Rejection> {
    let name = options.collection.as_deref().unwrap_or_default();
    if let Some(coll) = items.catalog().get(name) {
        return Ok(coll.name);
    }
    items.user_collection(name).await.map_err(domain_rejection)
}

/// The items service as an operation writes through it.
fn service(ctx: &OpContext<'_>, options: &ItemOptions) -> ItemsService {
    ctx.items().with_origin(Origin {
        emit_events: options.emit_events,
        depth: ctx.depth,
    })
}

fn keys_json(items: &ItemsService, collection: &str, keys: &[String]) -> Value {
    match items.catalog().get(collection) {
        Some(coll) => keys.iter().map(|k| coll.key_json(k)).collect(),
        None => keys.iter().map(|k| Value::from(k.as_str())).collect(),
    }
}

/// The `key` option of update and delete: none for `""` and null, else `toArray`; each key
/// must be a string or a number (zod's check).
fn keys_option(options: &ItemOptions) -> Result<Option<Vec<Value>>, Rejection> {
    let keys = match &options.key {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) if s.is_empty() => return Ok(None),
        Some(v) => to_array(v),
    };
    if keys.iter().any(|k| !(k.is_string() || k.is_number())) {
        return Err(invalid_payload(
            "\"key\" must be a string, a number or an array of them",
        ));
    }
    Ok(Some(keys))
}

fn key_texts(keys: &[Value]) -> Vec<String> {
    keys.iter().filter_map(domain::items::key_text).collect()
}

/// The `query` option, parsed like REST query parameters.
fn query_option(options: &mut ItemOptions) -> Result<Option<params::Params>, Rejection> {
    let query = match options.query.take() {
        None | Some(Value::Null) => return Ok(None),
        Some(v) => option_into_object(v)?,
    };
    match query {
        Value::Null => Ok(None),
        Value::Object(map) => params::parse(&map).map(Some).map_err(domain_rejection),
        _ => Err(invalid_payload("\"query\" must be an object")),
    }
}

pub struct ItemCreate;

impl Operation for ItemCreate {
    fn id(&self) -> &'static str {
        "item-create"
    }

    fn run<'a>(
        &'a self,
        options: Value,
        ctx: &'a OpContext<'a>,
    ) -> BoxFuture<'a, Result<Value, Rejection>> {
        Box::pin(async move {
            let mut options: ItemOptions = parse(options);
            let payload = match options.payload.take() {
                None => Value::Null,
                Some(v) => option_into_object(v)?,
            };
            if !js::truthy(Some(&payload)) {
                return Ok(Value::Null);
            }
            let items = service(ctx, &options);
            let acc = accountability_for(ctx, options.permissions.as_ref(), full_access()).await?;
            let collection = collection(&items, &options).await?;
            let keys = items
                .create_many(&acc, collection, to_array_items(payload))
                .await
                .map_err(domain_rejection)?;
            Ok(keys_json(&items, collection, &keys))
        })
    }
}

/// A payload as a list of items: an array stays, anything else is one item.
fn to_array_items(payload: Value) -> Vec<Value> {
    match payload {
        Value::Array(items) => items,
        other => vec![other],
    }
}

pub struct ItemRead;

impl Operation for ItemRead {
    fn id(&self) -> &'static str {
        "item-read"
    }

    fn run<'a>(
        &'a self,
        options: Value,
        ctx: &'a OpContext<'a>,
    ) -> BoxFuture<'a, Result<Value, Rejection>> {
        Box::pin(async move {
            let mut options: ItemOptions = parse(options);
            let items = service(ctx, &options);
            let acc = accountability_for(ctx, options.permissions.as_ref(), full_access()).await?;
            let collection = collection(&items, &options).await?;
            let params = query_option(&mut options)?.unwrap_or_default();
            let keys = match &options.key {
                None | Some(Value::Null) => Vec::new(),
                Some(v) => key_texts(&to_array(v))
                    .into_iter()
                    .filter(|k| !k.is_empty())
                    .collect(),
            };
            if keys.is_empty()
                && let Some(query) = params.aggregate_query()
            {
                let rows = items
                    .aggregate(&acc, collection, &query)
                    .await
                    .map_err(domain_rejection)?;
                return Ok(Value::Array(params.flatten_aggregate(rows)));
            }
            let catalog = items
                .readable_catalog(&acc)
                .await
                .map_err(domain_rejection)?;
            let node = params
                .read_node(&catalog, collection)
                .map_err(domain_rejection)?;
            match keys.as_slice() {
                [] => items
                    .read(&acc, &node)
                    .await
                    .map(Value::Array)
                    .map_err(domain_rejection),
                [_] => items
                    .read_keys(&acc, &node, &keys)
                    .await
                    .map_err(domain_rejection)?
                    .into_iter()
                    .next()
                    .ok_or_else(|| domain_rejection(domain::Error::forbidden())),
                _ => items
                    .read_keys(&acc, &node, &keys)
                    .await
                    .map(Value::Array)
                    .map_err(domain_rejection),
            }
        })
    }
}

/// What update and delete are asked to touch, after the checks both share.
enum Target {
    Keys(Vec<Value>),
    Query(Box<params::Params>),
    Nothing,
}

fn target(options: &mut ItemOptions, batch: bool) -> Result<Target, Rejection> {
    let keys = keys_option(options)?;
    let query = query_option(options)?;
    if keys.is_some() && query.is_some() {
        return Err(invalid_payload("Cannot use both \"key\" and \"query\""));
    }
    if batch && (keys.is_some() || query.is_some()) {
        return Err(invalid_payload(
            "Cannot use \"key\" or \"query\" with a batch payload",
        ));
    }
    Ok(match (keys, query) {
        (Some(keys), _) => Target::Keys(keys),
        (_, Some(query)) => Target::Query(Box::new(query)),
        _ => Target::Nothing,
    })
}

/// The answer for keys given as an option: the single key as given, or the list.
fn given_keys(keys: Vec<Value>) -> Value {
    if keys.len() == 1 {
        keys.into_iter().next().unwrap_or(Value::Null)
    } else {
        Value::Array(keys)
    }
}

pub struct ItemUpdate;

impl Operation for ItemUpdate {
    fn id(&self) -> &'static str {
        "item-update"
    }

    fn run<'a>(
        &'a self,
        options: Value,
        ctx: &'a OpContext<'a>,
    ) -> BoxFuture<'a, Result<Value, Rejection>> {
        Box::pin(async move {
            let mut options: ItemOptions = parse(options);
            let payload = match options.payload.take() {
                None => Value::Null,
                Some(v) => option_into_object(v)?,
            };
            let batch = match &payload {
                Value::Array(list) => {
                    if list.iter().any(|i| !i.is_object()) {
                        return Err(invalid_payload(
                            "\"payload\" must be an object or an array of objects",
                        ));
                    }
                    true
                }
                Value::Object(_) | Value::Null => false,
                _ => {
                    return Err(invalid_payload(
                        "\"payload\" must be an object or an array of objects",
                    ));
                }
            };
            let target = target(&mut options, batch)?;
            let empty = match &payload {
                Value::Null => true,
                Value::Array(list) => list.is_empty(),
                Value::Object(map) => map.is_empty(),
                _ => false,
            };
            if empty || (!batch && matches!(target, Target::Nothing)) {
                return Ok(Value::Null);
            }
            let items = service(ctx, &options);
            let acc = accountability_for(ctx, options.permissions.as_ref(), full_access()).await?;
            let collection = collection(&items, &options).await?;
            match (target, payload) {
                (_, Value::Array(list)) => {
                    let keys = items
                        .update_batch(&acc, collection, list)
                        .await
                        .map_err(domain_rejection)?;
                    Ok(keys_json(&items, collection, &keys))
                }
                (Target::Query(query), data) => {
                    let keys = items
                        .keys_by_query(&acc, collection, &query.args)
                        .await
                        .map_err(domain_rejection)?;
                    let keys = items
                        .update_many(&acc, collection, keys, data)
                        .await
                        .map_err(domain_rejection)?;
                    Ok(keys_json(&items, collection, &keys))
                }
                (Target::Keys(keys), data) => {
                    items
                        .update_many(&acc, collection, key_texts(&keys), data)
                        .await
                        .map_err(domain_rejection)?;
                    Ok(given_keys(keys))
                }
                (Target::Nothing, _) => Ok(Value::Null),
            }
        })
    }
}

pub struct ItemDelete;

impl Operation for ItemDelete {
    fn id(&self) -> &'static str {
        "item-delete"
    }

    fn run<'a>(
        &'a self,
        options: Value,
        ctx: &'a OpContext<'a>,
    ) -> BoxFuture<'a, Result<Value, Rejection>> {
        Box::pin(async move {
            let mut options: ItemOptions = parse(options);
            let target = target(&mut options, false)?;
            if matches!(target, Target::Nothing) {
                return Ok(Value::Null);
            }
            let items = service(ctx, &options);
            let acc = accountability_for(ctx, options.permissions.as_ref(), full_access()).await?;
            let collection = collection(&items, &options).await?;
            match target {
                Target::Query(query) => {
                    let keys = items
                        .keys_by_query(&acc, collection, &query.args)
                        .await
                        .map_err(domain_rejection)?;
                    let keys = items
                        .delete_many(&acc, collection, keys)
                        .await
                        .map_err(domain_rejection)?;
                    Ok(keys_json(&items, collection, &keys))
                }
                Target::Keys(keys) => {
                    items
                        .delete_many(&acc, collection, key_texts(&keys))
                        .await
                        .map_err(domain_rejection)?;
                    Ok(given_keys(keys))
                }
                Target::Nothing => Ok(Value::Null),
            }
        })
    }
}

/// `notification`: one `directus_notifications` row per recipient; answers their ids.
/// Unlike Directus, no e-mail is sent to recipients: flowline has no per-user mail settings.
pub struct Notification;

impl Operation for Notification {
    fn id(&self) -> &'static str {
        "notification"
    }

    fn run<'a>(
        &'a self,
        options: Value,
        ctx: &'a OpContext<'a>,
    ) -> BoxFuture<'a, Result<Value, Rejection>> {
        Box::pin(async move {
            // `$full` means no accountability at all here, so the sender is null.
            let options: NotificationOptions = parse(options);
            let acc =
                accountability_for(ctx, options.permissions.as_ref(), Accountability::system())
                    .await?;
            let text = |value: &Option<Value>| -> Value {
                let value = value.as_ref();
                if js::truthy(value) {
                    Value::from(super::option_to_string(value))
                } else {
                    Value::Null
                }
            };
            let recipients = options.recipient.as_ref().map(to_array).unwrap_or_default();
            let rows: Vec<Value> = recipients
                .into_iter()
                .map(|recipient| {
                    let mut row = Map::new();
                    row.insert("recipient".into(), recipient);
                    row.insert(
                        "sender".into(),
                        acc.user.clone().map_or(Value::Null, Value::from),
                    );
                    row.insert(
                        "subject".into(),
                        options.subject.clone().unwrap_or(Value::Null),
                    );
                    row.insert("message".into(), text(&options.message));
                    row.insert("collection".into(), text(&options.collection));
                    row.insert("item".into(), text(&options.item));
                    Value::Object(row)
                })
                .collect();
            let items = ctx.items().with_origin(Origin {
                emit_events: true,
                depth: ctx.depth,
            });
            let keys = items
                .create_many(&acc, "directus_notifications", rows)
                .await
                .map_err(domain_rejection)?;
            Ok(keys_json(&items, "directus_notifications", &keys))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emit_events_is_javascript_truthiness() {
        for (given, emits) in [
            (serde_json::json!(true), true),
            (serde_json::json!("yes"), true),
            (serde_json::json!(1), true),
            (serde_json::json!({}), true),
            (serde_json::json!(""), false),
            (serde_json::json!(0), false),
            (serde_json::json!(null), false),
        ] {
            let options: ItemOptions = parse(serde_json::json!({"emitEvents": given}));
            assert_eq!(options.emit_events, emits);
        }
        let options: ItemOptions =
            parse(serde_json::json!({"collection": 5, "key": null, "permissions": "$full"}));
        assert_eq!(options.collection, None);
        assert_eq!(options.key, Some(Value::Null));
        assert_eq!(options.query, None);
        assert_eq!(options.permissions, Some(serde_json::json!("$full")));
        assert_eq!(
            parse::<NotificationOptions>(Value::Null),
            NotificationOptions::default()
        );
    }
}
