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

/// mimalloc's delay before it gives freed pages back to the kernel, read from the
/// environment when it first allocates.
const PURGE_DELAY_VAR: &str = "MIMALLOC_PURGE_DELAY";

/// Starts this binary again in place, with mimalloc told to give freed memory back at once,
/// unless the environment already says how.
///
/// With its default delay (one second), mimalloc purges freed pages only when a later
/// allocation passes by after the delay; a server that falls quiet after a burst keeps the
/// burst's memory resident. Measured on the fan-out of 10,000 runs (bench/RESULTS.md): with
/// the default the RSS stayed at 70 MiB after the burst, with no delay it went back to its
/// idle 27 MiB. The price, measured pairwise: about 15 % on a 1,000-operation chain and
/// up to 10 % on a REST list, for pages faulted in again after a purge. The option exists only as an
/// environment variable (no build-time default, and setting it from Rust would need
/// `unsafe`), and mimalloc has read it by the time `main` runs, so the process replaces
/// itself (`exec`, same pid) with the variable set. When that fails the server starts
/// anyway, with the default.
fn purge_freed_memory_promptly() {
    use std::os::unix::process::CommandExt;
    if std::env::var_os(PURGE_DELAY_VAR).is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut args = std::env::args_os();
    let mut command = std::process::Command::new(exe);
    if let Some(arg0) = args.next() {
        command.arg0(arg0);
    }
    let err = command.args(args).env(PURGE_DELAY_VAR, "0").exec();
    eprintln!(
        "flowline: could not restart with {PURGE_DELAY_VAR}=0 ({err}); freed memory is returned lazily"
    );
}

fn main() -> anyhow::Result<()> {
    purge_freed_memory_promptly();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(serve())
}

async fn serve() -> anyhow::Result<()> {
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
    let (database, owner) = db::open_owned(&config.database_url, config.db_pool_max)
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
    let state = AppState::owning(database, owner, config.max_payload_size, engine_config)
        .await?
        .with_mcp(config.mcp());
    let engine = state.engine.clone();
    let addr = format!("{}:{}", config.host, config.port);
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    tracing::info!("flowline listening on http://{addr}");
    let grace = std::time::Duration::from_millis(config.server_shutdown_timeout);
    let (stopping_tx, stopping) = tokio::sync::watch::channel(false);
    let schedules = engine.clone();
    let server = axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        let signal = stop_signal().await;
        tracing::info!(
            signal,
            grace_ms = grace.as_millis(),
            "stopping: no new connections or schedule ticks; requests under way may finish"
        );
        schedules.stop_schedules();
        let _ = stopping_tx.send(true);
    });
    // Requests under way get the grace period, and no more.
    let mut stopping = stopping;
    let deadline = async move {
        let _ = stopping.wait_for(|stopping| *stopping).await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        served = server => served?,
        () = deadline => tracing::warn!(
            grace_ms = grace.as_millis(),
            "requests still under way after SERVER_SHUTDOWN_TIMEOUT were cut"
        ),
    }
    // Queued runs under way get the grace period too; the rest go back to the queue.
    engine.stop_queue(grace).await;
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

/// Waits for SIGTERM (what orchestrators send) or SIGINT (Ctrl-C); answers its name.
async fn stop_signal() -> &'static str {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(err) => {
                tracing::error!(%err, "cannot listen for SIGTERM; only SIGINT stops the server");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "SIGINT",
        () = terminate => "SIGTERM",
    }
}
