//! The GraphQL schema: the domain roots merged into one, with the limits every request obeys.

use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema};

/// Deepest selection a request may nest; deeper queries are rejected before execution.
const MAX_DEPTH: usize = 12;
/// Largest total complexity (roughly, fields resolved) a request may ask for.
const MAX_COMPLEXITY: usize = 2_000;

pub type ApiSchema = Schema<Query, EmptyMutation, EmptySubscription>;

#[derive(Default)]
pub struct Query;

#[Object]
impl Query {
    /// The server's build version, so clients and load balancers can tell which build answers.
    async fn version(&self) -> &'static str {
        env!("CARGO_PKG_VERSION")
    }
}

pub fn build_schema() -> ApiSchema {
    Schema::build(Query, EmptyMutation, EmptySubscription)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .finish()
}

/// The schema in SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    build_schema().sdl()
}
