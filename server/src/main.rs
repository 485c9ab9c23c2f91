//! `cairn`: serves the app. Configuration comes from the environment (see the README).

/// mimalloc: the API's small, short-lived allocations cost less than with the system allocator.
/// With the crate's `override` feature it is SQLite's malloc too.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use server::config::Config;
use server::{AppState, seed, serve, services};
use tracing_subscriber::EnvFilter;

fn main() -> std::process::ExitCode {
    let runtime = match server::runtime() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("cairn: cannot start the async runtime: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    runtime.block_on(start())
}

async fn start() -> std::process::ExitCode {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    if std::env::var("CAIRN_LOG_FORMAT").as_deref() == Ok("json") {
        tracing_subscriber::fmt().with_env_filter(filter).json().init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err}");
            eprintln!("cairn: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::from_env()?;
    let (services, db) = services(&config).await?;
    tracing::info!(backend = db.backend(), "database ready");
    if config.demo && seed::seed_if_empty(&services).await? {
        println!(
            "\nDemo data created. Sign in at {} with any of these (password: {}):",
            config.public_url,
            seed::DEMO_PASSWORD
        );
        for account in seed::DEMO_ACCOUNTS {
            println!("  {:<28} {}", account.email, account.role);
        }
        println!("Outgoing mail is shown at {}/dev/mailbox\n", config.public_url);
    }
    let listener = tokio::net::TcpListener::bind(config.site_addr).await?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    let state = AppState::new(config, services, db);
    serve(listener, state, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
