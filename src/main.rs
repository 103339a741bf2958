use anyhow::Context;
use clap::Parser;
use hpms::audit::{ClinicChain, ExportedHeads, verify_audit};
use hpms::foundation::config::{Cli, Command, VerifyAuditSettings};
use hpms::foundation::{db, telemetry};
use hpms::identity::bootstrap::{self, Outcome};
use hpms::patients::{PhiKeyring, RotationProgress, rotate_phi_key};
use hpms::server::http::App;
use hpms::server::{demo, schema};
use indicatif::{ProgressBar, ProgressStyle};
use migration::{Migrator, MigratorTrait};
use tracing_subscriber::EnvFilter;

/// mimalloc returns freed memory to the system promptly. With glibc's allocator, each Argon2
/// sign-in's 19 MiB working memory stayed in the arena of whichever blocking thread ran it: the
/// server grew from 14 MB to 135 MB after a handful of sign-ins and stayed there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    telemetry::init_logging(
        EnvFilter::try_new(&cli.log).context("invalid --log / HPMS_LOG filter")?,
        cli.log_format,
    );

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
        Command::Schema => print!("{}", schema::sdl()),
        Command::CreateSystemAdmin(settings) => {
            let pool = db::connect(&settings.database.database_url, 2)
                .await
                .context("connecting to the database (DATABASE_URL)")?;
            let outcome = bootstrap::create_system_admin(
                &pool,
                &settings.username,
                settings.password.expose(),
            )
            .await
            .context("creating the SystemAdmin")?;
            let what = match outcome {
                Outcome::Created => "created",
                Outcome::PasswordReset => "already existed; password set to the one given",
                Outcome::Unchanged => "already exists",
            };
            tracing::info!(
                username = %settings.username,
                tenant = bootstrap::PLATFORM_SLUG,
                "SystemAdmin {what}"
            );
        }
        Command::SeedDemo(settings) => {
            let phi = PhiKeyring::from_config(&settings.phi.phi_keys)?;
            let pool = db::connect(&settings.database.database_url, 2)
                .await
                .context("connecting to the database (DATABASE_URL)")?;
            let created = demo::seed(&pool, &phi).await.context("loading demo data")?;
            tracing::info!(
                ?created,
                "demo clinics loaded (existing ones left as they were)"
            );
        }
        Command::RotatePhiKey(settings) => {
            let keys = PhiKeyring::from_config(&settings.phi.phi_keys)?;
            let pool = db::connect(&settings.database.database_url, 2)
                .await
                .context("connecting to the database (DATABASE_URL)")?;
            // Rows sealed under a key the running servers lack are unreadable to them: the
            // command cannot see the servers' keys, so it says which key it seals with.
            println!(
                "rotate-phi-key: sealing under key {:?}, which every running server must already \
                 list in HPMS_PHI_KEYS",
                keys.active_key_id()
            );
            let mut progress = Progress::new();
            let summary = rotate_phi_key(&pool, &keys, settings.batch_size, &mut progress)
                .await
                .context("re-encrypting PHI")?;
            progress.bar.finish_and_clear();
            println!(
                "rotate-phi-key: done: {} re-encrypted, {} already under the active key, {} unreadable, \
                 {} left under an older key, in {} clinics",
                summary.rotated,
                summary.already_current,
                summary.unreadable,
                summary.remaining,
                summary.clinics
            );
            if summary.remaining > 0 {
                anyhow::bail!(
                    "{} patients' PHI is not under the active key (see the warnings above): keep \
                     the older keys in HPMS_PHI_KEYS, and run again once the cause is fixed",
                    summary.remaining
                );
            }
        }
        Command::VerifyAudit(settings) => verify_audit_command(&settings).await?,
    }
    Ok(())
}

/// Verifies every clinic's chain, exporting as asked, and fails when any chain is broken.
async fn verify_audit_command(settings: &VerifyAuditSettings) -> anyhow::Result<()> {
    let pool = db::connect(&settings.database.database_url, 2)
        .await
        .context("connecting to the database (DATABASE_URL)")?;
    let to_stdout = settings.export.as_deref() == Some(std::path::Path::new("-"));
    let (exported, mut export): (ExportedHeads, Option<Box<dyn std::io::Write>>) =
        match &settings.export {
            None => (ExportedHeads::default(), None),
            Some(_) if to_stdout => (ExportedHeads::default(), Some(Box::new(std::io::stdout()))),
            Some(path) => {
                let file = std::fs::OpenOptions::new()
                    .read(true)
                    .append(true)
                    .create(true)
                    .open(path)
                    .with_context(|| format!("opening the export {}", path.display()))?;
                let heads = ExportedHeads::read(std::io::BufReader::new(&file))?;
                (heads, Some(Box::new(std::io::BufWriter::new(file))))
            }
        };
    let verdicts = verify_audit(&pool, &exported, export.as_mut()).await?;
    if let Some(out) = export.as_mut() {
        out.flush().context("writing the export")?;
    }
    let report = |line: String| {
        if to_stdout {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    };
    let broken: Vec<&ClinicChain> = verdicts.iter().filter(|v| v.broken.is_some()).collect();
    for verdict in &verdicts {
        match &verdict.broken {
            None => report(format!(
                "verify-audit: clinic {}: {} rows, chain intact ({} exported)",
                verdict.tenant_id, verdict.verified, verdict.exported
            )),
            Some(at) => report(format!(
                "verify-audit: clinic {}: BROKEN at {} (chain_seq {}): {}; {} rows before it verified",
                verdict.tenant_id,
                at.audit_id.map_or_else(
                    || "the chain's end".to_owned(),
                    |id| format!("audit row id {id}")
                ),
                at.chain_seq,
                at.reason,
                verdict.verified
            )),
        }
    }
    if !broken.is_empty() {
        anyhow::bail!(
            "the audit chain of {} of {} clinics is broken (see above)",
            broken.len(),
            verdicts.len()
        );
    }
    report(format!(
        "verify-audit: {} clinics, every chain intact",
        verdicts.len()
    ));
    Ok(())
}

/// A progress bar with done/total on a terminal; a line per committed batch otherwise (a log,
/// or a program reading the output).
struct Progress {
    bar: ProgressBar,
    done: u64,
    total: u64,
}

impl Progress {
    fn new() -> Progress {
        let bar = ProgressBar::new(0).with_style(
            ProgressStyle::with_template("{wide_bar} {pos}/{len} patients re-encrypted ({eta})")
                .expect("the template is valid"),
        );
        Progress {
            bar,
            done: 0,
            total: 0,
        }
    }
}

impl RotationProgress for Progress {
    fn start(&mut self, total: u64) {
        self.total = total;
        self.bar.set_length(total);
        if self.bar.is_hidden() {
            println!("rotate-phi-key: {total} patients to re-encrypt");
        }
    }

    fn committed(&mut self, rows: u64) {
        self.done += rows;
        if self.bar.is_hidden() {
            println!(
                "rotate-phi-key: batch committed: {}/{} patients",
                self.done, self.total
            );
        } else {
            self.bar.inc(rows);
        }
    }
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
