//! The execution of one GraphQL request, top to bottom: authenticate the credential → open the
//! principal's tenant transaction (checking the credential still stands) → run the operation in
//! it → drain the loaders' batches → flush the audit of PHI reads → commit, or roll back. Every
//! request of every transport (HTTP, and the WebSocket's subscriptions) that acts for a clinic
//! starts here; `foundation::db` is the one opener it calls.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Instant;

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationDefinition, OperationType, Selection,
    SelectionSet, TypeKind, TypeSystemDefinition,
};
use async_graphql::{Name, Request, Response, Value};
use sea_orm::DatabaseConnection;
use tokio_util::task::TaskTracker;
use tracing::{Instrument, Span};

use crate::foundation::access::{Actor, Principal};
use crate::foundation::db::{self, TenantTransaction};
use crate::foundation::domain_events::DomainEvents;
use crate::foundation::error::{
    ApiError, assign_missing_codes, commit_failed, first_error_code, refusals,
};
use crate::foundation::metrics::{self, Metrics};
use crate::foundation::read_log::{ReadLog, RequestOrigin};
use crate::foundation::session::Session;
use crate::foundation::telemetry::{RequestId, graphql_span};
use crate::identity::{
    Authenticated, Authenticator, ClientAddress, Credential, LoginService, SignInBudget,
    rejected_token,
};
use crate::partners::{AddressPolicy, WebhookVault};
use crate::patients::{CarePolicy, PhiKeyring};
use crate::scheduling::{BookingWindow, EventHub};
use crate::server::documents::{Documents, Persisted};
use crate::server::domain_events;
use crate::server::schema::{ApiSchema, describe_schema, schema_builder, schema_description_keys};

/// The schema plus what executing a request needs. The pool stays here, outside the schema's
/// data: resolvers reach the database only through their request's `Session`.
#[derive(Clone)]
pub struct Api {
    schema: ApiSchema,
    db: DatabaseConnection,
    authenticator: Arc<Authenticator>,
    events: Arc<DomainEvents>,
    metrics: Metrics,
    root_fields: Arc<RootFields>,
    documents: Documents,
    topology: db::Topology,
}

impl Api {
    /// `database`: the pool, and whether it reaches one PostgreSQL or a Citus coordinator.
    /// `scheduling`: the feed partners follow, and when bookings may start.
    pub fn new(
        (db, topology): (DatabaseConnection, db::Topology),
        authenticator: Arc<Authenticator>,
        login: LoginService,
        (phi, care): (Arc<PhiKeyring>, CarePolicy),
        (events, booking_window): (Arc<EventHub>, BookingWindow),
        metrics: Metrics,
        webhooks: (Arc<WebhookVault>, AddressPolicy),
    ) -> Api {
        let schema = schema_builder()
            .data(login)
            .data(booking_window)
            .data(phi)
            .data(care)
            .data(webhooks.0)
            .data(webhooks.1)
            .data(Arc::clone(&authenticator))
            .data(events)
            .finish();
        let root_fields = Arc::new(RootFields::of(&schema));
        Api {
            schema,
            db,
            authenticator,
            events: Arc::new(domain_events::registry()),
            metrics,
            root_fields,
            documents: Documents::default(),
            topology,
        }
    }

    /// Resolves the request's persisted query and parses its document, or takes it parsed from
    /// the instance's store of documents (`server::documents`): what every transport does first.
    pub async fn prepare(&self, request: &mut Request) -> Result<Persisted, ApiError> {
        self.documents.resolve(request).await
    }

    /// The schema, for the WebSocket transport (whose connections authenticate themselves).
    pub fn schema(&self) -> &ApiSchema {
        &self.schema
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Executes one GraphQL request. With credentials the operation runs inside one tenant
    /// transaction that commits only if the response has no errors (queries commit regardless:
    /// their only writes are the audit rows of what they showed); without, only what needs
    /// no session (sign-in, the version) can succeed. A request that only signs in ignores any
    /// credentials, so a stale token left in a client's headers cannot stop a new sign-in.
    ///
    /// Each request runs in its span (`telemetry::graphql_span`), ends with one log line saying
    /// how it went, and is counted in the metrics by its root field and outcome.
    pub async fn execute(
        &self,
        request_id: &RequestId,
        client: ClientAddress,
        credential: Option<Credential>,
        mut request: Request,
    ) -> Response {
        let started = Instant::now();
        let span = graphql_span(request_id);
        let query = request.query.clone();
        let operation = Operation::of(&mut request, &self.root_fields);
        operation.record(&span);
        let request = request
            .data(SignInBudget::default())
            .data(request_id.clone());
        let execution = async {
            match credential {
                Some(credential) if operation.kind != OperationKind::SignIn => self
                    .execute_authenticated(
                        &credential,
                        &operation,
                        RequestOrigin {
                            request_id: request_id.0.clone(),
                            client_address: Some(client.0),
                        },
                        request,
                    )
                    .await
                    .unwrap_or_else(|error| Response::from_errors(vec![error.into_server_error()])),
                _ => self.schema.execute(request).await,
            }
        };
        let mut response = execution.instrument(span.clone()).await;
        describe_schema(&mut response, &operation.schema_description);
        assign_missing_codes(&mut response, &query);
        let elapsed = started.elapsed();
        let outcome = first_error_code(&response).map_or("ok", |code| code.as_str());
        self.metrics
            .observe_request(operation.root_field, operation.ty, outcome, elapsed);
        span.record(
            "otel.status_code",
            if response.is_ok() { "OK" } else { "ERROR" },
        );
        span.in_scope(|| {
            tracing::info!(
                outcome,
                duration_ms = elapsed.as_secs_f64() * 1000.0,
                "graphql request"
            );
        });
        response
    }

    /// Whether the request's operation only reads (a query), or does not parse (execution then
    /// says why): what a GET may run. Parses the query into the request, where execution finds it.
    pub fn reads_only(&self, request: &mut Request) -> bool {
        matches!(
            Operation::of(request, &self.root_fields).ty,
            metrics::OperationType::Query | metrics::OperationType::Unknown
        )
    }

    /// Whether the request's operation is a subscription, which a WebSocket runs as a stream on
    /// the schema rather than as one request. Parses the query into the request.
    pub fn is_subscription(&self, request: &mut Request) -> bool {
        Operation::of(request, &self.root_fields).ty == metrics::OperationType::Subscription
    }

    /// Verifies a credential and that it still stands, in a transaction of its own.
    pub async fn verify(&self, credential: &Credential) -> Result<Authenticated, ApiError> {
        let (authenticated, transaction) = self.open(credential).await?;
        transaction.commit().await?;
        Ok(authenticated)
    }

    /// Authenticates a credential and opens its principal's tenant transaction, in which the
    /// credential is checked to still stand: a user's token in the very batch that sets the
    /// tenant, an API key (whose use is recorded) right after.
    async fn open(
        &self,
        credential: &Credential,
    ) -> Result<(Authenticated, TenantTransaction), ApiError> {
        let authenticated = self.authenticator.authenticate(credential).await?;
        let scope = authenticated.principal.scope();
        let transaction = match authenticated.token_claims() {
            Some(claims) => db::begin_user_transaction(&self.db, self.topology, &scope, claims)
                .await?
                .ok_or_else(rejected_token)?,
            None => {
                let transaction = db::begin_tenant_transaction(&self.db, &scope).await?;
                authenticated.ensure_current(&transaction).await?;
                transaction
            }
        };
        Ok((authenticated, transaction))
    }

    async fn execute_authenticated(
        &self,
        credential: &Credential,
        operation: &Operation<'_>,
        origin: RequestOrigin,
        request: Request,
    ) -> Result<Response, ApiError> {
        let (authenticated, transaction) = self.open(credential).await?;
        let principal = authenticated.principal;
        record_principal(&Span::current(), &principal);
        if authenticated.password_change_required() && !operation.allows_only_password_change {
            return Err(ApiError::forbidden(
                "an administrator set your password: change it with changePassword first",
            ));
        }
        if authenticated.mfa_enrollment_required() && !operation.allows_only_mfa_enrollment {
            return Err(ApiError::forbidden(
                "your clinic requires two-factor sign-in: set it up with beginMfaEnrollment and confirmMfaEnrollment first",
            ));
        }

        let transaction = Arc::new(transaction);
        let read_log = Arc::new(ReadLog::new(origin));
        let loader_tasks = TaskTracker::new();
        let session = Session::new(
            principal,
            &transaction,
            &loader_tasks,
            &read_log,
            Arc::clone(&self.events),
        );
        let mut response = self
            .schema
            .execute(request.data(session).data(authenticated))
            .await;

        // A batch still running (a sibling field's error can end execution first) holds the
        // transaction for a moment; once the tracker drains, this is the last handle.
        loader_tasks.close();
        loader_tasks.wait().await;
        let transaction = Arc::into_inner(transaction).ok_or_else(ApiError::internal)?;

        let scope = principal.scope();
        if response.is_ok() || operation.kind == OperationKind::Query {
            read_log.flush(&transaction, &scope).await?;
            transaction.commit().await.map_err(commit_failed)?;
        } else {
            transaction.rollback().await?;
            // async-graphql keeps the fields that succeeded; after a rollback they describe
            // changes that did not happen (and could show PHI whose read was not audited).
            response.data = Value::Null;
        }
        let refused = refusals(&response);
        if !refused.is_empty() {
            // In a transaction of its own: a refused mutation's has rolled back.
            let audit = db::begin_tenant_transaction(&self.db, &scope).await?;
            read_log
                .record_refusal(&audit, &scope, operation.root_field, refused)
                .await?;
            audit.commit().await.map_err(commit_failed)?;
        }
        Ok(response)
    }
}

/// What a request's operation is, as far as committing is concerned.
#[derive(Clone, Copy, PartialEq, Eq)]
enum OperationKind {
    /// Certainly a query: commits whatever its errors.
    Query,
    /// A mutation of nothing but `login`: needs no session.
    SignIn,
    /// A mutation, or anything unparsable: commits only without errors (and will have some).
    Other,
}

/// What a request's operation is: how to commit it, and how to log and count it.
struct Operation<'a> {
    kind: OperationKind,
    ty: metrics::OperationType,
    /// The client's name for it: logged, never a metric label (clients choose it freely).
    name: Option<String>,
    /// The metric label: the root field it selects, a name from the schema; `multiple` when it
    /// selects several, `unknown` when it names none of the schema's or does not parse.
    root_field: &'a str,
    /// Where it asks for the schema's description (`schema::schema_description_keys`).
    schema_description: Vec<(Name, Name)>,
    /// Whether it selects nothing but what a token that must change its password allows.
    allows_only_password_change: bool,
    /// Whether it selects nothing but what a token that must set up a second factor allows.
    allows_only_mfa_enrollment: bool,
}

impl<'a> Operation<'a> {
    /// Parses the request's query into the request, where execution finds it parsed: one parse
    /// a request. (A query that does not parse is left for execution to report.)
    fn of(request: &mut Request, root_fields: &'a RootFields) -> Operation<'a> {
        let operation_name = request.operation_name.clone();
        let unknown = Operation {
            kind: OperationKind::Other,
            ty: metrics::OperationType::Unknown,
            name: None,
            root_field: UNKNOWN_ROOT_FIELD,
            schema_description: Vec::new(),
            allows_only_password_change: false,
            allows_only_mfa_enrollment: false,
        };
        let Ok(document) = request.parsed_query() else {
            return unknown;
        };
        let chosen = match (&document.operations, operation_name.as_deref()) {
            (DocumentOperations::Single(operation), _) => Some((None, operation)),
            (DocumentOperations::Multiple(operations), Some(name)) => operations
                .get_key_value(name)
                .map(|(name, operation)| (Some(name), operation)),
            // The document's only operation is the one to run, named or not.
            (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => operations
                .iter()
                .next()
                .map(|(name, operation)| (Some(name), operation)),
            (DocumentOperations::Multiple(_), None) => None,
        };
        let Some((name, operation)) = chosen else {
            return unknown;
        };
        let operation = &operation.node;
        let kind = match operation.ty {
            OperationType::Query => OperationKind::Query,
            _ if only_signs_in(operation) => OperationKind::SignIn,
            _ => OperationKind::Other,
        };
        Operation {
            kind,
            ty: match operation.ty {
                OperationType::Query => metrics::OperationType::Query,
                OperationType::Mutation => metrics::OperationType::Mutation,
                OperationType::Subscription => metrics::OperationType::Subscription,
            },
            name: name.map(ToString::to_string),
            root_field: root_fields.label(document, &operation.selection_set.node),
            schema_description: schema_description_keys(&operation.selection_set.node),
            allows_only_password_change: selects_only(
                document,
                &operation.selection_set.node,
                &PASSWORD_CHANGE_FIELDS,
            ),
            allows_only_mfa_enrollment: selects_only(
                document,
                &operation.selection_set.node,
                &MFA_ENROLLMENT_FIELDS,
            ),
        }
    }

    fn record(&self, span: &Span) {
        span.record("graphql.operation.type", self.ty.as_str());
        span.record("graphql.root_field", self.root_field);
        if let Some(name) = &self.name {
            span.record("graphql.operation.name", name.as_str());
        }
        // Low-cardinality, as span names should be: the client's operation name is a field.
        span.record(
            "otel.name",
            format!("{} {}", self.ty.as_str(), self.root_field).as_str(),
        );
    }
}

/// Notes in the request's span who is acting: the clinic, and the user or the partner's key.
fn record_principal(span: &Span, principal: &Principal) {
    span.record("tenant_id", tracing::field::display(principal.tenant_id));
    match principal.actor {
        Actor::User { id, .. } => span.record("user_id", tracing::field::display(id)),
        Actor::ApiKey { id, .. } => span.record("api_key_id", tracing::field::display(id)),
    };
}

const UNKNOWN_ROOT_FIELD: &str = "unknown";
const MULTIPLE_ROOT_FIELDS: &str = "multiple";
/// Fragments nested deeper than this at the root are not followed (only a cyclic document,
/// which validation refuses, nests them much at all).
const MAX_ROOT_FRAGMENT_DEPTH: usize = 8;

/// The names of the schema's root fields (of Query, Mutation and Subscription, and
/// introspection's), read from its SDL once: the only values the `operation` label takes besides
/// `multiple` and `unknown`.
struct RootFields(HashSet<String>);

impl RootFields {
    fn of(schema: &ApiSchema) -> RootFields {
        let mut names: HashSet<String> = ["__schema", "__type", "__typename"]
            .map(str::to_owned)
            .into();
        let sdl =
            async_graphql::parser::parse_schema(schema.sdl()).expect("the schema's own SDL parses");
        for definition in sdl.definitions {
            if let TypeSystemDefinition::Type(definition) = definition
                && ["Query", "Mutation", "Subscription"]
                    .contains(&definition.node.name.node.as_str())
                && let TypeKind::Object(object) = definition.node.kind
            {
                names.extend(
                    object
                        .fields
                        .into_iter()
                        .map(|field| field.node.name.node.to_string()),
                );
            }
        }
        RootFields(names)
    }

    /// The label of an operation selecting `selection` at the root of `document`.
    fn label<'a>(&'a self, document: &ExecutableDocument, selection: &SelectionSet) -> &'a str {
        let mut selected = BTreeSet::new();
        collect_root_fields(document, selection, 0, &mut selected);
        let known: Option<Vec<&String>> = selected.iter().map(|name| self.0.get(*name)).collect();
        match known.as_deref() {
            Some([name]) => name,
            Some([_, _, ..]) => MULTIPLE_ROOT_FIELDS,
            _ => UNKNOWN_ROOT_FIELD,
        }
    }
}

/// The field names `selection` selects, looking through fragments.
fn collect_root_fields<'d>(
    document: &'d ExecutableDocument,
    selection: &'d SelectionSet,
    depth: usize,
    names: &mut BTreeSet<&'d str>,
) {
    for item in &selection.items {
        match &item.node {
            Selection::Field(field) => {
                names.insert(field.node.name.node.as_str());
            }
            Selection::InlineFragment(fragment) if depth < MAX_ROOT_FRAGMENT_DEPTH => {
                collect_root_fields(
                    document,
                    &fragment.node.selection_set.node,
                    depth + 1,
                    names,
                );
            }
            Selection::FragmentSpread(spread) if depth < MAX_ROOT_FRAGMENT_DEPTH => {
                if let Some(fragment) = document.fragments.get(&spread.node.fragment_name.node) {
                    collect_root_fields(
                        document,
                        &fragment.node.selection_set.node,
                        depth + 1,
                        names,
                    );
                }
            }
            _ => {}
        }
    }
}

/// What a token whose password an administrator set may select, until it is changed.
const PASSWORD_CHANGE_FIELDS: [&str; 5] = [
    "changePassword",
    "me",
    "logout",
    "signOutEverywhere",
    "__typename",
];

/// What a token that must set up the second factor its clinic requires may select, until the
/// factor is confirmed (whose answer is a session that may do everything the role may).
const MFA_ENROLLMENT_FIELDS: [&str; 7] = [
    "beginMfaEnrollment",
    "confirmMfaEnrollment",
    "mfaStatus",
    "me",
    "logout",
    "signOutEverywhere",
    "__typename",
];

/// Whether every root field `selection` selects (through fragments) is one of `allowed`.
fn selects_only(document: &ExecutableDocument, selection: &SelectionSet, allowed: &[&str]) -> bool {
    let mut selected = BTreeSet::new();
    collect_root_fields(document, selection, 0, &mut selected);
    !selected.is_empty() && selected.iter().all(|name| allowed.contains(name))
}

/// A mutation of nothing but `login` or `refreshSession`: it needs no session, and ignores any.
fn only_signs_in(operation: &OperationDefinition) -> bool {
    operation.ty == OperationType::Mutation
        && operation.selection_set.node.items.iter().all(|item| {
            matches!(&item.node, Selection::Field(field)
                if matches!(field.node.name.node.as_str(), "login" | "refreshSession" | "__typename"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_labelled_by_the_schemas_root_fields_only() {
        let root_fields = RootFields::of(&schema_builder().finish());
        let label = |query: &str, name: Option<&str>| {
            let mut request = Request::new(query);
            request.operation_name = name.map(str::to_owned);
            let operation = Operation::of(&mut request, &root_fields);
            (operation.ty.as_str(), operation.root_field.to_owned())
        };
        let expect = |ty: &'static str, field: &str| (ty, field.to_owned());
        assert_eq!(
            label("{ patients { totalCount } }", None),
            expect("query", "patients")
        );
        assert_eq!(
            label(
                "query Mine { a: patient(id: 1) { id } b: patient(id: 2) { id } }",
                None
            ),
            expect("query", "patient")
        );
        assert_eq!(
            label("mutation { ...F } fragment F on Mutation { login }", None),
            expect("mutation", "login")
        );
        assert_eq!(
            label("{ ... on Query { me { id } version } }", None),
            expect("query", "multiple")
        );
        assert_eq!(
            label("{ __schema { types { name } } }", None),
            expect("query", "__schema")
        );
        assert_eq!(
            label("{ patients madeUp }", None),
            expect("query", "unknown")
        );
        assert_eq!(
            label("{ myOperationName }", None),
            expect("query", "unknown")
        );
        assert_eq!(
            label("query A { me { id } } query B { version }", Some("B")),
            expect("query", "version")
        );
        assert_eq!(
            label("query A { me { id } } query B { version }", None),
            expect("unknown", "unknown")
        );
        assert_eq!(label("{ not graphql", None), expect("unknown", "unknown"));
    }
}
