//! The GraphQL schema: the domain roots merged into one, with the limits every request obeys.

use async_graphql::connection::Connection;
use async_graphql::parser::types::{Selection, SelectionSet};
use async_graphql::{
    MergedObject, MergedSubscription, Name, Object, Response, SDLExportOptions, Schema,
    SchemaBuilder, Value,
};

use crate::audit::{AuditLog, AuditQuery, PatientAccess};
use crate::billing::{BillingMutation, BillingQuery, Invoice};
use crate::identity::{
    ApiKeyMutation, ApiKeyQuery, IdentityMutation, IdentityQuery, MfaMutation, MfaQuery, Tenant,
    User,
};
use crate::partners::{WebhookMutation, WebhookQuery};
use crate::patients::{
    BreakGlassGrant, CareTeamMutation, CareTeamQuery, Patient, PatientsMutation, PatientsQuery,
};
use crate::scheduling::{
    Appointment, CancellationMutation, CancellationQuery, ClinicWeekMutation, ClinicWeekQuery,
    EventsQuery, RoomsMutation, RoomsQuery, SchedulingMutation, SchedulingQuery,
    SchedulingSubscription, WaitlistEntry, WaitlistMutation, WaitlistQuery,
};
use crate::server::node::NodeQuery;

/// Deepest selection a request may nest; deeper queries are rejected before execution. GraphiQL's
/// introspection query nests 13 deep; the complexity limit is what bounds the cost of a request.
const MAX_DEPTH: usize = 16;
/// Largest total complexity (roughly, fields resolved) a request may ask for.
const MAX_COMPLEXITY: usize = 2_000;

pub type ApiSchema = Schema<Query, Mutation, Subscription>;

/// What the schema is, as `schema.graphql` and introspection's `__schema { description }` both
/// say it (GraphiQL shows it above the root types).
pub const SCHEMA_DESCRIPTION: &str = "HPMS: practice management for independent clinics. \
    Sign in with `login` and send its token as `Authorization: Bearer <token>`; a partner \
    system sends its key as `X-Api-Key`. Everything a request reads or changes belongs to the \
    signed-in user's clinic, and each field names the roles that may use it. Errors carry \
    `extensions.code`. Timestamps are UTC; dates and working hours are in the clinic's time zone.";

/// What can be read. Every field but `version` needs a signed-in user (`Authorization: Bearer
/// <token>`) or, where it says so, a partner's API key (`X-Api-Key`); each field names the roles
/// that may use it. Timestamps are UTC.
#[derive(MergedObject, Default)]
pub struct Query(
    ServerQuery,
    IdentityQuery,
    MfaQuery,
    PatientsQuery,
    CareTeamQuery,
    SchedulingQuery,
    BillingQuery,
    AuditQuery,
    ApiKeyQuery,
    EventsQuery,
    NodeQuery,
    WebhookQuery,
    ClinicWeekQuery,
    CancellationQuery,
    WaitlistQuery,
    RoomsQuery,
);

/// What can be changed. Every field but `login` needs a signed-in user (`Authorization: Bearer
/// <token>`), and each names the roles that may use it. A request's mutations run in one
/// transaction that commits only if the response has no errors.
#[derive(MergedObject, Default)]
pub struct Mutation(
    IdentityMutation,
    MfaMutation,
    PatientsMutation,
    CareTeamMutation,
    SchedulingMutation,
    BillingMutation,
    ApiKeyMutation,
    WebhookMutation,
    ClinicWeekMutation,
    CancellationMutation,
    WaitlistMutation,
    RoomsMutation,
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
    .override_output_type_description::<Connection<String, BreakGlassGrant>>(
        "A page of the clinic's break-glass grants, newest first. Pass \
            `pageInfo.endCursor` as `after` for the next page while `pageInfo.hasNextPage` is true.",
    )
    .override_output_type_description::<Connection<String, PatientAccess>>(
        "A page of the times a patient's data was shown, newest first. Pass \
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
    .override_output_type_description::<Connection<String, WaitlistEntry>>(
        "A page of the patients waiting for an earlier slot, oldest first. Pass \
            `pageInfo.endCursor` as `after` for the next page while `pageInfo.hasNextPage` is true.",
    )
}

/// The schema in SDL, as committed in `schema.graphql`: what introspection answers, scalars'
/// `@specifiedBy` and the schema's description included.
pub fn sdl() -> String {
    let sdl = schema_builder()
        .finish()
        .sdl_with_options(SDLExportOptions::new().include_specified_by());
    let block = format!("\"\"\"\n{SCHEMA_DESCRIPTION}\n\"\"\"\nschema {{");
    sdl.replacen("\nschema {", &format!("\n{block}"), 1)
}

/// Where an operation selecting `selection` at its root asks for `__schema { description }`:
/// the response keys of each `__schema` and of its `description`. async-graphql answers that
/// field with a fixed text of its own, which `describe_schema` replaces by ours. (Only fields
/// selected directly are found; introspection queries, GraphiQL's included, select it so.)
pub fn schema_description_keys(selection: &SelectionSet) -> Vec<(Name, Name)> {
    fields_named(selection, "__schema")
        .flat_map(|(schema_key, schema)| {
            fields_named(schema, "description")
                .map(move |(description_key, _)| (schema_key.clone(), description_key.clone()))
        })
        .collect()
}

/// The response keys and selections of the fields named `name` that `selection` selects directly.
fn fields_named<'a>(
    selection: &'a SelectionSet,
    name: &'a str,
) -> impl Iterator<Item = (&'a Name, &'a SelectionSet)> {
    selection
        .items
        .iter()
        .filter_map(move |item| match &item.node {
            Selection::Field(field) if field.node.name.node == name => Some((
                &field.node.response_key().node,
                &field.node.selection_set.node,
            )),
            _ => None,
        })
}

/// Puts `SCHEMA_DESCRIPTION` where `keys` (from `schema_description_keys`) say the response has
/// the schema's description.
pub fn describe_schema(response: &mut Response, keys: &[(Name, Name)]) {
    let Value::Object(data) = &mut response.data else {
        return;
    };
    for (schema_key, description_key) in keys {
        if let Some(Value::Object(schema)) = data.get_mut(schema_key)
            && let Some(description) = schema.get_mut(description_key)
        {
            *description = Value::String(SCHEMA_DESCRIPTION.to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::types::TypeSystemDefinition;

    #[test]
    fn every_connection_type_is_described() {
        let sdl =
            async_graphql::parser::parse_schema(super::schema_builder().finish().sdl()).unwrap();
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
