//! `--help` lists every setting with its environment variable, but never the value a secret's
//! variable holds: help output ends up in terminals, tickets and CI logs.

use std::process::Command;

const MARKER: &str = "Qzxv-secret-marker";

#[test]
fn help_never_shows_the_value_of_a_secret() {
    let secrets = [
        "DATABASE_URL",
        "DATABASE_ADMIN_URL",
        "HPMS_LISTEN_DATABASE_URL",
        "HPMS_TOKEN_SECRET",
        "HPMS_PHI_KEYS",
        "HPMS_API_KEY_ENCRYPTION_KEYS",
        "HPMS_SYSTEM_ADMIN_PASSWORD",
    ];
    for command in ["serve", "migrate", "create-system-admin", "seed-demo"] {
        let output = Command::new(env!("CARGO_BIN_EXE_hpms"))
            .args([command, "--help"])
            .envs(secrets.map(|name| (name, format!("{MARKER}-{name}"))))
            .output()
            .expect("hpms runs");
        assert!(output.status.success());
        let help = String::from_utf8(output.stdout).unwrap();
        assert!(
            help.contains("HPMS_LOG_FORMAT"),
            "{command} --help lists the settings"
        );
        assert!(
            !help.contains(MARKER),
            "{command} --help shows a secret:\n{help}"
        );
    }
}
