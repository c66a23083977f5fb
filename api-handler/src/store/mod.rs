//! The narrow storage interface the domain runs over, and its two
//! implementations: DynamoDB (production, integration-tested against moto)
//! and in-memory (unit tests, benches).

pub mod dynamo;
pub mod memory;

use std::future::Future;

use serde::Serialize;

use crate::model::{
    Cursor, IdempotencyKey, IfMatch, Limit, NoteBody, NoteContent, NoteId, NoteTitle, Owner, Tags,
    Version,
};

/// A stored note, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Note {
    #[serde(serialize_with = "ser_display")]
    pub id: NoteId,
    pub title: NoteTitle,
    pub body: NoteBody,
    pub tags: Tags,
    pub version: Version,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// RFC 3339, UTC.
    pub updated_at: String,
}

fn ser_display<S: serde::Serializer>(id: &NoteId, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(id)
}

impl Note {
    pub fn content(&self) -> NoteContent {
        NoteContent {
            title: self.title.clone(),
            body: self.body.clone(),
            tags: self.tags.clone(),
        }
    }
}

/// A remembered `Idempotency-Key`: the note the first request created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub key: IdempotencyKey,
    pub note: Note,
    /// Epoch seconds after which the key is forgotten.
    pub expires_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateOutcome {
    Created,
    /// The owner already has `quota` notes; nothing was written.
    QuotaExceeded,
    /// The idempotency key is live: nothing was written; here is the note
    /// the first request created.
    KeyExists(Note),
}

/// Result of a conditional write on one note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome<T> {
    Done(T),
    NotFound,
    /// The note exists but its version differs from `If-Match`.
    VersionMismatch,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Page {
    pub notes: Vec<Note>,
    pub next: Option<Cursor>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Throttled or transient, still failing after the SDK's retries.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A stored item that does not parse back into the domain types.
    #[error("corrupt item: {0}")]
    Corrupt(String),
    #[error("store error: {0}")]
    Other(String),
}

/// Everything the API needs from storage, and nothing more. Every method is
/// scoped by an [`Owner`]: there is no way to name another partition.
pub trait NoteStore: Send + Sync {
    /// Atomically: insert `note` if absent, bump the owner's note count if it
    /// is below `quota`, and (when given) claim the idempotency key unless a
    /// live record holds it (`now` = epoch seconds, for expiry).
    fn create(
        &self,
        owner: &Owner,
        note: &Note,
        quota: u32,
        idempotency: Option<&IdempotencyRecord>,
        now: i64,
    ) -> impl Future<Output = Result<CreateOutcome, StoreError>> + Send;

    fn get(
        &self,
        owner: &Owner,
        id: NoteId,
    ) -> impl Future<Output = Result<Option<Note>, StoreError>> + Send;

    /// Newest first, starting after `after`.
    fn list(
        &self,
        owner: &Owner,
        limit: Limit,
        after: Option<Cursor>,
    ) -> impl Future<Output = Result<Page, StoreError>> + Send;

    /// Full replace of title/body/tags if the version matches; bumps it.
    fn replace(
        &self,
        owner: &Owner,
        id: NoteId,
        content: &NoteContent,
        expected: IfMatch,
        updated_at: &str,
    ) -> impl Future<Output = Result<WriteOutcome<Note>, StoreError>> + Send;

    /// Deletes (checking the version when `expected` is given) and
    /// decrements the owner's count, atomically.
    fn delete(
        &self,
        owner: &Owner,
        id: NoteId,
        expected: Option<IfMatch>,
    ) -> impl Future<Output = Result<WriteOutcome<()>, StoreError>> + Send;

    fn note_count(&self, owner: &Owner) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// Rebuilds a note from stored strings, re-checking every rule: a bad item
/// is reported, never served.
pub(crate) fn note_from_parts(
    id: &str,
    title: &str,
    body: String,
    tags: &[String],
    version: u64,
    created_at: String,
    updated_at: String,
) -> Result<Note, StoreError> {
    let corrupt = |e: crate::model::FieldError| StoreError::Corrupt(e.to_string());
    Ok(Note {
        id: NoteId::parse(id).map_err(corrupt)?,
        title: NoteTitle::parse(title).map_err(corrupt)?,
        body: NoteBody::parse(body).map_err(corrupt)?,
        tags: Tags::parse(tags.iter().map(String::as_str)).map_err(corrupt)?,
        version: Version(version),
        created_at,
        updated_at,
    })
}
