//! CloudWatch metrics in the Embedded Metric Format (EMF): one JSON line
//! per invocation on stdout, which Lambda's log pipeline turns into
//! metrics without an API call.
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>
//!
//! Namespace `CognitoNotes/Authorizer`: `Decisions` (Count, dimension
//! `Reason`: `allowed` or the refusal's reason code) and, without a
//! dimension, `JwksFetches`, `JwksFetchFailures`, `StaleKeysServed` (Count),
//! the JWKS ones accumulated in process-wide counters and flushed with the
//! next decision line (a background refresh has no invocation of its own).
//! The line is written by hand: every value is a number or a static
//! snake_case code, so no escaping is needed and no serializer runs.

use std::sync::atomic::{AtomicU64, Ordering};

pub const NAMESPACE: &str = "CognitoNotes/Authorizer";

pub(crate) static JWKS_FETCHES: AtomicU64 = AtomicU64::new(0);
pub(crate) static JWKS_FETCH_FAILURES: AtomicU64 = AtomicU64::new(0);
pub(crate) static STALE_KEYS_SERVED: AtomicU64 = AtomicU64::new(0);

/// The EMF line for one decision (ending in `\n`), taking the JWKS counts
/// accumulated since the previous line.
pub fn emf_line(reason: &'static str, timestamp_ms: u128) -> String {
    let fetches = JWKS_FETCHES.swap(0, Ordering::Relaxed);
    let failures = JWKS_FETCH_FAILURES.swap(0, Ordering::Relaxed);
    let stale = STALE_KEYS_SERVED.swap(0, Ordering::Relaxed);
    // Reason codes are `[a-z_]+`; anything else would need escaping, so it
    // is reported as `other` rather than written raw.
    let reason =
        if !reason.is_empty() && reason.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            reason
        } else {
            "other"
        };
    format!(
        concat!(
            r#"{{"_aws":{{"Timestamp":{ts},"CloudWatchMetrics":[{{"Namespace":"{ns}","Dimensions":[["Reason"]],"Metrics":[{{"Name":"Decisions","Unit":"Count"}}]}},"#,
            r#"{{"Namespace":"{ns}","Dimensions":[[]],"Metrics":[{{"Name":"JwksFetches","Unit":"Count"}},{{"Name":"JwksFetchFailures","Unit":"Count"}},{{"Name":"StaleKeysServed","Unit":"Count"}}]}}]}},"#,
            r#""Reason":"{reason}","Decisions":1,"JwksFetches":{fetches},"JwksFetchFailures":{failures},"StaleKeysServed":{stale}}}"#,
            "\n"
        ),
        ts = timestamp_ms,
        ns = NAMESPACE,
        reason = reason,
        fetches = fetches,
        failures = failures,
        stale = stale,
    )
}

/// Writes a line to stdout in one write (the Lambda sink).
pub fn write_stdout(line: &str) {
    use std::io::Write as _;
    let _ = std::io::stdout().lock().write_all(line.as_bytes());
}
