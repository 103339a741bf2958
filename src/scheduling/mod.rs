//! Scheduling: appointment types, providers' working hours, time off and closures, appointments
//! and their status flow, recurring series, free slots, cancellation reasons and the fees late
//! cancellations and no-shows owe, the waitlist, and the feed of status changes partners
//! subscribe to.

mod availability;
mod booking;
mod calendar;
mod cancellation;
mod cancellation_graphql;
pub(crate) mod entity;
mod event_feed;
mod events_graphql;
mod graphql;
pub(crate) mod loader;
mod model;
mod rooms;
mod rooms_graphql;
mod series;
mod store;
mod time_off;
mod waitlist;
mod waitlist_graphql;
mod week_graphql;

pub use booking::{AppointmentCompleted, BookingRequest, book};
pub use cancellation::{FeeDue, FeeKind};
pub use cancellation_graphql::{CancellationMutation, CancellationQuery};
pub use entity::appointment_event::Model as AppointmentEvent;
pub use event_feed::{EventHub, FeedLimits, events_after, latest_event_id};
pub use events_graphql::{AppointmentEventKind, EventsQuery, SchedulingSubscription};
pub use graphql::{
    Appointment, AppointmentType, SchedulingMutation, SchedulingQuery, find_appointment,
    find_appointment_type,
};
pub use model::{AppointmentStatus, BookingWindow};
pub use rooms_graphql::{Room, RoomsMutation, RoomsQuery};
pub use store::{NewRoom, insert_room, insert_type};
pub use waitlist_graphql::{WaitlistEntry, WaitlistMutation, WaitlistQuery};
pub use week_graphql::{ClinicWeekMutation, ClinicWeekQuery};
