//! A real headless Chromium, driven over WebDriver by ChromeDriver (Debian's `chromium` and
//! `chromium-driver` packages; scripts/ensure_chromium.sh installs them).

use std::process::Stdio;

use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub struct Browser {
    pub client: Client,
    // Killed on drop; `close` ends the session first, which ends its Chromium.
    _driver: Child,
    _profile: TempProfile,
}

impl Browser {
    /// Starts ChromeDriver on a free port, waits for it to say it is listening, and opens a
    /// session in a fresh headless Chromium profile.
    pub async fn start() -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let mut driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver runs (apt-get install chromium chromium-driver)");
        let mut output = BufReader::new(driver.stdout.take().unwrap()).lines();
        while let Some(line) = output.next_line().await.expect("chromedriver's output") {
            if line.contains("started successfully") {
                break;
            }
        }
        tokio::spawn(async move { while let Ok(Some(_)) = output.next_line().await {} });

        let profile = TempProfile::new();
        // The machine has no network but loopback: without the background-networking flags
        // Chromium keeps trying to reach its vendor's services. Root needs --no-sandbox.
        let capabilities = json!({
            "goog:chromeOptions": {
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--window-size=1024,768",
                    format!("--user-data-dir={}", profile.0.display()),
                ],
            }
        });
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities.as_object().unwrap().clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a WebDriver session in headless Chromium");
        Browser {
            client,
            _driver: driver,
            _profile: profile,
        }
    }

    pub async fn close(self) {
        self.client
            .close()
            .await
            .expect("the WebDriver session ends");
    }
}

struct TempProfile(std::path::PathBuf);

impl TempProfile {
    fn new() -> TempProfile {
        let path = std::env::temp_dir().join(format!("hpms-chromium-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&path).expect("a Chromium profile folder");
        TempProfile(path)
    }
}

impl Drop for TempProfile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
