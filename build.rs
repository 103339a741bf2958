//! Build-time inputs of the GraphiQL page (src/platform/graphiql.rs):
//!
//! - Its browser assets (GraphiQL, React, graphql-ws) come from the npm registry, pinned with
//!   their integrity hashes by web/graphiql/package-lock.json and installed with `npm ci` into
//!   OUT_DIR, then embedded in the binary. The page then loads nothing from outside the server,
//!   as a clinic's locked-down network and CI require, and no third-party code is committed.
//! - Its saved tabs are the operations in examples/, listed here so that a new example file
//!   appears in the page (and in the test that validates every example) without code changes.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("set by cargo"));
    install_graphiql_assets(
        &manifest_dir.join("web/graphiql"),
        &out_dir.join("graphiql"),
    );
    list_examples(&manifest_dir.join("examples"), &out_dir.join("examples.rs"));
}

fn install_graphiql_assets(package_dir: &Path, install_dir: &Path) {
    for file in ["package.json", "package-lock.json"] {
        println!(
            "cargo:rerun-if-changed={}",
            package_dir.join(file).display()
        );
        fs::create_dir_all(install_dir).expect("OUT_DIR is writable");
        fs::copy(package_dir.join(file), install_dir.join(file))
            .unwrap_or_else(|error| panic!("copying web/graphiql/{file}: {error}"));
    }
    let installed = Command::new("npm")
        .args([
            "ci",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            "--prefer-offline",
        ])
        .args(["--loglevel", "error"])
        .current_dir(install_dir)
        .status();
    match installed {
        Ok(status) if status.success() => {}
        Ok(status) => panic!(
            "`npm ci` for GraphiQL's assets failed ({status}); it needs the npm registry once, \
             after which npm's cache serves it"
        ),
        Err(error) => panic!(
            "cannot run npm ({error}): GraphiQL's assets are installed from the npm registry at \
             build time. Install Node.js and npm (Debian/Ubuntu: apt-get install nodejs npm; \
             macOS: brew install node)"
        ),
    }
}

fn list_examples(examples_dir: &Path, listing: &Path) {
    println!("cargo:rerun-if-changed={}", examples_dir.display());
    let mut examples: Vec<PathBuf> = fs::read_dir(examples_dir)
        .expect("examples/ exists")
        .map(|entry| entry.expect("examples/ is readable").path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "graphql")
        })
        .collect();
    examples.sort();
    let entries: String = examples
        .iter()
        .map(|operation| {
            let name = operation.file_stem().unwrap().to_string_lossy();
            let variables = operation.with_extension("json");
            let variables = if variables.exists() {
                format!("Some(include_str!({:?}))", variables.display().to_string())
            } else {
                "None".to_string()
            };
            format!(
                "    Example {{ name: {name:?}, operation: include_str!({:?}), variables: {variables} }},\n",
                operation.display().to_string()
            )
        })
        .collect();
    fs::write(
        listing,
        format!("/// examples/*.graphql, by file name.\npub const EXAMPLES: &[Example] = &[\n{entries}];\n"),
    )
    .expect("OUT_DIR is writable");
}
