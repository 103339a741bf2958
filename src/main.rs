use std::io::IsTerminal;

use anyhow::Context;
use clap::Parser;
use hpms::platform::config::{Cli, Command};
use hpms::platform::http::App;
use hpms::platform::{db, graphql};
use migration::{Migrator, MigratorTrait};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(&cli.log).context("invalid --log / HPMS_LOG filter")?)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();

    match cli.command {
        Command::Serve(settings) => {
            let app = App::build(&settings).await.context("starting the server")?;
            let address = app.local_addr()?;
            tracing::info!(%address, "serving GraphQL on http://{address}/graphql");
            app.serve(shutdown_signal()).await?;
        }
        Command::Migrate(settings) => {
            let owner = db::connect(&settings.database_admin_url, 1)
                .await
                .context("connecting as the owner role (DATABASE_ADMIN_URL)")?;
            Migrator::up(&owner, None)
                .await
                .context("applying migrations")?;
            tracing::info!("database schema is up to date");
        }
        Command::Schema => print!("{}", graphql::sdl()),
    }
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM, starting a graceful shutdown.
async fn shutdown_signal() {
    let ctrl_c = async {
        tokio::signal::ctrl_c().await.ok();
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
