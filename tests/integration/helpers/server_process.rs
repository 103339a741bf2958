//! The real `hpms serve` binary as a separate process on a test's database, for figures that
//! must be the server's alone (its memory), not the test process's.

use std::net::SocketAddr;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::TestApp;

pub struct ServerProcess {
    child: Child,
    pub address: SocketAddr,
}

impl ServerProcess {
    /// Starts `hpms serve` on `app`'s database with `app`'s secrets and `extra_args`, and waits
    /// for it to announce its address.
    pub async fn start(app: &TestApp, extra_args: &[&str]) -> ServerProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hpms"))
            .arg("serve")
            .args(extra_args)
            .envs(app.server_environment())
            .env("HPMS_LISTEN", "127.0.0.1:0")
            // As for the in-process test servers: eight tests share two cores.
            .env("HPMS_DB_ACQUIRE_TIMEOUT_SECONDS", "30")
            .env("HPMS_LOG", "info")
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("hpms serve starts");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let address = loop {
            let line = lines
                .next_line()
                .await
                .unwrap()
                .expect("the server announces its address before exiting");
            if let Some(rest) = line.split("serving GraphQL on http://").nth(1) {
                let url = rest.split_whitespace().next().unwrap_or_default();
                break url.trim_end_matches("/graphql").parse().unwrap();
            }
        };
        // Keep draining the log so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        ServerProcess { child, address }
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
