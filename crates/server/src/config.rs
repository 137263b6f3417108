//! Configuration from flags and environment variables, parsed once in `main`.

use clap::{Args, Parser, Subcommand};
use serde_json::{Map, Value};

#[derive(Debug, Parser)]
#[command(
    name = "flowline",
    version,
    about = "A Directus-compatible Flows engine"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: Config,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the server (the default).
    Serve,
    /// Print the SDL of /graphql/system to stdout.
    Schema,
}

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Where the data lives: a SQLite file (created when missing) or a PostgreSQL URL.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://flowline.db",
        global = true
    )]
    pub database_url: String,
    /// Most PostgreSQL connections (Directus's `DB_POOL__MAX`); twice the cores, at least
    /// four, when unset.
    #[arg(long = "db-pool-max", env = "DB_POOL__MAX", global = true)]
    pub db_pool_max: Option<u32>,
    /// How long a stopping server (SIGTERM or SIGINT) lets requests already under way
    /// finish, in milliseconds (Directus's `SERVER_SHUTDOWN_TIMEOUT`). Directus waits 1 s;
    /// flowline waits 10 s by default, so that a rolling restart does not cut requests that
    /// take longer than a second (synchronous webhooks waiting on a flow).
    #[arg(
        long,
        env = "SERVER_SHUTDOWN_TIMEOUT",
        default_value_t = 10_000,
        global = true
    )]
    pub server_shutdown_timeout: u64,
    #[arg(long, env = "HOST", default_value = "127.0.0.1", global = true)]
    pub host: String,
    #[arg(long, env = "PORT", default_value_t = 8055, global = true)]
    pub port: u16,
    /// The admin user's email, set on the first start.
    #[arg(
        long,
        env = "ADMIN_EMAIL",
        default_value = "admin@example.com",
        global = true
    )]
    pub admin_email: String,
    /// The admin user's static token. When unset on a first start, one is generated and printed.
    #[arg(long, env = "ADMIN_TOKEN", global = true, hide_env_values = true)]
    pub admin_token: Option<String>,
    /// A tracing filter such as `info` or `flowline=debug`.
    #[arg(long, env = "LOG_LEVEL", default_value = "info", global = true)]
    pub log_level: String,
    /// Environment variables flows may read as `$env` (comma separated names).
    #[arg(long, env = "FLOWS_ENV_ALLOW_LIST", default_value = "", global = true)]
    pub flows_env_allow_list: String,
    /// Flows triggering flows stop at this depth (Directus has no limit).
    #[arg(long, env = "FLOWS_MAX_DEPTH", default_value_t = 32, global = true)]
    pub flows_max_depth: usize,
    /// Most child runs of one `trigger` operation at once.
    #[arg(
        long,
        env = "FLOWS_TRIGGER_CONCURRENCY",
        default_value_t = 16,
        global = true
    )]
    pub flows_trigger_concurrency: usize,
    /// Queued runs (async webhooks and manual triggers, schedules, action events) this
    /// replica works on at once; the rest wait their turn in the database.
    #[arg(
        long,
        env = "FLOW_RUNS_CONCURRENCY",
        default_value_t = 512,
        global = true
    )]
    pub flow_runs_concurrency: usize,
    /// Queued runs beyond which new async calls get 503 with `Retry-After` instead of being
    /// accepted.
    #[arg(
        long,
        env = "FLOW_RUNS_QUEUE_MAX",
        default_value_t = 100_000,
        global = true
    )]
    pub flow_runs_queue_max: u64,
    /// Milliseconds a replica's claim on a run holds without renewal; a run whose replica
    /// died is taken over after this.
    #[arg(long, env = "FLOW_RUNS_LEASE", default_value_t = 30_000, global = true)]
    pub flow_runs_lease: u64,
    /// How long ended runs (`/runs`) are kept, such as `14d`, `12h` or `90m`; `0` keeps them
    /// for ever. Directus keeps its logs unless told otherwise; a queue that writes a row per
    /// run would grow without end.
    #[arg(
        long,
        env = "FLOW_RUNS_RETENTION",
        default_value = "14d",
        value_parser = retention,
        global = true
    )]
    pub flow_runs_retention: Retention,
    /// Addresses the `request` operation refuses (comma separated IPs or CIDR ranges;
    /// `0.0.0.0` means this host). Empty denies nothing.
    #[arg(
        long,
        env = "IMPORT_IP_DENY_LIST",
        default_value = engine::DenyList::DEFAULT,
        global = true
    )]
    pub import_ip_deny_list: String,
    /// Cache GET webhook answers (flows may opt out with `cacheEnabled: false`).
    #[arg(long, env = "CACHE_ENABLED", default_value_t = false, global = true)]
    pub cache_enabled: bool,
    /// How long cached answers live, in seconds (Directus's `CACHE_TTL`, default 5 minutes).
    #[arg(long, env = "CACHE_TTL", default_value_t = 300, global = true)]
    pub cache_ttl: u64,
    /// Largest request body accepted, in bytes (Directus's `MAX_PAYLOAD_SIZE`, default 1 MB).
    #[arg(long, env = "MAX_PAYLOAD_SIZE", default_value_t = 1024 * 1024, global = true)]
    pub max_payload_size: usize,
    /// Heap limit of one `exec` run, in megabytes.
    #[arg(
        long,
        env = "FLOWS_RUN_SCRIPT_MAX_MEMORY",
        default_value_t = 32,
        global = true
    )]
    pub flows_run_script_max_memory: usize,
    /// Time limit of an `exec` script, in milliseconds (evaluation and call each).
    #[arg(
        long,
        env = "FLOWS_RUN_SCRIPT_TIMEOUT",
        default_value_t = 10_000,
        global = true
    )]
    pub flows_run_script_timeout: u64,
    /// The sender address of mails sent by flows.
    #[arg(
        long,
        env = "EMAIL_FROM",
        default_value = "no-reply@example.com",
        global = true
    )]
    pub email_from: String,
    /// The sender name used when a mail operation sets no `fromName`.
    #[arg(long, env = "PROJECT_NAME", default_value = "Directus", global = true)]
    pub project_name: String,
    /// The SMTP server; without it the `mail` operation logs that it could not send.
    #[arg(long, env = "EMAIL_SMTP_HOST", global = true)]
    pub email_smtp_host: Option<String>,
    #[arg(long, env = "EMAIL_SMTP_PORT", global = true)]
    pub email_smtp_port: Option<u16>,
    #[arg(long, env = "EMAIL_SMTP_USER", global = true)]
    pub email_smtp_user: Option<String>,
    #[arg(
        long,
        env = "EMAIL_SMTP_PASSWORD",
        global = true,
        hide_env_values = true
    )]
    pub email_smtp_password: Option<String>,
    /// Implicit TLS (port 465 style) instead of STARTTLS.
    #[arg(
        long,
        env = "EMAIL_SMTP_SECURE",
        default_value_t = false,
        global = true
    )]
    pub email_smtp_secure: bool,
    /// A folder of `<name>.liquid` mail templates, looked up before the built-in ones.
    #[arg(long, env = "EMAIL_TEMPLATES_PATH", global = true)]
    pub email_templates_path: Option<std::path::PathBuf>,
    /// Limit the mails each flow may send (off by default, as in Directus).
    #[arg(
        long,
        env = "RATE_LIMITER_EMAIL_FLOWS_ENABLED",
        default_value_t = false,
        global = true
    )]
    pub rate_limiter_email_flows_enabled: bool,
    /// Mails per flow per window.
    #[arg(
        long,
        env = "RATE_LIMITER_EMAIL_FLOWS_POINTS",
        default_value_t = 1,
        global = true
    )]
    pub rate_limiter_email_flows_points: u32,
    /// The window, in seconds.
    #[arg(
        long,
        env = "RATE_LIMITER_EMAIL_FLOWS_DURATION",
        default_value_t = 60,
        global = true
    )]
    pub rate_limiter_email_flows_duration: u64,
    /// Replaces the default message of `EMAIL_LIMIT_EXCEEDED`.
    #[arg(long, env = "RATE_LIMITER_EMAIL_FLOWS_ERROR_MESSAGE", global = true)]
    pub rate_limiter_email_flows_error_message: Option<String>,
    /// The address the project is reached at; the MCP tools link to flows under it
    /// (Directus's `PUBLIC_URL`, default `/`, which gives links relative to the host).
    #[arg(long, env = "PUBLIC_URL", default_value = "/", global = true)]
    pub public_url: String,
    /// Serves the MCP endpoint `/mcp` (Directus's `MCP_ENABLED`); off, `/mcp` is an unknown
    /// route. Directus also keeps a settings switch, off until an administrator turns it on;
    /// flowline has no settings table, and every tool call needs a valid token anyway, so the
    /// endpoint is on by default.
    #[arg(
        long,
        env = "MCP_ENABLED",
        default_value_t = true,
        action = clap::ArgAction::Set,
        global = true
    )]
    pub mcp_enabled: bool,
    /// Lets the MCP tools delete flows and operations (Directus's `mcp_allow_deletes`
    /// setting, off by default: a model should not delete by mistake).
    #[arg(
        long,
        env = "MCP_ALLOW_DELETES",
        default_value_t = false,
        global = true
    )]
    pub mcp_allow_deletes: bool,
    /// Offers the MCP `system-prompt` tool (Directus's `mcp_system_prompt_enabled`).
    #[arg(
        long,
        env = "MCP_SYSTEM_PROMPT_ENABLED",
        default_value_t = true,
        action = clap::ArgAction::Set,
        global = true
    )]
    pub mcp_system_prompt_enabled: bool,
    /// The text the `system-prompt` tool returns instead of the built-in guidance
    /// (Directus's `mcp_system_prompt`).
    #[arg(long, env = "MCP_SYSTEM_PROMPT", global = true)]
    pub mcp_system_prompt: Option<String>,
}

impl Config {
    /// The engine's settings; `$env` is read from the process environment once, here.
    pub fn engine(&self) -> Result<engine::EngineConfig, String> {
        let mut env = Map::new();
        for name in self
            .flows_env_allow_list
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            let value = std::env::var(name).map_or(Value::Null, Value::from);
            env.insert(name.to_string(), value);
        }
        Ok(engine::EngineConfig {
            env,
            max_depth: self.flows_max_depth.max(1),
            trigger_concurrency: self.flows_trigger_concurrency.max(1),
            deny_list: engine::DenyList::parse(&self.import_ip_deny_list)?,
            cache_ttl: self
                .cache_enabled
                .then(|| std::time::Duration::from_secs(self.cache_ttl)),
            script: engine::ScriptLimits {
                max_memory: self.flows_run_script_max_memory.max(1) * 1024 * 1024,
                timeout: std::time::Duration::from_millis(self.flows_run_script_timeout.max(1)),
            },
            queue: engine::QueueConfig {
                concurrency: self.flow_runs_concurrency.max(1),
                bound: self.flow_runs_queue_max,
                lease: std::time::Duration::from_millis(self.flow_runs_lease.max(300)),
                retention: self.flow_runs_retention.0,
                ..engine::QueueConfig::default()
            },
            mail: engine::MailConfig {
                from: self.email_from.clone(),
                project_name: self.project_name.clone(),
                smtp_host: self.email_smtp_host.clone().filter(|h| !h.is_empty()),
                smtp_port: self.email_smtp_port,
                smtp_user: self.email_smtp_user.clone(),
                smtp_password: self.email_smtp_password.clone(),
                smtp_secure: self.email_smtp_secure,
                templates_path: self.email_templates_path.clone(),
                rate_limit: self
                    .rate_limiter_email_flows_enabled
                    .then(|| engine::MailRateLimit {
                        points: self.rate_limiter_email_flows_points.max(1),
                        duration: std::time::Duration::from_secs(
                            self.rate_limiter_email_flows_duration.max(1),
                        ),
                        message: self.rate_limiter_email_flows_error_message.clone(),
                    }),
            },
        })
    }
}

impl Config {
    /// The settings of the MCP endpoint.
    pub fn mcp(&self) -> crate::mcp::McpConfig {
        crate::mcp::McpConfig {
            enabled: self.mcp_enabled,
            allow_deletes: self.mcp_allow_deletes,
            system_prompt_enabled: self.mcp_system_prompt_enabled,
            system_prompt: self.mcp_system_prompt.clone().filter(|p| !p.is_empty()),
            public_url: self.public_url.clone(),
        }
    }
}

/// `FLOW_RUNS_RETENTION`: a span, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention(pub Option<std::time::Duration>);

fn retention(text: &str) -> Result<Retention, String> {
    match text.trim() {
        "0" | "off" | "none" => Ok(Retention(None)),
        span => match humantime::parse_duration(span) {
            Ok(d) if d.is_zero() => Ok(Retention(None)),
            Ok(d) => Ok(Retention(Some(d))),
            Err(err) => Err(format!(
                "{err}: give a span such as 14d, 12h or 90m, or 0 to keep runs for ever"
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn retention_takes_spans_and_zero_keeps_runs() {
        assert_eq!(
            retention("14d"),
            Ok(Retention(Some(Duration::from_secs(14 * 86_400))))
        );
        assert_eq!(
            retention("90m"),
            Ok(Retention(Some(Duration::from_secs(5_400))))
        );
        assert_eq!(
            retention("500ms"),
            Ok(Retention(Some(Duration::from_millis(500))))
        );
        assert_eq!(retention("0"), Ok(Retention(None)));
        assert_eq!(retention("off"), Ok(Retention(None)));
        assert!(retention("fortnight").is_err());
    }
}
