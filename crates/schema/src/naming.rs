//! Every generated GraphQL name, in one place, so that they match Directus's exactly.

/// The object type of a collection keeps its full name (`directus_flows`).
pub fn object(collection: &str) -> String {
    collection.to_string()
}

pub fn filter(collection: &str) -> String {
    format!("{collection}_filter")
}

/// The filter of an o2m relation, which adds `_some` and `_none`.
pub fn quantifier_filter(collection: &str) -> String {
    format!("{collection}_quantifier_filter")
}

pub fn create_input(collection: &str) -> String {
    format!("create_{collection}_input")
}

pub fn update_input(collection: &str) -> String {
    format!("update_{collection}_input")
}

pub fn aggregated(collection: &str) -> String {
    format!("{collection}_aggregated")
}

pub fn aggregated_count(collection: &str) -> String {
    format!("{collection}_aggregated_count")
}

pub fn aggregated_fields(collection: &str) -> String {
    format!("{collection}_aggregated_fields")
}

pub fn mutated(collection: &str) -> String {
    format!("{collection}_mutated")
}

/// The type of a JSON field's functions (`directus_flows_options_func`).
pub fn json_functions(collection: &str, field: &str) -> String {
    format!("{collection}_{field}_func")
}

/// The `_func` companion of a field (`date_created_func`).
pub fn function_field(field: &str) -> String {
    format!("{field}_func")
}

pub fn by_id(root: &str) -> String {
    format!("{root}_by_id")
}

pub fn aggregated_root(root: &str) -> String {
    format!("{root}_aggregated")
}

pub fn create_item(root: &str) -> String {
    format!("create_{root}_item")
}

pub fn create_items(root: &str) -> String {
    format!("create_{root}_items")
}

pub fn update_item(root: &str) -> String {
    format!("update_{root}_item")
}

pub fn update_items(root: &str) -> String {
    format!("update_{root}_items")
}

pub fn update_batch(root: &str) -> String {
    format!("update_{root}_batch")
}

pub fn delete_item(root: &str) -> String {
    format!("delete_{root}_item")
}

pub fn delete_items(root: &str) -> String {
    format!("delete_{root}_items")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_keep_the_directus_prefix() {
        assert_eq!(object("directus_flows"), "directus_flows");
        assert_eq!(filter("directus_flows"), "directus_flows_filter");
        assert_eq!(
            quantifier_filter("directus_operations"),
            "directus_operations_quantifier_filter"
        );
        assert_eq!(
            create_input("directus_flows"),
            "create_directus_flows_input"
        );
        assert_eq!(
            update_input("directus_flows"),
            "update_directus_flows_input"
        );
        assert_eq!(aggregated("directus_flows"), "directus_flows_aggregated");
        assert_eq!(
            aggregated_count("directus_flows"),
            "directus_flows_aggregated_count"
        );
        assert_eq!(
            aggregated_fields("directus_operations"),
            "directus_operations_aggregated_fields"
        );
        assert_eq!(mutated("directus_flows"), "directus_flows_mutated");
        assert_eq!(
            json_functions("directus_flows", "options"),
            "directus_flows_options_func"
        );
        assert_eq!(function_field("date_created"), "date_created_func");
    }

    #[test]
    fn root_fields_drop_the_prefix() {
        assert_eq!(by_id("flows"), "flows_by_id");
        assert_eq!(aggregated_root("flows"), "flows_aggregated");
        assert_eq!(create_item("flows"), "create_flows_item");
        assert_eq!(create_items("flows"), "create_flows_items");
        assert_eq!(update_item("flows"), "update_flows_item");
        assert_eq!(update_items("flows"), "update_flows_items");
        assert_eq!(update_batch("flows"), "update_flows_batch");
        assert_eq!(delete_item("flows"), "delete_flows_item");
        assert_eq!(delete_items("flows"), "delete_flows_items");
    }
}
