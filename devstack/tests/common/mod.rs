//! Helpers shared by the test binaries that read `template.yaml`: the
//! repository root, and the template parsed with its CloudFormation tags
//! (`!Ref`, `!GetAtt`, `!If`, …) kept, so a reference is checked as one.

// Each test binary compiles this module on its own and uses a subset.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

use serde_norway::Value;

/// The repository root: the nearest ancestor holding `template.yaml`.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|d| d.join("template.yaml").is_file())
        .expect("template.yaml above the crate")
        .to_path_buf()
}

pub fn template_text() -> String {
    fs::read_to_string(root().join("template.yaml")).unwrap()
}

pub fn template() -> Value {
    serde_norway::from_str(&template_text()).expect("template.yaml parses as YAML")
}

/// The value under CloudFormation tag `!name` (e.g. `tag(v, "Ref")`).
pub fn tag<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    match v {
        Value::Tagged(t) if t.tag.to_string().trim_start_matches('!') == name => Some(&t.value),
        _ => None,
    }
}

pub fn is_ref_to(v: &Value, logical_id: &str) -> bool {
    tag(v, "Ref").and_then(Value::as_str) == Some(logical_id)
}

/// `!If [cond, a, b]` as `(cond, a, b)`.
pub fn if_parts(v: &Value) -> Option<(&str, &Value, &Value)> {
    let seq = tag(v, "If")?.as_sequence()?;
    Some((seq.first()?.as_str()?, seq.get(1)?, seq.get(2)?))
}

pub fn resource<'a>(t: &'a Value, logical_id: &str) -> &'a Value {
    let r = &t["Resources"][logical_id];
    assert!(!r.is_null(), "template.yaml has no resource {logical_id}");
    r
}

pub fn parameter<'a>(t: &'a Value, name: &str) -> &'a Value {
    let p = &t["Parameters"][name];
    assert!(!p.is_null(), "template.yaml has no parameter {name}");
    p
}

/// The strings of a YAML sequence (entries that are not strings are left out).
pub fn strings(v: &Value) -> Vec<&str> {
    v.as_sequence()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect()
}
