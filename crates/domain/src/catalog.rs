//! The collection catalogue: one description per collection, from which the query layer,
//! the items service and the GraphQL schema are all generated.

use std::sync::Arc;

/// The storage type of a field, as Directus names it. It decides the SQL binding, the JSON
/// rendering, the filter operators a field accepts and its GraphQL scalar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Uuid,
    String,
    Text,
    Integer,
    BigInteger,
    Float,
    Boolean,
    Json,
    Timestamp,
    /// An exact number (`numeric`, `decimal`): rendered as a string, as Directus does on
    /// PostgreSQL, so no digit is lost to floating point.
    Decimal,
    /// A date and time without a zone (`timestamp without time zone`, `datetime`), rendered
    /// `YYYY-MM-DDTHH:MM:SS` (Directus's `dateTime`).
    DateTime,
    /// A calendar date, rendered `YYYY-MM-DD`.
    Date,
    /// A secret (`password`, `token`): filterable only by presence, never returned in clear.
    Hash,
}

impl FieldKind {
    /// The Directus type name used in error messages such as
    /// `"string" field type does not contain the "_gt" filter operator`.
    pub fn directus_name(self) -> &'static str {
        match self {
            FieldKind::Uuid => "uuid",
            FieldKind::String => "string",
            FieldKind::Text => "text",
            FieldKind::Integer => "integer",
            FieldKind::BigInteger => "bigInteger",
            FieldKind::Float => "float",
            FieldKind::Boolean => "boolean",
            FieldKind::Json => "json",
            FieldKind::Timestamp => "timestamp",
            FieldKind::Decimal => "decimal",
            FieldKind::DateTime => "dateTime",
            FieldKind::Date => "date",
            FieldKind::Hash => "hash",
        }
    }

    /// Whether `search` looks into this field (Directus: string and text fields).
    pub fn is_text(self) -> bool {
        matches!(self, FieldKind::String | FieldKind::Text)
    }

    /// Whether `sum`, `avg`, `min` and `max` apply.
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            FieldKind::Integer | FieldKind::BigInteger | FieldKind::Float | FieldKind::Decimal
        )
    }

    /// Whether the kind holds a point or day in time (date functions and `$NOW` apply).
    pub fn is_temporal(self) -> bool {
        matches!(
            self,
            FieldKind::Timestamp | FieldKind::DateTime | FieldKind::Date
        )
    }
}

/// How a field links to another collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Relation {
    /// The field's column holds the primary key of a row of `target`.
    ManyToOne { target: &'static str },
    /// An alias without a column: the rows of `target` whose `foreign_field` holds our key.
    OneToMany {
        target: &'static str,
        foreign_field: &'static str,
    },
}

/// Who sets a field on writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Managed {
    /// The client writes it.
    No,
    /// Set to the current time on create; client values are ignored, as Directus's
    /// `date-created` special does.
    DateCreated,
    /// Set to the caller on create; client values are ignored (`user-created`).
    UserCreated,
}

/// One field of a collection.
#[derive(Debug, Clone)]
pub struct Field {
    pub name: &'static str,
    pub kind: FieldKind,
    /// Required on create and non-null in GraphQL object types (`name: String!`).
    pub required: bool,
    /// Must hold a value once written (checked as a `required` validation failure), even
    /// where GraphQL types it nullable because nested writes fill it in from the parent.
    pub not_null: bool,
    pub relation: Option<Relation>,
    pub managed: Managed,
    /// The column has a database default, so a create may leave it out.
    pub has_default: bool,
    /// No two rows may hold the same non-null value (`resolve`, `reject`, `operation`).
    pub unique: bool,
    /// Longest text accepted (`varchar(255)` and the like); longer values are refused.
    pub max_length: Option<usize>,
    /// When set, the only values a write may store (flowline validates enums Directus does not).
    pub allowed: Option<&'static [&'static str]>,
    /// `numeric(precision, scale)`: larger values are refused as out of range instead of
    /// reaching the database's overflow error.
    pub numeric: Option<(u32, u32)>,
}

impl Field {
    pub(crate) fn new(name: &'static str, kind: FieldKind) -> Self {
        Field {
            name,
            kind,
            required: false,
            not_null: false,
            has_default: false,
            unique: false,
            max_length: match kind {
                FieldKind::String => Some(255),
                _ => None,
            },
            relation: None,
            managed: Managed::No,
            allowed: None,
            numeric: None,
        }
    }
    pub(crate) fn required(mut self) -> Self {
        self.required = true;
        self.not_null = true;
        self
    }
    pub(crate) fn not_null(mut self) -> Self {
        self.not_null = true;
        self
    }
    fn m2o(mut self, target: &'static str) -> Self {
        self.relation = Some(Relation::ManyToOne { target });
        self
    }
    pub(crate) fn defaulted(mut self) -> Self {
        self.has_default = true;
        self
    }
    fn unique(mut self) -> Self {
        self.unique = true;
        self
    }
    pub(crate) fn max_length(mut self, n: usize) -> Self {
        self.max_length = Some(n);
        self
    }
    fn managed(mut self, managed: Managed) -> Self {
        self.managed = managed;
        self
    }
    fn one_of(mut self, values: &'static [&'static str]) -> Self {
        self.allowed = Some(values);
        self
    }
    fn o2m(name: &'static str, target: &'static str, foreign_field: &'static str) -> Self {
        let mut f = Field::new(name, FieldKind::Uuid);
        f.relation = Some(Relation::OneToMany {
            target,
            foreign_field,
        });
        f
    }

    /// Whether the field is stored in a column (o2m aliases are not).
    pub fn has_column(&self) -> bool {
        !matches!(self.relation, Some(Relation::OneToMany { .. }))
    }

    pub fn m2o_target(&self) -> Option<&'static str> {
        match self.relation {
            Some(Relation::ManyToOne { target }) => Some(target),
            _ => None,
        }
    }
}

/// One collection: a table plus the metadata Directus keeps about it.
#[derive(Debug, Clone)]
pub struct Collection {
    /// The collection name, which is also the table name (`directus_flows`).
    pub name: &'static str,
    /// The name of its root GraphQL fields and REST route (`flows`), when it has them.
    pub root: Option<&'static str>,
    pub primary_key: &'static str,
    pub fields: Vec<Field>,
    /// Whether clients may create, update and delete rows (activity and revisions are read-only).
    pub writable: bool,
    /// The database generates the key (an auto-increment integer), so a create leaves it
    /// out and reads it back; otherwise a uuid key is generated and other keys are required.
    pub generated_key: bool,
}

impl Collection {
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    pub fn pk_field(&self) -> &Field {
        self.field(self.primary_key).unwrap_or(&self.fields[0])
    }

    /// A key as clients see it: a number for integer keys, text otherwise.
    pub fn key_json(&self, key: &str) -> serde_json::Value {
        match (self.pk_field().kind, key.parse::<i64>()) {
            (FieldKind::Integer | FieldKind::BigInteger, Ok(n)) => serde_json::Value::from(n),
            _ => serde_json::Value::from(key),
        }
    }

    /// A table of the user's own (not `directus_*` or `flowline_*`), served under
    /// `/items/:collection`.
    pub fn is_user(&self) -> bool {
        !is_system_name(self.name)
    }

    /// Whether `<collection>_mutated` streams its changes: those of writable collections,
    /// and the runs, which change as they run.
    pub fn streams(&self) -> bool {
        self.writable || self.name == RUNS
    }

    pub fn columns(&self) -> impl Iterator<Item = &Field> {
        self.fields.iter().filter(|f| f.has_column())
    }
}

/// Every collection flowline serves, shared read-only across requests.
#[derive(Debug, Clone)]
pub struct Catalog {
    collections: Arc<Vec<Collection>>,
}

impl Catalog {
    pub fn get(&self, name: &str) -> Option<&Collection> {
        self.collections.iter().find(|c| c.name == name)
    }

    /// Looks a collection up by its root name (`flows` -> `directus_flows`).
    pub fn by_root(&self, root: &str) -> Option<&Collection> {
        self.collections.iter().find(|c| c.root == Some(root))
    }

    pub fn collections(&self) -> &[Collection] {
        &self.collections
    }

    /// The system collections plus the user's tables found by introspection; a user table
    /// named like a system collection is left out.
    pub fn with_user_tables(&self, tables: Vec<Collection>) -> Self {
        let mut all: Vec<Collection> = self
            .collections
            .iter()
            .filter(|c| !c.is_user())
            .cloned()
            .collect();
        all.extend(
            tables
                .into_iter()
                .filter(|t| t.is_user() && self.get(t.name).is_none_or(Collection::is_user)),
        );
        Catalog {
            collections: Arc::new(all),
        }
    }

    /// The same collections, each rewritten by `f` (permissions narrow fields this way).
    pub fn map_collections(&self, f: impl Fn(&Collection) -> Collection) -> Self {
        Catalog {
            collections: Arc::new(self.collections.iter().map(f).collect()),
        }
    }

    /// Only the system collections: what `/graphql/system` and its SDL describe.
    pub fn system_only(&self) -> Self {
        Catalog {
            collections: Arc::new(
                self.collections
                    .iter()
                    .filter(|c| !c.is_user())
                    .cloned()
                    .collect(),
            ),
        }
    }

    /// The system collections of Directus that flowline serves.
    pub fn system() -> Self {
        use FieldKind::*;
        let flows = Collection {
            name: "directus_flows",
            root: Some("flows"),
            primary_key: "id",
            writable: true,
            generated_key: false,
            fields: vec![
                Field::new("id", Uuid),
                Field::new("name", String).required(),
                Field::new("icon", String).max_length(64),
                Field::new("color", String),
                Field::new("description", Text),
                Field::new("status", String)
                    .one_of(FLOW_STATUSES)
                    .not_null()
                    .defaulted(),
                Field::new("trigger", String).one_of(FLOW_TRIGGERS),
                Field::new("accountability", String).defaulted(),
                Field::new("options", Json),
                Field::new("operation", Uuid)
                    .m2o("directus_operations")
                    .unique(),
                Field::new("date_created", Timestamp).managed(Managed::DateCreated),
                Field::new("user_created", Uuid)
                    .m2o("directus_users")
                    .managed(Managed::UserCreated),
                Field::new("folder", Uuid).m2o("directus_folders"),
                Field::o2m("operations", "directus_operations", "flow"),
            ],
        };
        let operations = Collection {
            name: "directus_operations",
            root: Some("operations"),
            primary_key: "id",
            writable: true,
            generated_key: false,
            fields: vec![
                Field::new("id", Uuid),
                Field::new("name", String),
                Field::new("key", String).required(),
                Field::new("type", String).required(),
                Field::new("position_x", Integer).required(),
                Field::new("position_y", Integer).required(),
                Field::new("options", Json),
                Field::new("resolve", Uuid)
                    .m2o("directus_operations")
                    .unique(),
                Field::new("reject", Uuid)
                    .m2o("directus_operations")
                    .unique(),
                Field::new("flow", Uuid).m2o("directus_flows").not_null(),
                Field::new("date_created", Timestamp).managed(Managed::DateCreated),
                Field::new("user_created", Uuid)
                    .m2o("directus_users")
                    .managed(Managed::UserCreated),
            ],
        };
        let folders = Collection {
            name: "directus_folders",
            root: None,
            primary_key: "id",
            writable: false,
            generated_key: false,
            fields: vec![
                Field::new("id", Uuid),
                Field::new("name", String).required(),
                Field::new("parent", Uuid).m2o("directus_folders"),
                Field::new("type", String),
            ],
        };
        let users = Collection {
            name: "directus_users",
            root: None,
            primary_key: "id",
            writable: false,
            generated_key: false,
            fields: vec![
                Field::new("id", Uuid),
                Field::new("first_name", String),
                Field::new("last_name", String),
                Field::new("email", String),
                Field::new("status", String),
                Field::new("role", Uuid).m2o("directus_roles"),
                Field::new("last_access", Timestamp),
            ],
        };
        let roles = Collection {
            name: "directus_roles",
            root: None,
            primary_key: "id",
            writable: false,
            generated_key: false,
            fields: vec![
                Field::new("id", Uuid),
                Field::new("name", String).required(),
                Field::new("icon", String).max_length(64),
                Field::new("description", Text),
                Field::o2m("users", "directus_users", "role"),
            ],
        };
        let activity = Collection {
            name: "directus_activity",
            root: Some("activity"),
            primary_key: "id",
            writable: false,
            generated_key: false,
            fields: vec![
                Field::new("id", Integer),
                Field::new("action", String).required(),
                Field::new("user", Uuid).m2o("directus_users"),
                Field::new("timestamp", Timestamp).required(),
                Field::new("ip", String),
                Field::new("user_agent", Text),
                Field::new("collection", String).required(),
                Field::new("item", String).required(),
                Field::new("origin", String),
                Field::o2m("revisions", "directus_revisions", "activity"),
            ],
        };
        let revisions = Collection {
            name: "directus_revisions",
            root: Some("revisions"),
            primary_key: "id",
            writable: false,
            generated_key: false,
            fields: vec![
                Field::new("id", Integer),
                Field::new("activity", Integer)
                    .m2o("directus_activity")
                    .not_null(),
                Field::new("collection", String).required(),
                Field::new("item", String).required(),
                Field::new("data", Json),
                Field::new("delta", Json),
                Field::new("parent", Integer).m2o("directus_revisions"),
            ],
        };
        let permissions = Collection {
            name: "directus_permissions",
            root: Some("permissions"),
            primary_key: "id",
            writable: true,
            generated_key: true,
            fields: vec![
                Field::new("id", Integer).defaulted(),
                Field::new("role", Uuid).m2o("directus_roles"),
                Field::new("collection", String).max_length(64).required(),
                Field::new("action", String)
                    .one_of(PERMISSION_ACTIONS)
                    .required(),
                Field::new("permissions", Json),
                Field::new("fields", Json),
            ],
        };
        let notifications = Collection {
            name: "directus_notifications",
            root: Some("notifications"),
            primary_key: "id",
            writable: true,
            generated_key: true,
            fields: vec![
                Field::new("id", Integer).defaulted(),
                Field::new("timestamp", Timestamp).managed(Managed::DateCreated),
                Field::new("status", String)
                    .one_of(NOTIFICATION_STATUSES)
                    .defaulted(),
                Field::new("recipient", Uuid)
                    .m2o("directus_users")
                    .required(),
                Field::new("sender", Uuid).m2o("directus_users"),
                Field::new("subject", String).required(),
                Field::new("message", Text),
                Field::new("collection", String).max_length(64),
                Field::new("item", String),
            ],
        };
        let (runs, run_steps) = run_collections();
        Catalog {
            collections: Arc::new(vec![
                flows,
                operations,
                folders,
                users,
                roles,
                activity,
                revisions,
                permissions,
                notifications,
                runs,
                run_steps,
            ]),
        }
    }
}

/// The collection of queued runs: read-only data, served at `/runs` and as `runs` in GraphQL.
pub const RUNS: &str = "flowline_runs";

/// `flowline_runs` and its journal `flowline_run_steps`, as clients read them.
///
/// Times are unix milliseconds, as the queue stores them. The `start` column (the trigger
/// with its headers and the caller) and the lease columns stay internal: the first may hold
/// secrets, the others mean nothing outside the workers. `flow` is a plain key rather than a
/// relation, because the queue keeps it as text where `directus_flows.id` is a PostgreSQL
/// `uuid`.
fn run_collections() -> (Collection, Collection) {
    use FieldKind::*;
    let runs = Collection {
        name: RUNS,
        root: Some("runs"),
        primary_key: "id",
        writable: false,
        generated_key: false,
        fields: vec![
            Field::new("id", String).max_length(36),
            Field::new("flow", String).max_length(64).required(),
            Field::new("trigger", String).max_length(16).required(),
            Field::new("status", String)
                .max_length(16)
                .one_of(RUN_STATUSES)
                .required(),
            Field::new("attempts", Integer).required(),
            Field::new("enqueued_at", BigInteger).required(),
            Field::new("started_at", BigInteger),
            Field::new("finished_at", BigInteger),
            Field::new("error", Text),
            Field::o2m("steps", "flowline_run_steps", "run"),
        ],
    };
    let steps = Collection {
        name: "flowline_run_steps",
        root: None,
        primary_key: "id",
        writable: false,
        generated_key: true,
        fields: vec![
            Field::new("id", BigInteger),
            Field::new("run", String)
                .max_length(36)
                .m2o(RUNS)
                .required(),
            Field::new("seq", Integer).required(),
            Field::new("operation", String).max_length(64).required(),
            Field::new("key", String).required(),
            Field::new("status", String).max_length(8).required(),
            Field::new("output", Json),
            Field::new("started_at", BigInteger),
            Field::new("finished_at", BigInteger),
            Field::new("wait_until", BigInteger),
            Field::new("attempts", Integer).required(),
        ],
    };
    (runs, steps)
}

/// `flowline_runs.status` values.
pub const RUN_STATUSES: &[&str] = &[
    "queued",
    "running",
    "retrying",
    "resolved",
    "rejected",
    "cancelled",
];

/// Whether a table is flowline's own: Directus's system tables and flowline's additions
/// (`flowline_runs`, the schedule claims), which are never user collections.
pub fn is_system_name(name: &str) -> bool {
    name.starts_with("directus_") || name.starts_with("flowline_")
}

/// `directus_permissions.action` values flowline enforces.
pub const PERMISSION_ACTIONS: &[&str] = &["create", "read", "update", "delete"];
/// `directus_notifications.status` values.
pub const NOTIFICATION_STATUSES: &[&str] = &["inbox", "archived"];
/// `directus_flows.status` values. Directus stores anything; flowline refuses the rest.
pub const FLOW_STATUSES: &[&str] = &["active", "inactive"];
/// `directus_flows.trigger` values (`packages/types/src/flows.ts` TriggerType).
pub const FLOW_TRIGGERS: &[&str] = &["event", "webhook", "schedule", "operation", "manual"];

/// Gives a table or column name found by introspection the `'static` lifetime the catalogue
/// uses for names. Each distinct name is stored once for the life of the process, like a
/// compiler's symbol table: memory is bounded by the identifiers the database ever held,
/// and names that exist only in a request (unknown collections) are never interned.
pub fn intern(name: &str) -> &'static str {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock};
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = match NAMES.get_or_init(Default::default).lock() {
        Ok(names) => names,
        Err(poisoned) => poisoned.into_inner(),
    };
    if let Some(known) = names.get(name) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.insert(leaked);
    leaked
}
