//! `GET /server/specs/oas`: an OpenAPI 3 description of the REST routes, generated from the
//! same catalogue the routes are generated from, so the two cannot drift.

use domain::Catalog;
use domain::catalog::{Collection, FieldKind, Relation};
use serde_json::{Map, Value, json};

fn field_schema(kind: FieldKind, nullable: bool) -> Value {
    let mut schema = match kind {
        FieldKind::Uuid => json!({"type": "string", "format": "uuid"}),
        FieldKind::String | FieldKind::Text | FieldKind::Hash => json!({"type": "string"}),
        FieldKind::Integer => json!({"type": "integer", "format": "int32"}),
        FieldKind::BigInteger => json!({"type": "integer", "format": "int64"}),
        FieldKind::Float => json!({"type": "number"}),
        FieldKind::Boolean => json!({"type": "boolean"}),
        FieldKind::Json => json!({}),
        FieldKind::Timestamp | FieldKind::DateTime => {
            json!({"type": "string", "format": "date-time"})
        }
        FieldKind::Date => json!({"type": "string", "format": "date"}),
        FieldKind::Decimal => json!({"type": "string", "format": "decimal"}),
    };
    if nullable && kind != FieldKind::Json {
        schema["nullable"] = json!(true);
    }
    schema
}

fn schema_name(coll: &Collection) -> String {
    coll.root.map_or_else(
        || coll.name.to_string(),
        |root| {
            let mut chars = root.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
                .unwrap_or_default()
        },
    )
}

fn collection_schema(catalog: &Catalog, coll: &Collection) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for field in &coll.fields {
        let schema = match &field.relation {
            Some(Relation::OneToMany { target, .. }) => {
                let item = catalog.get(target).map_or_else(|| json!({}), |t| {
                    json!({"oneOf": [field_schema(t.pk_field().kind, false), {"type": "object"}]})
                });
                json!({"type": "array", "items": item})
            }
            Some(Relation::ManyToOne { .. }) => {
                json!({"oneOf": [field_schema(field.kind, false), {"type": "object"}], "nullable": true})
            }
            None => field_schema(
                field.kind,
                !field.not_null && field.name != coll.primary_key,
            ),
        };
        if field.required {
            required.push(field.name);
        }
        properties.insert(field.name.to_string(), schema);
    }
    json!({"type": "object", "properties": properties, "required": required})
}

fn query_parameters() -> Value {
    let param = |name: &str, description: &str, schema: Value| json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema});
    let text = json!({"type": "string"});
    json!([
        param(
            "fields",
            "Fields to return, comma separated; `*` for all, `rel.field` for relations.",
            text.clone()
        ),
        param(
            "filter",
            "A Directus filter as JSON, or in bracket form (`filter[name][_eq]=x`).",
            text.clone()
        ),
        param(
            "search",
            "Case-insensitive search over text fields.",
            text.clone()
        ),
        param(
            "sort",
            "Fields to sort by, comma separated; `-field` descends.",
            text.clone()
        ),
        param(
            "limit",
            "Rows to return; -1 for all. Default 100.",
            json!({"type": "integer", "minimum": -1})
        ),
        param(
            "offset",
            "Rows to skip.",
            json!({"type": "integer", "minimum": 0})
        ),
        param(
            "page",
            "Page number; with `limit`, offset = limit * (page - 1).",
            json!({"type": "integer", "minimum": 0})
        ),
        param(
            "meta",
            "`total_count`, `filter_count` or `*`.",
            text.clone()
        ),
        param(
            "aggregate",
            "Aggregate functions, e.g. `aggregate[count]=*`.",
            text.clone()
        ),
        param("groupBy", "Fields to group aggregates by.", text.clone()),
        param(
            "deep",
            "Per-relation queries, e.g. `deep[operations][_limit]=5`.",
            text.clone()
        ),
        param(
            "alias",
            "Extra keys for fields, e.g. `alias[title]=name`.",
            text.clone()
        ),
        param(
            "export",
            "Answer as a file: json, csv, csv_utf8, xml or yaml.",
            json!({"type": "string", "enum": ["json", "csv", "csv_utf8", "xml", "yaml"]})
        ),
    ])
}

fn error_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Errors"}}}})
}

/// The whole OpenAPI document.
pub fn document(catalog: &Catalog) -> Value {
    let mut paths = Map::new();
    let mut schemas = Map::new();
    schemas.insert(
        "Errors".into(),
        json!({"type": "object", "properties": {"errors": {"type": "array", "items": {
            "type": "object",
            "properties": {"message": {"type": "string"}, "extensions": {"type": "object", "properties": {"code": {"type": "string"}}}}
        }}}}),
    );
    let errors = json!({
        "400": error_response("Invalid query or payload"),
        "401": error_response("Invalid credentials"),
        "403": error_response("Forbidden, or the item does not exist"),
    });
    for coll in catalog.collections() {
        let name = schema_name(coll);
        schemas.insert(name.clone(), collection_schema(catalog, coll));
        let Some(root) = coll.root else { continue };
        let item_ref = json!({"$ref": format!("#/components/schemas/{name}")});
        let one = json!({"description": "The item", "content": {"application/json": {"schema": {"type": "object", "properties": {"data": item_ref}}}}});
        let many = json!({"description": "The items", "content": {"application/json": {"schema": {"type": "object", "properties": {
            "data": {"type": "array", "items": item_ref},
            "meta": {"type": "object", "properties": {"total_count": {"type": "integer"}, "filter_count": {"type": "integer"}}}
        }}}}});
        let with_errors = |mut responses: Value| {
            if let (Some(r), Some(e)) = (responses.as_object_mut(), errors.as_object()) {
                r.extend(e.clone());
            }
            responses
        };
        let body = |schema: Value| json!({"required": true, "content": {"application/json": {"schema": schema}}});
        let tag = json!([name]);
        paths.insert(
            format!("/{root}"),
            json!({
                "get": {"tags": tag, "operationId": format!("read{name}"), "summary": format!("List {root}"),
                        "parameters": query_parameters(), "responses": with_errors(json!({"200": many}))},
                "post": {"tags": tag, "operationId": format!("create{name}"), "summary": format!("Create one or more {root}"),
                         "parameters": query_parameters(),
                         "requestBody": body(json!({"oneOf": [item_ref, {"type": "array", "items": item_ref}]})),
                         "responses": with_errors(json!({"200": {"description": "The created items"}, "204": {"description": "Created, not readable"}}))},
                "patch": {"tags": tag, "operationId": format!("update{name}Batch"), "summary": format!("Update several {root}"),
                          "parameters": query_parameters(),
                          "requestBody": body(json!({"oneOf": [
                              {"type": "array", "items": item_ref},
                              {"type": "object", "properties": {"keys": {"type": "array", "items": {"type": "string"}}, "data": item_ref}, "required": ["keys", "data"]},
                              {"type": "object", "properties": {"query": {"type": "object"}, "data": item_ref}, "required": ["query", "data"]}
                          ]})),
                          "responses": with_errors(json!({"200": many}))},
                "delete": {"tags": tag, "operationId": format!("delete{name}Batch"), "summary": format!("Delete several {root}"),
                           "requestBody": body(json!({"oneOf": [
                               {"type": "array", "items": {"type": "string"}},
                               {"type": "object", "properties": {"keys": {"type": "array", "items": {"type": "string"}}}, "required": ["keys"]},
                               {"type": "object", "properties": {"query": {"type": "object"}}, "required": ["query"]}
                           ]})),
                           "responses": with_errors(json!({"204": {"description": "Deleted"}}))}
            }),
        );
        if !coll.writable
            && let Some(Value::Object(item)) = paths.get_mut(&format!("/{root}"))
        {
            item.retain(|method, _| method == "get");
        }
        let id = json!([{"name": "id", "in": "path", "required": true, "schema": field_schema(coll.pk_field().kind, false)}]);
        let item_params = |extra: bool| {
            let mut list = id.as_array().cloned().unwrap_or_default();
            if extra {
                list.extend(query_parameters().as_array().cloned().unwrap_or_default());
            }
            Value::Array(list)
        };
        paths.insert(
            format!("/{root}/{{id}}"),
            json!({
                "get": {"tags": tag, "operationId": format!("read{name}Item"), "summary": format!("Read one of {root}"),
                        "parameters": item_params(true), "responses": with_errors(json!({"200": one}))},
                "patch": {"tags": tag, "operationId": format!("update{name}Item"), "summary": format!("Update one of {root}"),
                          "parameters": item_params(true), "requestBody": body(item_ref),
                          "responses": with_errors(json!({"200": one, "204": {"description": "No such item"}}))},
                "delete": {"tags": tag, "operationId": format!("delete{name}Item"), "summary": format!("Delete one of {root}"),
                           "parameters": item_params(false), "responses": with_errors(json!({"204": {"description": "Deleted"}}))}
            }),
        );
    }
    for coll in catalog.collections().iter().filter(|c| !c.writable) {
        if let Some(root) = coll.root
            && let Some(Value::Object(item)) = paths.get_mut(&format!("/{root}/{{id}}"))
        {
            item.retain(|method, _| method == "get");
        }
    }
    if let Some(runs) = catalog.get(domain::catalog::RUNS) {
        let name = schema_name(runs);
        let mut params = vec![
            json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}),
        ];
        params.extend(query_parameters().as_array().cloned().unwrap_or_default());
        let mut responses = json!({"200": {"description": "The cancelled run", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"data": {"$ref": format!("#/components/schemas/{name}")}}
        }}}}});
        if let (Some(r), Some(e)) = (responses.as_object_mut(), errors.as_object()) {
            r.extend(e.clone());
        }
        paths.insert(
            "/runs/{id}/cancel".into(),
            json!({"post": {"tags": [name], "operationId": "cancelRun",
                            "summary": "Cancel a queued, running or retrying run (admins)",
                            "parameters": params, "responses": responses}}),
        );
    }
    paths.insert(
        "/server/ping".into(),
        json!({"get": {"tags": ["Server"], "operationId": "ping", "security": [], "responses": {"200": {"description": "pong", "content": {"text/html": {"schema": {"type": "string"}}}}}}}),
    );
    paths.insert(
        "/server/health".into(),
        json!({"get": {"tags": ["Server"], "operationId": "health", "security": [], "responses": {
            "200": {"description": "The database answers", "content": {"application/json": {"schema": {"type": "object", "properties": {"status": {"type": "string"}}}}}},
            "503": {"description": "The database does not answer"}
        }}}),
    );
    json!({
        "openapi": "3.0.3",
        "info": {"title": "flowline", "version": env!("CARGO_PKG_VERSION"),
                 "description": "A Directus-compatible Flows engine: the REST API for flows and operations."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}, {"access_token": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "access_token": {"type": "apiKey", "in": "query", "name": "access_token"}
            }
        }
    })
}
