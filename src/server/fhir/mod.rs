//! FHIR R4 on `/fhir/R4/`: a read-only REST face of the GraphQL API for partners and for a
//! clinic's own export. Every interaction runs as GraphQL operations of the public schema with
//! the request's credential (`reader`), so authentication, the tenant transaction, RLS, roles and
//! scopes, masking and read audit are GraphQL's own; this module only translates: search
//! parameters into GraphQL arguments (`search`), answers into resources (`resources`), errors into
//! OperationOutcomes (`outcome`). JSON only (`application/fhir+json`). `bulk` is the Bulk Data
//! `$export` of a whole clinic.

mod bulk;
mod capability;
mod cursor;
mod interactions;
mod outcome;
mod reader;
mod resources;
mod search;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, Extension, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::foundation::telemetry::RequestId;
use crate::identity::{ClientAddress, Credential};
use crate::server::caller;
use crate::server::execution::Api;
use crate::server::fhir::interactions::Page;
use crate::server::fhir::outcome::{Outcome, fhir_json};
use crate::server::fhir::reader::Reader;
use crate::server::fhir::search::SearchParams;

pub use bulk::ExportJobs;
pub use cursor::CursorSeal;

/// Where FHIR is served, below the server's root.
pub const BASE_PATH: &str = "/fhir/R4";

/// What the FHIR routes need of the server: the API they read through, the header a trusted
/// proxy names clients in (as for GraphQL; set, it also says a proxy is in front), the export
/// jobs this instance holds, and the seal of search cursors.
#[derive(Clone)]
pub struct Fhir {
    pub api: Api,
    pub client_address_header: Option<String>,
    pub export: ExportJobs,
    pub cursors: CursorSeal,
}

pub fn router<S: Clone + Send + Sync + 'static>(fhir: Fhir) -> Router<S> {
    Router::new()
        .route("/metadata", get(metadata))
        .route("/$export", get(bulk::kick_off).post(bulk::kick_off))
        .route(
            "/$export-status/{job}",
            get(bulk::status).delete(bulk::delete),
        )
        .route("/$export-file/{job}/{file}", get(bulk::file))
        .route("/{resource_type}", get(search_type))
        .route("/{resource_type}/{id}", get(read_instance))
        .fallback(|| async { Outcome::not_found("no such FHIR endpoint: see /fhir/R4/metadata") })
        .method_not_allowed_fallback(|| async {
            Outcome {
                status: StatusCode::METHOD_NOT_ALLOWED,
                code: "BAD_USER_INPUT".to_owned(),
                message: "this FHIR server only reads (and exports): see /fhir/R4/metadata"
                    .to_owned(),
            }
        })
        .with_state(fhir)
}

/// The parts of a FHIR request every handler needs.
struct Call {
    base: String,
    reader_credential: Option<Credential>,
    client: ClientAddress,
}

impl Fhir {
    /// Checks the client accepts FHIR JSON and gathers what reading needs.
    fn call(
        &self,
        headers: &HeaderMap,
        peer: SocketAddr,
        query: Option<&str>,
    ) -> Result<Call, Outcome> {
        accepts_fhir_json(headers, query)?;
        Ok(Call {
            base: base_url(headers, self.client_address_header.is_some()),
            reader_credential: caller::credential(headers),
            client: caller::client_address(headers, peer, self.client_address_header.as_deref()),
        })
    }

    fn reader<'a>(&'a self, call: &Call, request_id: &'a RequestId) -> Reader<'a> {
        Reader {
            api: &self.api,
            request_id,
            client: call.client,
            credential: call.reader_credential.clone(),
        }
    }
}

async fn metadata(
    State(fhir): State<Fhir>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if let Err(refused) = accepts_fhir_json(&headers, query.as_deref()) {
        return refused.into_response();
    }
    let base = base_url(&headers, fhir.client_address_header.is_some());
    let statement = capability::statement(&base, env!("CARGO_PKG_VERSION"));
    fhir_json(StatusCode::OK, &statement)
}

async fn read_instance(
    State(fhir): State<Fhir>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Extension(request_id): Extension<RequestId>,
    Path((resource_type, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let answer = async {
        let call = fhir.call(&headers, peer, query.as_deref())?;
        interactions::read(&fhir.reader(&call, &request_id), &resource_type, &id).await
    };
    match answer.await {
        Ok(resource) => fhir_json(StatusCode::OK, &resource),
        Err(refused) => refused.into_response(),
    }
}

async fn search_type(
    State(fhir): State<Fhir>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Extension(request_id): Extension<RequestId>,
    Path(resource_type): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let answer = async {
        let call = fhir.call(&headers, peer, query.as_deref())?;
        let params = SearchParams::parse(
            query.as_deref(),
            prefers(&headers, "handling=strict"),
            fhir.cursors.clone(),
        );
        let page =
            interactions::search(&fhir.reader(&call, &request_id), &resource_type, &params).await?;
        Ok::<_, Outcome>(bundle(&call.base, &resource_type, page))
    };
    match answer.await {
        Ok(bundle) => fhir_json(StatusCode::OK, &bundle),
        Err(refused) => refused.into_response(),
    }
}

/// A searchset: the matches, then what `_include` added, with `self` and `next` links (the next
/// page's link carries the cursor GraphQL gave).
fn bundle(base: &str, resource_type: &str, page: Page) -> Value {
    let link = |params: &[(String, String)]| {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        if query.is_empty() {
            format!("{base}/{resource_type}")
        } else {
            format!("{base}/{resource_type}?{query}")
        }
    };
    let mut links = vec![json!({ "relation": "self", "url": link(&page.used) })];
    if let Some(cursor) = &page.next_cursor {
        let mut next: Vec<(String, String)> = page
            .used
            .iter()
            .filter(|(key, _)| key != "_cursor")
            .cloned()
            .collect();
        next.push(("_cursor".to_owned(), cursor.clone()));
        links.push(json!({ "relation": "next", "url": link(&next) }));
    }
    let entry = |resource: Value, mode: &str| {
        json!({
            "fullUrl": format!(
                "{base}/{}/{}",
                resource["resourceType"].as_str().unwrap_or_default(),
                resource["id"].as_str().unwrap_or_default()
            ),
            "resource": resource,
            "search": { "mode": mode },
        })
    };
    let entries: Vec<Value> = (page
        .matches
        .into_iter()
        .map(|resource| entry(resource, "match")))
    .chain(
        page.included
            .into_iter()
            .map(|resource| entry(resource, "include")),
    )
    .collect();
    resources::pruned(json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "link": links,
        "entry": entries,
    }))
}

/// The URL FHIR answers link to: the host the client called, over https when the proxy in front
/// says so (`X-Forwarded-Proto`, read only when a proxy is configured: HPMS_CLIENT_ADDRESS_HEADER),
/// else http. A Host header only shapes the links of its own request's answer.
fn base_url(headers: &HeaderMap, behind_proxy: bool) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .filter(|host| !host.is_empty() && !host.contains(['/', ' ', '?', '#', '@']))
        .unwrap_or("localhost");
    let forwarded_https = behind_proxy
        && headers
            .get("x-forwarded-proto")
            .and_then(|proto| proto.to_str().ok())
            == Some("https");
    let scheme = if forwarded_https { "https" } else { "http" };
    format!("{scheme}://{host}{BASE_PATH}")
}

/// FHIR JSON is the only format: an `Accept` or `_format` asking for anything else (XML, say)
/// is 406 Not Acceptable.
fn accepts_fhir_json(headers: &HeaderMap, query: Option<&str>) -> Result<(), Outcome> {
    let json_like = |text: &str| {
        let text = text.trim().to_ascii_lowercase();
        text.is_empty()
            || text.contains("json")
            || text.starts_with("*/*")
            || text.starts_with("application/*")
    };
    let format = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(key, _)| key == "_format")
        .map(|(_, value)| value.into_owned());
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .unwrap_or_default();
    let accepted = accept
        .split(',')
        .any(|media| json_like(media.split(';').next().unwrap_or_default()));
    if format.as_deref().is_some_and(|format| !json_like(format)) || !accepted {
        return Err(Outcome {
            status: StatusCode::NOT_ACCEPTABLE,
            code: "BAD_USER_INPUT".to_owned(),
            message: "this server answers application/fhir+json only".to_owned(),
        });
    }
    Ok(())
}

/// Whether a `Prefer` header of the request states `preference` (`handling=strict`,
/// `respond-async`), spaces aside.
fn prefers(headers: &HeaderMap, preference: &str) -> bool {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|prefer| prefer.to_str().ok())
        .any(|prefer| prefer.replace(' ', "").contains(preference))
}
