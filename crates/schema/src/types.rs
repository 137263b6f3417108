//! The types generated for one collection from its catalogue entry: the object, its
//! filters, create and update inputs, aggregate results and subscription payload.

use async_graphql::dynamic::{Field, InputObject, InputValue, Object, TypeRef};
use domain::catalog::{Catalog, Collection, FieldKind, Relation};

use crate::naming;
use crate::resolve::{Shape, json_field};

/// The arguments every list (root or relation) takes, in Directus's order.
pub fn list_arguments(field: Field, collection: &str) -> Field {
    field
        .argument(InputValue::new(
            "filter",
            TypeRef::named(naming::filter(collection)),
        ))
        .argument(InputValue::new(
            "sort",
            TypeRef::named_list(TypeRef::STRING),
        ))
        .argument(InputValue::new("limit", TypeRef::named(TypeRef::INT)))
        .argument(InputValue::new("offset", TypeRef::named(TypeRef::INT)))
        .argument(InputValue::new("page", TypeRef::named(TypeRef::INT)))
        .argument(InputValue::new("search", TypeRef::named(TypeRef::STRING)))
}

fn scalar_type(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Uuid => TypeRef::ID,
        FieldKind::String | FieldKind::Text => TypeRef::STRING,
        FieldKind::Integer => TypeRef::INT,
        FieldKind::BigInteger => "GraphQLBigInt",
        FieldKind::Float => TypeRef::FLOAT,
        FieldKind::Boolean => TypeRef::BOOLEAN,
        FieldKind::Json => "JSON",
        FieldKind::Timestamp | FieldKind::DateTime | FieldKind::Date => "Date",
        FieldKind::Decimal => TypeRef::STRING,
        FieldKind::Hash => "Hash",
    }
}

fn filter_operators(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Uuid => "id_filter_operators",
        FieldKind::String | FieldKind::Text => "string_filter_operators",
        FieldKind::Integer | FieldKind::Float => "number_filter_operators",
        FieldKind::BigInteger => "big_int_filter_operators",
        FieldKind::Boolean => "boolean_filter_operators",
        FieldKind::Json => "json_filter_operators",
        FieldKind::Timestamp | FieldKind::DateTime | FieldKind::Date => "date_filter_operators",
        FieldKind::Decimal => "number_filter_operators",
        FieldKind::Hash => "hash_filter_operators",
    }
}

/// Whether some o2m relation of the catalogue lists rows of `collection`, which then needs
/// a quantifier filter.
pub fn is_o2m_target(catalog: &Catalog, collection: &str) -> bool {
    catalog.collections().iter().any(|c| {
        c.fields.iter().any(|f| {
            matches!(&f.relation, Some(Relation::OneToMany { target, .. }) if *target == collection)
        })
    })
}

pub fn object(coll: &Collection) -> Vec<Object> {
    let mut extra = Vec::new();
    let mut obj = Object::new(naming::object(coll.name));
    for field in &coll.fields {
        let name = field.name;
        match &field.relation {
            Some(Relation::ManyToOne { target }) => {
                let f = Field::new(
                    name,
                    TypeRef::named(naming::object(target)),
                    json_field(name.into(), Shape::Object),
                );
                obj = obj.field(list_arguments(f, target));
            }
            Some(Relation::OneToMany { target, .. }) => {
                let f = Field::new(
                    name,
                    TypeRef::named_list(naming::object(target)),
                    json_field(name.into(), Shape::List),
                );
                obj = obj.field(list_arguments(f, target));
                let func = naming::function_field(name);
                obj = obj.field(Field::new(
                    func.clone(),
                    TypeRef::named("count_functions"),
                    json_field(func, Shape::Object),
                ));
            }
            None => {
                // Keys are `ID` whatever their storage, as in Directus.
                let scalar = if name == coll.primary_key {
                    TypeRef::ID
                } else {
                    scalar_type(field.kind)
                };
                let ty = if name == coll.primary_key || field.required {
                    TypeRef::named_nn(scalar)
                } else {
                    TypeRef::named(scalar)
                };
                let shape = if name == coll.primary_key {
                    Shape::Id
                } else {
                    Shape::Scalar
                };
                obj = obj.field(Field::new(name, ty, json_field(name.into(), shape)));
                let func = naming::function_field(name);
                match field.kind {
                    FieldKind::Timestamp => {
                        obj = obj.field(Field::new(
                            func.clone(),
                            TypeRef::named("datetime_functions"),
                            json_field(func, Shape::Object),
                        ));
                    }
                    FieldKind::Json => {
                        let type_name = naming::json_functions(coll.name, name);
                        obj = obj.field(Field::new(
                            func.clone(),
                            TypeRef::named(&type_name),
                            json_field(func, Shape::Object),
                        ));
                        extra.push(
                            Object::new(type_name)
                                .field(Field::new(
                                    "count",
                                    TypeRef::named(TypeRef::INT),
                                    json_field("count".into(), Shape::Scalar),
                                ))
                                .field(
                                    Field::new(
                                        "json",
                                        TypeRef::named("JSON"),
                                        json_field("json".into(), Shape::Scalar),
                                    )
                                    .argument(InputValue::new(
                                        "path",
                                        TypeRef::named_nn(TypeRef::STRING),
                                    )),
                                ),
                        );
                    }
                    _ => {}
                }
            }
        }
    }
    extra.insert(0, obj);
    extra
}

pub fn filters(catalog: &Catalog, coll: &Collection) -> Vec<InputObject> {
    let own = naming::filter(coll.name);
    let build = |name: String, quantifier: bool| {
        let mut input = InputObject::new(name);
        for field in &coll.fields {
            let ty = match &field.relation {
                Some(Relation::ManyToOne { target }) => naming::filter(target),
                Some(Relation::OneToMany { target, .. }) => naming::quantifier_filter(target),
                None => filter_operators(field.kind).to_string(),
            };
            input = input.field(InputValue::new(field.name, TypeRef::named(ty)));
            let func = match (&field.relation, field.kind) {
                (Some(Relation::OneToMany { .. }), _) | (None, FieldKind::Json) => {
                    Some("count_function_filter_operators")
                }
                (None, FieldKind::Timestamp) => Some("datetime_function_filter_operators"),
                _ => None,
            };
            if let Some(func) = func {
                input = input.field(InputValue::new(
                    naming::function_field(field.name),
                    TypeRef::named(func),
                ));
            }
        }
        input = input
            .field(InputValue::new("_and", TypeRef::named_list(&own)))
            .field(InputValue::new("_or", TypeRef::named_list(&own)));
        if quantifier {
            input = input
                .field(InputValue::new("_some", TypeRef::named(&own)))
                .field(InputValue::new("_none", TypeRef::named(&own)));
        }
        input
    };
    let mut out = vec![build(own.clone(), false)];
    if is_o2m_target(catalog, coll.name) {
        out.push(build(naming::quantifier_filter(coll.name), true));
    }
    out
}

pub fn inputs(coll: &Collection) -> Vec<InputObject> {
    let build = |name: String, create: bool| {
        let nested = |target: &str| {
            if create {
                naming::create_input(target)
            } else {
                naming::update_input(target)
            }
        };
        let mut input = InputObject::new(name);
        for field in &coll.fields {
            let ty = match &field.relation {
                Some(Relation::ManyToOne { target }) => TypeRef::named(nested(target)),
                Some(Relation::OneToMany { target, .. }) => TypeRef::named_list(nested(target)),
                None => {
                    let scalar = scalar_type(field.kind);
                    if create && field.required && field.name != coll.primary_key {
                        TypeRef::named_nn(scalar)
                    } else {
                        TypeRef::named(scalar)
                    }
                }
            };
            input = input.field(InputValue::new(field.name, ty));
        }
        input
    };
    vec![
        build(naming::create_input(coll.name), true),
        build(naming::update_input(coll.name), false),
    ]
}

pub fn aggregated(coll: &Collection) -> Vec<Object> {
    let count_type = naming::aggregated_count(coll.name);
    let fields_type = naming::aggregated_fields(coll.name);
    let numeric: Vec<&str> = coll
        .columns()
        .filter(|f| f.kind.is_numeric())
        .map(|f| f.name)
        .collect();
    let mut agg = Object::new(naming::aggregated(coll.name))
        .field(Field::new(
            "group",
            TypeRef::named("JSON"),
            json_field("group".into(), Shape::Scalar),
        ))
        .field(Field::new(
            "countAll",
            TypeRef::named(TypeRef::INT),
            json_field("countAll".into(), Shape::Scalar),
        ))
        .field(Field::new(
            "count",
            TypeRef::named(&count_type),
            json_field("count".into(), Shape::Object),
        ))
        .field(Field::new(
            "countDistinct",
            TypeRef::named(&count_type),
            json_field("countDistinct".into(), Shape::Object),
        ));
    let mut out = Vec::new();
    if !numeric.is_empty() {
        for function in ["avg", "sum", "avgDistinct", "sumDistinct", "min", "max"] {
            agg = agg.field(Field::new(
                function,
                TypeRef::named(&fields_type),
                json_field(function.into(), Shape::Object),
            ));
        }
        let mut fields = Object::new(&fields_type);
        for name in &numeric {
            fields = fields.field(Field::new(
                *name,
                TypeRef::named(TypeRef::FLOAT),
                json_field(name.to_string(), Shape::Scalar),
            ));
        }
        out.push(fields);
    }
    let mut counts = Object::new(&count_type);
    for field in &coll.fields {
        counts = counts.field(Field::new(
            field.name,
            TypeRef::named(TypeRef::INT),
            json_field(field.name.into(), Shape::Scalar),
        ));
    }
    out.push(counts);
    out.insert(0, agg);
    out
}

pub fn mutated(coll: &Collection) -> Object {
    Object::new(naming::mutated(coll.name))
        .field(Field::new(
            "key",
            TypeRef::named_nn(TypeRef::ID),
            json_field("key".into(), Shape::Scalar),
        ))
        .field(Field::new(
            "event",
            TypeRef::named("EventEnum"),
            json_field("event".into(), Shape::Enum),
        ))
        .field(Field::new(
            "data",
            TypeRef::named(naming::object(coll.name)),
            json_field("data".into(), Shape::Object),
        ))
}
