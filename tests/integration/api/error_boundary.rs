//! The error boundary holds by construction: nothing but `src/foundation/error.rs` names
//! async-graphql's own error types, and every resolver answers `Result<_, ApiError>`. A resolver
//! returning `async_graphql::Result` (or any error type but `ApiError`) could `?` a database
//! error and send its text, SQL or PHI included, to a client; this check reads the crate's
//! source with a Rust parser and fails naming the file and function that would.
//!
//! Clippy's `disallowed-types` cannot say this: async-graphql's `#[Object]` expands to code that
//! names `async_graphql::Error` itself, so the lint fires on every resolver impl.

use std::path::{Path, PathBuf};

use syn::visit::{self, Visit};

/// async-graphql's error types: any `Display` converts into them carrying its text.
const GRAPHQL_ERROR_TYPES: [&str; 3] = ["Error", "Result", "ErrorExtensions"];
/// Where they may be named: the one place an `ApiError` becomes a GraphQL error.
const ERROR_BOUNDARY: &str = "src/foundation/error.rs";
/// The attributes whose impls hold resolvers.
const RESOLVER_IMPLS: [&str; 3] = ["Object", "Subscription", "ComplexObject"];

struct Findings {
    file: String,
    problems: Vec<String>,
}

impl Findings {
    fn check_path(&mut self, path: &syn::Path, context: &str) {
        let names: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        if let [first, second, ..] = names.as_slice()
            && first == "async_graphql"
            && GRAPHQL_ERROR_TYPES.contains(&second.as_str())
            && self.file != ERROR_BOUNDARY
        {
            self.problems.push(format!(
                "{}: {context} names async_graphql::{second}; return ApiError instead",
                self.file
            ));
        }
    }

    /// Every `Result<…>` in a resolver's return type must name `ApiError` as its error.
    fn check_resolver(&mut self, function: &syn::ImplItemFn) {
        let syn::ReturnType::Type(_, returned) = &function.sig.output else {
            return;
        };
        let mut results = ResultTypes::default();
        results.visit_type(returned);
        for error_type in results.error_types {
            if error_type.as_deref() != Some("ApiError") {
                self.problems.push(format!(
                    "{}: resolver `{}` returns a Result whose error is {}, not ApiError",
                    self.file,
                    function.sig.ident,
                    error_type.unwrap_or_else(|| "left out (an alias's default)".to_owned())
                ));
            }
        }
    }
}

impl<'ast> Visit<'ast> for Findings {
    fn visit_path(&mut self, path: &'ast syn::Path) {
        self.check_path(path, "a path");
        visit::visit_path(self, path);
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        let mut imported = Vec::new();
        flatten_use(&item.tree, &mut Vec::new(), &mut imported);
        for path in imported {
            if let [first, second, ..] = path.as_slice()
                && first == "async_graphql"
                && GRAPHQL_ERROR_TYPES.contains(&second.as_str())
                && self.file != ERROR_BOUNDARY
            {
                self.problems.push(format!(
                    "{}: imports async_graphql::{second}; return ApiError instead",
                    self.file
                ));
            }
        }
    }

    fn visit_item_impl(&mut self, item: &'ast syn::ItemImpl) {
        let holds_resolvers =
            item.attrs.iter().any(|attribute| {
                attribute.path().segments.last().is_some_and(|segment| {
                    RESOLVER_IMPLS.contains(&segment.ident.to_string().as_str())
                })
            });
        if holds_resolvers {
            for inner in &item.items {
                if let syn::ImplItem::Fn(function) = inner {
                    self.check_resolver(function);
                }
            }
        }
        visit::visit_item_impl(self, item);
    }
}

/// The error type named by each `Result<T, E>` in a type (`None` for a one-argument `Result`).
#[derive(Default)]
struct ResultTypes {
    error_types: Vec<Option<String>>,
}

impl<'ast> Visit<'ast> for ResultTypes {
    fn visit_path_segment(&mut self, segment: &'ast syn::PathSegment) {
        if segment.ident == "Result"
            && let syn::PathArguments::AngleBracketed(arguments) = &segment.arguments
        {
            let types: Vec<&syn::Type> = arguments
                .args
                .iter()
                .filter_map(|argument| match argument {
                    syn::GenericArgument::Type(ty) => Some(ty),
                    _ => None,
                })
                .collect();
            let error = match types.as_slice() {
                [_, syn::Type::Path(error)] => error
                    .path
                    .segments
                    .last()
                    .map(|segment| segment.ident.to_string()),
                _ => None,
            };
            self.error_types.push(error);
        }
        visit::visit_path_segment(self, segment);
    }
}

fn flatten_use(tree: &syn::UseTree, prefix: &mut Vec<String>, into: &mut Vec<Vec<String>>) {
    match tree {
        syn::UseTree::Path(path) => {
            prefix.push(path.ident.to_string());
            flatten_use(&path.tree, prefix, into);
            prefix.pop();
        }
        syn::UseTree::Name(name) => {
            into.push([prefix.clone(), vec![name.ident.to_string()]].concat())
        }
        syn::UseTree::Rename(rename) => {
            into.push([prefix.clone(), vec![rename.ident.to_string()]].concat())
        }
        syn::UseTree::Glob(_) => into.push([prefix.clone(), vec!["*".to_owned()]].concat()),
        syn::UseTree::Group(group) => {
            for item in &group.items {
                flatten_use(item, prefix, into);
            }
        }
    }
}

fn rust_files(directory: &Path, into: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(directory).expect("source directory reads") {
        let path = entry.expect("directory entry reads").path();
        if path.is_dir() {
            rust_files(&path, into);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            into.push(path);
        }
    }
}

fn problems_in(root: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let mut problems = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("source file reads");
        let parsed = syn::parse_file(&text).expect("source file parses");
        let relative = path.strip_prefix(root).expect("file is under the root");
        let mut findings = Findings {
            file: relative.to_string_lossy().into_owned(),
            problems: Vec::new(),
        };
        findings.visit_file(&parsed);
        problems.extend(findings.problems);
    }
    problems
}

#[test]
fn only_the_error_boundary_names_graphql_error_types_and_resolvers_return_api_errors() {
    let problems = problems_in(Path::new(env!("CARGO_MANIFEST_DIR")));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_resolver_returning_async_graphql_result_is_caught() {
    let source = r#"
        #[Object]
        impl Sneaky {
            async fn leaks(&self) -> async_graphql::Result<i32> { Ok(1) }
            async fn also(&self) -> Result<i32, sea_orm::DbErr> { Ok(1) }
            async fn fine(&self) -> Result<i32, ApiError> { Ok(1) }
        }
    "#;
    let mut findings = Findings {
        file: "src/patients/graphql.rs".to_owned(),
        problems: Vec::new(),
    };
    findings.visit_file(&syn::parse_file(source).expect("example parses"));
    assert_eq!(findings.problems.len(), 3, "{:?}", findings.problems);
    assert!(findings.problems.iter().any(|p| p.contains("`leaks`")));
    assert!(findings.problems.iter().any(|p| p.contains("`also`")));
    assert!(!findings.problems.iter().any(|p| p.contains("`fine`")));
}
