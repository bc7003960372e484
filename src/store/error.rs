//! The one error an admin operation returns, whichever adapter started it.
//!
//! The bot turns it into a line in the admin's language (keyed by `code`), the API into a
//! status and the JSON error shape (`http::api::error`). A database fault stays a database
//! fault, so a pool timeout is still told apart from bad input.

/// Why an admin operation changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    /// The thing named does not exist in this store (`what`: `order`, `customer`, ...).
    #[error("no such {what}")]
    NotFound { what: &'static str },
    /// The input is not acceptable; `field` names it, `message` says what to send instead.
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// The input is fine but the store's state forbids it now (a refund already made, a
    /// balance that would go below zero). `code` is stable and snake_case.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl OpError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        OpError::Invalid {
            field,
            message: message.into(),
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        OpError::Conflict {
            code,
            message: message.into(),
        }
    }

    pub fn not_found(what: &'static str) -> Self {
        OpError::NotFound { what }
    }
}

pub type OpResult<T> = Result<T, OpError>;
