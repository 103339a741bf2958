//! Scheduling: appointment types, providers' working hours, appointments and their status flow,
//! free slots.

mod availability;
pub(crate) mod entity;
mod graphql;
mod model;
mod store;

pub use graphql::{Appointment, SchedulingMutation, SchedulingQuery};
pub use model::{AppointmentStatus, DayOfWeek, WorkingHours};
