//! `openapi.yaml` (repository root) and the handler agree: the same routes,
//! the same methods per path (405 `Allow` included), and, per status, the
//! same error codes as the handler's source can answer with.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use api_handler::routes::route;
use http::Method;
use serde_norway::Value;

const METHODS: [&str; 7] = ["get", "put", "post", "delete", "patch", "head", "options"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn document() -> Value {
    let text = std::fs::read_to_string(root().join("openapi.yaml")).unwrap();
    serde_norway::from_str(&text).unwrap()
}

/// `"METHOD /template"` → path template, for every operation of the document.
fn documented_routes(doc: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (path, item) in doc["paths"].as_mapping().unwrap() {
        let path = path.as_str().unwrap();
        for m in METHODS {
            if item.get(m).is_some() {
                out.insert(format!("{} {path}", m.to_uppercase()), path.to_owned());
            }
        }
    }
    out
}

/// The route names `Route::name` returns (`=> "GET /notes/{id}"` in
/// routes.rs): the handler's own list of what it serves.
fn served_routes() -> BTreeSet<String> {
    let src = std::fs::read_to_string(root().join("api-handler/src/routes.rs")).unwrap();
    let mut out = BTreeSet::new();
    for line in src.lines() {
        let Some((_, rhs)) = line.split_once("=> \"") else {
            continue;
        };
        let Some((name, _)) = rhs.split_once('"') else {
            continue;
        };
        if let Some((m, p)) = name.split_once(' ')
            && METHODS.contains(&m.to_lowercase().as_str())
            && p.starts_with('/')
        {
            out.insert(name.to_owned());
        }
    }
    assert!(out.len() >= 8, "found only {out:?} in routes.rs");
    out
}

fn snippet(route: &str) -> String {
    let (method, path) = route.split_once(' ').unwrap();
    format!(
        "  {path}:\n    {m}:\n      operationId: <name>\n      tags: [<tag>]\n      summary: <what it does>\n      responses:\n        \"<2xx>\":\n          description: <success>\n        \"401\": {{ $ref: \"#/components/responses/Unauthorized\" }}\n        \"403\": {{ $ref: \"#/components/responses/Forbidden\" }}\n        \"500\": {{ $ref: \"#/components/responses/InternalError\" }}\n",
        m = method.to_lowercase()
    )
}

#[test]
fn the_document_lists_exactly_the_routes_the_handler_serves() {
    let doc = document();
    let documented = documented_routes(&doc);
    let served = served_routes();
    let mut problems = Vec::new();
    for r in served.iter().filter(|r| !documented.contains_key(*r)) {
        problems.push(format!(
            "api-handler/src/routes.rs serves `{r}` but openapi.yaml does not describe it; \
             add under `paths:` (and its error responses, see components/responses):\n{}",
            snippet(r)
        ));
    }
    for r in documented.keys().filter(|r| !served.contains(*r)) {
        problems.push(format!(
            "openapi.yaml describes `{r}` but api-handler/src/routes.rs has no such route \
             (Route::name); remove it from the document or add the route"
        ));
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// A concrete path for a template (`{id}` → a ULID, others → a valid sub).
fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|seg| match seg {
            "{id}" => "01ARZ3NDEKTSV4RRFFQ69G5FAV",
            s if s.starts_with('{') => "7d4e1c2a-3b5f-4a6e-9c8d-0f1e2d3c4b5a",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[test]
fn the_router_matches_every_documented_operation_and_405s_the_rest() {
    let doc = document();
    let documented = documented_routes(&doc);
    let mut per_path: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (name, path) in &documented {
        let (m, _) = name.split_once(' ').unwrap();
        per_path.entry(path).or_default().insert(m.to_owned());
        let method = Method::from_bytes(m.as_bytes()).unwrap();
        let p = concrete(path);
        match route(&method, &p) {
            Ok(r) => assert_eq!(r.name(), name, "{m} {p}"),
            Err(e) => panic!("{m} {p}: the router answers {} {}", e.status, e.code),
        }
    }
    for (path, methods) in per_path {
        let p = concrete(path);
        for m in ["GET", "PUT", "POST", "DELETE", "PATCH"] {
            if methods.contains(m) {
                continue;
            }
            let e = route(&Method::from_bytes(m.as_bytes()).unwrap(), &p).unwrap_err();
            assert_eq!((e.status, e.code), (405, "method_not_allowed"), "{m} {p}");
            let allow: BTreeSet<String> = e
                .allow
                .unwrap()
                .split(',')
                .map(|s| s.trim().to_owned())
                .collect();
            assert_eq!(allow, methods, "Allow for {p} vs the document's methods");
        }
    }
}

/// `(status, code)` of every `ApiError::new(<status>, "<code>"` in the
/// handler's non-test source (and `Self::new(` in error.rs).
fn codes_in_source() -> BTreeMap<u16, BTreeSet<String>> {
    let mut out: BTreeMap<u16, BTreeSet<String>> = BTreeMap::new();
    let mut files = vec![];
    let mut dirs = vec![root().join("api-handler/src")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs")
                && !p
                    .file_name()
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .ends_with("_tests.rs")
            {
                files.push(p);
            }
        }
    }
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let text = text.split("#[cfg(test)]").next().unwrap();
        let is_error_rs = f.ends_with("error.rs");
        for needle in ["ApiError::new(", "Self::new("] {
            if needle == "Self::new(" && !is_error_rs {
                continue;
            }
            for (at, _) in text.match_indices(needle) {
                let rest = text[at + needle.len()..].trim_start();
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                let Ok(status) = digits.parse::<u16>() else {
                    continue;
                };
                let rest = rest[digits.len()..].trim_start();
                let Some(rest) = rest.strip_prefix(',') else {
                    continue;
                };
                let Some(rest) = rest.trim_start().strip_prefix('"') else {
                    continue;
                };
                let code = rest.split('"').next().unwrap();
                out.entry(status).or_default().insert(code.to_owned());
            }
        }
    }
    out
}

fn codes_in_document(doc: &Value) -> BTreeMap<u16, BTreeSet<String>> {
    let mut out = BTreeMap::new();
    for (name, schema) in doc["components"]["schemas"].as_mapping().unwrap() {
        let Some(status) = name
            .as_str()
            .and_then(|n| n.strip_prefix("Error"))
            .and_then(|n| n.parse::<u16>().ok())
        else {
            continue;
        };
        let codes = schema["properties"]["error"]["properties"]["code"]["enum"]
            .as_sequence()
            .unwrap_or_else(|| panic!("Error{status} has no code enum"))
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect();
        out.insert(status, codes);
    }
    out
}

#[test]
fn every_error_code_of_the_handler_is_documented_under_its_status() {
    let doc = document();
    let source = codes_in_source();
    assert!(source.len() >= 10, "scan found too little: {source:?}");
    assert_eq!(
        codes_in_document(&doc),
        source,
        "components.schemas.Error<status>.properties.error.properties.code.enum in openapi.yaml \
         (left) must list exactly the codes api-handler answers with per status (right)"
    );
    // Every ErrorNNN schema is used by some response, and every error
    // response of an operation points at the schema of its own status.
    let text = std::fs::read_to_string(root().join("openapi.yaml")).unwrap();
    for status in codes_in_document(&doc).keys() {
        if *status == 405 {
            // Unreachable behind API Gateway: it only forwards methods a
            // route declares (others get its MISSING_AUTHENTICATION_TOKEN 404).
            continue;
        }
        assert!(
            text.contains(&format!("#/components/schemas/Error{status}\"")),
            "Error{status} is not used by any response"
        );
    }
    for (name, resp) in doc["components"]["responses"].as_mapping().unwrap() {
        let r = resp["content"]["application/json"]["schema"]["$ref"]
            .as_str()
            .unwrap();
        assert!(r.starts_with("#/components/schemas/Error"), "{name:?}");
    }
    for (path, item) in doc["paths"].as_mapping().unwrap() {
        for m in METHODS {
            let Some(op) = item.get(m) else { continue };
            for (status, resp) in op["responses"].as_mapping().unwrap() {
                let status = status.as_str().unwrap();
                if !status.starts_with('4') && !status.starts_with('5') {
                    continue;
                }
                let schema = match resp.get("$ref").and_then(Value::as_str) {
                    Some(r) => {
                        let name = r.rsplit('/').next().unwrap();
                        doc["components"]["responses"][name]["content"]["application/json"]
                            ["schema"]["$ref"]
                            .as_str()
                            .unwrap()
                            .to_owned()
                    }
                    None => resp["content"]["application/json"]["schema"]["$ref"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                };
                assert_eq!(
                    schema,
                    format!("#/components/schemas/Error{status}"),
                    "{m} {path:?} {status}"
                );
            }
        }
    }
}
