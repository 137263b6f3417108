//! The `flowline` binary: `flowline [serve]` runs the server, `flowline schema` prints the SDL.

use anyhow::Context;
use clap::Parser;
use flowline::config::{Cli, Command};
use flowline::{AppState, db, router};

/// mimalloc instead of glibc's malloc: a list response allocates and frees a few thousand
/// small strings and maps, and glibc spent a quarter of the server's time in malloc, free
/// and chunk consolidation (bench/RESULTS.md). The crate's `override` feature makes
/// mimalloc the C `malloc` too, so that SQLite's own allocations (each cell sqlx copies,
/// each statement's memory cells) stop going through glibc: they were an eighth of a list
/// request's instructions after Rust's had moved.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = cli.config;
    if let Some(Command::Schema) = cli.command {
        print!("{}", schema::sdl(&domain::Catalog::system())?);
        return Ok(());
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&config.log_level)
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let database = db::connect(&config.database_url)
        .await
        .with_context(|| format!("opening database {}", config.database_url))?;
    if let Some(token) = db::ensure_admin(
        &database,
        &config.admin_email,
        config.admin_token.as_deref(),
    )
    .await?
    {
        // Printed once, on the first start, so the operator can copy it.
        println!(
            "Created admin {} with static token: {token}",
            config.admin_email
        );
    }
    let engine_config = config.engine().map_err(anyhow::Error::msg)?;
    let state = AppState::new(database, config.max_payload_size, engine_config).await?;
    let engine = state.engine.clone();
    let addr = format!("{}:{}", config.host, config.port);
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    tracing::info!("flowline listening on http://{addr}");
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    // `server.stop` flows finish before the process exits.
    for run in engine
        .emit_action(
            "server.stop",
            serde_json::json!({"event": "server.stop"}),
            None,
            1,
        )
        .await
    {
        let _ = run.await;
    }
    Ok(())
}
