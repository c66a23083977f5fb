//! The operations of the notes API, pure over a [`NoteStore`]: parsed,
//! valid inputs in; a status, headers and JSON body out. No HTTP event types
//! here (see `handler`), no AWS types either (see `store::dynamo`).

use std::time::{SystemTime, UNIX_EPOCH};

use auth_context::AuthorizerContext;
use aws_sdk_dynamodb::primitives::{DateTime, DateTimeFormat};
use serde::Serialize;
use ulid::Ulid;

use crate::config::Config;
use crate::error::ApiError;
use crate::model::{
    Cursor, IdempotencyKey, IfMatch, IfNoneMatch, Limit, NoteContent, NoteId, Owner, Version,
};
use crate::store::{CreateOutcome, IdempotencyRecord, Note, NoteStore, StoreError, WriteOutcome};

/// The group allowed to list other users' notes.
pub const ADMIN_GROUP: &str = "admin";
/// The custom scope a machine (client-credentials) token needs for the
/// admin listing: machines carry scopes, never groups.
pub const ADMIN_READ_SCOPE: &str = "notes/admin.read";

/// A successful answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<String>,
}

impl Reply {
    fn json(status: u16, body: &impl Serialize) -> Result<Self, ApiError> {
        let body = serde_json::to_string(body).map_err(|_| ApiError::internal())?;
        Ok(Self {
            status,
            headers: Vec::new(),
            body: Some(body),
        })
    }

    fn header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }
}

/// Store failures become 503 (retry later) or 500; both are logged by the
/// caller with the detail, which never reaches the client.
pub fn store_failure(e: &StoreError) -> ApiError {
    match e {
        StoreError::Unavailable(_) => ApiError::unavailable(),
        StoreError::Corrupt(_) | StoreError::Other(_) => ApiError::internal(),
    }
}

/// The API: a store and the configuration read at init.
pub struct App<S> {
    pub store: S,
    pub config: Config,
    /// Signed-out sessions (`TOKEN_REVOCATION`); off unless set.
    pub revocations: crate::revocation::Revocations,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Me<'a> {
    sub: &'a str,
    username: &'a str,
    groups: Vec<&'a str>,
    scopes: Vec<&'a str>,
    client_id: &'a str,
    note_count: u64,
    note_quota: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Listing<'a> {
    items: &'a [Note],
    next_cursor: Option<String>,
}

fn rfc3339(t: SystemTime) -> String {
    DateTime::from(t)
        .fmt(DateTimeFormat::DateTime)
        .unwrap_or_default()
}

fn epoch_secs(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn note_reply(status: u16, note: &Note, location: Option<String>) -> Result<Reply, ApiError> {
    let mut r = Reply::json(status, note)?.header("ETag", note.version.etag());
    if let Some(l) = location {
        r = r.header("Location", l);
    }
    Ok(r)
}

impl<S: NoteStore> App<S> {
    pub fn new(store: S, config: Config) -> Self {
        Self {
            store,
            config,
            revocations: crate::revocation::Revocations::Off,
        }
    }

    /// Turns on `POST /signout` and the signed-out check.
    pub fn with_revocations(mut self, r: crate::revocation::Revocations) -> Self {
        self.revocations = r;
        self
    }

    pub fn health() -> Result<Reply, ApiError> {
        Ok(Reply {
            status: 200,
            headers: Vec::new(),
            body: Some(r#"{"status":"ok"}"#.into()),
        })
    }

    pub async fn me(&self, caller: &AuthorizerContext, owner: &Owner) -> Result<Reply, StoreOr> {
        let note_count = self.store.note_count(owner).await?;
        Ok(Reply::json(
            200,
            &Me {
                sub: &caller.sub,
                username: &caller.username,
                groups: caller.groups().collect(),
                scopes: caller.scopes().collect(),
                client_id: &caller.client_id,
                note_count,
                note_quota: self.config.max_notes_per_user,
            },
        )?)
    }

    /// `notes_url` is the public URL path of the collection (stage prefix
    /// included), for `Location`.
    pub async fn create(
        &self,
        owner: &Owner,
        content: NoteContent,
        key: Option<IdempotencyKey>,
        now: SystemTime,
        notes_url: &str,
    ) -> Result<Reply, StoreOr> {
        let stamp = rfc3339(now);
        let note = Note {
            id: NoteId::from_ulid(Ulid::from_datetime(now)),
            title: content.title,
            body: content.body,
            tags: content.tags,
            version: Version::FIRST,
            created_at: stamp.clone(),
            updated_at: stamp,
        };
        let ttl = i64::try_from(self.config.idempotency_ttl.as_secs()).unwrap_or(i64::MAX);
        let record = key.map(|key| IdempotencyRecord {
            key,
            note: note.clone(),
            expires_at: epoch_secs(now).saturating_add(ttl),
        });
        let outcome = self
            .store
            .create(
                owner,
                &note,
                self.config.max_notes_per_user,
                record.as_ref(),
                epoch_secs(now),
            )
            .await?;
        let location = |n: &Note| format!("{notes_url}/{}", n.id);
        Ok(match outcome {
            CreateOutcome::Created => note_reply(201, &note, Some(location(&note)))?,
            // Same key, same content: answer exactly as the first time.
            CreateOutcome::KeyExists(first) if first.content() == note.content() => {
                note_reply(201, &first, Some(location(&first)))?
                    .header("Idempotent-Replayed", "true".into())
            }
            CreateOutcome::KeyExists(_) => {
                return Err(ApiError::new(
                    422,
                    "idempotency_key_reused",
                    "this Idempotency-Key was used with a different request body",
                )
                .with_field("Idempotency-Key")
                .into());
            }
            CreateOutcome::QuotaExceeded => {
                return Err(ApiError::new(
                    409,
                    "quota_exceeded",
                    format!(
                        "note quota reached ({} notes); delete some first",
                        self.config.max_notes_per_user
                    ),
                )
                .into());
            }
        })
    }

    pub async fn list(
        &self,
        owner: &Owner,
        limit: Limit,
        after: Option<Cursor>,
    ) -> Result<Reply, StoreOr> {
        let page = self.store.list(owner, limit, after).await?;
        Ok(Reply::json(
            200,
            &Listing {
                items: &page.notes,
                next_cursor: page.next.map(Cursor::encode),
            },
        )?)
    }

    /// With `If-None-Match` naming the current version, 304 with the ETag
    /// and no body (RFC 9110 §13.1.2, §15.4.5); for a missing note the
    /// precondition is ignored and the answer is 404 (§13.2.1).
    pub async fn get(
        &self,
        owner: &Owner,
        id: NoteId,
        if_none_match: Option<&IfNoneMatch>,
    ) -> Result<Reply, StoreOr> {
        match self.store.get(owner, id).await? {
            Some(n) if if_none_match.is_some_and(|c| c.matches(n.version)) => Ok(Reply {
                status: 304,
                headers: vec![("ETag", n.version.etag())],
                body: None,
            }),
            Some(n) => Ok(note_reply(200, &n, None)?),
            None => Err(ApiError::not_found().into()),
        }
    }

    pub async fn replace(
        &self,
        owner: &Owner,
        id: NoteId,
        content: NoteContent,
        expected: IfMatch,
        now: SystemTime,
    ) -> Result<Reply, StoreOr> {
        match self
            .store
            .replace(owner, id, &content, expected, &rfc3339(now))
            .await?
        {
            WriteOutcome::Done(n) => Ok(note_reply(200, &n, None)?),
            WriteOutcome::NotFound => Err(ApiError::not_found().into()),
            WriteOutcome::VersionMismatch => Err(precondition_failed().into()),
        }
    }

    pub async fn delete(
        &self,
        owner: &Owner,
        id: NoteId,
        expected: Option<IfMatch>,
    ) -> Result<Reply, StoreOr> {
        match self.store.delete(owner, id, expected).await? {
            WriteOutcome::Done(()) => Ok(Reply {
                status: 204,
                headers: Vec::new(),
                body: None,
            }),
            WriteOutcome::NotFound => Err(ApiError::not_found().into()),
            WriteOutcome::VersionMismatch => Err(precondition_failed().into()),
        }
    }
}

fn precondition_failed() -> ApiError {
    ApiError::new(
        412,
        "precondition_failed",
        "the note has changed since the ETag in If-Match; fetch it again",
    )
}

/// An operation failure: a client-facing error, or a store failure the
/// handler logs before mapping it with [`store_failure`].
#[derive(Debug)]
pub enum StoreOr {
    Api(ApiError),
    Store(StoreError),
}

impl From<ApiError> for StoreOr {
    fn from(e: ApiError) -> Self {
        Self::Api(e)
    }
}

impl From<StoreError> for StoreOr {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}
