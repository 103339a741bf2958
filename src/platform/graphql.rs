//! The GraphQL schema (the domain roots merged into one, with the limits every request obeys)
//! and the execution of one request: authenticate, open the tenant transaction, run the
//! operation inside it, commit or roll back.

use std::sync::Arc;

use async_graphql::parser::types::{
    DocumentOperations, OperationDefinition, OperationType, Selection,
};
use async_graphql::{
    Context, MergedObject, MergedSubscription, Object, Request, Response, Schema, Value,
};
use sea_orm::{DatabaseConnection, DatabaseTransaction};
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use crate::audit::{AuditQuery, ReadLog};
use crate::billing::{
    BillingMutation, BillingQuery, InvoiceLoader, LinesLoader, invoice_loader, lines_loader,
};
use crate::identity::entity::user;
use crate::identity::{
    ApiKeyMutation, ApiKeyQuery, Authenticated, Authenticator, Credential, IdentityMutation,
    IdentityQuery, LoginService, Permission, Principal, SignInBudget, User,
};
use crate::patients::entity::patient;
use crate::patients::{PatientsMutation, PatientsQuery, PhiKeyring};
use crate::platform::error::{ApiError, assign_missing_codes, commit_failed};
use crate::platform::loader::{ByIdLoader, Lookup, by_id, by_id_as};
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
}

impl Api {
    pub fn new(
        db: DatabaseConnection,
        authenticator: Arc<Authenticator>,
        login: LoginService,
        phi: Arc<PhiKeyring>,
        events: Arc<EventHub>,
    ) -> Api {
        let schema = schema_builder()
            .data(login)
            .data(phi)
            .data(Arc::clone(&authenticator))
            .data(events)
            .finish();
        Api {
            schema,
            db,
            authenticator,
        }
    }

    /// The schema, for the WebSocket transport (whose connections authenticate themselves).
    pub fn schema(&self) -> &ApiSchema {
        &self.schema
    }

    /// Executes one GraphQL request. With credentials the operation runs inside one tenant
    /// transaction that commits only if the response has no errors (queries commit regardless:
    /// their only writes are the audit rows of what they showed); without, only what needs
    /// no session (sign-in, the version) can succeed. A request that only signs in ignores any
    /// credentials, so a stale token left in a client's headers cannot stop a new sign-in.
    pub async fn execute(&self, credential: Option<Credential>, mut request: Request) -> Response {
        let query = request.query.clone();
        let kind = OperationKind::of(&mut request);
        let request = request.data(SignInBudget::default());
        let mut response = match credential {
            Some(credential) if kind != OperationKind::SignIn => self
                .execute_authenticated(&credential, kind, request)
                .await
                .unwrap_or_else(|error| Response::from_errors(vec![error.into_server_error()])),
            _ => self.schema.execute(request).await,
        };
        assign_missing_codes(&mut response, &query);
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

impl OperationKind {
    /// Parses the request's query into the request, where execution finds it parsed: one parse
    /// a request. (A query that does not parse is left for execution to report.)
    fn of(request: &mut Request) -> OperationKind {
        let operation_name = request.operation_name.clone();
        let Ok(document) = request.parsed_query() else {
            return OperationKind::Other;
        };
        let operation = match (&document.operations, operation_name.as_deref()) {
            (DocumentOperations::Single(operation), _) => Some(&operation.node),
            (DocumentOperations::Multiple(operations), Some(name)) => {
                operations.get(name).map(|operation| &operation.node)
            }
            (DocumentOperations::Multiple(_), None) => None,
        };
        match operation {
            Some(operation) if operation.ty == OperationType::Query => OperationKind::Query,
            Some(operation) if only_signs_in(operation) => OperationKind::SignIn,
            _ => OperationKind::Other,
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
    fn into_server_error(self) -> async_graphql::ServerError {
        async_graphql::Error::from(self).into_server_error(async_graphql::Pos::default())
    }
}
