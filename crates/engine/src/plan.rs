//! The immutable in-memory plan of every active flow: trigger, options and operations with
//! resolve/reject links turned into indices. Runs hold an `Arc` of the flow they started
//! with, so swapping in a new plan never disturbs them.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};

use domain::ItemsService;
use domain::catalog::FieldKind;
use domain::read::in_list;
use domain::sql::{Decode, bind, col, decode};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Order, Query as Sql};
use serde_json::{Map, Value};

use crate::options;
pub use crate::options::{
    EventOptions, ManualOptions, OperationOptions, ScheduleOptions, WebhookOptions,
};
pub use crate::row_id::RowId;

/// One operation, ready to run.
///
/// Kept small: a plan of 10,000 flows holds 100,000 of them, and at 290 bytes each (three
/// `String`s, pointer-sized links, options parsed in place) they were most of a loaded
/// server's memory. The id is 16 bytes ([`RowId`]), a known type is a static string, links
/// are `u32` (a flow cannot hold four billion operations) and the options a pointer until
/// they are first read.
#[derive(Debug, Clone, PartialEq)]
pub struct OpPlan {
    pub id: RowId,
    pub key: Box<str>,
    pub kind: Cow<'static, str>,
    pub options: Options,
    pub resolve: Option<u32>,
    pub reject: Option<u32>,
}

/// The operation types flowline runs: their names are kept as static strings, not once
/// per operation.
const KINDS: [&str; 15] = [
    "condition",
    "exec",
    "item-create",
    "item-delete",
    "item-read",
    "item-update",
    "json-web-token",
    "log",
    "mail",
    "notification",
    "request",
    "sleep",
    "throw-error",
    "transform",
    "trigger",
];

fn kind(text: String) -> Cow<'static, str> {
    match KINDS.iter().find(|known| **known == text) {
        Some(known) => Cow::Borrowed(known),
        None => Cow::Owned(text),
    }
}

/// An operation's options, kept as the stored JSON text and parsed on the operation's first
/// run. A plan of 10,000 flows holds 100,000 operations, most of which never run in a given
/// process: as text they cost about a hundred bytes each, as `serde_json` maps over a
/// kilobyte, and parsing them all made up much of the start-up.
#[derive(Debug, Clone, Default)]
pub struct Options {
    raw: Option<Box<str>>,
    /// Boxed: an unread operation pays a pointer for it, not a `Value`'s 32 bytes.
    parsed: OnceLock<Box<Parsed>>,
}

#[derive(Debug, Clone)]
struct Parsed {
    value: Value,
    /// Whether rendering them reads the chain, worked out once per plan, not once per run.
    placeholders: bool,
}

impl Parsed {
    fn new(value: Value) -> Box<Self> {
        let value = normalised(value);
        let placeholders = crate::template::has_placeholders(&value);
        Box::new(Parsed {
            value,
            placeholders,
        })
    }
}

impl Options {
    /// Options from their stored text (`None` for SQL `NULL`).
    pub fn from_text(raw: Option<String>) -> Self {
        Self {
            raw: raw.map(String::into_boxed_str),
            parsed: OnceLock::new(),
        }
    }

    /// Options already parsed.
    pub fn from_value(value: Value) -> Self {
        Self {
            raw: None,
            parsed: OnceLock::from(Parsed::new(value)),
        }
    }

    fn parsed(&self) -> &Parsed {
        self.parsed.get_or_init(|| {
            Parsed::new(match self.raw.as_deref() {
                None => Value::Null,
                Some(text) => {
                    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
                }
            })
        })
    }

    /// The options as JSON: `null` reads as `{}` (construct-flow-tree), and text that is not
    /// JSON (only possible in SQLite's text column, written behind flowline's back) reads as
    /// that string, as the generic items read answers it.
    pub fn value(&self) -> &Value {
        &self.parsed().value
    }

    /// Whether some string in the options holds a placeholder
    /// ([`crate::template::has_placeholders`]).
    pub fn has_placeholders(&self) -> bool {
        self.parsed().placeholders
    }
}

impl PartialEq for Options {
    fn eq(&self, other: &Self) -> bool {
        self.value() == other.value()
    }
}

fn normalised(value: Value) -> Value {
    match value {
        Value::Null => Value::Object(Map::new()),
        v => v,
    }
}

/// The five kinds of trigger Directus knows (`TriggerType` in its types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TriggerKind {
    Webhook,
    Manual,
    Schedule,
    Event,
    Operation,
}

impl TriggerKind {
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "webhook" => TriggerKind::Webhook,
            "manual" => TriggerKind::Manual,
            "schedule" => TriggerKind::Schedule,
            "event" => TriggerKind::Event,
            "operation" => TriggerKind::Operation,
            _ => return None,
        })
    }

    /// The name stored in `directus_flows.trigger` and in run records.
    pub fn name(self) -> &'static str {
        match self {
            TriggerKind::Webhook => "webhook",
            TriggerKind::Manual => "manual",
            TriggerKind::Schedule => "schedule",
            TriggerKind::Event => "event",
            TriggerKind::Operation => "operation",
        }
    }
}

/// A flow's trigger with its options, read once when the plan is built instead of by
/// name on every request, tick or write.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    Webhook(WebhookOptions),
    Manual(ManualOptions),
    Schedule(ScheduleOptions),
    Event(EventOptions),
    Operation(OperationOptions),
    /// A name Directus does not know (the legacy `hook`, a typo): nothing starts such a
    /// flow but `/operations/trigger/:id`, whose run record keeps the name.
    Unknown(Box<str>),
}

impl Trigger {
    /// The trigger named `name`, with `options` read for it.
    pub fn parse(name: &str, options: Value) -> Self {
        match TriggerKind::parse(name) {
            Some(TriggerKind::Webhook) => Trigger::Webhook(options::parse(options)),
            Some(TriggerKind::Manual) => Trigger::Manual(options::parse(options)),
            Some(TriggerKind::Schedule) => Trigger::Schedule(options::parse(options)),
            Some(TriggerKind::Event) => Trigger::Event(EventOptions::parse(options)),
            Some(TriggerKind::Operation) => Trigger::Operation(options::parse(options)),
            None => Trigger::Unknown(name.into()),
        }
    }

    pub fn kind(&self) -> Option<TriggerKind> {
        Some(match self {
            Trigger::Webhook(_) => TriggerKind::Webhook,
            Trigger::Manual(_) => TriggerKind::Manual,
            Trigger::Schedule(_) => TriggerKind::Schedule,
            Trigger::Event(_) => TriggerKind::Event,
            Trigger::Operation(_) => TriggerKind::Operation,
            Trigger::Unknown(_) => return None,
        })
    }

    /// The stored name.
    pub fn name(&self) -> &str {
        match self {
            Trigger::Unknown(name) => name,
            known => known.kind().map_or("", TriggerKind::name),
        }
    }
}

/// One active flow.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowPlan {
    pub id: String,
    pub name: String,
    /// `None` when the row has no trigger.
    pub trigger: Option<Trigger>,
    pub accountability: Option<String>,
    /// `options.return` when it is text: which chain value a run answers. Kept beside the
    /// trigger because an operation can start any flow (`/operations/trigger/:id`), and
    /// that run answers it too.
    pub returns: Option<Box<str>>,
    pub root: Option<usize>,
    pub ops: Vec<OpPlan>,
    /// `options.retry`: how often a queued run tries a failed step.
    pub retry: Option<domain::retry::RetryPolicy>,
}

impl FlowPlan {
    /// The trigger's kind; `None` without a trigger or for an unknown one.
    pub fn kind(&self) -> Option<TriggerKind> {
        self.trigger.as_ref().and_then(Trigger::kind)
    }

    /// The index of the operation with this id.
    pub fn op_index(&self, id: &RowId) -> Option<usize> {
        self.ops.iter().position(|op| op.id == *id)
    }
}

/// Every active flow by id.
#[derive(Debug, Default)]
pub struct Plan {
    pub flows: HashMap<String, Arc<FlowPlan>>,
}

impl Plan {
    pub fn flow(&self, id: &str) -> Option<Arc<FlowPlan>> {
        self.flows.get(id).cloned()
    }

    /// The flows holding any of these operations: a deleted operation's mutation names only
    /// the operation, and its row is gone by then. A scan rather than an index kept beside
    /// the plan: it runs only for operation writes, and costs well under a millisecond for
    /// 100,000 operations, where an index would cost megabytes.
    pub fn flows_of_operations(&self, ops: &HashSet<String>) -> Vec<String> {
        // Comparing a handful of ids directly is faster than hashing every operation's id.
        let wanted: HashSet<RowId> = ops.iter().map(|id| RowId::new(id)).collect();
        let few: Vec<&RowId> = wanted.iter().collect();
        let holds = |id: &RowId| {
            if few.len() <= 8 {
                few.contains(&id)
            } else {
                wanted.contains(id)
            }
        };
        if ops.is_empty() {
            return Vec::new();
        }
        self.flows
            .values()
            .filter(|flow| flow.ops.iter().any(|op| holds(&op.id)))
            .map(|flow| flow.id.clone())
            .collect()
    }

    /// This plan with the flows in `changed` taken from `reloaded`, or dropped when it lacks
    /// them (deleted or no longer active). Unchanged flows are shared, not copied.
    pub fn patched(&self, changed: &HashSet<String>, mut reloaded: Plan) -> Plan {
        let mut flows = self.flows.clone();
        for id in changed {
            match reloaded.flows.remove(id) {
                Some(flow) => flows.insert(id.clone(), flow),
                None => flows.remove(id),
            };
        }
        Plan { flows }
    }
}

/// Why one flow could not be loaded; the others load regardless.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(
        "flow {flow}: operation {op} points at {target}, which is not an operation of this flow"
    )]
    DanglingLink {
        flow: String,
        op: String,
        target: String,
    },
    #[error("flow {flow}: malformed row")]
    Malformed { flow: String },
}

fn text(row: &Value, key: &str) -> Option<String> {
    row.get(key).and_then(Value::as_str).map(str::to_string)
}

/// The columns of `directus_flows` a plan needs.
#[derive(Debug, Clone)]
pub struct FlowRow {
    pub id: String,
    pub name: String,
    pub trigger: Option<String>,
    pub accountability: Option<String>,
    pub options: Value,
    /// The first operation.
    pub operation: Option<String>,
}

/// The columns of `directus_operations` a plan needs.
#[derive(Debug, Clone)]
pub struct OpRow {
    pub id: String,
    pub key: String,
    pub kind: String,
    pub options: Options,
    pub resolve: Option<String>,
    pub reject: Option<String>,
}

/// Builds one flow's plan from its row with `operations.*` (the shape items reads answer).
pub fn build_flow(row: &Value) -> Result<FlowPlan, LoadError> {
    let id = text(row, "id").ok_or_else(|| LoadError::Malformed { flow: "?".into() })?;
    let empty = Vec::new();
    let raw_ops = row
        .get("operations")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    let mut ops = Vec::with_capacity(raw_ops.len());
    for op in raw_ops {
        ops.push(OpRow {
            id: text(op, "id").ok_or_else(|| LoadError::Malformed { flow: id.clone() })?,
            key: text(op, "key").unwrap_or_default(),
            kind: text(op, "type").unwrap_or_default(),
            options: Options::from_value(op.get("options").cloned().unwrap_or(Value::Null)),
            resolve: text(op, "resolve"),
            reject: text(op, "reject"),
        });
    }
    let flow = FlowRow {
        id,
        name: text(row, "name").unwrap_or_default(),
        trigger: text(row, "trigger"),
        accountability: text(row, "accountability"),
        options: row.get("options").cloned().unwrap_or(Value::Null),
        operation: text(row, "operation"),
    };
    assemble(flow, ops)
}

/// Builds one flow's plan from its rows, moving their values rather than copying them.
/// `ops` are in the order the plan keeps them (by id, as items reads answer them).
pub fn assemble(flow: FlowRow, ops: Vec<OpRow>) -> Result<FlowPlan, LoadError> {
    // Flows hold few operations: a linear search beats hashing every id.
    let find = |target: &Option<String>, op: &OpRow| -> Result<Option<u32>, LoadError> {
        match target {
            None => Ok(None),
            Some(t) => ops
                .iter()
                .position(|o| o.id == *t)
                .and_then(|at| u32::try_from(at).ok())
                .map(Some)
                .ok_or_else(|| LoadError::DanglingLink {
                    flow: flow.id.clone(),
                    op: op.id.clone(),
                    target: t.clone(),
                }),
        }
    };
    let mut links = Vec::with_capacity(ops.len());
    for op in &ops {
        links.push((find(&op.resolve, op)?, find(&op.reject, op)?));
    }
    let root = flow
        .operation
        .as_ref()
        .and_then(|first| ops.iter().position(|o| o.id == *first));
    let ops = ops
        .into_iter()
        .zip(links)
        .map(|(op, (resolve, reject))| OpPlan {
            id: RowId::from(op.id),
            key: op.key.into_boxed_str(),
            kind: kind(op.kind),
            options: op.options,
            resolve,
            reject,
        })
        .collect();
    let mut options = flow.options;
    let retry = domain::retry::RetryPolicy::parse(options.get("retry")).unwrap_or_else(|err| {
        // Writes refuse such a policy; this one was written behind flowline's back.
        tracing::warn!(flow = %flow.id, %err, "the flow's retry option is invalid; failed steps are not retried");
        None
    });
    let returns = match options.get_mut("return") {
        Some(Value::String(text)) => Some(std::mem::take(text).into_boxed_str()),
        _ => None,
    };
    Ok(FlowPlan {
        id: flow.id,
        name: flow.name,
        trigger: flow.trigger.map(|name| Trigger::parse(&name, options)),
        accountability: flow.accountability,
        returns,
        root,
        ops,
        retry,
    })
}

/// Loads every active flow. A flow that cannot load is skipped with a logged error.
///
/// Pages of [`PAGE`] flows in id order: reading all rows at once held every flow's
/// operations text in memory beside the plan being built, and the allocator keeps such a
/// peak resident long after it is freed.
pub async fn load(items: &ItemsService) -> Result<Plan, domain::Error> {
    load_paged(items, PAGE).await
}

/// [`load`] with pages of `size` flows; public so that tests can cross page boundaries
/// with a handful of flows.
pub async fn load_paged(items: &ItemsService, size: usize) -> Result<Plan, domain::Error> {
    let size = size.max(1);
    let mut plan = Plan::default();
    let mut after: Option<String> = None;
    loop {
        let page = read(items, Slice::After(after.as_deref(), size)).await?;
        plan.flows.extend(page.plan.flows);
        match page.last {
            Some(last) if page.rows == size => after = Some(last),
            _ => return Ok(plan),
        }
    }
}

/// Loads the flows among `ids` that are active; the others are absent from the answer.
pub async fn load_some(items: &ItemsService, ids: &[String]) -> Result<Plan, domain::Error> {
    let mut plan = Plan::default();
    for chunk in ids.chunks(IN_CHUNK) {
        plan.flows
            .extend(read(items, Slice::Ids(chunk)).await?.plan.flows);
    }
    Ok(plan)
}

/// Ids bound in one `IN (...)` list.
const IN_CHUNK: usize = 500;

/// Flows read per statement by a full load.
const PAGE: usize = 1_000;

/// Which flows one statement reads.
enum Slice<'a> {
    Ids(&'a [String]),
    /// The next `size` active flows with an id above this one (from the first without).
    After(Option<&'a str>, usize),
}

/// The flows one statement read, and how far it got.
struct Page {
    plan: Plan,
    rows: usize,
    last: Option<String>,
}

/// One statement: each active flow with its operations aggregated into one JSON text by the
/// database (`json_group_array` / `json_agg`). Moving 100,000 operation rows one by one
/// through the driver, then building JSON values of their options, was most of the start-up
/// with 10,000 flows; one row per flow, with options left as text, is a fraction of it.
async fn read(items: &ItemsService, slice: Slice<'_>) -> Result<Page, domain::Error> {
    let backend = items.backend();
    let db = items.executor();
    let operations = match backend {
        sea_orm::DbBackend::Postgres => {
            "(SELECT json_agg(json_build_array(o.id, o.key, o.type, o.options::text, \
             o.resolve, o.reject))::text FROM directus_operations o WHERE o.flow = f.id)"
        }
        _ => {
            "(SELECT json_group_array(json_array(o.id, o.key, o.type, o.options, o.resolve, \
             o.reject)) FROM directus_operations o WHERE o.flow = f.id)"
        }
    };
    let mut flows = Sql::select();
    flows
        .exprs([
            col("f", "id"),
            col("f", "name"),
            col("f", "trigger"),
            col("f", "accountability"),
            col("f", "options"),
            col("f", "operation"),
        ])
        .expr(Expr::cust(operations))
        .from_as(Alias::new("directus_flows"), Alias::new("f"))
        .and_where(col("f", "status").eq("active"));
    match slice {
        Slice::Ids(ids) => {
            flows.and_where(in_list(backend, "f", "id", FieldKind::Uuid, ids));
        }
        Slice::After(after, size) => {
            if let Some(after) = after {
                let bound = bind(backend, FieldKind::Uuid, "id", &Value::from(after))?;
                flows.and_where(col("f", "id").gt(Expr::val(bound)));
            }
            flows
                .order_by_expr(col("f", "id"), Order::Asc)
                .limit(size as u64);
        }
    }
    let field = |row: &sea_orm::QueryResult, idx, kind| -> Result<Option<String>, domain::Error> {
        Ok(match decode(backend, row, idx, Decode::Field(kind))? {
            Value::String(s) => Some(s),
            _ => None,
        })
    };
    let mut page = Page {
        plan: Plan::default(),
        rows: 0,
        last: None,
    };
    for row in db.query_all(&flows).await? {
        page.rows += 1;
        let Some(id) = field(&row, 0, FieldKind::Uuid)? else {
            continue;
        };
        page.last = Some(id.clone());
        let ops = match row.try_get_by_index::<Option<String>>(6)? {
            Some(text) => match operation_rows(&text) {
                Ok(ops) => ops,
                Err(err) => {
                    tracing::error!(flow = %id, %err, "flow skipped: unreadable operations");
                    continue;
                }
            },
            None => Vec::new(),
        };
        let flow = FlowRow {
            id,
            name: field(&row, 1, FieldKind::String)?.unwrap_or_default(),
            trigger: field(&row, 2, FieldKind::String)?,
            accountability: field(&row, 3, FieldKind::String)?,
            options: decode(backend, &row, 4, Decode::Field(FieldKind::Json))?,
            operation: field(&row, 5, FieldKind::Uuid)?,
        };
        match assemble(flow, ops) {
            Ok(flow) => {
                page.plan.flows.insert(flow.id.clone(), Arc::new(flow));
            }
            Err(err) => tracing::error!(%err, "flow skipped"),
        }
    }
    Ok(page)
}

/// One operation as the aggregate lists it: id, key, type, options (as text), resolve, reject.
type AggregatedOp = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// The operations of one flow from their aggregated JSON text, in id order as the plan
/// keeps them.
fn operation_rows(text: &str) -> Result<Vec<OpRow>, serde_json::Error> {
    let listed: Vec<AggregatedOp> = serde_json::from_str(text)?;
    let mut ops: Vec<OpRow> = listed
        .into_iter()
        .map(|(id, key, kind, options, resolve, reject)| OpRow {
            id,
            key: key.unwrap_or_default(),
            kind: kind.unwrap_or_default(),
            options: Options::from_text(options),
            resolve,
            reject,
        })
        .collect();
    ops.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(ops)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn links_become_indices() -> Result<(), LoadError> {
        let row = json!({
            "id": "f", "name": "n", "trigger": "webhook", "accountability": null, "options": null,
            "operation": "a",
            "operations": [
                {"id": "b", "key": "second", "type": "log", "options": null, "resolve": null, "reject": null},
                {"id": "a", "key": "first", "type": "condition", "options": {"filter": {}}, "resolve": "b", "reject": null}
            ]
        });
        let flow = build_flow(&row)?;
        assert_eq!(flow.root, Some(1));
        assert_eq!(flow.ops[1].resolve, Some(0));
        assert_eq!(flow.ops[0].options.value(), &json!({}));
        assert_eq!(
            flow.trigger,
            Some(Trigger::Webhook(WebhookOptions::default()))
        );
        assert_eq!(flow.returns, None);
        Ok(())
    }

    #[test]
    fn triggers_are_read_once_with_their_options() -> Result<(), LoadError> {
        let row = json!({
            "id": "f", "trigger": "manual",
            "options": {"return": "$all", "collections": "a,b", "async": true}
        });
        let flow = build_flow(&row)?;
        assert_eq!(flow.kind(), Some(TriggerKind::Manual));
        assert_eq!(flow.returns.as_deref(), Some("$all"));
        let Some(Trigger::Manual(options)) = &flow.trigger else {
            panic!("a manual trigger: {:?}", flow.trigger);
        };
        assert_eq!(options.collections, ["a".into(), "b".into()]);
        assert!(options.run_async && options.require_selection);
        let legacy = build_flow(&json!({"id": "g", "trigger": "hook", "options": {"return": 1}}))?;
        assert_eq!(legacy.kind(), None);
        assert_eq!(legacy.trigger.as_ref().map(Trigger::name), Some("hook"));
        assert_eq!(legacy.returns, None);
        let none = build_flow(&json!({"id": "h"}))?;
        assert_eq!(none.trigger, None);
        for kind in [
            TriggerKind::Webhook,
            TriggerKind::Manual,
            TriggerKind::Schedule,
            TriggerKind::Event,
            TriggerKind::Operation,
        ] {
            assert_eq!(TriggerKind::parse(kind.name()), Some(kind));
            assert_eq!(Trigger::parse(kind.name(), Value::Null).name(), kind.name());
        }
        Ok(())
    }

    #[test]
    fn the_static_type_names_are_the_registry_s() {
        let mut registered = crate::ops::Registry::builtin().kinds();
        registered.sort_unstable();
        assert_eq!(registered, KINDS);
        assert!(matches!(kind("log".to_string()), Cow::Borrowed("log")));
        assert!(matches!(kind("custom-op".to_string()), Cow::Owned(k) if k == "custom-op"));
    }

    #[test]
    fn a_dangling_link_skips_the_flow() {
        let row = json!({"id": "f", "operations": [{"id": "a", "key": "k", "type": "log", "resolve": "zzz"}]});
        assert!(matches!(
            build_flow(&row),
            Err(LoadError::DanglingLink { .. })
        ));
    }

    #[test]
    fn aggregated_operations_keep_their_options_as_text_until_read() -> Result<(), serde_json::Error>
    {
        let text = r#"[
            ["b", "second", "log", null, null, null],
            ["a", "first", "transform", "{\"json\": {\"n\": 1}}", "b", null],
            ["c", "third", "log", "not json", null, null]
        ]"#;
        let ops = operation_rows(text)?;
        let ids: Vec<&str> = ops.iter().map(|op| op.id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        assert_eq!(ops[0].options.value(), &json!({"json": {"n": 1}}));
        assert_eq!(ops[0].resolve.as_deref(), Some("b"));
        assert_eq!(ops[1].options.value(), &json!({}));
        assert_eq!(ops[2].options.value(), &json!("not json"));
        assert!(operation_rows("[[1]]").is_err());
        Ok(())
    }

    fn flow(id: &str, ops: &[&str]) -> Arc<FlowPlan> {
        let ops = ops
            .iter()
            .map(|op| json!({"id": op, "key": op, "type": "log"}))
            .collect::<Vec<_>>();
        let row = json!({"id": id, "operations": ops});
        Arc::new(build_flow(&row).unwrap_or_else(|err| panic!("{err}")))
    }

    #[test]
    fn a_patch_shares_the_unchanged_flows() {
        let plan = Plan {
            flows: [flow("a", &["a1"]), flow("b", &["b1", "b2"]), flow("c", &[])]
                .into_iter()
                .map(|f| (f.id.clone(), f))
                .collect(),
        };
        let ops: HashSet<String> = ["b2".to_string(), "zz".to_string()].into();
        assert_eq!(plan.flows_of_operations(&ops), ["b"]);
        // `a` was reloaded, `c` is gone (deleted or inactive), `d` is new.
        let changed: HashSet<String> = ["a", "c", "d"].map(String::from).into();
        let reloaded = Plan {
            flows: [flow("a", &["a1", "a2"]), flow("d", &[])]
                .into_iter()
                .map(|f| (f.id.clone(), f))
                .collect(),
        };
        let next = plan.patched(&changed, reloaded);
        let mut ids: Vec<&String> = next.flows.keys().collect();
        ids.sort();
        assert_eq!(ids, ["a", "b", "d"]);
        assert_eq!(next.flows["a"].ops.len(), 2);
        assert!(Arc::ptr_eq(&next.flows["b"], &plan.flows["b"]));
    }
}
