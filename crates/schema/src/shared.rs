//! The types every collection shares: scalars, `EventEnum`, the `*_filter_operators`
//! inputs, the function types and the delete results.

use async_graphql::Value;
use async_graphql::dynamic::{
    Enum, EnumItem, Field, InputObject, InputValue, Object, Scalar, TypeRef,
};

use crate::resolve::{Shape, json_field};

fn input(name: &str, fields: &[(&str, TypeRef)]) -> InputObject {
    fields
        .iter()
        .fold(InputObject::new(name), |obj, (field, ty)| {
            obj.field(InputValue::new(*field, ty.clone()))
        })
}

fn object(name: &str, fields: &[(&str, TypeRef)]) -> Object {
    fields.iter().fold(Object::new(name), |obj, (field, ty)| {
        obj.field(Field::new(
            *field,
            ty.clone(),
            json_field(field.to_string(), Shape::Scalar),
        ))
    })
}

pub fn scalars() -> Vec<Scalar> {
    vec![
        Scalar::new("JSON"),
        Scalar::new("Date").validator(|v| matches!(v, Value::String(_))),
        Scalar::new("GraphQLStringOrFloat")
            .validator(|v| matches!(v, Value::String(_) | Value::Number(_))),
        Scalar::new("GraphQLBigInt")
            .validator(|v| matches!(v, Value::String(_) | Value::Number(_))),
        Scalar::new("GraphQLJsonFilter"),
        Scalar::new("Hash").validator(|v| matches!(v, Value::String(_))),
    ]
}

pub fn event_enum() -> Enum {
    Enum::new("EventEnum")
        .item(EnumItem::new("create"))
        .item(EnumItem::new("update"))
        .item(EnumItem::new("delete"))
}

pub fn objects() -> Vec<Object> {
    let int = || TypeRef::named(TypeRef::INT);
    vec![
        object("count_functions", &[("count", int())]),
        object(
            "datetime_functions",
            &[
                ("year", int()),
                ("month", int()),
                ("week", int()),
                ("day", int()),
                ("weekday", int()),
                ("hour", int()),
                ("minute", int()),
                ("second", int()),
            ],
        ),
        object(
            "delete_many",
            &[("ids", TypeRef::named_list_nn(TypeRef::ID))],
        ),
        object("delete_one", &[("id", TypeRef::named_nn(TypeRef::ID))]),
    ]
}

pub fn inputs() -> Vec<InputObject> {
    fn t(name: &str) -> TypeRef {
        TypeRef::named(name)
    }
    fn l(name: &str) -> TypeRef {
        TypeRef::named_list(name)
    }
    let b = || t(TypeRef::BOOLEAN);
    let nums = |scalar: &str| -> Vec<(&'static str, TypeRef)> {
        vec![
            ("_eq", t(scalar)),
            ("_neq", t(scalar)),
            ("_in", l(scalar)),
            ("_nin", l(scalar)),
            ("_gt", t(scalar)),
            ("_gte", t(scalar)),
            ("_lt", t(scalar)),
            ("_lte", t(scalar)),
            ("_null", b()),
            ("_nnull", b()),
            ("_between", l(scalar)),
            ("_nbetween", l(scalar)),
        ]
    };
    let text = |scalar: &str| -> Vec<(&'static str, TypeRef)> {
        vec![
            ("_eq", t(scalar)),
            ("_neq", t(scalar)),
            ("_contains", t(scalar)),
            ("_icontains", t(scalar)),
            ("_ncontains", t(scalar)),
            ("_starts_with", t(scalar)),
            ("_nstarts_with", t(scalar)),
            ("_istarts_with", t(scalar)),
            ("_nistarts_with", t(scalar)),
            ("_ends_with", t(scalar)),
            ("_nends_with", t(scalar)),
            ("_iends_with", t(scalar)),
            ("_niends_with", t(scalar)),
            ("_in", l(scalar)),
            ("_nin", l(scalar)),
            ("_null", b()),
            ("_nnull", b()),
            ("_empty", b()),
            ("_nempty", b()),
        ]
    };
    let num = || t("number_filter_operators");
    vec![
        input("big_int_filter_operators", &nums("GraphQLBigInt")),
        input(
            "boolean_filter_operators",
            &[("_eq", b()), ("_neq", b()), ("_null", b()), ("_nnull", b())],
        ),
        input("count_function_filter_operators", &[("count", num())]),
        input(
            "date_filter_operators",
            &[
                ("_eq", t(TypeRef::STRING)),
                ("_neq", t(TypeRef::STRING)),
                ("_gt", t(TypeRef::STRING)),
                ("_gte", t(TypeRef::STRING)),
                ("_lt", t(TypeRef::STRING)),
                ("_lte", t(TypeRef::STRING)),
                ("_null", b()),
                ("_nnull", b()),
                ("_in", l(TypeRef::STRING)),
                ("_nin", l(TypeRef::STRING)),
                ("_between", l("GraphQLStringOrFloat")),
                ("_nbetween", l("GraphQLStringOrFloat")),
            ],
        ),
        input(
            "datetime_function_filter_operators",
            &[
                ("year", num()),
                ("month", num()),
                ("week", num()),
                ("day", num()),
                ("weekday", num()),
                ("hour", num()),
                ("minute", num()),
                ("second", num()),
            ],
        ),
        input(
            "hash_filter_operators",
            &[
                ("_null", b()),
                ("_nnull", b()),
                ("_empty", b()),
                ("_nempty", b()),
            ],
        ),
        input("id_filter_operators", &text(TypeRef::ID)),
        input(
            "json_filter_operators",
            &[
                ("_json", t("GraphQLJsonFilter")),
                ("_null", b()),
                ("_nnull", b()),
            ],
        ),
        input("number_filter_operators", &nums("GraphQLStringOrFloat")),
        input("string_filter_operators", &text(TypeRef::STRING)),
    ]
}
