//! Patients: demographics in plain columns, contact and medical details encrypted per row.

mod entity;
mod graphql;
mod model;
mod phi;
mod store;

pub use graphql::{PatientsMutation, PatientsQuery};
pub use model::{Contact, Medical, PhiDocument};
pub use phi::{PhiError, PhiKeyring};
pub use store::{NewPatient, insert as insert_patient};
