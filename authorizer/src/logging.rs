//! The decision log format, shared by `main.rs`, the bench and the tests so
//! that what is measured and tested is what runs on Lambda.
//!
//! One JSON object per line: `timestamp` (RFC 3339, UTC), `level`, then
//! every event field (the message as `message`) at the top level; no target
//! and no span fields. The timestamp stays although CloudWatch stamps every
//! line: with the template's JSON log format, Lambda's level filtering
//! treats a line without a valid RFC 3339 `timestamp` as INFO, so an ERROR
//! line could be filtered out.
//!
//! The event formatter is our own rather than tracing-subscriber's `json()`:
//! that one writes every fragment through an `io::Write`→`fmt::Write`
//! adaptor that re-checks UTF-8 per write, and cost ~1.1 µs per decision,
//! more than all the rest of the handler around the verifier. Here fields
//! are appended to one buffer, strings escaped by serde_json, and the line
//! handed over in one write (~0.5 µs with the timestamp). `tests/logging.rs`
//! pins the format.

use std::fmt;
use std::io::Write as _;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::registry::LookupSpan;

/// The level filter: `RUST_LOG` if set and valid, else `info`.
pub fn filter_from_env() -> EnvFilter {
    EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new("info"))
}

/// A subscriber writing one JSON line per event to `writer`.
pub fn subscriber<W>(writer: W, filter: EnvFilter) -> impl Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .with_ansi(false)
        .event_format(JsonLine)
        .with_env_filter(filter)
        .with_writer(writer)
        .finish()
}

/// Formats an event as `{"timestamp":"…","level":"INFO","message":"…","field":…}`.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonLine;

impl<S, N> FormatEvent<S, N> for JsonLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut line = Vec::with_capacity(384);
        line.extend_from_slice(b"{\"timestamp\":\"");
        let mut now = String::with_capacity(32);
        SystemTime.format_time(&mut Writer::new(&mut now))?;
        line.extend_from_slice(now.as_bytes());
        line.extend_from_slice(b"\",\"level\":\"");
        line.extend_from_slice(event.metadata().level().as_str().as_bytes());
        line.push(b'"');
        event.record(&mut Fields { line: &mut line });
        line.extend_from_slice(b"}\n");
        // Only serde_json output and ASCII were appended: always UTF-8.
        writer.write_str(std::str::from_utf8(&line).map_err(|_| fmt::Error)?)
    }
}

/// Appends `,"name":value` per field.
struct Fields<'a> {
    line: &'a mut Vec<u8>,
}

impl Fields<'_> {
    /// Writing JSON into a `Vec` cannot fail; a value serde_json refuses
    /// (none of the recorded types) would be written as `null`.
    fn entry(&mut self, field: &Field, value: &impl serde::Serialize) {
        self.line.push(b',');
        let _ = serde_json::to_writer(&mut *self.line, field.name());
        self.line.push(b':');
        if serde_json::to_writer(&mut *self.line, value).is_err() {
            let _ = self.line.write_all(b"null");
        }
    }
}

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.entry(field, &value);
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.entry(field, &value);
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.entry(field, &value);
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.entry(field, &value);
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.entry(field, &value);
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // The message arrives here as `fmt::Arguments`, whose Debug is its text.
        self.entry(field, &format!("{value:?}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn one_valid_json_object_per_event_with_escaped_fields() {
        let out = Arc::new(Mutex::new(Vec::<u8>::new()));
        let sink = out.clone();
        let make = move || Capture(sink.clone());
        let subscriber = subscriber(make, EnvFilter::new("info"));
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(
                text = "a \"quoted\"\nline\u{1}",
                n = -3i64,
                ok = true,
                f = 0.5,
                "hello {}",
                "world"
            );
            tracing::warn!(error = %std::io::Error::other("boom"), "failed");
            tracing::debug!("filtered out");
        });
        let text = String::from_utf8(out.lock().unwrap().clone()).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                let ts = v["timestamp"].take();
                assert!(is_rfc3339_utc(ts.as_str().unwrap()), "{ts}");
                v.as_object_mut().unwrap().remove("timestamp");
                v
            })
            .collect();
        assert_eq!(
            lines,
            [
                serde_json::json!({"level":"INFO","message":"hello world","text":"a \"quoted\"\nline\u{1}","n":-3,"ok":true,"f":0.5}),
                serde_json::json!({"level":"WARN","message":"failed","error":"boom"}),
            ]
        );
    }

    /// `YYYY-MM-DDTHH:MM:SS[.frac]Z`
    fn is_rfc3339_utc(t: &str) -> bool {
        let b = t.as_bytes();
        let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
        b.len() >= 20
            && digits(0..4)
            && b[4] == b'-'
            && digits(5..7)
            && b[7] == b'-'
            && digits(8..10)
            && b[10] == b'T'
            && digits(11..13)
            && b[13] == b':'
            && digits(14..16)
            && b[16] == b':'
            && digits(17..19)
            && t.ends_with('Z')
    }

    #[derive(Clone)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
}
