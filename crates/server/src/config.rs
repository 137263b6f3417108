//! Configuration from flags and environment variables, parsed once in `main`.

use clap::{Args, Parser, Subcommand};

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
    /// Largest request body accepted, in bytes (Directus's `MAX_PAYLOAD_SIZE`, default 1 MB).
    #[arg(long, env = "MAX_PAYLOAD_SIZE", default_value_t = 1024 * 1024, global = true)]
    pub max_payload_size: usize,
}
