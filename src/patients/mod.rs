//! Patients: demographics in plain columns, contact and medical details encrypted per row.

mod care_team;
mod care_team_graphql;
pub(crate) mod entity;
mod graphql;
mod history;
mod key_rotation;
pub(crate) mod loader;
mod model;
mod phi;
mod store;

pub use care_team::CarePolicy;
pub use care_team_graphql::{BreakGlassGrant, CareTeamMutation, CareTeamQuery};
pub use graphql::{Patient, PatientsMutation, PatientsQuery, find_patient};
pub use key_rotation::{RotationProgress, RotationSummary, rotate_phi_key};
pub use model::{Contact, Medical, PhiDocument};
pub use phi::PhiKeyring;
pub use store::{NewPatient, find as find_live, insert as insert_patient};
