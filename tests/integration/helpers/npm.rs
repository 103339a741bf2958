//! The tools from the npm registry the suite runs against a real server (tests/graphql-http/,
//! each pinned by its package-lock.json; scripts/test.sh installs them).

use std::path::{Path, PathBuf};

use serde_json::Value;
use tokio::process::Command;

use crate::helpers::TestApp;

/// tests/graphql-http/, checked to have its packages installed.
pub fn folder() -> PathBuf {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/graphql-http");
    assert!(
        folder.join("node_modules/graphql-http").exists(),
        "the npm packages are not installed: run `npm ci --prefix tests/graphql-http` (scripts/test.sh does)"
    );
    folder
}

/// The JSON lines a script of tests/graphql-http/ prints, run with `environment`. (Awaited, not
/// blocking: the server it talks to runs on this test's runtime.)
pub async fn node(script: &str, environment: &[(&str, String)]) -> Vec<Value> {
    let output = Command::new("node")
        .arg(folder().join(script))
        .envs(environment.iter().map(|(name, value)| (*name, value)))
        .output()
        .await
        .expect("node runs (Node.js 18 or later: apt-get install nodejs)");
    json_lines(script, &output)
}

/// The JSON lines a test script printed, once it is checked to have succeeded.
pub fn json_lines(script: &str, output: &std::process::Output) -> Vec<Value> {
    assert!(
        output.status.success(),
        "{script} ran: {}{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect()
}

/// What a client script of tests/graphql-http/ reads: the server's GraphQL URL and the bearer
/// token to send (`HPMS_CLIENT_URL`, `HPMS_CLIENT_TOKEN`).
pub fn client_environment(app: &TestApp, token: &str) -> [(&'static str, String); 2] {
    [
        ("HPMS_CLIENT_URL", app.url("/graphql")),
        ("HPMS_CLIENT_TOKEN", token.to_owned()),
    ]
}
