//! Relay's global object identification across the domains: the `Node` interface every
//! refetchable type implements, and `node(id:)` / `nodes(ids:)`, which read a row by its global
//! id through the same by-id read (permission check, tenant transaction, RLS) as the domain's own
//! field, so a global id opens nothing its `patient(id:)` or `invoice(id:)` would not.
//!
//! The interface's id field is `nodeId`, not `id`: every type's `id` is already a `UUID!` that
//! clients rely on, and an interface's `id: ID!` would not accept it. Relay reads it with
//! `schemaConfig.nodeInterfaceIdField: "nodeId"` (the README has the config).

use async_graphql::{Context, ID, Interface, Object};

use crate::billing::{Invoice, find_invoice};
use crate::foundation::error::ApiError;
use crate::foundation::global_id::parse_global_id;
use crate::foundation::session::{Session, session};
use crate::identity::{User, find_user};
use crate::patients::{Patient, find_patient};
use crate::scheduling::{Appointment, AppointmentType, find_appointment, find_appointment_type};

/// Most ids one `nodes` call takes, as many as one page of a connection.
const MAX_NODES: usize = 100;

/// Something that can be read again by its global id alone, with `node(id:)`.
#[derive(Interface)]
#[graphql(field(
    name = "node_id",
    ty = "ID",
    desc = "The object's global id: opaque, stable, and unique across every type; pass it to `node(id:)` to read the object again."
))]
pub enum Node {
    Patient(Patient),
    Appointment(Appointment),
    AppointmentType(AppointmentType),
    Invoice(Invoice),
    User(User),
}

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// The object with this global id (a `nodeId`), or null if the clinic has none: whoever may
    /// read it through its own field (`patient`, `appointment`, `invoice`, …) may read it here;
    /// FORBIDDEN for anyone else; BAD_USER_INPUT for an id this server did not issue.
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A `nodeId` as some earlier answer gave it.")] id: ID,
    ) -> Result<Option<Node>, ApiError> {
        find_node(session(ctx)?, "id", &id).await
    }

    /// The objects with these global ids, in the same order, each null if the clinic has none;
    /// at most 100 ids. Permissions as for `node`.
    #[graphql(complexity = "ids.len() * child_complexity.max(1)")]
    async fn nodes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Up to 100 `nodeId`s as earlier answers gave them.")] ids: Vec<ID>,
    ) -> Result<Vec<Option<Node>>, ApiError> {
        if ids.len() > MAX_NODES {
            return Err(ApiError::bad_input(
                "ids",
                format!("at most {MAX_NODES} ids at once"),
            ));
        }
        let session = session(ctx)?;
        let mut nodes = Vec::with_capacity(ids.len());
        for id in &ids {
            nodes.push(find_node(session, "ids", id).await?);
        }
        Ok(nodes)
    }
}

/// Asks the domain the id names for its row; a type that is not a node is as absent as a row.
async fn find_node(session: &Session, argument: &str, id: &str) -> Result<Option<Node>, ApiError> {
    let global = parse_global_id(argument, id)?;
    let id = global.id;
    Ok(if global.is::<Patient>() {
        find_patient(session, id).await?.map(Node::Patient)
    } else if global.is::<Appointment>() {
        find_appointment(session, id).await?.map(Node::Appointment)
    } else if global.is::<AppointmentType>() {
        find_appointment_type(session, id)
            .await?
            .map(Node::AppointmentType)
    } else if global.is::<Invoice>() {
        find_invoice(session, id).await?.map(Node::Invoice)
    } else if global.is::<User>() {
        find_user(session, id).await?.map(Node::User)
    } else {
        None
    })
}
