//! Bearer JWTs for the API (HS256): operators may do everything, an owner only reaches the
//! store named in its `tenant` claim.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::{extract::FromRequestParts, http::request::Parts};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use uuid::Uuid;

use super::{AppState, error::ApiError};
use crate::{db::TenantId, store::audit::Actor, tenants::model::Tenant};

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
    /// The store an owner token reaches, by slug; absent for operators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// The same store by id, so that a token never reaches a later store that took the slug
    /// of a purged one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<Uuid>,
}

/// Signs and checks tokens with the host's JWT secret.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    max_ttl: Duration,
}

/// Seconds of clock difference tolerated between the issuer and this host.
const LEEWAY: u64 = 30;

impl JwtKeys {
    /// Keys for `secret`; tokens living longer than `max_ttl` are neither issued nor accepted.
    pub fn new(secret: &[u8], max_ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub"]);
        validation.leeway = LEEWAY;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            max_ttl,
        }
    }

    /// Issues a token for `subject`; owners must name their store (slug and id).
    pub fn issue(
        &self,
        subject: &str,
        role: Role,
        tenant: Option<(&str, TenantId)>,
        ttl: Duration,
    ) -> anyhow::Result<String> {
        if ttl > self.max_ttl {
            anyhow::bail!(
                "a token may live at most {} (TOKOBOT_TOKEN_MAX_TTL)",
                humantime::format_duration(self.max_ttl)
            );
        }
        let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
        let claims = Claims {
            sub: subject.to_owned(),
            iat: now,
            exp: now + ttl.as_secs(),
            role,
            tenant: tenant.map(|(slug, _)| slug.to_owned()),
            tenant_id: tenant.map(|(_, id)| id.0),
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
        let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
        // A token from the future was minted on a wrong clock or forged to outlive its cap.
        if claims.iat > now + LEEWAY
            || claims.exp.saturating_sub(claims.iat) > self.max_ttl.as_secs()
        {
            return None;
        }
        // An owner token without its store would reach nothing; refuse it outright.
        let owner_ok = claims.tenant.is_some() && claims.tenant_id.is_some();
        (claims.role == Role::Operator || owner_ok).then_some(claims)
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

    /// Operators reach every store; owners only their own (by slug: [`Self::store`] checks the
    /// id as well, and is what handlers call).
    fn require_store(&self, slug: &str) -> Result<(), ApiError> {
        if self.is_operator() || self.0.tenant.as_deref() == Some(slug) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "this token does not reach that store".into(),
            ))
        }
    }

    /// The store `slug`, if this token reaches it: an operator's any store, an owner's only the
    /// very store it was issued for (same slug and same id).
    pub async fn store(&self, state: &AppState, slug: &str) -> Result<Tenant, ApiError> {
        self.require_store(slug)?;
        let tenant = state.provisioner.existing(slug).await?;
        if !self.is_operator() && self.0.tenant_id != Some(tenant.id.0) {
            return Err(ApiError::Forbidden(
                "this token was issued for an earlier store of that name".into(),
            ));
        }
        Ok(tenant)
    }

    /// The actor the audit log names for this caller.
    pub fn actor(&self) -> Actor {
        Actor::Api(self.0.sub.clone())
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
        let token = bearer(header).ok_or_else(|| {
            ApiError::Unauthorized("the Authorization header must be `Bearer <token>`".into())
        })?;
        state
            .jwt
            .verify(token)
            .map(Principal)
            .ok_or_else(|| ApiError::Unauthorized("the token is invalid or expired".into()))
    }
}

/// The credentials of a `Bearer` Authorization header; the scheme is case-insensitive
/// (RFC 7235).
pub fn bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> JwtKeys {
        JwtKeys::new(
            b"a-test-secret-that-is-long-enough-for-hs256",
            Duration::from_secs(3600),
        )
    }

    fn sign(claims: &Claims) -> String {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            claims,
            &EncodingKey::from_secret(b"a-test-secret-that-is-long-enough-for-hs256"),
        )
        .unwrap()
    }

    fn now() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer abc"), Some("abc"));
        assert_eq!(bearer("BEARER  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer"), None);
    }

    #[test]
    fn tokens_from_the_future_or_beyond_the_cap_are_refused() {
        let keys = keys();
        let operator = |iat: u64, exp: u64| Claims {
            sub: "x".into(),
            iat,
            exp,
            role: Role::Operator,
            tenant: None,
            tenant_id: None,
        };
        assert!(keys.verify(&sign(&operator(now(), now() + 60))).is_some());
        assert!(
            keys.verify(&sign(&operator(now() + 600, now() + 660)))
                .is_none()
        );
        assert!(keys.verify(&sign(&operator(now(), now() + 7200))).is_none());
        assert!(
            keys.issue("x", Role::Operator, None, Duration::from_secs(7200))
                .is_err()
        );
    }

    #[test]
    fn an_owner_token_must_name_its_store_by_slug_and_id() {
        let keys = keys();
        let mut claims = Claims {
            sub: "owner".into(),
            iat: now(),
            exp: now() + 60,
            role: Role::Owner,
            tenant: Some("toko".into()),
            tenant_id: None,
        };
        assert!(keys.verify(&sign(&claims)).is_none());
        claims.tenant_id = Some(Uuid::new_v4());
        assert!(keys.verify(&sign(&claims)).is_some());
    }
}
