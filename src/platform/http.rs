//! HTTP wiring: the router that `hpms serve` and the tests both run, so a test on port 0 serves
//! exactly what production serves.

use std::net::SocketAddr;

use async_graphql::http::GraphiQLSource;
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::{Router, extract::DefaultBodyLimit};
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;

use crate::platform::config::ServeSettings;
use crate::platform::db;
use crate::platform::graphql::{ApiSchema, build_schema};

/// Largest request body accepted; bigger bodies get 413 before any parsing.
const MAX_BODY_BYTES: usize = 256 * 1024;

#[derive(Clone)]
struct AppState {
    schema: ApiSchema,
    db: DatabaseConnection,
}

/// A bound, ready-to-serve application.
pub struct App {
    listener: TcpListener,
    router: Router,
}

impl App {
    pub async fn build(settings: &ServeSettings) -> anyhow::Result<App> {
        let db = db::connect(&settings.database_url, settings.db_pool_size).await?;
        let state = AppState {
            schema: build_schema(),
            db,
        };
        let router = Router::new()
            .route("/graphql", get(graphiql).post(graphql))
            .route("/healthz", get(|| async { "ok" }))
            .route("/readyz", get(readyz))
            .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
            .with_state(state);
        let listener = TcpListener::bind(settings.listen).await?;
        Ok(App { listener, router })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish.
    pub async fn serve(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
    }
}

async fn graphiql() -> Html<String> {
    Html(GraphiQLSource::build().endpoint("/graphql").finish())
}

async fn graphql(State(state): State<AppState>, request: GraphQLRequest) -> GraphQLResponse {
    state.schema.execute(request.into_inner()).await.into()
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if db::is_reachable(&state.db).await {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
    }
}
