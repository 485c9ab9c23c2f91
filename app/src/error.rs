//! `AppError`: the one error type that crosses the wire.
//!
//! Server functions return it; the UI shows `Validation` next to its field and every other variant
//! as a message. Storage and infrastructure errors become `Internal` with a reference id after being
//! logged with their cause (see `AppError::internal`), so nothing private reaches the browser.

use serde::{Deserialize, Serialize};
use server_fn::codec::JsonEncoding;
use server_fn::error::{FromServerFnError, ServerFnErrorErr};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum AppError {
    #[error("Not found.")]
    NotFound,
    #[error("Please sign in.")]
    Unauthenticated,
    #[error("You do not have permission to do that.")]
    Forbidden,
    #[error("{message}")]
    Validation { field: String, message: String },
    #[error("{message}")]
    Conflict { message: String },
    /// A fixed limit of the plan (403); `upgrade` names the plan that would allow it.
    #[error("{message}")]
    PlanLimit {
        message: String,
        #[serde(default)]
        upgrade: Option<Upgrade>,
    },
    /// A quota that refills with time is spent (429).
    #[error("{message}")]
    QuotaExhausted {
        message: String,
        #[serde(default)]
        upgrade: Option<Upgrade>,
    },
    #[error("Too many attempts. Try again in {retry_after_secs} seconds.")]
    RateLimited { retry_after_secs: u64 },
    #[error("Something went wrong on our side (reference {reference}).")]
    Internal { reference: String },
    /// A failure of the transport itself (network down, bad response).
    #[error("Could not reach the server: {message}")]
    Transport { message: String },
}

/// The plan that would allow what a plan limit refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upgrade {
    pub plan: String,
    pub name: String,
}

impl AppError {
    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        Self::Validation { field: field.into(), message: message.into() }
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict { message: message.into() }
    }

    /// The plan to upgrade to, when a plan limit refused this.
    pub fn upgrade(&self) -> Option<&Upgrade> {
        match self {
            Self::PlanLimit { upgrade, .. } | Self::QuotaExhausted { upgrade, .. } => upgrade.as_ref(),
            _ => None,
        }
    }

    /// The message for `field`, if this is a validation error about it.
    pub fn field_message(&self, field: &str) -> Option<String> {
        match self {
            Self::Validation { field: f, message } if f == field => Some(message.clone()),
            _ => None,
        }
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            Self::NotFound => 404,
            Self::Unauthenticated => 401,
            Self::Forbidden | Self::PlanLimit { .. } => 403,
            Self::Validation { .. } => 422,
            Self::Conflict { .. } => 409,
            Self::RateLimited { .. } | Self::QuotaExhausted { .. } => 429,
            Self::Internal { .. } | Self::Transport { .. } => 500,
        }
    }

    /// Logs `cause` with a fresh reference id and returns the error the user sees.
    #[cfg(feature = "ssr")]
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        let reference = uuid::Uuid::now_v7().simple().to_string()[20..].to_owned();
        tracing::error!(%reference, error = %cause, "internal error");
        Self::Internal { reference }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Request(message) | ServerFnErrorErr::Response(message) => Self::Transport { message },
            other => Self::Transport { message: other.to_string() },
        }
    }
}

impl From<crate::domain::Invalid> for AppError {
    fn from(value: crate::domain::Invalid) -> Self {
        Self::validation("", value.0)
    }
}

/// Attaches a field name to a parse failure: `Email::parse(&raw).field("email")?`.
pub trait FieldResult<T> {
    fn field(self, field: &str) -> Result<T, AppError>;
}

impl<T> FieldResult<T> for Result<T, crate::domain::Invalid> {
    fn field(self, field: &str) -> Result<T, AppError> {
        self.map_err(|e| AppError::validation(field, e.0))
    }
}
