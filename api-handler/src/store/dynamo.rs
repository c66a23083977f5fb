//! DynamoDB [`NoteStore`]: single-table design.
//!
//! | item          | `PK`          | `SK`                  | attributes                                   |
//! |---------------|---------------|-----------------------|----------------------------------------------|
//! | note          | `USER#<sub>`  | `NOTE#<ulid>`         | id, title, body, tags, version, createdAt, updatedAt |
//! | profile       | `USER#<sub>`  | `PROFILE`             | noteCount                                    |
//! | idempotency   | `USER#<sub>`  | `IDEMPOTENCY#<key>`   | note (map), `expiresAt` (epoch s, table TTL) |
//!
//! Every write that depends on current state is a condition expression (or
//! a transaction of them), never read-then-write. Failed conditions come
//! back with the old item (`ReturnValuesOnConditionCheckFailure=ALL_OLD`),
//! which tells "absent" from "stale" in the same round trip.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, Delete, Put, ReturnValue,
    ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use serde::{Deserialize, Serialize};
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_attribute_value, to_item};

use super::{
    CreateOutcome, IdempotencyRecord, Note, NoteStore, Page, StoreError, WriteOutcome,
    note_from_parts,
};
use crate::model::{Cursor, IfMatch, Limit, NoteContent, NoteId, Owner};

type Item = HashMap<String, AttributeValue>;

const NOTE_PREFIX: &str = "NOTE#";
const PROFILE_SK: &str = "PROFILE";
const IDEMPOTENCY_PREFIX: &str = "IDEMPOTENCY#";
/// Name of the TTL attribute on idempotency items (the table's TTL setting).
pub const TTL_ATTRIBUTE: &str = "expiresAt";
/// Concurrent transactions on one profile item can be cancelled with
/// `TransactionConflict`, which the SDK does not retry; we do, briefly.
const CONFLICT_ATTEMPTS: u32 = 4;

#[derive(Serialize, Deserialize)]
struct Key {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
}

impl Key {
    fn note(owner: &Owner, id: NoteId) -> Self {
        Self {
            pk: pk(owner),
            sk: format!("{NOTE_PREFIX}{id}"),
        }
    }
    fn profile(owner: &Owner) -> Self {
        Self {
            pk: pk(owner),
            sk: PROFILE_SK.to_owned(),
        }
    }
}

fn pk(owner: &Owner) -> String {
    format!("USER#{}", owner.as_str())
}

/// The note attributes, shared by note items and idempotency records.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NoteAttrs {
    id: String,
    title: String,
    body: String,
    #[serde(default)]
    tags: Vec<String>,
    version: u64,
    created_at: String,
    updated_at: String,
}

impl From<&Note> for NoteAttrs {
    fn from(n: &Note) -> Self {
        Self {
            id: n.id.to_string(),
            title: n.title.as_str().to_owned(),
            body: n.body.as_str().to_owned(),
            tags: n.tags.iter().map(str::to_owned).collect(),
            version: n.version.0,
            created_at: n.created_at.clone(),
            updated_at: n.updated_at.clone(),
        }
    }
}

impl TryFrom<NoteAttrs> for Note {
    type Error = StoreError;
    fn try_from(a: NoteAttrs) -> Result<Self, StoreError> {
        note_from_parts(
            &a.id,
            &a.title,
            a.body,
            &a.tags,
            a.version,
            a.created_at,
            a.updated_at,
        )
    }
}

/// A note item: keys plus the note attributes, spelled out (serde's
/// `flatten` buffers values and loses DynamoDB number types).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NoteItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    id: String,
    title: String,
    body: String,
    #[serde(default)]
    tags: Vec<String>,
    version: u64,
    created_at: String,
    updated_at: String,
}

impl NoteItem {
    fn new(owner: &Owner, n: &Note) -> Self {
        let a = NoteAttrs::from(n);
        Self {
            pk: pk(owner),
            sk: format!("{NOTE_PREFIX}{}", n.id),
            id: a.id,
            title: a.title,
            body: a.body,
            tags: a.tags,
            version: a.version,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct IdempotencyItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    note: NoteAttrs,
    #[serde(rename = "expiresAt")]
    expires_at: i64,
}

#[derive(Deserialize)]
struct ProfileItem {
    #[serde(rename = "noteCount", default)]
    note_count: i64,
}

/// The production store. Cheap to clone (the SDK client is an `Arc`).
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

fn ser<T: Serialize>(v: T) -> Result<AttributeValue, StoreError> {
    to_attribute_value(v).map_err(|e| StoreError::Other(format!("serialise: {e}")))
}

fn ser_item<T: Serialize>(v: T) -> Result<Item, StoreError> {
    to_item(v).map_err(|e| StoreError::Other(format!("serialise: {e}")))
}

fn note_from_item(item: Item) -> Result<Note, StoreError> {
    let it: NoteItem = from_item(item).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    note_from_parts(
        &it.id,
        &it.title,
        it.body,
        &it.tags,
        it.version,
        it.created_at,
        it.updated_at,
    )
}

/// Throttling, 5xx and network trouble (after the SDK's own retries) are
/// "try again later"; anything else is our bug or misconfiguration.
fn classify<E, R>(op: &str, err: &SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    const TRANSIENT: &[&str] = &[
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionInProgressException",
    ];
    let detail = format!("{op}: {}", DisplayErrorContext(err));
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => StoreError::Unavailable(detail),
        SdkError::ServiceError(se) if se.err().code().is_some_and(|c| TRANSIENT.contains(&c)) => {
            StoreError::Unavailable(detail)
        }
        SdkError::ResponseError(_) => StoreError::Unavailable(detail),
        _ => StoreError::Other(detail),
    }
}

/// A transaction cancelled only because it raced another one may simply be
/// retried: waits a growing pause and answers `true`, or gives up with
/// `Unavailable` (503) once the attempts are spent. `false`: not a conflict.
async fn retry_after_conflict(
    op: &str,
    attempt: u32,
    reasons: &[CancellationReason],
) -> Result<bool, StoreError> {
    if !reasons
        .iter()
        .any(|r| r.code() == Some("TransactionConflict"))
    {
        return Ok(false);
    }
    if attempt >= CONFLICT_ATTEMPTS {
        return Err(StoreError::Unavailable(format!(
            "{op}: transaction conflicts persisted"
        )));
    }
    tokio::time::sleep(Duration::from_millis(20 * u64::from(attempt))).await;
    Ok(true)
}

fn reason_is(r: Option<&CancellationReason>, code: &str) -> bool {
    r.and_then(CancellationReason::code) == Some(code)
}

/// The condition and values for an `If-Match`, on attribute `#v`. A list
/// becomes `IN` (at most [`crate::model::MAX_CONDITION_TAGS`] operands, as
/// DynamoDB allows 100); a list that can match no version still names an
/// existing item, so a failed check tells 412 (item returned) from 404.
/// <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.OperatorsAndFunctions.html>
fn version_condition(expected: Option<&IfMatch>, values: &mut Item) -> Result<String, StoreError> {
    Ok(match expected {
        None | Some(IfMatch::Any) => "attribute_exists(PK)".into(),
        Some(IfMatch::OneOf(vs)) if vs.is_empty() => {
            "attribute_exists(PK) AND attribute_not_exists(PK)".into()
        }
        Some(IfMatch::OneOf(vs)) => {
            let mut names = Vec::with_capacity(vs.len());
            for (i, v) in vs.iter().enumerate() {
                let name = format!(":e{i}");
                values.insert(name.clone(), ser(v)?);
                names.push(name);
            }
            format!("attribute_exists(PK) AND #v IN ({})", names.join(", "))
        }
    })
}

impl NoteStore for DynamoStore {
    async fn create(
        &self,
        owner: &Owner,
        note: &Note,
        quota: u32,
        idempotency: Option<&IdempotencyRecord>,
        now: i64,
    ) -> Result<CreateOutcome, StoreError> {
        let put_note = Put::builder()
            .table_name(&self.table)
            .set_item(Some(ser_item(NoteItem::new(owner, note))?))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(|e| StoreError::Other(e.to_string()))?;
        let bump = Update::builder()
            .table_name(&self.table)
            .set_key(Some(ser_item(Key::profile(owner))?))
            .update_expression("SET noteCount = if_not_exists(noteCount, :zero) + :one")
            .condition_expression("attribute_not_exists(noteCount) OR noteCount < :quota")
            .expression_attribute_values(":zero", ser(0)?)
            .expression_attribute_values(":one", ser(1)?)
            .expression_attribute_values(":quota", ser(quota)?)
            .build()
            .map_err(|e| StoreError::Other(e.to_string()))?;
        let mut items = vec![
            TransactWriteItem::builder().put(put_note).build(),
            TransactWriteItem::builder().update(bump).build(),
        ];
        if let Some(rec) = idempotency {
            let claim = Put::builder()
                .table_name(&self.table)
                .set_item(Some(ser_item(IdempotencyItem {
                    pk: pk(owner),
                    sk: format!("{IDEMPOTENCY_PREFIX}{}", rec.key.as_str()),
                    note: (&rec.note).into(),
                    expires_at: rec.expires_at,
                })?))
                // TTL deletion lags by up to days: an expired record counts as absent.
                .condition_expression("attribute_not_exists(PK) OR #exp < :now")
                .expression_attribute_names("#exp", TTL_ATTRIBUTE)
                .expression_attribute_values(":now", ser(now)?)
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .build()
                .map_err(|e| StoreError::Other(e.to_string()))?;
            items.push(TransactWriteItem::builder().put(claim).build());
        }

        let mut attempt = 0;
        loop {
            attempt += 1;
            let res = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let err = match res {
                Ok(_) => return Ok(CreateOutcome::Created),
                Err(e) => e,
            };
            if let SdkError::ServiceError(se) = &err
                && let TransactWriteItemsError::TransactionCanceledException(tc) = se.err()
            {
                let reasons = tc.cancellation_reasons();
                if let Some(r) = reasons.get(2)
                    && r.code() == Some("ConditionalCheckFailed")
                {
                    let old = r.item().cloned().ok_or_else(|| {
                        StoreError::Other(
                            "idempotency condition failed without the old item".into(),
                        )
                    })?;
                    let rec: IdempotencyItem =
                        from_item(old).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    return Ok(CreateOutcome::KeyExists(rec.note.try_into()?));
                }
                if reason_is(reasons.get(1), "ConditionalCheckFailed") {
                    return Ok(CreateOutcome::QuotaExceeded);
                }
                if retry_after_conflict("create", attempt, reasons).await? {
                    continue;
                }
            }
            return Err(classify("create", &err));
        }
    }

    async fn get(&self, owner: &Owner, id: NoteId) -> Result<Option<Note>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(ser_item(Key::note(owner, id))?))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify("get", &e))?;
        out.item.map(note_from_item).transpose()
    }

    async fn list(
        &self,
        owner: &Owner,
        limit: Limit,
        after: Option<Cursor>,
    ) -> Result<Page, StoreError> {
        let n = usize::from(limit.get());
        // Ask for one extra item: it tells whether a next page exists, so we
        // never hand out a cursor to an empty page.
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", ser(pk(owner))?)
            .expression_attribute_values(":prefix", ser(NOTE_PREFIX)?)
            // The start key is rebuilt from the caller's partition; the
            // cursor only ever contributes a note id.
            .set_exclusive_start_key(
                after
                    .map(|c| ser_item(Key::note(owner, c.last_id())))
                    .transpose()?,
            )
            .scan_index_forward(false)
            .limit(i32::from(limit.get()) + 1)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify("list", &e))?;
        let mut notes = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(note_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        let next = if notes.len() > n {
            notes.truncate(n);
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
        let mut values = Item::new();
        let condition = version_condition(Some(&expected), &mut values)?;
        values.insert(":t".into(), ser(&content.title)?);
        values.insert(":b".into(), ser(&content.body)?);
        values.insert(":g".into(), ser(&content.tags)?);
        values.insert(":u".into(), ser(updated_at)?);
        values.insert(":one".into(), ser(1)?);
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(ser_item(Key::note(owner, id))?))
            .update_expression("SET #t = :t, #b = :b, #g = :g, #u = :u, #v = #v + :one")
            .condition_expression(condition)
            .expression_attribute_names("#t", "title")
            .expression_attribute_names("#b", "body")
            .expression_attribute_names("#g", "tags")
            .expression_attribute_names("#u", "updatedAt")
            .expression_attribute_names("#v", "version")
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match res {
            Ok(out) => {
                let item = out
                    .attributes
                    .ok_or_else(|| StoreError::Other("update returned no item".into()))?;
                Ok(WriteOutcome::Done(note_from_item(item)?))
            }
            Err(SdkError::ServiceError(se))
                if matches!(
                    se.err(),
                    UpdateItemError::ConditionalCheckFailedException(_)
                ) =>
            {
                let existed = match se.err() {
                    UpdateItemError::ConditionalCheckFailedException(c) => c.item().is_some(),
                    _ => false,
                };
                Ok(if existed {
                    WriteOutcome::VersionMismatch
                } else {
                    WriteOutcome::NotFound
                })
            }
            Err(e) => Err(classify("replace", &e)),
        }
    }

    async fn delete(
        &self,
        owner: &Owner,
        id: NoteId,
        expected: Option<IfMatch>,
    ) -> Result<WriteOutcome<()>, StoreError> {
        let mut values = Item::new();
        let condition = version_condition(expected.as_ref(), &mut values)?;
        let mut del = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(ser_item(Key::note(owner, id))?))
            .condition_expression(condition)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        if !values.is_empty() {
            del = del
                .expression_attribute_names("#v", "version")
                .set_expression_attribute_values(Some(values));
        }
        let del = del.build().map_err(|e| StoreError::Other(e.to_string()))?;
        let drop = Update::builder()
            .table_name(&self.table)
            .set_key(Some(ser_item(Key::profile(owner))?))
            .update_expression("ADD noteCount :minus_one")
            .expression_attribute_values(":minus_one", ser(-1)?)
            .build()
            .map_err(|e| StoreError::Other(e.to_string()))?;
        let items = vec![
            TransactWriteItem::builder().delete(del).build(),
            TransactWriteItem::builder().update(drop).build(),
        ];
        let mut attempt = 0;
        loop {
            attempt += 1;
            let res = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let err = match res {
                Ok(_) => return Ok(WriteOutcome::Done(())),
                Err(e) => e,
            };
            if let SdkError::ServiceError(se) = &err
                && let TransactWriteItemsError::TransactionCanceledException(tc) = se.err()
            {
                let reasons = tc.cancellation_reasons();
                if let Some(r) = reasons.first()
                    && r.code() == Some("ConditionalCheckFailed")
                {
                    return Ok(if r.item().is_some() {
                        WriteOutcome::VersionMismatch
                    } else {
                        WriteOutcome::NotFound
                    });
                }
                if retry_after_conflict("delete", attempt, reasons).await? {
                    continue;
                }
            }
            return Err(classify("delete", &err));
        }
    }

    async fn note_count(&self, owner: &Owner) -> Result<u64, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(ser_item(Key::profile(owner))?))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify("note_count", &e))?;
        let Some(item) = out.item else { return Ok(0) };
        let p: ProfileItem = from_item(item).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(u64::try_from(p.note_count).unwrap_or(0))
    }
}
