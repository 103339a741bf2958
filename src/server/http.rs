//! HTTP wiring: the router that `hpms serve` and the tests both run, so a test on port 0 serves
//! exactly what production serves.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use async_graphql::ParseRequestError;
use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql_axum::GraphQLRequest;
use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, Extension, FromRequest, FromRequestParts, Request, State};
use axum::http::{HeaderMap, HeaderName, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;

use crate::foundation::config::{Origin, ServeSettings};
use crate::foundation::db::{self, PreAuthentication, StatementCounter};
use crate::foundation::metrics::{self, Metrics};
use crate::foundation::notifications::{self, Notice};
use crate::foundation::telemetry::{self, REQUEST_ID_HEADER, RequestId};
use crate::identity::{
    ApiKeyVault, Authenticator, ClientAddress, LoginService, MfaVault, SessionPolicy, SignInLimits,
    TokenKeys,
};
use crate::partners::{AddressPolicy, Dispatcher, DispatcherSettings, WebhookVault};
use crate::patients::{CarePolicy, PhiKeyring};
use crate::scheduling::{BookingWindow, EventHub, FeedLimits};
use crate::server::caller::{API_KEY_HEADER, client_address, credential};
use crate::server::documents::Persisted;
use crate::server::execution::Api;
use crate::server::graphql_http::{self, AnswerMedia};
use crate::server::{fhir, graphiql, websocket};

/// Largest request body accepted; bigger bodies get 413 before any parsing. (A layer rather than
/// axum's DefaultBodyLimit, which the GraphQL extractor's streaming read does not consult.)
const MAX_BODY_BYTES: usize = 256 * 1024;
/// Shortest token-signing secret accepted (HS256 wants at least its 256-bit output).
const MIN_TOKEN_SECRET_BYTES: usize = 32;

#[derive(Clone)]
struct AppState {
    api: Api,
    db: DatabaseConnection,
    websocket_send_timeout: Duration,
    client_address_header: Option<String>,
}

/// A bound, ready-to-serve application.
pub struct App {
    listener: TcpListener,
    router: Router,
    statements: StatementCounter,
    /// The LISTEN task; it stops with the app.
    notifications: tokio::task::JoinHandle<()>,
    /// The webhook dispatcher; it stops with the app.
    webhooks: tokio::task::JoinHandle<()>,
    socket_send_buffer_bytes: Option<u32>,
}

/// Connections of the webhook dispatcher (each delivery holds one only around its bookkeeping,
/// never while waiting for the receiver).
const WEBHOOK_POOL_SIZE: u32 = 4;

impl App {
    pub async fn build(settings: &ServeSettings) -> anyhow::Result<App> {
        let auth = &settings.auth;
        anyhow::ensure!(
            auth.token_secret.expose().len() >= MIN_TOKEN_SECRET_BYTES,
            "HPMS_TOKEN_SECRET must be at least {MIN_TOKEN_SECRET_BYTES} bytes"
        );
        let phi = PhiKeyring::from_config(&settings.phi.phi_keys)?;
        let vault = ApiKeyVault::from_config(&settings.api_key_encryption_keys)?;
        crate::identity::password::warm_up();
        let mut db = db::connect_pool(
            &settings.database.database_url,
            settings.db_pool_size,
            Duration::from_secs(settings.db_acquire_timeout_seconds),
            (settings.statement_timeout_ms > 0)
                .then(|| Duration::from_millis(settings.statement_timeout_ms)),
        )
        .await
        .context("connecting to the database (DATABASE_URL)")?;
        let statements = StatementCounter::attach(&mut db);
        let tokens = Arc::new(TokenKeys::new(
            &auth.token_secret,
            Duration::from_secs(auth.token_ttl_seconds),
        ));
        // An access token outliving the idle timeout would keep a session usable past it.
        anyhow::ensure!(
            auth.token_ttl_seconds <= auth.session_idle_timeout_seconds
                && auth.session_idle_timeout_seconds <= auth.session_lifetime_seconds,
            "HPMS_TOKEN_TTL_SECONDS must not exceed HPMS_SESSION_IDLE_TIMEOUT_SECONDS, nor that \
             HPMS_SESSION_LIFETIME_SECONDS"
        );
        let limits = SignInLimits::new(
            Duration::from_secs(auth.login_lockout_seconds),
            auth.login_attempts_per_address,
        );
        let sessions = SessionPolicy {
            idle_timeout: Duration::from_secs(auth.session_idle_timeout_seconds),
            lifetime: Duration::from_secs(auth.session_lifetime_seconds),
        };
        let before_sign_in = PreAuthentication::new(db.clone());
        let login = LoginService::new(
            before_sign_in.clone(),
            Arc::clone(&tokens),
            limits,
            sessions,
            Arc::new(MfaVault::from_config(&settings.api_key_encryption_keys)?),
        );
        let authenticator = Arc::new(Authenticator::new(before_sign_in, tokens, vault));
        let metrics = Metrics::default();
        let events = EventHub::new(
            db.clone(),
            FeedLimits {
                buffer: settings.subscriber_buffer_events as usize,
                max_backlog: settings.subscriber_max_backlog_events.into(),
                concurrent_reads: (settings.db_pool_size / 2) as usize,
            },
            metrics.subscriptions.clone(),
        );
        let webhook_vault = Arc::new(WebhookVault::from_config(
            &settings.api_key_encryption_keys,
        )?);
        let address_policy = AddressPolicy::new(&settings.webhooks.webhook_allowed_hosts);
        // The dispatcher has connections of its own: webhook bookkeeping never takes one a
        // request is waiting for, and the request pool's statement counter counts requests only.
        // An instance that delivers none (concurrency 0) opens none.
        let webhook_db = if settings.webhooks.webhook_concurrency == 0 {
            db.clone()
        } else {
            db::connect_pool(
                &settings.database.database_url,
                WEBHOOK_POOL_SIZE,
                Duration::from_secs(settings.db_acquire_timeout_seconds),
                (settings.statement_timeout_ms > 0)
                    .then(|| Duration::from_millis(settings.statement_timeout_ms)),
            )
            .await
            .context("connecting the webhook dispatcher to the database (DATABASE_URL)")?
        };
        let dispatcher = Dispatcher::new(
            webhook_db,
            address_policy.clone(),
            Arc::clone(&webhook_vault),
            DispatcherSettings::from(&settings.webhooks),
            metrics.webhooks.clone(),
        )?;
        let hub = Arc::clone(&events);
        let woken = Arc::clone(&dispatcher);
        let listen_url = (settings.listen_database.listen_database_url.as_ref())
            .unwrap_or(&settings.database.database_url);
        let topology = db::Topology::of(&db)
            .await
            .context("asking the database whether it is Citus")?;
        let listener = notifications::spawn_listener(
            listen_url,
            topology == db::Topology::Citus,
            move |notice| {
                if matches!(notice, Notice::AppointmentEvent { .. } | Notice::Listening) {
                    woken.wake();
                }
                hub.deliver(notice);
            },
        )
        .context("reading the URL of the LISTEN connection")?;
        let webhooks = dispatcher.spawn();
        let state = AppState {
            api: Api::new(
                (db.clone(), topology),
                authenticator,
                login,
                (
                    Arc::new(phi),
                    CarePolicy {
                        care_window: chrono::Duration::days(settings.care.care_window_days.into()),
                        break_glass_for: chrono::Duration::minutes(
                            settings.care.break_glass_minutes.into(),
                        ),
                    },
                ),
                (
                    events,
                    BookingWindow::with_horizon_days(settings.booking_horizon_days),
                ),
                metrics,
                (webhook_vault, address_policy),
            ),
            db,
            websocket_send_timeout: Duration::from_secs(settings.websocket_send_timeout_seconds),
            client_address_header: auth.client_address_header.clone(),
        };
        let fhir = fhir::Fhir {
            api: state.api.clone(),
            client_address_header: state.client_address_header.clone(),
            export: fhir::ExportJobs::new(settings.export_file_records),
            cursors: fhir::CursorSeal::from_config(&settings.api_key_encryption_keys)?,
        };
        let router = Router::new()
            .route("/graphql", get(graphql_get).post(graphql_post))
            .route("/healthz", get(|| async { "ok" }))
            .route("/readyz", get(readyz))
            .route("/metrics", get(metrics_text))
            .merge(graphiql::asset_routes())
            .nest(fhir::BASE_PATH, fhir::router(fhir))
            .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
            // A bug that panics answers 500 instead of dropping the connection; the server lives on.
            .layer(CatchPanicLayer::new())
            .layer(cors(&settings.cors_allowed_origins))
            .layer(axum::middleware::from_fn(telemetry::request_id))
            .with_state(state);
        let tcp = TcpListener::bind(settings.listen).await?;
        Ok(App {
            listener: tcp,
            router,
            statements,
            notifications: listener,
            webhooks,
            socket_send_buffer_bytes: settings.socket_send_buffer_bytes,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Counts the SQL statements this app has sent to the database.
    pub fn statement_counter(&self) -> StatementCounter {
        self.statements.clone()
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish.
    pub async fn serve(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let send_buffer = self.socket_send_buffer_bytes;
        let listener = self.listener.tap_io(move |connection| {
            if let Some(bytes) = send_buffer
                && let Err(error) =
                    socket2::SockRef::from(&*connection).set_send_buffer_size(bytes as usize)
            {
                tracing::warn!(%error, "cannot set a connection's send buffer");
            }
        });
        let router = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await;
        self.notifications.abort();
        self.webhooks.abort();
        served
    }
}

/// `GET /graphql`: a WebSocket upgrade serves subscriptions; a browser asking for a page with no
/// query gets GraphiQL; anything else is a GraphQL request in the URL, which may only read.
async fn graphql_get(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Extension(request_id): Extension<RequestId>,
    request: Request,
) -> Response {
    let (mut parts, _) = request.into_parts();
    if let Ok(upgrade) = WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
        let client = client_address(&parts.headers, peer, state.client_address_header.as_deref());
        return websocket_upgrade(state, upgrade, client);
    }
    let query_string = parts.uri.query().unwrap_or_default();
    if query_string.is_empty() && graphql_http::wants_html(&parts.headers) {
        return graphiql::page("/graphql");
    }
    let Some(media) = AnswerMedia::negotiate(&parts.headers) else {
        return graphql_http::not_acceptable();
    };
    let request = match async_graphql::http::parse_query_string(query_string) {
        Ok(request) => request,
        Err(error) => return NotGraphQL(error).answer_in(media),
    };
    let over = (Method::GET, &parts.headers);
    execute(&state, peer, &request_id, over, request, media).await
}

fn websocket_upgrade(
    state: AppState,
    upgrade: WebSocketUpgrade,
    client: ClientAddress,
) -> Response {
    let upgrade = websocket::configure(upgrade).protocols(ALL_WEBSOCKET_PROTOCOLS);
    // The protocol spoken is the one announced in the handshake.
    let Some(protocol) = upgrade
        .selected_protocol()
        .and_then(|protocol| protocol.to_str().ok()?.parse().ok())
    else {
        return (
            StatusCode::BAD_REQUEST,
            "offer the WebSocket subprotocol graphql-transport-ws (or the legacy graphql-ws)",
        )
            .into_response();
    };
    upgrade.on_upgrade(move |socket| {
        websocket::serve(
            socket,
            protocol,
            state.api,
            state.websocket_send_timeout,
            client,
        )
    })
}

/// `POST /graphql`: one GraphQL request as a JSON body.
async fn graphql_post(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Extension(request_id): Extension<RequestId>,
    request: Request,
) -> Response {
    let headers = request.headers().clone();
    let Some(media) = AnswerMedia::negotiate(&headers) else {
        return graphql_http::not_acceptable();
    };
    if !graphql_http::is_json_body(&headers) {
        return media.refusal(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "body",
            "send the request as `Content-Type: application/json`: a JSON object with a \
             \"query\" string"
                .to_owned(),
        );
    }
    let request = match GraphQLRequest::<NotGraphQL>::from_request(request, &state).await {
        Ok(request) => request.into_inner(),
        Err(refused) => return refused.answer_in(media),
    };
    execute(
        &state,
        peer,
        &request_id,
        (Method::POST, &headers),
        request,
        media,
    )
    .await
}

/// Runs a request that arrived over HTTP, with the credentials and client address of its
/// headers, and answers in `media`: its persisted query resolved first, refused when it has no
/// query at all, or when it came by GET and would do more than read.
async fn execute(
    state: &AppState,
    peer: SocketAddr,
    request_id: &RequestId,
    (method, headers): (Method, &HeaderMap),
    mut request: async_graphql::Request,
    media: AnswerMedia,
) -> Response {
    let persisted = match state.api.prepare(&mut request).await {
        Ok(persisted) => persisted,
        Err(error) => {
            let errors = vec![error.into_server_error()];
            return media.answer(async_graphql::Response::from_errors(errors));
        }
    };
    if persisted == Persisted::No && request.query.trim().is_empty() {
        return media.refusal(
            StatusCode::BAD_REQUEST,
            "query",
            "the request has no query: send the GraphQL document as \"query\"".to_owned(),
        );
    }
    if method == Method::GET && !state.api.reads_only(&mut request) {
        let mut refused = media.refusal(
            StatusCode::METHOD_NOT_ALLOWED,
            "query",
            "only queries run over GET (so a link or a prefetch can never change anything); \
             send mutations, sign-in included, as POST"
                .to_owned(),
        );
        refused
            .headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static("POST"));
        return refused;
    }
    let from = client_address(headers, peer, state.client_address_header.as_deref());
    let request = request.data(from);
    // ClientAddress is Copy: sign-in reads it from the request's data, the audit from here.
    media.answer(
        state
            .api
            .execute(request_id, from, credential(headers), request)
            .await,
    )
}

/// Browsers may call the API from the configured origins only (none when unset): the headers
/// clients send (bearer token, API key, request id) on GET and POST, and the request id readable
/// in the answer. Credentials travel in headers, never cookies, so none are allowed.
fn cors(origins: &[Origin]) -> CorsLayer {
    let origins = origins
        .iter()
        .filter_map(|origin| origin.as_str().parse().ok());
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        // DELETE, Prefer and the Content-Location / X-Progress answers: FHIR's `$export`.
        .allow_methods([Method::GET, Method::POST, Method::DELETE])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            HeaderName::from_static(API_KEY_HEADER),
            HeaderName::from_static(REQUEST_ID_HEADER),
            HeaderName::from_static("prefer"),
        ])
        .expose_headers([
            HeaderName::from_static(REQUEST_ID_HEADER),
            header::CONTENT_LOCATION,
            HeaderName::from_static("x-progress"),
        ])
        .max_age(Duration::from_secs(600))
}

/// `GET /metrics` for Prometheus. Unauthenticated, like `/healthz`: it shows operation counts,
/// latencies and pool figures, no tenant, user or PHI (README, "Observability").
async fn metrics_text(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
        state.api.metrics().render(&state.db),
    )
}

/// A POST body that is not one GraphQL request (not JSON, not an object, a batch, too large):
/// refused like any other bad input, as a GraphQL error with BAD_USER_INPUT, and HTTP 400 (413
/// for a body over the limit) since no GraphQL execution took place.
struct NotGraphQL(ParseRequestError);

impl From<ParseRequestError> for NotGraphQL {
    fn from(error: ParseRequestError) -> Self {
        NotGraphQL(error)
    }
}

impl NotGraphQL {
    fn answer_in(self, media: AnswerMedia) -> Response {
        let (status, message) = match self.0 {
            ParseRequestError::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the request body is over the limit of {MAX_BODY_BYTES} bytes"),
            ),
            ParseRequestError::UnsupportedBatch => (
                StatusCode::BAD_REQUEST,
                "send one operation per request; batches are not accepted".to_owned(),
            ),
            error => (
                StatusCode::BAD_REQUEST,
                format!(
                    "the body is not a GraphQL request (a JSON object with a \"query\" string): {error}"
                ),
            ),
        };
        media.refusal(status, "body", message)
    }
}

/// What the GraphQL extractor answers when it refuses a body on its own; the handlers answer in
/// the negotiated type instead (`answer_in`).
impl IntoResponse for NotGraphQL {
    fn into_response(self) -> Response {
        self.answer_in(AnswerMedia::Json)
    }
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if db::is_reachable(&state.db).await {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
    }
}
