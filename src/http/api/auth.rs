//! Bearer JWTs for the API (HS256): operators may do everything, an owner only reaches the
//! store named in its `tenant` claim.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::{extract::FromRequestParts, http::request::Parts};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::{AppState, error::ApiError};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Operator,
    Owner,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub exp: u64,
    pub iat: u64,
    pub role: Role,
    /// The store an owner token reaches; absent for operators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
}

/// Signs and checks tokens with the host's JWT secret.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl JwtKeys {
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub"]);
        validation.leeway = 30;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// Issues a token for `subject`; owners must name their store.
    pub fn issue(
        &self,
        subject: &str,
        role: Role,
        tenant: Option<&str>,
        ttl: Duration,
    ) -> anyhow::Result<String> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
        let claims = Claims {
            sub: subject.to_owned(),
            iat: now,
            exp: now + ttl.as_secs(),
            role,
            tenant: tenant.map(str::to_owned),
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.encoding,
        )?)
    }

    fn verify(&self, token: &str) -> Option<Claims> {
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()?
            .claims;
        // An owner token without a store would reach nothing; refuse it outright.
        (claims.role == Role::Operator || claims.tenant.is_some()).then_some(claims)
    }
}

/// The authenticated caller of an API request.
#[derive(Clone, Debug)]
pub struct Principal(pub Claims);

impl Principal {
    pub fn is_operator(&self) -> bool {
        self.0.role == Role::Operator
    }

    pub fn require_operator(&self) -> Result<(), ApiError> {
        if self.is_operator() {
            Ok(())
        } else {
            Err(ApiError::Forbidden("this needs an operator token".into()))
        }
    }

    /// Operators reach every store; owners only their own.
    pub fn require_store(&self, slug: &str) -> Result<(), ApiError> {
        if self.is_operator() || self.0.tenant.as_deref() == Some(slug) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "this token does not reach that store".into(),
            ))
        }
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                ApiError::Unauthorized("send an `Authorization: Bearer <token>` header".into())
            })?;
        let token = header.strip_prefix("Bearer ").ok_or_else(|| {
            ApiError::Unauthorized("the Authorization header must be `Bearer <token>`".into())
        })?;
        state
            .jwt
            .verify(token.trim())
            .map(Principal)
            .ok_or_else(|| ApiError::Unauthorized("the token is invalid or expired".into()))
    }
}
