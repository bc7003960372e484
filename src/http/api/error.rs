//! The API's one error type and the JSON shape every error takes:
//! `{"error": {"code": "snake_case_code", "message": "human text"}}`, plus `fields` for
//! validation failures. Internal causes are logged, never sent.

use axum::{
    Json,
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Request, rejection::QueryRejection},
    http::{StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
};
use serde::{Serialize, de::DeserializeOwned};
use utoipa::ToSchema;

use crate::{
    http::input,
    service::ServiceError,
    store::error::OpError,
    tenants::{model::FieldError, service::ProvisionError},
};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// A conflict with a more precise code than `conflict` (e.g. `already_refunded`).
    #[error("{message}")]
    ConflictCode { code: &'static str, message: String },
    #[error("{message}")]
    Unprocessable {
        code: &'static str,
        message: String,
        fields: Vec<FieldError>,
    },
    #[error("the request body is too large")]
    TooLarge,
    #[error("{0}")]
    Unavailable(String),
    /// Asked too often; worth asking again after `retry_after` (sent as `Retry-After`).
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after: std::time::Duration,
    },
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

/// The JSON body of every error answer.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable snake_case code for programs.
    code: String,
    /// A sentence for people.
    message: String,
    /// The fields that failed validation, when there are any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fields: Vec<FieldError>,
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, code),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::ConflictCode { code, .. } => (StatusCode::CONFLICT, code),
            ApiError::Unprocessable { code, .. } => (StatusCode::UNPROCESSABLE_ENTITY, code),
            ApiError::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    pub fn not_found() -> Self {
        ApiError::NotFound("no store with this slug".into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.parts();
        if let ApiError::Internal(cause) = &self {
            tracing::error!(error = format!("{cause:#}"), "API request failed");
        }
        let fields = match &self {
            ApiError::Unprocessable { fields, .. } => fields.clone(),
            _ => Vec::new(),
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: code.to_owned(),
                message: self.to_string(),
                fields,
            },
        };
        let mut response = (status, Json(body)).into_response();
        if let ApiError::RateLimited { retry_after, .. } = &self {
            let seconds = retry_after.as_secs().max(1);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
        }
        response
    }
}

impl From<ProvisionError> for ApiError {
    fn from(error: ProvisionError) -> Self {
        match error {
            ProvisionError::Invalid(errors) => ApiError::Unprocessable {
                code: "validation_failed",
                message: "some fields are invalid".into(),
                fields: errors.0,
            },
            ProvisionError::TokenRejected => ApiError::Unprocessable {
                code: "bot_token_rejected",
                message: "Telegram rejected the bot token".into(),
                fields: vec![FieldError {
                    field: "bot_token".into(),
                    message: "Telegram rejected this token".into(),
                }],
            },
            ProvisionError::TelegramUnavailable => ApiError::Unavailable(
                "Telegram could not be reached to check the bot token; try again".into(),
            ),
            ProvisionError::Conflict(message) => ApiError::Conflict(message),
            ProvisionError::NotFound => ApiError::not_found(),
            ProvisionError::Forbidden(what) => {
                ApiError::Forbidden(format!("only an operator may {what}"))
            }
            ProvisionError::Internal(cause) => internal_or_unavailable(cause),
        }
    }
}

/// Answers in the API's error shape what axum's own extractors and routing answer in plain
/// text (a body over the limit, a malformed path, a wrong method), so that every error of
/// every route, the webhooks' included, has the one JSON shape.
pub async fn json_errors(mut response: Response) -> Response {
    let status = response.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        // The rest of the body is never read, so the server closes the connection after this
        // answer; said in the answer, a client does not send its next request on it.
        response.headers_mut().insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
    }
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.starts_with("text/plain"));
    if !(status.is_client_error() || status.is_server_error()) || !plain {
        return response;
    }
    let code = match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid_input",
        _ if status.is_server_error() => "internal",
        _ => "bad_request",
    };
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let mut message = String::from_utf8_lossy(&text).trim().to_owned();
    if message.is_empty() {
        message = status.canonical_reason().unwrap_or("error").to_owned();
    }
    let body = ErrorBody {
        error: ErrorDetail {
            code: code.to_owned(),
            message,
            fields: Vec::new(),
        },
    };
    let mut response = (status, Json(body)).into_response();
    // Headers such as `Allow` on a 405 stay.
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            response.headers_mut().insert(name, value.clone());
        }
    }
    response
}

/// A database that cannot be reached is a dependency being down (503), not our bug (500).
pub(super) fn internal_or_unavailable(cause: anyhow::Error) -> ApiError {
    let unavailable = cause.chain().any(|e| {
        matches!(
            e.downcast_ref::<sqlx::Error>(),
            Some(sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed)
        )
    });
    if unavailable {
        ApiError::Unavailable("the database is not reachable; try again".into())
    } else {
        ApiError::Internal(cause)
    }
}

impl From<OpError> for ApiError {
    fn from(error: OpError) -> Self {
        match error {
            OpError::NotFound { what } => ApiError::NotFound(format!("no such {what}")),
            OpError::Invalid { field, message } => ApiError::Unprocessable {
                code: "validation_failed",
                message: format!("{field}: {message}"),
                fields: vec![FieldError {
                    field: field.to_owned(),
                    message,
                }],
            },
            OpError::Conflict { code, message } => ApiError::ConflictCode { code, message },
            OpError::Database(error) => error.into(),
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::Op(error) => error.into(),
            ServiceError::Failed(cause) => internal_or_unavailable(cause),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        internal_or_unavailable(error.into())
    }
}

/// `axum::Json` whose rejections use the API's error shape.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                let mime = v.split(';').next().unwrap_or_default().trim();
                mime.eq_ignore_ascii_case("application/json")
                    || (mime.starts_with("application/") && mime.ends_with("+json"))
            });
        if !json_type {
            return Err(ApiError::BadRequest {
                code: "invalid_content_type",
                message: "send the body as application/json".into(),
            });
        }
        let body = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge
            } else {
                ApiError::BadRequest {
                    code: "invalid_body",
                    message: e.body_text(),
                }
            }
        })?;
        let mut value: serde_json::Value =
            serde_json::from_slice(&body).map_err(|_| ApiError::BadRequest {
                code: "invalid_json",
                message: "the body is not valid JSON".into(),
            })?;
        if let Some(field) = input::first_nul(&value) {
            return Err(ApiError::Unprocessable {
                code: "validation_failed",
                message: format!("{field}: must not contain NUL characters"),
                fields: vec![FieldError {
                    field,
                    message: "must not contain NUL characters".into(),
                }],
            });
        }
        input::normalize_integers(&mut value);
        match serde_path_to_error::deserialize(value) {
            Ok(value) => Ok(ApiJson(value)),
            Err(e) => Err(ApiError::Unprocessable {
                code: "invalid_body",
                message: format!("the body does not match the expected shape: {e}"),
                fields: Vec::new(),
            }),
        }
    }
}

/// `axum::extract::Query` whose rejections use the API's error shape.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(field) = parts.uri.query().and_then(input::nul_in_query) {
            return Err(ApiError::Unprocessable {
                code: "validation_failed",
                message: format!("{field}: must not contain NUL characters"),
                fields: vec![FieldError {
                    field,
                    message: "must not contain NUL characters".into(),
                }],
            });
        }
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e: QueryRejection| ApiError::BadRequest {
                code: "invalid_query",
                message: e.body_text(),
            })
    }
}
