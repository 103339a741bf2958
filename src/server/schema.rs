//! The GraphQL schema: the domain roots merged into one, with the limits every request obeys.

use async_graphql::connection::Connection;
use async_graphql::{MergedObject, MergedSubscription, Object, Schema, SchemaBuilder};

use crate::audit::{AuditLog, AuditQuery};
use crate::billing::{BillingMutation, BillingQuery, Invoice};
use crate::identity::{ApiKeyMutation, ApiKeyQuery, IdentityMutation, IdentityQuery, Tenant, User};
use crate::partners::{WebhookMutation, WebhookQuery};
use crate::patients::{Patient, PatientsMutation, PatientsQuery};
use crate::scheduling::{
    Appointment, EventsQuery, SchedulingMutation, SchedulingQuery, SchedulingSubscription,
};

/// Deepest selection a request may nest; deeper queries are rejected before execution. GraphiQL's
/// introspection query nests 13 deep; the complexity limit is what bounds the cost of a request.
const MAX_DEPTH: usize = 16;
/// Largest total complexity (roughly, fields resolved) a request may ask for.
const MAX_COMPLEXITY: usize = 2_000;

pub type ApiSchema = Schema<Query, Mutation, Subscription>;

/// What can be read. Every field but `version` needs a signed-in user (`Authorization: Bearer
/// <token>`) or, where it says so, a partner's API key (`X-Api-Key`); each field names the roles
/// that may use it. Timestamps are UTC.
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
    WebhookQuery,
);

/// What can be changed. Every field but `login` needs a signed-in user (`Authorization: Bearer
/// <token>`), and each names the roles that may use it. A request's mutations run in one
/// transaction that commits only if the response has no errors.
#[derive(MergedObject, Default)]
pub struct Mutation(
    IdentityMutation,
    PatientsMutation,
    SchedulingMutation,
    BillingMutation,
    ApiKeyMutation,
    WebhookMutation,
);

/// Live updates, over a WebSocket to `/graphql`, for a signed-in user or a partner's API key.
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

pub fn schema_builder() -> SchemaBuilder<Query, Mutation, Subscription> {
    // async-graphql names each connection after its node and gives it no description.
    Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    .limit_depth(MAX_DEPTH)
    .limit_complexity(MAX_COMPLEXITY)
    .override_output_type_description::<Connection<String, User>>(
        "A page of the clinic's users, by username. Pass `pageInfo.endCursor` \
            as `after` for the next page while `pageInfo.hasNextPage` is true.",
    )
    .override_output_type_description::<Connection<String, Tenant>>(
        "A page of clinics, by slug. Pass `pageInfo.endCursor` as `after` \
            for the next page while `pageInfo.hasNextPage` is true.",
    )
    .override_output_type_description::<Connection<String, AuditLog>>(
        "A page of the clinic's audit log, newest first. Pass \
            `pageInfo.endCursor` as `after` for the next page while `pageInfo.hasNextPage` is true.",
    )
    .override_output_type_description::<Connection<String, Patient>>(
        "A page of the clinic's patients, by last name, then first name. \
            Pass `pageInfo.endCursor` as `after` for the next page while `pageInfo.hasNextPage` \
            is true.",
    )
    .override_output_type_description::<Connection<String, Appointment>>(
        "A page of appointments, by start time. Pass \
            `pageInfo.endCursor` as `after` for the next page while `pageInfo.hasNextPage` is true.",
    )
    .override_output_type_description::<Connection<String, Invoice>>(
        "A page of the clinic's invoices, newest first. Pass \
            `pageInfo.endCursor` as `after` for the next page while `pageInfo.hasNextPage` is true.",
    )
}

/// The schema in SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    schema_builder().finish().sdl()
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::types::TypeSystemDefinition;

    #[test]
    fn every_connection_type_is_described() {
        let sdl = async_graphql::parser::parse_schema(super::sdl()).unwrap();
        for definition in sdl.definitions {
            if let TypeSystemDefinition::Type(definition) = definition {
                let name = &definition.node.name.node;
                assert!(
                    !name.ends_with("Connection") || definition.node.description.is_some(),
                    "{name} has no description; describe it in schema_builder"
                );
            }
        }
    }
}
