//! The notes API over HTTP with the access token, and the one-line errors
//! a person can act on.

use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{Error, Result};

/// A note as the API returns it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Note {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub tags: Vec<String>,
    pub version: u64,
    #[serde(default)]
    pub updated_at: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Listing {
    pub items: Vec<Note>,
    pub next_cursor: Option<String>,
}

pub struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

/// A non-2xx answer.
struct Failure {
    status: u16,
    code: String,
    message: String,
    retry_after: Option<String>,
}

/// The one line for a refusal. `what` names the request (e.g. `GET /notes`).
fn explain(f: &Failure) -> String {
    let server = if f.code.is_empty() {
        f.message.clone()
    } else {
        format!("{} ({})", f.message, f.code)
    };
    match f.status {
        401 if f.code == "token_revoked" => {
            "401: this session was signed out (token revoked); run `notes login`".into()
        }
        401 => {
            format!("401: the API did not accept the access token ({server}); run `notes login`")
        }
        403 => format!("403: signed in, but not allowed to do this ({server})"),
        404 => format!("404: not found ({server})"),
        409 => format!("409: conflict ({server})"),
        412 => format!(
            "412: the note changed since it was read (its ETag no longer matches); \
             nothing was written — run the command again to edit the current version ({server})"
        ),
        429 => format!(
            "429: too many requests; retry {}",
            f.retry_after
                .as_deref()
                .map_or_else(|| "later".to_owned(), |s| format!("in {s} s"))
        ),
        s => format!("HTTP {s}: {server}"),
    }
}

impl Api {
    pub fn new(base: &str, token: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        if_match: Option<&str>,
    ) -> Result<(reqwest::header::HeaderMap, Value)> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        if let Some(m) = if_match {
            req = req.header("if-match", m);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| Error::Http(format!("{}: {e}", self.base)))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.map_err(|e| Error::Http(e.to_string()))?;
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if (200..300).contains(&status) {
            return Ok((headers, value));
        }
        let err = value.get("error");
        let s = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_owned();
        let f = Failure {
            status,
            code: s(err.and_then(|e| e.get("code"))),
            message: {
                let m = s(err.and_then(|e| e.get("message")));
                if m.is_empty() {
                    s(value.get("message"))
                } else {
                    m
                }
            },
            retry_after: headers
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        };
        Err(Error::Api(explain(&f)))
    }

    pub async fn list(&self, limit: Option<u8>, cursor: Option<&str>) -> Result<Listing> {
        let mut q = Vec::new();
        if let Some(l) = limit {
            q.push(format!("limit={l}"));
        }
        if let Some(c) = cursor {
            q.push(format!(
                "cursor={}",
                url::form_urlencoded::byte_serialize(c.as_bytes()).collect::<String>()
            ));
        }
        let path = if q.is_empty() {
            "/notes".to_owned()
        } else {
            format!("/notes?{}", q.join("&"))
        };
        let (_, v) = self.send(Method::GET, &path, None, None).await?;
        serde_json::from_value(v).map_err(|e| Error::Api(format!("unexpected listing: {e}")))
    }

    pub async fn add(&self, title: &str, body: &str, tags: &[String]) -> Result<Note> {
        let (_, v) = self
            .send(
                Method::POST,
                "/notes",
                Some(&json!({"title": title, "body": body, "tags": tags})),
                None,
            )
            .await?;
        note(v)
    }

    /// The note and its ETag.
    pub async fn get(&self, id: &str) -> Result<(Note, String)> {
        let (h, v) = self
            .send(Method::GET, &format!("/notes/{}", seg(id)), None, None)
            .await?;
        let etag = h
            .get("etag")
            .and_then(|e| e.to_str().ok())
            .ok_or_else(|| Error::Api("the API sent no ETag".into()))?
            .to_owned();
        Ok((note(v)?, etag))
    }

    /// PUT with If-Match: written only if nobody changed it since `etag`.
    pub async fn replace(&self, id: &str, etag: &str, n: &Note) -> Result<Note> {
        let (_, v) = self
            .send(
                Method::PUT,
                &format!("/notes/{}", seg(id)),
                Some(&json!({"title": n.title, "body": n.body, "tags": n.tags})),
                Some(etag),
            )
            .await?;
        note(v)
    }

    pub async fn delete(&self, id: &str) -> Result<()> {
        self.send(Method::DELETE, &format!("/notes/{}", seg(id)), None, None)
            .await?;
        Ok(())
    }

    /// `POST /signout`: the API records the session as revoked.
    pub async fn signout(&self) -> Result<()> {
        self.send(Method::POST, "/signout", None, None).await?;
        Ok(())
    }
}

/// A path segment, percent-encoded.
fn seg(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn note(v: Value) -> Result<Note> {
    serde_json::from_value(v).map_err(|e| Error::Api(format!("unexpected note: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(status: u16, code: &str) -> Failure {
        Failure {
            status,
            code: code.into(),
            message: "server says".into(),
            retry_after: Some("7".into()),
        }
    }

    #[test]
    fn every_refusal_is_one_line_that_says_what_to_do() {
        let cases = [
            (401, "", "notes login"),
            (401, "token_revoked", "signed out"),
            (403, "forbidden", "not allowed"),
            (404, "not_found", "not found"),
            (409, "quota_exceeded", "conflict"),
            (412, "precondition_failed", "changed since it was read"),
            (429, "", "retry in 7 s"),
            (500, "internal", "HTTP 500"),
        ];
        for (status, code, want) in cases {
            let line = explain(&f(status, code));
            assert!(line.starts_with(&status.to_string()) || line.starts_with("HTTP"));
            assert!(line.contains(want), "{status}: {line}");
            assert!(!line.contains('\n'), "{status}: {line}");
        }
    }
}
