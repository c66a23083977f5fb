//! In-memory [`NoteStore`] with the same conditional semantics as the
//! DynamoDB one (one lock = one transaction). For unit tests and benches.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use super::{CreateOutcome, IdempotencyRecord, Note, NoteStore, Page, StoreError, WriteOutcome};
use crate::model::{Cursor, IfMatch, Limit, NoteContent, NoteId, Owner};

#[derive(Default)]
struct Partition {
    notes: BTreeMap<NoteId, Note>,
    count: u64,
    keys: HashMap<String, IdempotencyRecord>,
}

#[derive(Default)]
pub struct MemoryStore {
    users: Mutex<HashMap<String, Partition>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, HashMap<String, Partition>>, StoreError> {
        self.users
            .lock()
            .map_err(|_| StoreError::Other("memory store lock poisoned".into()))
    }
}

fn matches(expected: &IfMatch, note: &Note) -> bool {
    expected.matches(note.version)
}

impl NoteStore for MemoryStore {
    async fn create(
        &self,
        owner: &Owner,
        note: &Note,
        quota: u32,
        idempotency: Option<&IdempotencyRecord>,
        now: i64,
    ) -> Result<CreateOutcome, StoreError> {
        let mut users = self.lock()?;
        let p = users.entry(owner.as_str().to_owned()).or_default();
        if let Some(rec) = idempotency
            && let Some(existing) = p.keys.get(rec.key.as_str())
            && existing.expires_at >= now
        {
            return Ok(CreateOutcome::KeyExists(existing.note.clone()));
        }
        if p.count >= u64::from(quota) {
            return Ok(CreateOutcome::QuotaExceeded);
        }
        if p.notes.contains_key(&note.id) {
            return Err(StoreError::Other("note id collision".into()));
        }
        p.notes.insert(note.id, note.clone());
        p.count += 1;
        if let Some(rec) = idempotency {
            p.keys.insert(rec.key.as_str().to_owned(), rec.clone());
        }
        Ok(CreateOutcome::Created)
    }

    async fn get(&self, owner: &Owner, id: NoteId) -> Result<Option<Note>, StoreError> {
        Ok(self
            .lock()?
            .get(owner.as_str())
            .and_then(|p| p.notes.get(&id))
            .cloned())
    }

    async fn list(
        &self,
        owner: &Owner,
        limit: Limit,
        after: Option<Cursor>,
    ) -> Result<Page, StoreError> {
        let users = self.lock()?;
        let Some(p) = users.get(owner.as_str()) else {
            return Ok(Page::default());
        };
        let n = usize::from(limit.get());
        let mut it: Box<dyn Iterator<Item = &Note>> = match after {
            Some(c) => Box::new(p.notes.range(..c.last_id()).rev().map(|(_, v)| v)),
            None => Box::new(p.notes.values().rev()),
        };
        let notes: Vec<Note> = it.by_ref().take(n).cloned().collect();
        // Like DynamoDB, hand out a cursor only when more may follow.
        let next = if notes.len() == n && it.next().is_some() {
            notes.last().map(|l| Cursor::after(l.id))
        } else {
            None
        };
        Ok(Page { notes, next })
    }

    async fn replace(
        &self,
        owner: &Owner,
        id: NoteId,
        content: &NoteContent,
        expected: IfMatch,
        updated_at: &str,
    ) -> Result<WriteOutcome<Note>, StoreError> {
        let mut users = self.lock()?;
        let Some(note) = users
            .get_mut(owner.as_str())
            .and_then(|p| p.notes.get_mut(&id))
        else {
            return Ok(WriteOutcome::NotFound);
        };
        if !matches(&expected, note) {
            return Ok(WriteOutcome::VersionMismatch);
        }
        note.title = content.title.clone();
        note.body = content.body.clone();
        note.tags = content.tags.clone();
        note.version = note.version.next();
        note.updated_at = updated_at.to_owned();
        Ok(WriteOutcome::Done(note.clone()))
    }

    async fn delete(
        &self,
        owner: &Owner,
        id: NoteId,
        expected: Option<IfMatch>,
    ) -> Result<WriteOutcome<()>, StoreError> {
        let mut users = self.lock()?;
        let Some(p) = users.get_mut(owner.as_str()) else {
            return Ok(WriteOutcome::NotFound);
        };
        let Some(note) = p.notes.get(&id) else {
            return Ok(WriteOutcome::NotFound);
        };
        if let Some(e) = expected
            && !matches(&e, note)
        {
            return Ok(WriteOutcome::VersionMismatch);
        }
        p.notes.remove(&id);
        p.count = p.count.saturating_sub(1);
        Ok(WriteOutcome::Done(()))
    }

    async fn note_count(&self, owner: &Owner) -> Result<u64, StoreError> {
        Ok(self.lock()?.get(owner.as_str()).map_or(0, |p| p.count))
    }
}
