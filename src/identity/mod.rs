//! Identity: clinics (tenants), users, roles, sign-in (with a second factor), tokens, partners'
//! API keys and who may do what.

mod accounts;
mod api_key;
mod api_key_graphql;
pub mod bootstrap;
mod credentials;
pub(crate) mod entity;
mod graphql;
pub(crate) mod loader;
mod login;
mod mfa;
mod mfa_graphql;
mod model;
pub mod password;
mod sessions;
pub mod store;
mod throttle;
mod token;
mod working_hours;

pub use api_key::ApiKeyVault;
pub use api_key_graphql::{ApiKeyMutation, ApiKeyQuery};
pub use credentials::{Authenticated, Authenticator, Credential};
pub use graphql::{IdentityMutation, IdentityQuery, Tenant, User, find_user};
pub use login::{ClientAddress, LoginService, SignInBudget, SignInLimits};
pub use mfa::{MfaPolicy, MfaVault};
pub use mfa_graphql::{MfaMutation, MfaQuery};
pub use model::{ClinicSlug, NewPassword, Username};
pub use sessions::SessionPolicy;
pub use token::{TokenKeys, rejected_token};
pub use working_hours::{DayOfWeek, WorkingHours, read_stored_week, stored_week, working_week};
