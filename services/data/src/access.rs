//! Who writes, whether they may, and the record of it.
//!
//! The [`ActorLayer`] (inside the [`govlens_kit::auth::AuthLayer`]) turns the caller's
//! principal and request id into the call's [`Actor`], available to the store for the
//! whole call, and refuses every write RPC from callers that may not write at all. The
//! store then checks, inside each write's transaction, that every region the write
//! touches (before and after it) is inside the caller's scope, and records an audit
//! event in that same transaction: no write commits unchecked or unrecorded.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use govlens_dataset::AnyRecord;
use govlens_kit::auth::{Principal, Role};
use govlens_kit::{ServiceError, ServiceResult};
use sea_orm::{ActiveModelTrait, ConnectionTrait, DatabaseTransaction, Set};

use crate::entities::{audit_event, platform, region};
use crate::store::kinds::{Platforms, RefTarget, Regions, StoredKind};
use crate::store::{db_error, find_by_code};

/// The caller of the current call, as the store sees it.
#[derive(Debug, Clone)]
pub struct Actor {
    pub principal: Principal,
    /// The request's `x-request-id` header, or one made up for the call.
    pub request_id: String,
}

tokio::task_local! {
    static ACTOR: Actor;
}

/// The actor of the call being served. Outside a call (a bug) nothing may be written.
pub fn current_actor() -> ServiceResult<Actor> {
    ACTOR
        .try_with(Actor::clone)
        .map_err(|_| ServiceError::Unauthenticated("no authenticated caller".into()))
}

/// Runs `f` as `actor` (tools and tests that use the store directly).
pub async fn act_as<F: Future>(actor: Actor, f: F) -> F::Output {
    ACTOR.scope(actor, f).await
}

/// Write RPCs of the data service, by method name.
fn is_write(method: &str) -> bool {
    ["Create", "Update", "Delete", "Import"]
        .iter()
        .any(|verb| method.starts_with(verb))
}

fn request_id(headers: &http::HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(128).collect::<String>())
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| format!("gen-{}", govlens_kit::auth::generate_token().id))
}

/// Sets the [`Actor`] of each call; refuses writes from readers and services early,
/// before anything about the request is looked at.
#[derive(Debug, Clone, Copy, Default)]
pub struct ActorLayer;

impl<S> tower::Layer<S> for ActorLayer {
    type Service = WithActor<S>;

    fn layer(&self, inner: S) -> Self::Service {
        WithActor { inner }
    }
}

#[derive(Debug, Clone)]
pub struct WithActor<S> {
    inner: S,
}

impl<S, B, ResBody> tower::Service<http::Request<B>> for WithActor<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    ResBody: Default,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future =
        Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send + 'static>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let path = request.uri().path();
        let Some(principal) = request.extensions().get::<Principal>().cloned() else {
            // Health and reflection carry no principal and write nothing.
            let response = self.inner.call(request);
            return Box::pin(response);
        };
        let method = path.rsplit('/').next().unwrap_or("");
        if is_write(method) {
            if let Err(e) = principal.check_may_write() {
                let status = tonic::Status::from(e);
                return Box::pin(async move { Ok(status.into_http()) });
            }
        }
        let actor = Actor {
            principal,
            request_id: request_id(request.headers()),
        };
        let response = self.inner.call(request);
        Box::pin(ACTOR.scope(actor, response))
    }
}

/// Where a record sits in the region hierarchy: the regions and platforms it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anchor {
    Region(String),
    Platform(String),
}

/// The anchors of a record; none means it is shared by every region (a channel, a
/// service function, an indicator, a top-level region).
pub fn anchors(record: &AnyRecord) -> Vec<Anchor> {
    let mut out: Vec<Anchor> = crate::store::import::references_of(record)
        .into_iter()
        .filter_map(|r| match r.target {
            RefTarget::Region => Some(Anchor::Region(r.code)),
            RefTarget::Platform => Some(Anchor::Platform(r.code)),
            _ => None,
        })
        .collect();
    if let AnyRecord::Region(r) = record {
        out.push(Anchor::Region(r.code.clone()));
    }
    out
}

/// The anchors of a stored row.
pub fn anchors_of_model<K: StoredKind>(model: &K::Model) -> Vec<Anchor> {
    anchors(&K::wrap(K::to_record(model.clone())))
}

/// Region code and path of an anchor, if it exists now.
async fn locate<C: ConnectionTrait>(
    c: &C,
    anchor: &Anchor,
) -> ServiceResult<Option<region::Model>> {
    let region_code = match anchor {
        Anchor::Region(code) => code.clone(),
        Anchor::Platform(code) => {
            match find_by_code::<Platforms, C>(c, code)
                .await
                .map_err(db_error)?
            {
                Some(platform::Model { region_code, .. }) => region_code,
                None => return Ok(None),
            }
        }
    };
    find_by_code::<Regions, C>(c, &region_code)
        .await
        .map_err(db_error)
}

/// PERMISSION_DENIED unless the current caller may write `what` at `anchors`
/// (resolved in `c`, so inside the write's transaction).
pub async fn authorize<C: ConnectionTrait>(
    c: &C,
    anchors: &[Anchor],
    what: &str,
) -> ServiceResult<()> {
    let actor = current_actor()?;
    let p = &actor.principal;
    p.check_may_write()?;
    if p.role == Role::Admin || p.scope.is_none() {
        return Ok(());
    }
    let mut located = 0;
    for anchor in anchors {
        // Anchors not stored yet (the region being created) are covered by their
        // parent's anchor.
        if let Some(region) = locate(c, anchor).await? {
            p.check_region_write(&region.code, &region.path)?;
            located += 1;
        }
    }
    if located == 0 {
        p.check_global_write(what)?;
    }
    Ok(())
}

/// What a committed write did, for the audit log.
pub struct Audit<'a> {
    pub action: &'a str,
    pub resource: &'a str,
    pub key: String,
    /// The create's request_id; the call's request id otherwise.
    pub request_id: Option<&'a str>,
}

/// Records `audit` as committed at `revision`, in the write's transaction.
pub async fn record(
    tx: &DatabaseTransaction,
    audit: Audit<'_>,
    revision: i64,
) -> ServiceResult<()> {
    let actor = current_actor()?;
    let request_id = match audit.request_id {
        Some(id) if !id.is_empty() => id.to_string(),
        _ => actor.request_id.clone(),
    };
    audit_event::ActiveModel {
        at: Set(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        subject: Set(actor.principal.subject.clone()),
        token_id: Set(actor.principal.token_id.clone()),
        role: Set(actor.principal.role.as_str().to_string()),
        action: Set(audit.action.to_string()),
        resource: Set(audit.resource.to_string()),
        resource_key: Set(audit.key),
        request_id: Set(request_id),
        revision: Set(revision),
        ..Default::default()
    }
    .insert(tx)
    .await
    .map_err(db_error)?;
    Ok(())
}
