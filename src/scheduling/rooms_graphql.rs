//! Rooms over GraphQL: the `rooms` list, `createRoom`, `updateRoom` and `removeRoom`. Thin: the
//! rules are in `rooms.rs`; which room a visit takes is `bookAppointment`'s `roomId` and the
//! appointment type's `roomKind`.

use async_graphql::{Context, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::Utc;
use uuid::Uuid;

use crate::foundation::error::ApiError;
use crate::foundation::session::session;
use crate::scheduling::entity::room;
use crate::scheduling::rooms;

/// One of the clinic's rooms, which an appointment holds as it holds its provider: never two
/// visits in one room at once.
#[derive(SimpleObject)]
pub struct Room {
    /// The room's id, for `bookAppointment`'s `roomId`.
    pub id: Uuid,
    /// What the clinic calls it, e.g. "Exam 2".
    pub name: String,
    /// What kind of room it is, e.g. "Exam" or "X-ray": what an appointment type's `roomKind`
    /// asks for (compared ignoring case). Null: no kind.
    pub kind: Option<String>,
    /// Removed with `removeRoom`: no longer booked, still named by the visits it held.
    pub removed: bool,
}

impl From<room::Model> for Room {
    fn from(model: room::Model) -> Self {
        Room {
            id: model.id,
            name: model.name,
            kind: model.kind,
            removed: model.is_deleted,
        }
    }
}

/// A new room.
#[derive(InputObject)]
pub struct CreateRoomInput {
    /// One line, at most 100 characters; unique in the clinic, ignoring case.
    pub name: String,
    /// One line, at most 50 characters; omit (or leave blank) for none.
    pub kind: Option<String>,
}

/// Fields left out keep their value; visits already booked in the room stay in it.
#[derive(InputObject)]
pub struct UpdateRoomInput {
    /// The room to change.
    pub id: Uuid,
    /// The new name: one line, at most 100 characters.
    pub name: Option<String>,
    /// The new kind: one line, at most 50 characters; null (or blank) for none.
    pub kind: MaybeUndefined<String>,
}

#[derive(Default)]
pub struct RoomsQuery;

#[Object]
impl RoomsQuery {
    /// The clinic's rooms in use, by name. Every clinic role.
    async fn rooms(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only rooms of this kind (ignoring case).")] kind: Option<String>,
    ) -> Result<Vec<Room>, ApiError> {
        let session = session(ctx)?;
        let found = rooms::list_rooms(session.db(), &session.principal, kind.as_deref()).await?;
        Ok(found.into_iter().map(Room::from).collect())
    }
}

#[derive(Default)]
pub struct RoomsMutation;

#[Object]
impl RoomsMutation {
    /// Adds a room. ClinicAdmin only.
    async fn create_room(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The room's name and kind.")] input: CreateRoomInput,
    ) -> Result<Room, ApiError> {
        let session = session(ctx)?;
        let created = rooms::create_room(
            session.db(),
            &session.principal,
            &input.name,
            input.kind.as_deref(),
        )
        .await?;
        Ok(created.into())
    }

    /// Renames a room or changes its kind. ClinicAdmin only.
    async fn update_room(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The room and the fields to change.")] input: UpdateRoomInput,
    ) -> Result<Room, ApiError> {
        let session = session(ctx)?;
        let updated = rooms::update_room(
            session.db(),
            &session.principal,
            input.id,
            input.name.as_deref(),
            input.kind.as_opt_deref(),
        )
        .await?;
        Ok(updated.into())
    }

    /// Takes a room out of use; CONFLICT while an upcoming visit is still booked in it. Visits
    /// it held keep naming it. ClinicAdmin only. Returns the id.
    async fn remove_room(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The room to remove.")] id: Uuid,
    ) -> Result<Uuid, ApiError> {
        let session = session(ctx)?;
        rooms::remove_room(session.db(), &session.principal, id, Utc::now()).await
    }
}
