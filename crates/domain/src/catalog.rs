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
            FieldKind::Integer | FieldKind::BigInteger | FieldKind::Float
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
}

impl Field {
    fn new(name: &'static str, kind: FieldKind) -> Self {
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
        }
    }
    fn required(mut self) -> Self {
        self.required = true;
        self.not_null = true;
        self
    }
    fn not_null(mut self) -> Self {
        self.not_null = true;
        self
    }
    fn m2o(mut self, target: &'static str) -> Self {
        self.relation = Some(Relation::ManyToOne { target });
        self
    }
    fn defaulted(mut self) -> Self {
        self.has_default = true;
        self
    }
    fn unique(mut self) -> Self {
        self.unique = true;
        self
    }
    fn max_length(mut self, n: usize) -> Self {
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
}

impl Collection {
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    pub fn pk_field(&self) -> &Field {
        // The catalogue is built below with the key first in every collection.
        &self.fields[0]
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

    /// The system collections of Directus that flowline serves.
    pub fn system() -> Self {
        use FieldKind::*;
        let flows = Collection {
            name: "directus_flows",
            root: Some("flows"),
            primary_key: "id",
            writable: true,
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
        Catalog {
            collections: Arc::new(vec![
                flows, operations, folders, users, roles, activity, revisions,
            ]),
        }
    }
}

/// `directus_flows.status` values. Directus stores anything; flowline refuses the rest.
pub const FLOW_STATUSES: &[&str] = &["active", "inactive"];
/// `directus_flows.trigger` values (`packages/types/src/flows.ts` TriggerType).
pub const FLOW_TRIGGERS: &[&str] = &["event", "webhook", "schedule", "operation", "manual"];
