//! Parsed input values. Each `parse` is the single rule for its field, used by forms in the
//! browser and by server functions alike.

use super::Invalid;
use serde::{Deserialize, Serialize};

/// A normalised (trimmed, lower-cased) email address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let email = raw.trim().to_lowercase();
        if email.is_empty() {
            return Err(Invalid("Enter your email address.".into()));
        }
        if email.len() > 254 {
            return Err(Invalid("That email address is too long.".into()));
        }
        let Some((local, domain)) = email.split_once('@') else {
            return Err(Invalid("Enter an email address like name@example.com.".into()));
        };
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
        if local.is_empty() || local.len() > 64 || !domain_ok || email.chars().any(char::is_whitespace) {
            return Err(Invalid("Enter an email address like name@example.com.".into()));
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password that meets the policy: 10 to 128 characters, not a well-known password,
/// not one character repeated. Never serialized.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

const COMMON_PASSWORDS: &[&str] = &[
    "password",
    "password1",
    "password12",
    "password123",
    "1234567890",
    "12345678910",
    "qwertyuiop",
    "iloveyou12",
    "letmein123",
    "welcome123",
    "abcdefghij",
    "0123456789",
    "passw0rd12",
    "qwerty1234",
    "administrator",
    "changeme123",
];

impl Password {
    pub const MIN_LEN: usize = 10;
    pub const MAX_LEN: usize = 128;

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let len = raw.chars().count();
        if len < Self::MIN_LEN {
            return Err(Invalid(format!("Use at least {} characters.", Self::MIN_LEN)));
        }
        if len > Self::MAX_LEN {
            return Err(Invalid(format!("Use at most {} characters.", Self::MAX_LEN)));
        }
        let lower = raw.to_lowercase();
        if COMMON_PASSWORDS.contains(&lower.as_str()) {
            return Err(Invalid("That password is too common; choose another.".into()));
        }
        let first = raw.chars().next();
        if raw.chars().all(|c| Some(c) == first) {
            return Err(Invalid("That password is too easy to guess.".into()));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

macro_rules! bounded_name {
    ($name:ident, $what:literal, $max:literal) => {
        #[doc = concat!("A ", $what, ": trimmed, 1 to ", $max, " characters, no control characters.")]
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        pub struct $name(String);

        impl $name {
            pub fn parse(raw: &str) -> Result<Self, Invalid> {
                let value = raw.trim();
                if value.is_empty() {
                    return Err(Invalid(concat!("Enter a ", $what, ".").into()));
                }
                if value.chars().count() > $max {
                    return Err(Invalid(format!(concat!("Keep the ", $what, " under {} characters."), $max + 1)));
                }
                if value.chars().any(char::is_control) {
                    return Err(Invalid(concat!("The ", $what, " cannot contain control characters.").into()));
                }
                Ok(Self(value.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_inner(self) -> String {
                self.0
            }
        }
    };
}

bounded_name!(DisplayName, "name", 80);
bounded_name!(OrgName, "organization name", 80);
bounded_name!(TeamName, "team name", 80);

/// A six-digit one-time code (TOTP) or a recovery code `xxxxx-xxxxx`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TotpCode {
    Totp(String),
    Recovery(String),
}

impl TotpCode {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let code: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
        if code.len() == 6 && code.chars().all(|c| c.is_ascii_digit()) {
            return Ok(Self::Totp(code));
        }
        let lower = code.to_lowercase();
        if lower.len() == 11
            && lower.as_bytes()[5] == b'-'
            && lower.chars().filter(|c| *c != '-').all(|c| c.is_ascii_alphanumeric())
        {
            return Ok(Self::Recovery(lower));
        }
        Err(Invalid("Enter the 6-digit code from your app, or a recovery code.".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_normalised_and_checked() {
        assert_eq!(Email::parse("  Ada@Example.COM ").unwrap().as_str(), "ada@example.com");
        for bad in ["", "ada", "ada@", "@example.com", "ada@example", "ada@exa mple.com", "a@b..com", "ada@.com"] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn password_policy() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse("password123").is_err());
        assert!(Password::parse("aaaaaaaaaaaa").is_err());
        assert!(Password::parse(&"x".repeat(129)).is_err());
        assert!(Password::parse("correct horse battery").is_ok());
        assert_eq!(format!("{:?}", Password::parse("correct horse battery").unwrap()), "Password(***)");
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(OrgName::parse("  Acme  ").unwrap().as_str(), "Acme");
        assert!(OrgName::parse("   ").is_err());
        assert!(OrgName::parse(&"a".repeat(81)).is_err());
        assert!(TeamName::parse("a\u{0007}b").is_err());
    }

    #[test]
    fn totp_codes() {
        assert_eq!(TotpCode::parse("123 456").unwrap(), TotpCode::Totp("123456".into()));
        assert_eq!(TotpCode::parse("ABCDE-12345").unwrap(), TotpCode::Recovery("abcde-12345".into()));
        assert!(TotpCode::parse("12345").is_err());
    }
}
