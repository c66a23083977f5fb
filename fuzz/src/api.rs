//! The api-handler target's fixtures: the documented status table, read
//! from openapi.yaml, and the proxy request an input describes.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::OnceLock;

use serde_norway::Value;

const DOC: &str = include_str!("../../openapi.yaml");

#[derive(Debug, Default)]
pub struct Table {
    /// `"GET /notes/{id}"` → documented statuses.
    pub statuses: BTreeMap<String, BTreeSet<u16>>,
    /// Status → the error codes `components.schemas.Error<status>` allows.
    pub codes: HashMap<u16, BTreeSet<String>>,
}

pub fn table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| {
        let doc: Value = serde_norway::from_str(DOC).expect("openapi.yaml");
        let mut t = Table::default();
        for (path, item) in doc["paths"].as_mapping().expect("paths") {
            for m in ["get", "put", "post", "delete"] {
                let Some(op) = item.get(m) else { continue };
                let statuses = op["responses"]
                    .as_mapping()
                    .expect("responses")
                    .keys()
                    .map(|s| s.as_str().expect("status").parse().expect("status"))
                    .collect();
                t.statuses.insert(
                    format!("{} {}", m.to_uppercase(), path.as_str().expect("path")),
                    statuses,
                );
            }
        }
        for (name, schema) in doc["components"]["schemas"].as_mapping().expect("schemas") {
            let Some(status) = name
                .as_str()
                .and_then(|n| n.strip_prefix("Error"))
                .and_then(|n| n.parse::<u16>().ok())
            else {
                continue;
            };
            let codes = schema["properties"]["error"]["properties"]["code"]["enum"]
                .as_sequence()
                .expect("code enum")
                .iter()
                .map(|c| c.as_str().expect("code").to_owned())
                .collect();
            t.codes.insert(status, codes);
        }
        t
    })
}
