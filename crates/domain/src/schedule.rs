//! Cron expressions of `schedule` flows: one normalisation used both to refuse a bad
//! expression when the flow is saved and to plan the ticks that run it; and the claim that
//! lets one replica, and only one, run each tick.

use chrono::{DateTime, Timelike, Utc};
use entity::flowline_schedule_ticks as ticks;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::error::Result;

/// A normalised expression, parsed; see [`normalize`].
pub struct Schedule(croner::Cron);

impl Schedule {
    /// Parses a 6-field expression that [`normalize`] produced.
    pub fn parse(six: &str) -> std::result::Result<Self, String> {
        parser().parse(six).map(Schedule).map_err(|_| invalid(six))
    }

    /// The first fire time strictly after `now`, `None` when the expression never fires
    /// again (a date that does not exist, such as 30 February).
    ///
    /// Ticks fall on whole seconds: croner keeps the fraction of the time it starts from,
    /// and replicas asking a few milliseconds apart must arrive at the same tick.
    pub fn next_after(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let whole = now.with_nanosecond(0)?;
        self.0.find_next_occurrence(&whole, false).ok()
    }
}

fn parser() -> croner::parser::CronParser {
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Required)
        .dom_and_dow(true)
        .build()
}

/// Claims the tick of `flow` planned for `tick`; `true` for the one caller, across every
/// replica on the database, that is to run it. The claim is a row whose primary key is
/// (flow, tick): the first insert wins, the others insert nothing.
pub async fn claim_tick(
    db: &impl ConnectionTrait,
    flow: &str,
    tick: DateTime<Utc>,
    replica: &str,
) -> Result<bool> {
    let row = ticks::ActiveModel {
        flow: Set(flow.to_string()),
        tick: Set(tick.timestamp_millis()),
        replica: Set(replica.to_string()),
    };
    let inserted = ticks::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([ticks::Column::Flow, ticks::Column::Tick])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(inserted == 1)
}

/// Forgets the claims of ticks planned before `before`: a tick is claimed within moments of
/// its time, so an old claim can no longer be contested.
pub async fn prune_ticks(db: &impl ConnectionTrait, before: DateTime<Utc>) -> Result<u64> {
    let deleted = ticks::Entity::delete_many()
        .filter(ticks::Column::Tick.lt(before.timestamp_millis()))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected)
}

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
    parser().parse(&six).map_err(|_| invalid(expression))?;
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
    fn the_next_tick_is_read_from_the_clock_given() {
        let every_two = Schedule::parse("*/2 * * * * *").expect("parses");
        let at = |s: &str| s.parse::<DateTime<Utc>>().expect("time");
        assert_eq!(
            every_two.next_after(at("2026-12-07T10:00:00.000Z")),
            Some(at("2026-12-07T10:00:02Z"))
        );
        assert_eq!(
            every_two.next_after(at("2026-12-07T10:00:01.999Z")),
            Some(at("2026-12-07T10:00:02Z"))
        );
        // Weeks of uptime change nothing: the next tick is computed from the time given,
        // not by adding intervals to a timer.
        let daily = Schedule::parse("0 0 9 * * *").expect("parses");
        assert_eq!(
            daily.next_after(at("2027-02-14T09:00:00.001Z")),
            Some(at("2027-02-15T09:00:00Z"))
        );
        let never = Schedule::parse("0 0 0 30 2 *").expect("parses");
        assert_eq!(never.next_after(at("2026-12-07T10:00:00Z")), None);
    }

    #[test]
    fn refused_forms_name_the_expression() {
        for bad in ["* * * * * * *", "every minute", "61 * * * *", ""] {
            let err = normalize(bad).expect_err(bad);
            assert!(err.contains(&format!("\"{bad}\"")), "{err}");
        }
    }
}
