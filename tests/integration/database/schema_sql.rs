//! The committed schema.sql is exactly the schema the migrations make: scripts/dump_schema.sh,
//! the script `make schema` writes it with, prints a clone of the migrated template database the
//! same, byte for byte.

use tokio::process::Command;
use url::Url;

use crate::helpers::TestDb;

#[tokio::test]
async fn the_committed_schema_sql_matches_the_migrations() {
    // A clone, not HPMS_TEST_TEMPLATE itself: PostgreSQL refuses to clone a template while anyone
    // is connected to it, so dumping the template would fail the tests cloning it meanwhile. The
    // clone's schema is the template's, and the dump never names the database.
    let db = TestDb::new().await;
    let url = Url::parse(db.app_url()).expect("the test database URL parses");
    let database = url.path().trim_start_matches('/');

    let root = env!("CARGO_MANIFEST_DIR");
    let output = Command::new(format!("{root}/scripts/dump_schema.sh"))
        .arg(database)
        .output()
        .await
        .expect("scripts/dump_schema.sh runs");
    assert!(
        output.status.success(),
        "scripts/dump_schema.sh failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let dumped = String::from_utf8(output.stdout).expect("the dump is UTF-8");
    let committed = std::fs::read_to_string(format!("{root}/schema.sql"))
        .expect("schema.sql is committed at the top level");

    if committed != dumped {
        let first_difference = committed
            .lines()
            .zip(dumped.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(dumped.lines().count()));
        let line = |text: &str| {
            text.lines()
                .nth(first_difference)
                .unwrap_or("<end of file>")
                .to_owned()
        };
        panic!(
            "schema.sql is out of date: run `make schema` and commit the result.\n\
             First difference at line {}:\n  schema.sql: {}\n  migrations: {}",
            first_difference + 1,
            line(&committed),
            line(&dumped),
        );
    }
}
