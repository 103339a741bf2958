//! The real `hpms` binary as a separate process on a test's database: `hpms serve` for figures
//! that must be the server's alone (its memory, its log output), not the test process's, and the
//! operations commands, run as an operator would.

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use super::TestApp;

pub struct ServerProcess {
    child: Child,
    pub address: SocketAddr,
    log: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
}

impl ServerProcess {
    /// Starts `hpms serve` on `app`'s database with `app`'s secrets and `extra_args`, logging at
    /// info, and waits for it to announce its address.
    pub async fn start(app: &TestApp, extra_args: &[&str]) -> ServerProcess {
        ServerProcess::start_logging(app, extra_args, "info").await
    }

    /// `start`, logging at `level` (an `HPMS_LOG` filter).
    pub async fn start_logging(app: &TestApp, extra_args: &[&str], level: &str) -> ServerProcess {
        ServerProcess::start_with(app.server_environment(), extra_args, level).await
    }

    /// Starts `hpms serve` with `environment` (a database and secrets, and any setting to
    /// override) and `extra_args`.
    pub async fn start_with<K, V>(
        environment: impl IntoIterator<Item = (K, V)>,
        extra_args: &[&str],
        level: &str,
    ) -> ServerProcess
    where
        K: AsRef<std::ffi::OsStr>,
        V: AsRef<std::ffi::OsStr>,
    {
        let mut child = hpms("serve", level)
            .args(extra_args)
            .env("HPMS_LISTEN", "127.0.0.1:0")
            // As for the in-process test servers: eight tests share two cores.
            .env("HPMS_DB_ACQUIRE_TIMEOUT_SECONDS", "30")
            // As for the in-process test servers: the tests book on fixed dates years ahead.
            .env("HPMS_BOOKING_HORIZON_DAYS", "7300")
            .envs(environment)
            .spawn()
            .expect("hpms serve starts");
        let log = Arc::new(Mutex::new(String::new()));
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let address = loop {
            let line = lines
                .next_line()
                .await
                .unwrap()
                .expect("the server announces its address before exiting");
            keep(&log, &line);
            // The address ends at the path, in text and JSON lines alike.
            if let Some(rest) = line.split("serving GraphQL on http://").nth(1) {
                let address = rest.split('/').next().unwrap_or_default();
                break address.parse().unwrap();
            }
        };
        // Keep reading both streams so the server never blocks on a full pipe.
        let stderr_log = Arc::clone(&log);
        let stderr = tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                keep(&stderr_log, &line);
            }
        });
        let mut stdout_lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let stdout_log = Arc::clone(&log);
        let stdout = tokio::spawn(async move {
            while let Ok(Some(line)) = stdout_lines.next_line().await {
                keep(&stdout_log, &line);
            }
        });
        ServerProcess {
            child,
            address,
            log,
            readers: vec![stderr, stdout],
        }
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Kills the server with SIGKILL, as a crash would: no graceful shutdown.
    pub fn kill(mut self) {
        self.child.start_kill().unwrap();
    }

    /// Stops the server and returns everything it wrote to stdout and stderr.
    pub async fn stop(mut self) -> String {
        self.child.kill().await.unwrap();
        for reader in self.readers.drain(..) {
            reader.await.unwrap();
        }
        self.log.lock().unwrap().clone()
    }

    /// (resident, peak resident) memory of the server, in MiB.
    pub fn memory_mib(&self) -> (f64, f64) {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.child.id().unwrap())).unwrap();
        let kib = |field: &str| -> f64 {
            status
                .lines()
                .find_map(|line| line.strip_prefix(field))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|value| value.parse().ok())
                .unwrap_or(f64::NAN)
        };
        (kib("VmRSS:") / 1024.0, kib("VmHWM:") / 1024.0)
    }
}

/// `hpms <subcommand>` logging at `level`, its output piped, killed if the test drops it.
pub fn hpms(subcommand: &str, level: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hpms"));
    command
        .arg(subcommand)
        .env("HPMS_LOG", level)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

fn keep(log: &Mutex<String>, line: &str) {
    let mut log = log.lock().unwrap();
    log.push_str(line);
    log.push('\n');
}
