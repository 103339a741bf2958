//! GraphiQL, served whole by this server: the page, its browser assets and its saved tabs.
//!
//! async-graphql's own page loads its scripts from a public CDN, which a clinic's locked-down
//! network (and CI) cannot reach. Here the assets are installed from the npm registry at build
//! time (build.rs, pinned by web/graphiql/package-lock.json) and embedded in the binary, and a
//! Content-Security-Policy of 'self' makes the browser refuse anything from elsewhere. The page
//! opens with the headers editor showing where the token goes, and with one tab for each
//! operation in examples/ (the ones a front desk app uses), sign-in first.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

/// One operation of examples/: its file name, text, and (from a sibling .json) variables.
pub struct Example {
    pub name: &'static str,
    pub operation: &'static str,
    pub variables: Option<&'static str>,
}

include!(concat!(env!("OUT_DIR"), "/examples.rs"));

/// The example the page opens on: nothing else works before signing in.
const FIRST_EXAMPLE: &str = "sign_in";

/// Where the headers editor, when the page opens, shows the token goes.
const TOKEN_PLACEHOLDER: &str = "<paste the token that the SignIn tab returns>";

const POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; \
     base-uri 'none'; form-action 'none'";

macro_rules! installed {
    ($path:literal) => {
        include_bytes!(concat!(env!("OUT_DIR"), "/graphiql/node_modules/", $path))
    };
}

/// Served under /graphiql/: (file name, content type, bytes).
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "react.js",
        "text/javascript",
        installed!("react/umd/react.production.min.js"),
    ),
    (
        "react-dom.js",
        "text/javascript",
        installed!("react-dom/umd/react-dom.production.min.js"),
    ),
    (
        "graphql-ws.js",
        "text/javascript",
        installed!("graphql-ws/umd/graphql-ws.min.js"),
    ),
    (
        "graphiql.js",
        "text/javascript",
        installed!("graphiql/graphiql.min.js"),
    ),
    (
        "graphiql.css",
        "text/css",
        installed!("graphiql/graphiql.min.css"),
    ),
    (
        "hpms-graphiql.js",
        "text/javascript",
        include_bytes!("../../web/graphiql/hpms-graphiql.js"),
    ),
];

/// The routes of the page's assets; the page itself is `page`, on the GraphQL endpoint.
pub fn asset_routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/graphiql/{asset}", get(asset))
}

async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(asset, _, _)| *asset == name) {
        Some((_, content_type, bytes)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (header::CACHE_CONTROL, "public, max-age=3600"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            *bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The GraphiQL page for the GraphQL endpoint at `endpoint` (its subscriptions on the same path).
pub fn page(endpoint: &str) -> Response {
    let mut examples: Vec<&Example> = EXAMPLES.iter().collect();
    examples.sort_by_key(|example| example.name != FIRST_EXAMPLE);
    let config = json!({
        "endpoint": endpoint,
        "headers": format!("{{\n  \"Authorization\": \"Bearer {TOKEN_PLACEHOLDER}\"\n}}"),
        "tokenPlaceholder": TOKEN_PLACEHOLDER,
        "examples": examples.iter().map(|example| json!({
            "name": example.name,
            "operation": example.operation,
            "variables": example.variables,
        })).collect::<Vec<_>>(),
    });
    // In a <script> element, "</script>" inside a JSON string would end it; \u003c cannot.
    let config = config.to_string().replace('<', "\\u003c");
    let mut response = (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        format!(
            r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>HPMS · GraphiQL</title>
<link rel="stylesheet" href="/graphiql/graphiql.css">
<style>
html, body, #graphiql {{ height: 100%; margin: 0; }}
/* One tab per example: on a 1024 px screen they wrap onto a second row rather than scroll out
   of reach behind GraphiQL's hidden scrollbar. */
.graphiql-container .graphiql-session-header {{ height: auto; min-height: var(--session-header-height); }}
.graphiql-container .graphiql-tabs {{ flex-wrap: wrap; overflow-x: visible; gap: var(--px-8) var(--px-12); }}
.graphiql-container .graphiql-tabs > :not(:first-child) {{ margin-left: 0; }}
</style>
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<script id="hpms-graphiql-config" type="application/json">{config}</script>
<script src="/graphiql/react.js"></script>
<script src="/graphiql/react-dom.js"></script>
<script src="/graphiql/graphql-ws.js"></script>
<script src="/graphiql/graphiql.js"></script>
<script src="/graphiql/hpms-graphiql.js"></script>
</body>
</html>
"#
        ),
    )
        .into_response();
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(POLICY),
    );
    response
}
