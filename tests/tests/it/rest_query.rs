//! REST `aggregate` (with `groupBy`, date functions, filters and search) and `export`
//! downloads (json, csv, csv_utf8, xml, yaml), as tables over the seeded fixture.

use crate::rest_support::*;
use e2e::both;
use serde_json::json;

fn aggregate_cases(year: i64) -> Vec<Case> {
    vec![
        // Directus on PostgreSQL prints counts as strings ("5"); flowline answers numbers.
        get("aggregate[count]=*", "/flows?aggregate[count]=*").data(json!([{"count": 5}])),
        get(
            "aggregate with a filter",
            "/flows?aggregate[count]=*&filter[status][_eq]=active",
        )
        .data(json!([{"count": 3}])),
        get(
            "aggregate with search",
            "/flows?aggregate[count]=*&search=hook",
        )
        .data(json!([{"count": 2}])),
        get(
            "count of a field and countDistinct",
            "/flows?aggregate[count]=id&aggregate[countDistinct]=trigger",
        )
        .data(json!([{"count": {"id": 5}, "countDistinct": {"trigger": 4}}])),
        get("aggregate as JSON", format!("/flows?aggregate={}", qjson(json!({"count": ["*"]}))))
            .data(json!([{"count": 5}])),
        get("countAll", "/operations?aggregate[countAll]=*").data(json!([{"countAll": 6}])),
        get(
            "groupBy[]=trigger flattens the group into each row",
            "/flows?aggregate[count]=*&groupBy[]=trigger",
        )
        .data(json!([
            {"trigger": "event", "count": 1},
            {"trigger": "manual", "count": 1},
            {"trigger": "schedule", "count": 1},
            {"trigger": "webhook", "count": 2},
        ])),
        get(
            "groupBy two fields",
            "/flows?aggregate[count]=id&groupBy=status,trigger&filter[trigger][_in]=webhook,manual",
        )
        .data(json!([
            {"status": "active", "trigger": "webhook", "count": {"id": 1}},
            {"status": "inactive", "trigger": "manual", "count": {"id": 1}},
            {"status": "inactive", "trigger": "webhook", "count": {"id": 1}},
        ])),
        get(
            "groupBy year(date_created)",
            "/flows?aggregate[count]=*&groupBy=year(date_created)",
        )
        .data(json!([{"date_created_year": year, "count": 5}])),
        get(
            "groupBy with sort and limit",
            "/flows?aggregate[count]=*&groupBy=trigger&sort=-trigger&limit=2",
        )
        .data(json!([
            {"trigger": "webhook", "count": 2},
            {"trigger": "schedule", "count": 1},
        ])),
        // SQLite needs a `LIMIT` before an `OFFSET`: this once answered 500 there.
        get(
            "groupBy with limit=-1 and an offset",
            "/flows?aggregate[count]=*&groupBy=trigger&limit=-1&offset=2",
        )
        .data(json!([
            {"trigger": "schedule", "count": 1},
            {"trigger": "webhook", "count": 2},
        ])),
        get(
            "sum and max per flow",
            "/operations?aggregate[sum]=position_x&aggregate[max]=position_y&groupBy=flow",
        )
        .data(json!([
            {"flow": fid(1), "sum": {"position_x": 90}, "max": {"position_y": 40}},
            {"flow": fid(2), "sum": {"position_x": 10}, "max": {"position_y": 10}},
            {"flow": fid(4), "sum": {"position_x": 20}, "max": {"position_y": 0}},
        ])),
        get(
            "avg, min and max over a relational filter",
            "/operations?aggregate[avg]=position_x&aggregate[min]=position_x&aggregate[max]=position_x&filter[flow][trigger][_eq]=webhook",
        )
        .data(json!([{"avg": {"position_x": 25}, "min": {"position_x": 10}, "max": {"position_x": 50}}])),
        get(
            "countDistinct on operations",
            "/operations?aggregate[countDistinct]=type",
        )
        .data(json!([{"countDistinct": {"type": 5}}])),
        req("SEARCH with an aggregate in the body", "SEARCH", "/operations")
            .body(json!({"query": {
                "aggregate": {"count": ["*"]},
                "groupBy": ["type"],
                "filter": {"flow": {"status": {"_eq": "active"}}},
            }}))
            .data(json!([
                {"type": "condition", "count": 1},
                {"type": "log", "count": 2},
                {"type": "mail", "count": 1},
                {"type": "transform", "count": 1},
            ])),
    ]
}

/// Lines joined with `\n`, no final newline.
fn lines(list: &[&str]) -> String {
    list.join("\n")
}

fn export_cases() -> Vec<Case> {
    // F2 and F3: single-key options, so the bodies do not depend on JSON key order.
    let two = format!("filter[id][_in]={},{}", fid(2), fid(3));
    let list = format!("/flows?fields=name,trigger,operation.key,options&{two}");
    // Directus writes `JSON.stringify(data, null, '\t')`.
    let json_body = lines(&[
        "[",
        "\t{",
        "\t\t\"name\": \"beta hook\",",
        "\t\t\"trigger\": \"webhook\",",
        "\t\t\"operation\": {",
        "\t\t\t\"key\": \"fetch\"",
        "\t\t},",
        "\t\t\"options\": {",
        "\t\t\t\"method\": \"GET\"",
        "\t\t}",
        "\t},",
        "\t{",
        "\t\t\"name\": \"Gamma Nightly\",",
        "\t\t\"trigger\": \"schedule\",",
        "\t\t\"operation\": null,",
        "\t\t\"options\": {",
        "\t\t\t\"cron\": \"0 0 * * *\"",
        "\t\t}",
        "\t}",
        "]",
    ]);
    // json2csv: nested objects flatten to dotted columns in order of appearance (a null
    // m2o keeps its own column), text is quoted, null is empty, no final newline.
    let csv_body = lines(&[
        r#""name","trigger","operation.key","options.method","operation","options.cron""#,
        r#""beta hook","webhook","fetch","GET",,"#,
        r#""Gamma Nightly","schedule",,,,"0 0 * * *""#,
    ]);
    let xml_body = concat!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<data>",
        "<item><name>beta hook</name><trigger>webhook</trigger><operation><key>fetch</key></operation>",
        "<options><method>GET</method></options></item>",
        "<item><name>Gamma Nightly</name><trigger>schedule</trigger><operation></operation>",
        "<options><cron>0 0 * * *</cron></options></item></data>",
    );
    let yaml_body = lines(&[
        "- name: beta hook",
        "  trigger: webhook",
        "  operation:",
        "    key: fetch",
        "  options:",
        "    method: GET",
        "- name: Gamma Nightly",
        "  trigger: schedule",
        "  operation: null",
        "  options:",
        "    cron: 0 0 * * *",
        "",
    ]);
    vec![
        get("export=json", format!("{list}&export=json")).download(
            "directus_flows",
            "json",
            "application/json; charset=utf-8",
            Some(json_body),
        ),
        get("export=csv", format!("{list}&export=csv")).download(
            "directus_flows",
            "csv",
            "text/csv; charset=utf-8",
            Some(csv_body.clone()),
        ),
        get(
            "export=csv_utf8 adds a byte order mark",
            format!("{list}&export=csv_utf8"),
        )
        .download(
            "directus_flows",
            "csv",
            "text/csv; charset=utf-8",
            Some(format!("\u{feff}{csv_body}")),
        ),
        get("export=xml", format!("{list}&export=xml")).download(
            "directus_flows",
            "xml",
            "text/xml; charset=utf-8",
            Some(xml_body.to_string()),
        ),
        get("export=yaml", format!("{list}&export=yaml")).download(
            "directus_flows",
            "yaml",
            "text/yaml; charset=utf-8",
            Some(yaml_body),
        ),
        get(
            "export of one item",
            format!("/flows/{}?fields=name,operations&export=json", fid(4)),
        )
        .download(
            "directus_flows",
            "json",
            "application/json; charset=utf-8",
            Some(lines(&[
                "{",
                "\t\"name\": \"Delta Events\",",
                "\t\"operations\": [",
                &format!("\t\t\"{}\",", oid(5)),
                &format!("\t\t\"{}\"", oid(6)),
                "\t]",
                "}",
            ])),
        ),
        get(
            "export of operations with sort and limit: numbers stay bare",
            "/operations?fields=key,position_x&sort=-position_x&limit=3&export=csv",
        )
        .download(
            "directus_operations",
            "csv",
            "text/csv; charset=utf-8",
            Some(lines(&[
                r#""key","position_x""#,
                r#""notify",50"#,
                r#""check",30"#,
                r#""log",20"#,
            ])),
        ),
        get(
            "export of an aggregate",
            "/flows?aggregate[count]=*&groupBy=trigger&export=csv",
        )
        .download(
            "directus_flows",
            "csv",
            "text/csv; charset=utf-8",
            Some(lines(&[
                r#""trigger","count""#,
                r#""event",1"#,
                r#""manual",1"#,
                r#""schedule",1"#,
                r#""webhook",2"#,
            ])),
        ),
        get(
            "export of nothing is empty",
            "/flows?filter[name][_eq]=none&export=csv",
        )
        .download(
            "directus_flows",
            "csv",
            "text/csv; charset=utf-8",
            Some(String::new()),
        ),
        get(
            "export of every field (body not pinned: dates)",
            "/flows?export=json",
        )
        .download(
            "directus_flows",
            "json",
            "application/json; charset=utf-8",
            None,
        ),
    ]
}

both!(aggregate_and_group_by, |app| async move {
    let fixture = seed(&app).await;
    run(&app, aggregate_cases(fixture.year)).await;
});

both!(exports, |app| async move {
    seed(&app).await;
    run(&app, export_cases()).await;
});
