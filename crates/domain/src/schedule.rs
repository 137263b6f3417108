//! Cron expressions of `schedule` flows: one normalisation used both to refuse a bad
//! expression when the flow is saved and to register the job that runs it.

/// Turns the forms Directus accepts into a 6-field (seconds first) expression:
/// 6 fields as they are, 5 fields with `0` seconds prepended, and the `@daily`-style
/// aliases. Anything else (7 fields, junk) is an error naming the expression; Directus
/// silently skips such a flow, flowline refuses to save it.
pub fn normalize(expression: &str) -> Result<String, String> {
    let trimmed = expression.trim();
    let alias = match trimmed.to_ascii_lowercase().as_str() {
        "@yearly" | "@annually" => Some("0 0 0 1 1 *"),
        "@monthly" => Some("0 0 0 1 * *"),
        "@weekly" => Some("0 0 0 * * 0"),
        "@daily" | "@midnight" => Some("0 0 0 * * *"),
        "@hourly" => Some("0 0 * * * *"),
        _ => None,
    };
    let six = match alias {
        Some(a) => a.to_string(),
        None => {
            let fields: Vec<&str> = trimmed.split_whitespace().collect();
            match fields.len() {
                6 => fields.join(" "),
                5 => format!("0 {}", fields.join(" ")),
                _ => return Err(invalid(expression)),
            }
        }
    };
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Required)
        .dom_and_dow(true)
        .build()
        .parse(&six)
        .map_err(|_| invalid(expression))?;
    Ok(six)
}

fn invalid(expression: &str) -> String {
    format!(
        "\"{expression}\" is not a valid cron expression (5 or 6 fields, or an alias such as @daily)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_forms() {
        assert_eq!(normalize("*/5 * * * * *").as_deref(), Ok("*/5 * * * * *"));
        assert_eq!(
            normalize("0 9 * * MON-FRI").as_deref(),
            Ok("0 0 9 * * MON-FRI")
        );
        assert_eq!(normalize("@daily").as_deref(), Ok("0 0 0 * * *"));
    }

    #[test]
    fn refused_forms_name_the_expression() {
        for bad in ["* * * * * * *", "every minute", "61 * * * *", ""] {
            let err = normalize(bad).expect_err(bad);
            assert!(err.contains(&format!("\"{bad}\"")), "{err}");
        }
    }
}
