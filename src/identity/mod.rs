//! Identity: clinics (tenants), users, roles, sign-in, tokens and who may do what.

mod access;
pub mod bootstrap;
pub(crate) mod entity;
mod graphql;
mod login;
mod model;
pub mod password;
mod role;
pub mod store;
mod throttle;
mod token;

pub use access::{Permission, Principal};
pub use graphql::{IdentityMutation, IdentityQuery, User};
pub use login::{LoginService, SignInBudget};
pub use model::{ClinicSlug, NewPassword, Username};
pub use role::Role;
pub use throttle::LoginThrottle;
pub use token::{TokenKeys, rejected_token};
