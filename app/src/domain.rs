//! Pure types and rules shared by the browser and the server: no leptos, no sqlx, no cfg.
//! Forms validate with the same parse functions the server uses.

pub mod billing;
pub mod business;
pub mod comment;
pub mod ids;
pub mod journey;
pub mod model;
pub mod names;
pub mod permission;
pub mod prompt;
pub mod role;
pub mod schedule;
pub mod search;
pub mod sequence;
pub mod template;
pub mod templates;
pub mod url;
pub mod webhook;

pub use ids::{OrgId, TeamId, UserId};
pub use names::{DisplayName, Email, OrgName, Password, TeamName, TotpCode};
pub use permission::{Action, Actor, Membership, Resource, can};
pub use role::{CapabilityRole, OrgKind, OrgRole, PlatformRole};

/// A value that failed to parse, with the message a person should read next to the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
