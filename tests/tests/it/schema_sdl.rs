//! `schema.graphql` is exactly the served SDL, and it carries every type, field, argument and
//! type string of the Directus reference in `../shared/reference/` that flowline must match.
//!
//! `UPDATE_SCHEMA=1 cargo test -p e2e --test it schema_sdl` rewrites `schema.graphql`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use async_graphql_parser::types::{TypeKind, TypeSystemDefinition};

fn repo_file(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(rel)
}

fn served_sdl() -> String {
    schema::sdl(&domain::Catalog::system()).expect("schema builds")
}

#[test]
fn schema_graphql_is_current() {
    let path = repo_file("schema.graphql");
    let served = served_sdl();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &served).expect("write schema.graphql");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == served,
        "schema.graphql is stale: run `UPDATE_SCHEMA=1 cargo test -p e2e --test it schema_sdl` (or `flowline schema > schema.graphql`)"
    );
}

/// A type as the comparison sees it: its kind and, per field, the argument list and type.
#[derive(Debug, PartialEq)]
struct Shape {
    kind: &'static str,
    fields: BTreeMap<String, (Vec<String>, String)>,
    order: Vec<String>,
}

fn shapes(sdl: &str) -> BTreeMap<String, Shape> {
    let doc = async_graphql_parser::parse_schema(sdl).expect("valid SDL");
    let mut out = BTreeMap::new();
    for def in doc.definitions {
        let TypeSystemDefinition::Type(ty) = def else {
            continue;
        };
        let ty = ty.node;
        let mut fields = BTreeMap::new();
        let mut order = Vec::new();
        let kind = match &ty.kind {
            TypeKind::Scalar => "scalar",
            TypeKind::Object(obj) => {
                for f in &obj.fields {
                    let args = f
                        .node
                        .arguments
                        .iter()
                        .map(|a| format!("{}: {}", a.node.name.node, a.node.ty.node))
                        .collect();
                    order.push(f.node.name.node.to_string());
                    fields.insert(
                        f.node.name.node.to_string(),
                        (args, f.node.ty.node.to_string()),
                    );
                }
                "type"
            }
            TypeKind::InputObject(input) => {
                for f in &input.fields {
                    order.push(f.node.name.node.to_string());
                    fields.insert(
                        f.node.name.node.to_string(),
                        (Vec::new(), f.node.ty.node.to_string()),
                    );
                }
                "input"
            }
            TypeKind::Enum(e) => {
                for v in &e.values {
                    order.push(v.node.value.node.to_string());
                    fields.insert(v.node.value.node.to_string(), (Vec::new(), String::new()));
                }
                "enum"
            }
            TypeKind::Interface(_) => "interface",
            TypeKind::Union(_) => "union",
        };
        out.insert(
            ty.name.node.to_string(),
            Shape {
                kind,
                fields,
                order,
            },
        );
    }
    out
}

/// Types the reference README says flowline must serve exactly as Directus does.
fn must_match(name: &str) -> bool {
    const SHARED: &[&str] = &[
        "Query",
        "Mutation",
        "Subscription",
        "delete_one",
        "delete_many",
        "count_functions",
        "datetime_functions",
        "count_function_filter_operators",
        "datetime_function_filter_operators",
        "EventEnum",
        "JSON",
        "Date",
        "GraphQLStringOrFloat",
        "GraphQLBigInt",
        "GraphQLJsonFilter",
        "Hash",
        "directus_folders",
        "directus_folders_filter",
        "create_directus_folders_input",
        "update_directus_folders_input",
    ];
    name.contains("flows")
        || name.contains("operations")
        || name.ends_with("_filter_operators")
        || SHARED.contains(&name)
}

/// Types that must exist, with whatever fields flowline serves spelled as in Directus.
const MUST_EXIST: &[&str] = &[
    "directus_users",
    "directus_users_filter",
    "directus_users_quantifier_filter",
    "create_directus_users_input",
    "update_directus_users_input",
];

/// Types that may be served (roles, reachable from users); when they are, they must agree.
fn must_agree(name: &str) -> bool {
    MUST_EXIST.contains(&name)
        || name.starts_with("directus_roles")
        || name.ends_with("directus_roles_input")
}

#[test]
fn reference_types_are_served_as_directus_serves_them() {
    let reference_path = repo_file("../shared/reference/directus-system-flows.graphql");
    let reference = std::fs::read_to_string(&reference_path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", reference_path.display()));
    let reference = shapes(&reference);
    let ours = shapes(&served_sdl());
    let mut gaps = Vec::new();
    for (name, want) in &reference {
        let exact = must_match(name);
        if !exact && !must_agree(name) {
            continue;
        }
        let Some(have) = ours.get(name) else {
            if exact || MUST_EXIST.contains(&name.as_str()) {
                gaps.push(format!("missing type {name}"));
            }
            continue;
        };
        if have.kind != want.kind {
            gaps.push(format!("{name}: {} instead of {}", have.kind, want.kind));
            continue;
        }
        if exact {
            for (field, spec) in &want.fields {
                match have.fields.get(field) {
                    None => gaps.push(format!("{name}.{field} missing")),
                    Some(got) if got != spec => {
                        gaps.push(format!("{name}.{field}: {got:?} instead of {spec:?}"))
                    }
                    _ => {}
                }
            }
        }
        // Every field served (for exact types: every shared one) must be spelled as Directus does.
        for (field, got) in &have.fields {
            match want.fields.get(field) {
                Some(spec) if spec != got => {
                    gaps.push(format!("{name}.{field}: {got:?} instead of {spec:?}"))
                }
                None if !exact => gaps.push(format!("{name}.{field} is not a Directus field")),
                _ => {}
            }
        }
        // Directus's field order, for the fields both have.
        let ours_order: Vec<&String> = have
            .order
            .iter()
            .filter(|f| want.fields.contains_key(*f))
            .collect();
        let want_order: Vec<&String> = want
            .order
            .iter()
            .filter(|f| have.fields.contains_key(*f))
            .collect();
        if ours_order != want_order {
            gaps.push(format!(
                "{name}: field order {ours_order:?} instead of {want_order:?}"
            ));
        }
    }
    assert!(
        gaps.is_empty(),
        "{} gaps against the Directus reference:\n{}",
        gaps.len(),
        gaps.join("\n")
    );
}
