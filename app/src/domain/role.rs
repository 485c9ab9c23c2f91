//! The roles of Cairn: organization roles (seed 001), platform roles, and capability roles
//! granted per user (seed 000's creator; mentor and concierge from the journeys document).

use serde::{Deserialize, Serialize};

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal / $label:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The stable name stored in the database and used in URLs and forms.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }

            /// The name shown to people.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),* }
            }

            pub fn parse(raw: &str) -> Result<Self, super::Invalid> {
                match raw.trim() {
                    $($text => Ok($name::$variant),)*
                    _ => Err(super::Invalid(format!("Unknown {}: {raw:?}.", stringify!($name)))),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.label())
            }
        }
    };
}

string_enum!(
    /// A member's role in one organization. Ordered from most to least powerful.
    OrgRole { Owner => "owner" / "Owner", Admin => "admin" / "Admin", Editor => "editor" / "Editor", Viewer => "viewer" / "Viewer" }
);

string_enum!(
    /// Roles that span the whole platform.
    PlatformRole { SystemAdmin => "system_admin" / "System admin", Moderator => "moderator" / "Moderator" }
);

string_enum!(
    /// Capabilities granted to a person, independent of organization roles.
    CapabilityRole { Creator => "creator" / "Creator", Mentor => "mentor" / "Mentor", Concierge => "concierge" / "Concierge" }
);

string_enum!(
    /// What kind of organization this is: a person's own, a team, or an enterprise.
    OrgKind { Personal => "personal" / "Personal", Team => "team" / "Team", Enterprise => "enterprise" / "Enterprise" }
);

impl OrgRole {
    /// Whether this role is at least as powerful as `other`.
    pub fn at_least(self, other: OrgRole) -> bool {
        self <= other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in OrgRole::ALL {
            assert_eq!(OrgRole::parse(role.as_str()).unwrap(), *role);
        }
        assert!(OrgRole::parse("superuser").is_err());
        assert!(OrgRole::Owner.at_least(OrgRole::Admin));
        assert!(!OrgRole::Viewer.at_least(OrgRole::Editor));
    }
}
