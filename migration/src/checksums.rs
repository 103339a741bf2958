//! Applied migrations cannot be edited by accident: `migration/checksums.txt` holds the sha256
//! of every file an applied migration runs (its module, the helper modules it uses, the SQL it
//! includes), and this test recomputes them. A database that has run a migration never runs it
//! again, so an edit would reach new databases only and leave the ones in the field with another
//! schema; the change belongs in a new migration. The test also refuses a migration registered in
//! `Migrator::migrations()` without lines in the list, so a new migration's files are frozen from
//! the commit that adds it. No database needed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::{Migrator, MigratorTrait};

const LIST: &str = "migration/checksums.txt";

const RULE: &str = "applied migrations are never edited: add a new migration";

const HOW_TO_ADD: &str = "\
A database that already ran a migration never runs it again, so an edit to one would reach new
databases only. If you edited an applied migration, undo it (`git checkout -- <file>`) and make the
change in a new migration. To add a new migration:
  1. create migration/src/<migration>.rs (mYYYYMMDD_NNNNNN_<what>, after the last one), with its SQL
     in sql/<migration>/, and register it at the end of Migrator::migrations() (migration/src/lib.rs);
  2. append its lines to migration/checksums.txt, from the top of the repository:
       sha256sum migration/src/<migration>.rs sql/<migration>/*.sql >> migration/checksums.txt
     (plus any new helper module it uses, under a `# <migration>` comment line);
  3. run `make schema` to regenerate schema.sql.
A new file gets new lines; an existing line never changes and is never removed.";

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the migration crate sits in the repository")
        .to_path_buf()
}

fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// path → sha256 as listed, or the malformed lines.
fn read_list(root: &Path, problems: &mut Vec<String>) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(root.join(LIST))
        .unwrap_or_else(|error| panic!("{LIST} cannot be read: {error}"));
    let mut listed = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let parsed = line
            .split_once("  ")
            .filter(|(hash, path)| {
                hash.len() == 64
                    && hash
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                    && !path.is_empty()
            })
            .map(|(hash, path)| (hash.to_owned(), path.to_owned()));
        match parsed {
            Some((hash, path)) => {
                if listed.insert(path.clone(), hash).is_some() {
                    problems.push(format!("{LIST}:{}: {path} is listed twice", index + 1));
                }
            }
            None => problems.push(format!(
                "{LIST}:{}: not `<sha256>  <path>` as sha256sum prints it: {line:?}",
                index + 1
            )),
        }
    }
    listed
}

/// What a module's source pulls in: the files of its `include_str!`s (from the repository root)
/// and the modules of this crate it names (`crate::columns` → migration/src/columns.rs).
fn dependencies(module_path: &str, source: &str) -> Vec<String> {
    let module_dir = Path::new(module_path)
        .parent()
        .expect("a module lives in a folder");
    let mut found = Vec::new();
    for (at, _) in source.match_indices("include_str!(") {
        let rest = source[at + "include_str!(".len()..].trim_start();
        if let Some(literal) = rest.strip_prefix('"').and_then(|r| r.split('"').next()) {
            found.push(normalise(&module_dir.join(literal)));
        }
    }
    for (at, _) in source.match_indices("crate::") {
        let name: String = source[at + "crate::".len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            found.push(format!("migration/src/{name}.rs"));
        }
    }
    found
}

/// `migration/src/../../sql/x.sql` → `sql/x.sql`.
fn normalise(path: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                parts.pop();
            }
            std::path::Component::CurDir => {}
            other => parts.push(other.as_os_str().to_string_lossy().into_owned()),
        }
    }
    parts.join("/")
}

#[test]
fn applied_migrations_are_unchanged() {
    let root = repository_root();
    let mut problems = Vec::new();
    let listed = read_list(&root, &mut problems);

    // 1. Every listed file is there, byte for byte.
    for (path, hash) in &listed {
        match std::fs::read(root.join(path)) {
            Ok(bytes) => {
                let actual = sha256_hex(&bytes);
                if &actual != hash {
                    problems.push(format!(
                        "{path} changed: its sha256 is {actual}, {LIST} says {hash}"
                    ));
                }
            }
            Err(error) => problems.push(format!(
                "{path} is listed in {LIST} but cannot be read ({error}): an applied migration's \
                 file is never removed or renamed"
            )),
        }
    }

    // 2. Every registered migration is listed, with everything it includes and uses.
    let registered: BTreeSet<String> = Migrator::migrations()
        .iter()
        .map(|migration| format!("migration/src/{}.rs", migration.name()))
        .collect();
    let mut pending: Vec<String> = registered.iter().cloned().collect();
    let mut seen = BTreeSet::new();
    while let Some(path) = pending.pop() {
        if !seen.insert(path.clone()) {
            continue;
        }
        if !listed.contains_key(&path) {
            if registered.contains(&path) {
                problems.push(format!(
                    "{path} is registered in Migrator::migrations() but has no checksum lines in \
                     {LIST}: a new migration adds its own lines (step 2 below)"
                ));
            } else {
                problems.push(format!(
                    "{path} is used by a registered migration but has no checksum line in {LIST}"
                ));
            }
        }
        if path.ends_with(".rs")
            && let Ok(source) = std::fs::read_to_string(root.join(&path))
        {
            pending.extend(dependencies(&path, &source));
        }
    }

    // 3. No migration disappears from Migrator::migrations(), and no SQL file of a migration's
    //    folder goes unlisted.
    for path in listed.keys() {
        let is_migration = path
            .strip_prefix("migration/src/m")
            .is_some_and(|rest| rest.ends_with(".rs"));
        if is_migration && !registered.contains(path) {
            problems.push(format!(
                "{path} has checksum lines but is not in Migrator::migrations(): an applied \
                 migration is never unregistered"
            ));
        }
    }
    let sql_dir = root.join("sql");
    for folder in std::fs::read_dir(&sql_dir).expect("sql/ can be listed") {
        let folder = folder.expect("sql/ entry").path();
        let name = folder.file_name().unwrap().to_string_lossy().into_owned();
        if !folder.is_dir() || !name.starts_with('m') {
            continue; // roles.sql (per cluster) and citus/ (scale-out scripts) are not migrations.
        }
        for file in std::fs::read_dir(&folder).expect("a migration's SQL folder can be listed") {
            let file = file.expect("SQL folder entry").file_name();
            let path = format!("sql/{name}/{}", file.to_string_lossy());
            if !listed.contains_key(&path) && !seen.contains(&path) {
                problems.push(format!(
                    "{path} has no checksum line in {LIST}, nor does any migration include it"
                ));
            }
        }
    }

    assert!(
        problems.is_empty(),
        "{RULE}.\n\n{}\n\n{HOW_TO_ADD}\n",
        problems
            .iter()
            .map(|problem| format!("  - {problem}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn dependencies_are_found_in_formatted_source() {
    let source = r#"
        use crate::columns::{flag, text};
        use crate::tenant_table::TenantTable;
        db.execute_unprepared(include_str!(
            "../../sql/m1_x/a.sql"
        ));
        db.execute_unprepared(include_str!("../../sql/m1_x/b.sql"));
    "#;
    assert_eq!(
        dependencies("migration/src/m1_x.rs", source),
        [
            "sql/m1_x/a.sql",
            "sql/m1_x/b.sql",
            "migration/src/columns.rs",
            "migration/src/tenant_table.rs",
        ]
    );
}
