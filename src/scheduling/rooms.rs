//! Rooms and equipment: the clinic's rooms and their kinds, which room a visit goes in, and the
//! refusals that name a room. An appointment type may need a room of a kind; a booking then takes
//! the room named, or the first free room of that kind by name. The database's exclusion
//! constraint refuses a room's double-booking as it refuses a provider's (schema.sql,
//! `appointments_no_room_double_booking`): a room taken by a concurrent booking between the look
//! and the write is refused there, and the next free room is tried. Kinds are the clinic's own
//! words, compared ignoring case.

use chrono::{DateTime, Duration, Utc};
use sea_orm::DbErr;
use uuid::Uuid;

use crate::foundation::access::{Permission, Principal};
use crate::foundation::db::TenantTransaction;
use crate::foundation::error::ApiError;
use crate::foundation::input::{optional_line, required_line};
use crate::scheduling::availability::Interval;
use crate::scheduling::entity::{appointment, appointment_type, room};
use crate::scheduling::store::{self, Booking, NewRoom, RoomChanges};

/// Most characters of a room's name and of a kind.
const NAME_CHARS: usize = 100;
const KIND_CHARS: usize = 50;

/// How far ahead `remove_room` looks for visits still booked in the room.
const UPCOMING_YEARS: i64 = 100;

/// A room's name: one line.
pub fn room_name(field: &str, raw: &str) -> Result<String, ApiError> {
    required_line(field, raw, NAME_CHARS)
}

/// A kind of room: one line, or blank for none.
pub fn room_kind(field: &str, raw: Option<&str>) -> Result<Option<String>, ApiError> {
    optional_line(field, raw, KIND_CHARS)
}

fn same_kind(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

/// How a room is described in a refusal: its name, and its id for a client to act on.
fn describe(room: &room::Model) -> String {
    format!("room \"{}\" ({})", room.name, room.id)
}

pub async fn list_rooms(
    db: &TenantTransaction,
    principal: &Principal,
    kind: Option<&str>,
) -> Result<Vec<room::Model>, ApiError> {
    principal.require(Permission::ReadSchedule)?;
    let kind = room_kind("kind", kind)?;
    Ok(store::list_rooms(db, kind.as_deref()).await?)
}

pub async fn create_room(
    db: &TenantTransaction,
    principal: &Principal,
    name: &str,
    kind: Option<&str>,
) -> Result<room::Model, ApiError> {
    principal.require(Permission::ManageRooms)?;
    let new = NewRoom {
        name: room_name("input.name", name)?,
        kind: room_kind("input.kind", kind)?,
    };
    Ok(store::insert_room(db, new).await?)
}

/// Renames a room or changes its kind; visits already booked in it stay there.
pub async fn update_room(
    db: &TenantTransaction,
    principal: &Principal,
    id: Uuid,
    name: Option<&str>,
    kind: Option<Option<&str>>,
) -> Result<room::Model, ApiError> {
    principal.require(Permission::ManageRooms)?;
    let changes = RoomChanges {
        name: name.map(|name| room_name("input.name", name)).transpose()?,
        kind: kind.map(|kind| room_kind("input.kind", kind)).transpose()?,
        remove: false,
    };
    if !store::update_room(db, id, changes).await? {
        return Err(ApiError::not_found("room"));
    }
    store::find_room(db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("room"))
}

/// Takes a room out of use; refused while a visit from `now` on is still booked in it, so that
/// no patient arrives to a room the schedule no longer has.
pub async fn remove_room(
    db: &TenantTransaction,
    principal: &Principal,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Uuid, ApiError> {
    principal.require(Permission::ManageRooms)?;
    let room = store::find_room(db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("room"))?;
    let ahead = (now, now + Duration::days(365 * UPCOMING_YEARS));
    let upcoming = store::busy_rooms(db, &[id], ahead, None).await?;
    if let Some(first) = upcoming.first() {
        return Err(ApiError::conflict(format!(
            "{} still holds {} upcoming appointment(s), the first {} at {}; move them to another \
             room first",
            describe(&room),
            upcoming.len(),
            first.id,
            DateTime::<Utc>::from(first.start_time)
        )));
    }
    let removed = RoomChanges {
        name: None,
        kind: None,
        remove: true,
    };
    if !store::update_room(db, id, removed).await? {
        return Err(ApiError::not_found("room"));
    }
    Ok(id)
}

/// Which room a visit may go in: `first` if given, then any free room of a kind (read once, so a
/// series of 52 looks up the clinic's rooms once, not 52 times). Neither: the visit needs no room.
pub struct RoomNeed {
    first: Option<room::Model>,
    of_kind: Option<RoomsOfKind>,
}

struct RoomsOfKind {
    kind: String,
    /// The clinic's live rooms of the kind, by name.
    rooms: Vec<room::Model>,
}

impl RoomsOfKind {
    async fn read(db: &TenantTransaction, kind: Option<String>) -> Result<Option<Self>, ApiError> {
        let Some(kind) = kind else {
            return Ok(None);
        };
        let rooms = store::list_rooms(db, Some(&kind)).await?;
        Ok(Some(RoomsOfKind { kind, rooms }))
    }
}

impl RoomNeed {
    /// For a booking of `kind`: the room named, which must be live and of the kind the type
    /// needs; else any free room of that kind; else no room.
    pub async fn for_booking(
        db: &TenantTransaction,
        kind: &appointment_type::Model,
        named: Option<Uuid>,
    ) -> Result<RoomNeed, ApiError> {
        let Some(id) = named else {
            return Ok(RoomNeed {
                first: None,
                of_kind: RoomsOfKind::read(db, kind.room_kind.clone()).await?,
            });
        };
        let room = store::find_room(db, id)
            .await?
            .ok_or_else(|| ApiError::not_found("room"))?;
        if let Some(needed) = &kind.room_kind
            && !room
                .kind
                .as_deref()
                .is_some_and(|its| same_kind(its, needed))
        {
            return Err(ApiError::bad_input(
                "input.roomId",
                format!(
                    "a visit of type \"{}\" needs a room of kind \"{needed}\", and {} is {}; name \
                     one of that kind, or leave roomId out to have a free one picked",
                    kind.name,
                    describe(&room),
                    match &room.kind {
                        Some(its) => format!("of kind \"{its}\""),
                        None => "of no kind".to_owned(),
                    }
                ),
            ));
        }
        Ok(RoomNeed {
            first: Some(room),
            of_kind: None,
        })
    }

    /// For moving `appointment`: the room it holds, if still in use, else another free room of
    /// the kind its type needs.
    pub async fn for_move(
        db: &TenantTransaction,
        appointment: &appointment::Model,
    ) -> Result<RoomNeed, ApiError> {
        let first = match appointment.room_id {
            Some(id) => store::find_room(db, id).await?,
            None => None,
        };
        let kind = match &first {
            None if appointment.room_id.is_none() => None,
            _ => store::find_type(db, db.tenant_id(), appointment.type_id)
                .await?
                .and_then(|kind| kind.room_kind),
        };
        Ok(RoomNeed {
            first,
            of_kind: RoomsOfKind::read(db, kind).await?,
        })
    }

    /// The rooms to try for `times`, in order (`[None]`: no room is needed), or why there is
    /// none to try.
    async fn rooms_to_try(
        &self,
        db: &TenantTransaction,
        times: Interval,
        moving: Option<Uuid>,
    ) -> Result<Result<Vec<Option<room::Model>>, String>, ApiError> {
        let mut rooms: Vec<room::Model> = self.first.iter().cloned().collect();
        if let Some(RoomsOfKind {
            kind,
            rooms: suitable,
        }) = &self.of_kind
        {
            let ids: Vec<Uuid> = suitable.iter().map(|room| room.id).collect();
            let busy = store::busy_rooms(db, &ids, times, moving).await?;
            let free = suitable.iter().filter(|room| {
                !rooms.contains(room) && !busy.iter().any(|taken| taken.room_id == Some(room.id))
            });
            let free: Vec<room::Model> = free.cloned().collect();
            rooms.extend(free);
            if rooms.is_empty() {
                return Ok(Err(no_room_free(kind, suitable, times)));
            }
        }
        if rooms.is_empty() && self.of_kind.is_none() {
            return Ok(Ok(vec![None]));
        }
        Ok(Ok(rooms.into_iter().map(Some).collect()))
    }
}

fn no_room_free(kind: &str, suitable: &[room::Model], (start, end): Interval) -> String {
    if suitable.is_empty() {
        return format!(
            "the clinic has no room of kind \"{kind}\"; a ClinicAdmin adds one with createRoom"
        );
    }
    let names: Vec<String> = suitable.iter().map(describe).collect();
    format!(
        "every room of kind \"{kind}\" is booked from {start} to {end} ({})",
        names.join(", ")
    )
}

/// Writes a visit of `provider_id` at `times` into the first room `need` allows that is free,
/// `write` taking the room's id (`None` when no room is needed). `Ok(Err(why))` when it cannot:
/// the provider's appointment in the way, or the room's.
pub async fn in_a_free_room<T, Write>(
    db: &TenantTransaction,
    need: &RoomNeed,
    (provider_id, times): (Uuid, Interval),
    moving: Option<Uuid>,
    mut write: impl FnMut(Option<Uuid>) -> Write,
) -> Result<Result<T, String>, ApiError>
where
    Write: Future<Output = Result<Booking<T>, DbErr>>,
{
    let rooms = match need.rooms_to_try(db, times, moving).await? {
        Ok(rooms) => rooms,
        Err(none_free) => {
            let provider = provider_clash(db, provider_id, times, moving).await?;
            return Ok(Err(provider.unwrap_or(none_free)));
        }
    };
    let mut taken = None;
    for room in rooms {
        match write(room.as_ref().map(|room| room.id)).await? {
            Booking::Done(value) => return Ok(Ok(value)),
            Booking::Clash => {
                if let Some(clash) = provider_clash(db, provider_id, times, moving).await? {
                    return Ok(Err(clash));
                }
                // The room went to another visit after the look: try the next.
                taken = room;
            }
        }
    }
    Ok(Err(match taken {
        Some(room) => room_clash(db, &room, times, moving).await?,
        None => "the provider was booked for that time by a concurrent request".to_owned(),
    }))
}

/// What the provider already has at that time (other than `moving`), if anything.
pub async fn provider_clash(
    db: &TenantTransaction,
    provider_id: Uuid,
    times: Interval,
    moving: Option<Uuid>,
) -> Result<Option<String>, ApiError> {
    let taken = store::busy(db, db.tenant_id(), Some(provider_id), times, moving).await?;
    Ok(taken.first().map(|other| {
        format!(
            "the provider is already booked from {} to {} (appointment {})",
            DateTime::<Utc>::from(other.start_time),
            DateTime::<Utc>::from(other.end_time),
            other.id
        )
    }))
}

async fn room_clash(
    db: &TenantTransaction,
    room: &room::Model,
    times: Interval,
    moving: Option<Uuid>,
) -> Result<String, ApiError> {
    let taken = store::busy_rooms(db, &[room.id], times, moving).await?;
    Ok(match taken.first() {
        Some(other) => format!(
            "{} is already booked from {} to {} (appointment {})",
            describe(room),
            DateTime::<Utc>::from(other.start_time),
            DateTime::<Utc>::from(other.end_time),
            other.id
        ),
        None => format!(
            "{} was booked for that time by a concurrent request",
            describe(room)
        ),
    })
}

/// For free slots: `None` when a visit of `kind` needs no room, else each suitable room's busy
/// times within `around` (no rooms: no slot is free).
pub async fn suitable_rooms_busy(
    db: &TenantTransaction,
    kind: &appointment_type::Model,
    around: Interval,
) -> Result<Option<Vec<Vec<Interval>>>, ApiError> {
    let Some(needed) = &kind.room_kind else {
        return Ok(None);
    };
    let suitable = store::list_rooms(db, Some(needed)).await?;
    let ids: Vec<Uuid> = suitable.iter().map(|room| room.id).collect();
    let busy = store::busy_rooms(db, &ids, around, None).await?;
    Ok(Some(
        suitable
            .iter()
            .map(|room| {
                busy.iter()
                    .filter(|taken| taken.room_id == Some(room.id))
                    .map(|taken| (taken.start_time.into(), taken.end_time.into()))
                    .collect()
            })
            .collect(),
    ))
}
