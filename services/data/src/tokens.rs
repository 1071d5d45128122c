//! API tokens of the data service's database: issued and revoked by `govlens token`,
//! checked by the data service for its callers and, through IntrospectToken, for the
//! other services.

use std::sync::Arc;

use govlens_kit::auth::layer::{AuthFuture, Authenticator};
use govlens_kit::auth::{generate_token, hash_secret, parse_token, Principal, Role};
use govlens_kit::{ServiceError, ServiceResult};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};

use crate::entities::{api_token, region};
use crate::store::{db_error, Store};

/// A token as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub id: String,
    pub subject: String,
    pub role: Role,
    pub scope: Option<String>,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

fn info(m: api_token::Model) -> TokenInfo {
    TokenInfo {
        role: Role::parse(&m.role).unwrap_or(Role::Reader),
        id: m.id,
        subject: m.subject,
        scope: m.scope,
        created_at: m.created_at,
        revoked_at: m.revoked_at,
    }
}

/// Issues a token; returns it (shown once) and its listing. A scope must be an
/// existing region; services use the shared service token, not issued ones.
pub async fn issue(
    store: &Store,
    subject: &str,
    role: Role,
    scope: Option<&str>,
) -> ServiceResult<(String, TokenInfo)> {
    let subject = subject.trim();
    if subject.is_empty() || subject.chars().count() > 200 {
        return Err(ServiceError::invalid_field(
            "subject",
            "must be 1 to 200 characters",
        ));
    }
    if role == Role::Service {
        return Err(ServiceError::invalid_field(
            "role",
            "services authenticate with GOVLENS_SERVICE_TOKEN; issue reader, editor or admin",
        ));
    }
    if let Some(code) = scope {
        if role != Role::Editor {
            return Err(ServiceError::invalid_field(
                "scope",
                "only editors are scoped to a region",
            ));
        }
        let exists = region::Entity::find()
            .filter(region::Column::Code.eq(code))
            .one(store.connection())
            .await
            .map_err(db_error)?
            .is_some();
        if !exists {
            return Err(ServiceError::invalid_field(
                "scope",
                format!("region {code:?} does not exist"),
            ));
        }
    }
    let issued = generate_token();
    let model = api_token::ActiveModel {
        id: Set(issued.id.clone()),
        subject: Set(subject.to_string()),
        role: Set(role.as_str().to_string()),
        scope: Set(scope.map(str::to_string)),
        secret_hash: Set(issued.secret_hash.clone()),
        created_at: Set(chrono::Utc::now().to_rfc3339()),
        revoked_at: Set(None),
    }
    .insert(store.connection())
    .await
    .map_err(db_error)?;
    Ok((issued.token, info(model)))
}

/// Revokes a token by id; revoking twice is not an error.
pub async fn revoke(store: &Store, id: &str) -> ServiceResult<TokenInfo> {
    let m = api_token::Entity::find_by_id(id.to_string())
        .one(store.connection())
        .await
        .map_err(db_error)?
        .ok_or_else(|| ServiceError::not_found("token", id))?;
    if m.revoked_at.is_some() {
        return Ok(info(m));
    }
    let mut active: api_token::ActiveModel = m.into();
    active.revoked_at = Set(Some(chrono::Utc::now().to_rfc3339()));
    Ok(info(
        active.update(store.connection()).await.map_err(db_error)?,
    ))
}

pub async fn list(store: &Store) -> ServiceResult<Vec<TokenInfo>> {
    Ok(api_token::Entity::find()
        .order_by_asc(api_token::Column::CreatedAt)
        .all(store.connection())
        .await
        .map_err(db_error)?
        .into_iter()
        .map(info)
        .collect())
}

/// The principal of an API token; UNAUTHENTICATED for anything else.
pub async fn authenticate<C: ConnectionTrait>(c: &C, token: &str) -> ServiceResult<Principal> {
    let refused = || ServiceError::Unauthenticated("invalid or revoked token".into());
    let (id, secret) = parse_token(token).ok_or_else(refused)?;
    let m = api_token::Entity::find_by_id(id.to_string())
        .one(c)
        .await
        .map_err(db_error)?
        .ok_or_else(refused)?;
    let matches = govlens_kit::auth::token::constant_time_eq(
        hash_secret(secret).as_bytes(),
        m.secret_hash.as_bytes(),
    );
    if !matches || m.revoked_at.is_some() {
        return Err(refused());
    }
    Ok(Principal {
        role: Role::parse(&m.role).ok_or_else(refused)?,
        subject: m.subject,
        scope: m.scope,
        token_id: Some(m.id),
    })
}

/// Checks tokens against this database.
pub struct StoreAuthenticator(pub Store);

impl Authenticator for StoreAuthenticator {
    fn authenticate(&self, token: String) -> AuthFuture {
        let store = self.0.clone();
        Box::pin(async move { authenticate(store.connection(), &token).await })
    }
}

impl StoreAuthenticator {
    pub fn shared(store: Store) -> Arc<dyn Authenticator> {
        Arc::new(StoreAuthenticator(store))
    }
}
