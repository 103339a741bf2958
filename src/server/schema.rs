//! The GraphQL schema: the domain roots merged into one, with the limits every request obeys.

use async_graphql::{MergedObject, MergedSubscription, Object, Schema};

use crate::audit::AuditQuery;
use crate::billing::{BillingMutation, BillingQuery};
use crate::identity::{ApiKeyMutation, ApiKeyQuery, IdentityMutation, IdentityQuery};
use crate::patients::{PatientsMutation, PatientsQuery};
use crate::scheduling::{EventsQuery, SchedulingMutation, SchedulingQuery, SchedulingSubscription};

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

pub fn schema_builder() -> async_graphql::SchemaBuilder<Query, Mutation, Subscription> {
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
