//! Identity: clinics (tenants), users, roles, sign-in, tokens, partners' API keys and who may do
//! what.

mod access;
mod api_key;
mod api_key_graphql;
pub mod bootstrap;
mod credentials;
pub(crate) mod entity;
mod graphql;
mod login;
mod model;
pub mod password;
mod role;
pub mod store;
mod throttle;
mod token;

pub use access::{Actor, Permission, Principal};
pub use api_key::{ApiKeyScope, ApiKeyVault};
pub use api_key_graphql::{ApiKeyMutation, ApiKeyQuery};
pub use credentials::{Authenticated, Authenticator, Credential};
pub use graphql::{IdentityMutation, IdentityQuery, User};
pub use login::{ClientAddress, LoginService, SignInBudget, SignInLimits};
pub use model::{ClinicSlug, NewPassword, Username};
pub use role::Role;
pub use throttle::{LoginThrottle, MAX_FAILURES};
pub use token::{TokenKeys, rejected_token};
