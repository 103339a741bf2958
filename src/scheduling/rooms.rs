//! Rooms and equipment: the clinic's rooms and their kinds, which room a visit goes in, and the
//! refusals that name a room. An appointment type may need a room of a kind; a booking then takes
//! the room named, or the first free room of that kind by name. The database's exclusion
//! constraint refuses a room's double-booking as it refuses a provider's (schema.sql,
//! `appointments_no_room_double_booking`): a room taken by a concurrent booking between the look
//! and the write is refused there, and the next free room is tried. Kinds are the clinic's own
//! words, compared ignoring case.

use chrono::{DateTime, Utc};
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
    // Not while a visit is being put in it for the kind it has now.
    store::lock_rooms(db).await?;
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
    // Under the rooms' lock a booking has either put its visit in the room already (and it is
    // seen below) or finds the room gone when it gets the lock.
    store::lock_rooms(db).await?;
    let room = store::find_room(db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("room"))?;
    let upcoming = store::upcoming_in_room(db, id, now).await?;
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

#[derive(Clone)]
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

    /// Each room's visits within `times` (other than `moving`), in the order of `rooms`.
    async fn busy(
        &self,
        db: &TenantTransaction,
        times: Interval,
        moving: Option<Uuid>,
    ) -> Result<Vec<Vec<Interval>>, ApiError> {
        let ids: Vec<Uuid> = self.rooms.iter().map(|room| room.id).collect();
        let visits = store::busy_rooms(db, &ids, times, moving).await?;
        Ok(self
            .rooms
            .iter()
            .map(|room| {
                visits
                    .iter()
                    .filter(|visit| visit.room_id == Some(room.id))
                    .map(|visit| (visit.start_time.into(), visit.end_time.into()))
                    .collect()
            })
            .collect())
    }
}

/// The rooms to try for a visit's times, in order.
enum RoomsToTry {
    NoRoomNeeded,
    Try(Vec<room::Model>),
    /// Why there is none to try.
    NoneFree(String),
}

impl RoomNeed {
    const NONE: RoomNeed = RoomNeed {
        first: None,
        of_kind: None,
    };

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

    /// For moving each of `appointments`, all of one type (one visit, or a series'
    /// occurrences): the room it holds, if still in use, else another free room of the kind the
    /// type needs, read once for all of them. A visit in no room stays in none, even if its
    /// type has come to need one since it was booked.
    pub async fn for_moves(
        db: &TenantTransaction,
        appointments: &[appointment::Model],
    ) -> Result<Vec<RoomNeed>, ApiError> {
        let Some(type_id) = appointments
            .iter()
            .find(|appointment| appointment.room_id.is_some())
            .map(|appointment| appointment.type_id)
        else {
            return Ok(appointments.iter().map(|_| RoomNeed::NONE).collect());
        };
        let kind = store::find_type(db, db.tenant_id(), type_id)
            .await?
            .and_then(|kind| kind.room_kind);
        let of_kind = RoomsOfKind::read(db, kind).await?;
        let mut needs = Vec::with_capacity(appointments.len());
        for appointment in appointments {
            let Some(room_id) = appointment.room_id else {
                needs.push(RoomNeed::NONE);
                continue;
            };
            let known = of_kind
                .iter()
                .flat_map(|of_kind| &of_kind.rooms)
                .find(|room| room.id == room_id)
                .cloned();
            let first = match known {
                Some(room) => Some(room),
                None => store::find_room(db, room_id).await?,
            };
            needs.push(RoomNeed {
                first,
                of_kind: of_kind.clone(),
            });
        }
        Ok(needs)
    }

    /// `for_moves` of one visit.
    pub async fn for_move(
        db: &TenantTransaction,
        appointment: &appointment::Model,
    ) -> Result<RoomNeed, ApiError> {
        let mut needs = RoomNeed::for_moves(db, std::slice::from_ref(appointment)).await?;
        needs.pop().ok_or_else(ApiError::internal)
    }

    /// Whether the visit may go in a room, and so needs the rooms' lock.
    pub fn may_take_a_room(&self) -> bool {
        self.first.is_some() || self.of_kind.is_some()
    }

    /// The rooms to try for `times`, in order.
    async fn rooms_to_try(
        &self,
        db: &TenantTransaction,
        times: Interval,
        moving: Option<Uuid>,
    ) -> Result<RoomsToTry, ApiError> {
        let mut rooms: Vec<room::Model> = self.first.iter().cloned().collect();
        let Some(of_kind) = &self.of_kind else {
            return Ok(if rooms.is_empty() {
                RoomsToTry::NoRoomNeeded
            } else {
                RoomsToTry::Try(rooms)
            });
        };
        let busy = of_kind.busy(db, times, moving).await?;
        for (room, visits) in of_kind.rooms.iter().zip(busy) {
            let listed = rooms.iter().any(|first| first.id == room.id);
            if !listed && visits.is_empty() {
                rooms.push(room.clone());
            }
        }
        Ok(if rooms.is_empty() {
            RoomsToTry::NoneFree(no_room_free(&of_kind.kind, &of_kind.rooms, times))
        } else {
            RoomsToTry::Try(rooms)
        })
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

const BOOKED_CONCURRENTLY: &str = "the provider was booked for that time by a concurrent request";

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
        RoomsToTry::NoRoomNeeded => {
            if let Booking::Done(value) = write(None).await? {
                return Ok(Ok(value));
            }
            let clash = provider_clash(db, provider_id, times, moving).await?;
            return Ok(Err(clash.unwrap_or_else(|| BOOKED_CONCURRENTLY.to_owned())));
        }
        RoomsToTry::Try(rooms) => rooms,
        RoomsToTry::NoneFree(why) => {
            let clash = provider_clash(db, provider_id, times, moving).await?;
            return Ok(Err(clash.unwrap_or(why)));
        }
    };
    let mut refusal = BOOKED_CONCURRENTLY.to_owned();
    for room in rooms {
        match write(Some(room.id)).await? {
            Booking::Done(value) => return Ok(Ok(value)),
            Booking::Clash => {
                if let Some(clash) = provider_clash(db, provider_id, times, moving).await? {
                    return Ok(Err(clash));
                }
                // The room went to another visit after the look: try the next.
                refusal = room_clash(db, &room, times, moving).await?;
            }
            Booking::RoomRemoved => {
                refusal = format!("{} was taken out of use meanwhile", describe(&room));
            }
        }
    }
    Ok(Err(refusal))
}

/// "`who` is already booked from … to … (appointment …)", naming the visit in the way.
fn already_booked(who: &str, visit: &appointment::Model) -> String {
    format!(
        "{who} is already booked from {} to {} (appointment {})",
        DateTime::<Utc>::from(visit.start_time),
        DateTime::<Utc>::from(visit.end_time),
        visit.id
    )
}

/// What the provider already has at that time (other than `moving`), if anything.
pub async fn provider_clash(
    db: &TenantTransaction,
    provider_id: Uuid,
    times: Interval,
    moving: Option<Uuid>,
) -> Result<Option<String>, ApiError> {
    let taken = store::busy(db, db.tenant_id(), Some(provider_id), times, moving).await?;
    Ok(taken
        .first()
        .map(|other| already_booked("the provider", other)))
}

async fn room_clash(
    db: &TenantTransaction,
    room: &room::Model,
    times: Interval,
    moving: Option<Uuid>,
) -> Result<String, ApiError> {
    let taken = store::busy_rooms(db, &[room.id], times, moving).await?;
    Ok(match taken.first() {
        Some(other) => already_booked(&describe(room), other),
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
    match RoomsOfKind::read(db, kind.room_kind.clone()).await? {
        Some(of_kind) => Ok(Some(of_kind.busy(db, around, None).await?)),
        None => Ok(None),
    }
}
