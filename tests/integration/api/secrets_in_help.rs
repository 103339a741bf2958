//! `hpms <command> --help` lists every setting with its environment variable but never shows a
//! secret's value, whatever the environment holds.

use crate::helpers::server_process::hpms;

const SECRETS: [&str; 7] = [
    "DATABASE_URL",
    "DATABASE_ADMIN_URL",
    "HPMS_LISTEN_DATABASE_URL",
    "HPMS_TOKEN_SECRET",
    "HPMS_PHI_KEYS",
    "HPMS_API_KEY_ENCRYPTION_KEYS",
    "HPMS_SYSTEM_ADMIN_PASSWORD",
];

#[tokio::test]
async fn help_names_secret_variables_but_never_shows_their_values() {
    for command in [
        "serve",
        "migrate",
        "create-system-admin",
        "seed-demo",
        "rotate-phi-key",
        "verify-audit",
    ] {
        let mut help = hpms(command, "warn");
        help.arg("--help");
        for variable in SECRETS {
            help.env(variable, format!("secret-value-of-{variable}"));
        }
        let output = help.output().await.expect("hpms --help runs");
        assert!(output.status.success(), "{output:?}");
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(text.contains("[env: "), "{command} --help: {text}");
        assert!(
            !text.contains("secret-value-of-"),
            "{command} --help shows a secret: {text}"
        );
    }
}
