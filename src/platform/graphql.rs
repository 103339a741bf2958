//! The GraphQL schema (the domain roots merged into one, with the limits every request obeys)
//! and the execution of one request: authenticate, open the tenant transaction, run the
//! operation inside it, commit or roll back.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Instant;

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationDefinition, OperationType, Selection,
    SelectionSet, TypeKind, TypeSystemDefinition,
};
use async_graphql::{
    Context, MergedObject, MergedSubscription, Object, Request, Response, Schema, Value,
};
use sea_orm::{DatabaseConnection, DatabaseTransaction};
use tokio_util::task::TaskTracker;
use tracing::{Instrument, Span};
use uuid::Uuid;

use crate::audit::{AuditQuery, ReadLog};
use crate::billing::{
    BillingMutation, BillingQuery, InvoiceLoader, LinesLoader, invoice_loader, lines_loader,
};
use crate::identity::entity::user;
use crate::identity::{
    Actor, ApiKeyMutation, ApiKeyQuery, Authenticated, Authenticator, Credential, IdentityMutation,
    IdentityQuery, LoginService, Permission, Principal, SignInBudget, User,
};
use crate::patients::entity::patient;
use crate::patients::{PatientsMutation, PatientsQuery, PhiKeyring};
use crate::platform::error::{ApiError, assign_missing_codes, commit_failed, first_error_code};
use crate::platform::loader::{ByIdLoader, Lookup, by_id, by_id_as};
use crate::platform::metrics::{self, Metrics};
use crate::platform::telemetry::{RequestId, graphql_span};
use crate::scheduling::entity::{appointment, appointment_type};
use crate::scheduling::{
    EventHub, EventsQuery, SchedulingMutation, SchedulingQuery, SchedulingSubscription,
};

/// Deepest selection a request may nest; deeper queries are rejected before execution. GraphiQL's
/// introspection query nests 13 deep; the complexity limit is what bounds the cost of a request.
const MAX_DEPTH: usize = 16;
/// Largest total complexity (roughly, fields resolved) a request may ask for.
const MAX_COMPLEXITY: usize = 2_000;

pub type ApiSchema = Schema<Query, Mutation, Subscription>;

#[derive(MergedObject, Default)]
pub struct Query(
    ServerQuery,
    IdentityQuery,
    PatientsQuery,
    SchedulingQuery,
    BillingQuery,
    AuditQuery,
    ApiKeyQuery,
    EventsQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    IdentityMutation,
    PatientsMutation,
    SchedulingMutation,
    BillingMutation,
    ApiKeyMutation,
);

#[derive(MergedSubscription, Default)]
pub struct Subscription(SchedulingSubscription);

#[derive(Default)]
pub struct ServerQuery;

#[Object]
impl ServerQuery {
    /// The server's build version, so clients and load balancers can tell which build answers.
    async fn version(&self) -> &'static str {
        env!("CARGO_PKG_VERSION")
    }
}

fn schema_builder() -> async_graphql::SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    .limit_depth(MAX_DEPTH)
    .limit_complexity(MAX_COMPLEXITY)
}

/// The schema in SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    schema_builder().finish().sdl()
}

/// What the resolvers of an authenticated request work with: who is acting, the one tenant
/// transaction of the request, the batched lookups that run on it, and the PHI reads to audit
/// before it commits.
pub struct Session {
    pub principal: Principal,
    pub loaders: Loaders,
    transaction: Arc<DatabaseTransaction>,
    read_log: Arc<ReadLog>,
}

/// One request's DataLoaders, all on its transaction.
pub struct Loaders {
    pub patients: ByIdLoader<patient::Entity>,
    /// Users (an appointment's provider), as GraphQL shows them.
    pub providers: ByIdLoader<user::Entity, User>,
    pub appointment_types: ByIdLoader<appointment_type::Entity>,
    pub appointments: ByIdLoader<appointment::Entity>,
    /// Invoices by appointment id.
    pub invoices: InvoiceLoader,
    /// Ledger lines by invoice id.
    pub invoice_lines: LinesLoader,
}

impl Loaders {
    fn new(transaction: &Arc<DatabaseTransaction>, tenant: Uuid, tasks: &TaskTracker) -> Loaders {
        let weak = Arc::downgrade(transaction);
        Loaders {
            patients: by_id(
                weak.clone(),
                tasks,
                Lookup {
                    tenant,
                    tenant_id: patient::Column::TenantId,
                    id: patient::Column::Id,
                    is_deleted: Some(patient::Column::IsDeleted),
                    id_of: |row| row.id,
                },
            ),
            // Converted as loaded: a page of appointments shows each provider many times.
            providers: by_id_as(
                weak.clone(),
                tasks,
                Lookup {
                    tenant,
                    tenant_id: user::Column::TenantId,
                    id: user::Column::Id,
                    is_deleted: Some(user::Column::IsDeleted),
                    id_of: |row| row.id,
                },
                User::try_from,
            ),
            appointment_types: by_id(
                weak.clone(),
                tasks,
                Lookup {
                    tenant,
                    tenant_id: appointment_type::Column::TenantId,
                    id: appointment_type::Column::Id,
                    is_deleted: Some(appointment_type::Column::IsDeleted),
                    id_of: |row| row.id,
                },
            ),
            appointments: by_id(
                weak.clone(),
                tasks,
                Lookup {
                    tenant,
                    tenant_id: appointment::Column::TenantId,
                    id: appointment::Column::Id,
                    is_deleted: Some(appointment::Column::IsDeleted),
                    id_of: |row| row.id,
                },
            ),
            invoices: invoice_loader(weak.clone(), tenant, tasks),
            invoice_lines: lines_loader(weak, tenant, tasks),
        }
    }
}

impl Session {
    pub fn db(&self) -> &DatabaseTransaction {
        &self.transaction
    }

    /// The request's clinic, which every statement names besides row-level security (Citus
    /// routes a statement to one shard only on a tenant_id in its SQL).
    pub fn tenant_id(&self) -> Uuid {
        self.principal.tenant_id
    }

    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        self.principal.require(permission)
    }

    /// Notes that the `section` of `entity` row `id` was decrypted into the response (audited
    /// as a `Read` naming the section).
    pub fn record_read(&self, entity: &'static str, section: &'static str, id: Uuid) {
        self.read_log.record(entity, section, id);
    }
}

/// The session of the current request, or UNAUTHENTICATED when it carries no credentials.
pub fn session<'a>(ctx: &Context<'a>) -> Result<&'a Session, ApiError> {
    ctx.data_opt::<Session>().ok_or_else(|| {
        ApiError::unauthenticated(
            "sign in first: send `Authorization: Bearer <token>` with a token from `login` \
             (a partner system sends `X-Api-Key: <key>`)",
        )
    })
}

/// The schema plus what executing a request needs. The pool stays here, outside the schema's
/// data: resolvers reach the database only through their request's `Session`.
#[derive(Clone)]
pub struct Api {
    schema: ApiSchema,
    db: DatabaseConnection,
    authenticator: Arc<Authenticator>,
    metrics: Metrics,
    root_fields: Arc<RootFields>,
}

impl Api {
    pub fn new(
        db: DatabaseConnection,
        authenticator: Arc<Authenticator>,
        login: LoginService,
        phi: Arc<PhiKeyring>,
        events: Arc<EventHub>,
        metrics: Metrics,
    ) -> Api {
        let schema = schema_builder()
            .data(login)
            .data(phi)
            .data(Arc::clone(&authenticator))
            .data(events)
            .finish();
        let root_fields = Arc::new(RootFields::of(&schema));
        Api {
            schema,
            db,
            authenticator,
            metrics,
            root_fields,
        }
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
        credential: Option<Credential>,
        mut request: Request,
    ) -> Response {
        let started = Instant::now();
        let span = graphql_span(request_id);
        let query = request.query.clone();
        let operation = Operation::of(&mut request, &self.root_fields);
        operation.record(&span);
        let request = request.data(SignInBudget::default());
        let execution = async {
            match credential {
                Some(credential) if operation.kind != OperationKind::SignIn => self
                    .execute_authenticated(&credential, operation.kind, request)
                    .await
                    .unwrap_or_else(|error| Response::from_errors(vec![error.into_server_error()])),
                _ => self.schema.execute(request).await,
            }
        };
        let mut response = execution.instrument(span.clone()).await;
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

    /// Verifies a credential and that it still stands, in a transaction of its own.
    pub async fn verify(&self, credential: &Credential) -> Result<Authenticated, ApiError> {
        let (authenticated, transaction) = self.begin_authenticated(credential).await?;
        transaction.commit().await?;
        Ok(authenticated)
    }

    /// Verifies a credential and opens the principal's tenant transaction, in which it checks
    /// that the credential still stands.
    async fn begin_authenticated(
        &self,
        credential: &Credential,
    ) -> Result<(Authenticated, DatabaseTransaction), ApiError> {
        let authenticated = self.authenticator.authenticate(credential).await?;
        let transaction = authenticated.begin(&self.db).await?;
        Ok((authenticated, transaction))
    }

    async fn execute_authenticated(
        &self,
        credential: &Credential,
        kind: OperationKind,
        request: Request,
    ) -> Result<Response, ApiError> {
        let (authenticated, transaction) = self.begin_authenticated(credential).await?;
        let principal = authenticated.principal;
        record_principal(&Span::current(), &principal);
        let transaction = Arc::new(transaction);
        let read_log = Arc::new(ReadLog::default());
        let loader_tasks = TaskTracker::new();
        let session = Session {
            principal,
            loaders: Loaders::new(&transaction, principal.tenant_id, &loader_tasks),
            transaction: Arc::clone(&transaction),
            read_log: Arc::clone(&read_log),
        };
        let mut response = self.schema.execute(request.data(session)).await;
        // A batch still running (a sibling field's error can end execution first) holds the
        // transaction for a moment; once the tracker drains, this is the last handle.
        loader_tasks.close();
        loader_tasks.wait().await;
        let transaction = Arc::into_inner(transaction).ok_or_else(ApiError::internal)?;
        if response.is_ok() || kind == OperationKind::Query {
            read_log.flush(&transaction).await?;
            transaction.commit().await.map_err(commit_failed)?;
        } else {
            transaction.rollback().await?;
            // async-graphql keeps the fields that succeeded; after a rollback they describe
            // changes that did not happen (and could show PHI whose read was not audited).
            response.data = Value::Null;
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

fn only_signs_in(operation: &OperationDefinition) -> bool {
    operation.ty == OperationType::Mutation
        && operation.selection_set.node.items.iter().all(|item| {
            matches!(&item.node, Selection::Field(field)
                if matches!(field.node.name.node.as_str(), "login" | "__typename"))
        })
}

impl ApiError {
    /// The error as a whole request's answer: it concerns the request (its credentials, its
    /// body), not a place in its document, so it claims no location (not line 0, column 0).
    pub(crate) fn into_server_error(self) -> async_graphql::ServerError {
        let mut error =
            async_graphql::Error::from(self).into_server_error(async_graphql::Pos::default());
        error.locations.clear();
        error
    }
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
