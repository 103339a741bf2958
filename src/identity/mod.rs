//! Identity: who is acting, and in which role.

mod role;

pub use role::Role;
