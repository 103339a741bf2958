//! The committed schema.graphql is exactly what the code serves; `make schema` regenerates it.

#[test]
fn the_committed_schema_matches_the_code() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql"))
        .expect("schema.graphql is committed at the top level");
    assert!(
        committed == hpms::server::schema::sdl(),
        "schema.graphql is out of date: run `make schema` and commit the result"
    );
}
