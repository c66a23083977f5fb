//! The Lambda edge: an API Gateway REST proxy event in, a proxy response
//! out. Reads the caller from the authorizer context only, turns headers,
//! query and body into domain values, calls [`App`], renders JSON, and
//! writes one access-log line per request.

use std::borrow::Cow;
use std::collections::HashMap;
use std::time::{Instant, SystemTime};

use auth_context::{AuthorizerContext, ContextError};
use aws_lambda_events::apigw::{
    ApiGatewayProxyRequest, ApiGatewayProxyResponse, ApiGatewayRequestAuthorizer,
};
use aws_lambda_events::encodings::Body;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::header::{
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ALLOW, CACHE_CONTROL, CONTENT_TYPE,
    HeaderName, HeaderValue, RETRY_AFTER, X_CONTENT_TYPE_OPTIONS,
};
use lambda_runtime::LambdaEvent;
use serde_json::{Map, Value};

use crate::api::{ADMIN_GROUP, ADMIN_READ_SCOPE, App, Reply, StoreOr, store_failure};
use crate::error::ApiError;
use crate::json::{BodyError, parse_unique};
use crate::model::{
    Cursor, FieldError, IdempotencyKey, IfMatch, IfNoneMatch, Limit, NoteBody, NoteContent, NoteId,
    NoteTitle, Owner, Tags,
};
use crate::routes::{Route, route};
use crate::store::NoteStore;

/// Largest accepted request body, in bytes (after base64 decoding).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The `lambda_runtime` entry point.
pub async fn handle<S: NoteStore>(
    app: &App<S>,
    event: LambdaEvent<ApiGatewayProxyRequest>,
) -> Result<ApiGatewayProxyResponse, lambda_runtime::Error> {
    Ok(respond(
        app,
        &event.payload,
        &event.context.request_id,
        SystemTime::now(),
    )
    .await)
}

/// Reads the caller from `requestContext.authorizer`: the flat REST fields,
/// or an HTTP API v2 style `lambda` object if that is what arrived.
pub fn caller(authorizer: &ApiGatewayRequestAuthorizer) -> Result<AuthorizerContext, ContextError> {
    AuthorizerContext::from_fields(&authorizer.fields).or_else(|e| {
        match authorizer.fields.get("lambda") {
            Some(Value::Object(inner)) => {
                let fields: HashMap<String, Value> =
                    inner.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                AuthorizerContext::from_fields(&fields)
            }
            _ => Err(e),
        }
    })
}

/// Handles one request; never fails (every error is a JSON answer).
pub async fn respond<S: NoteStore>(
    app: &App<S>,
    req: &ApiGatewayProxyRequest,
    request_id: &str,
    now: SystemTime,
) -> ApiGatewayProxyResponse {
    let started = Instant::now();
    let path = req.path.as_deref().unwrap_or_default();
    let mut sub = String::new();
    let (route_name, result) = match route(&req.http_method, path) {
        Err(e) => ("unmatched", Err(e)),
        Ok(r) => {
            let result = match authenticate(&r, req, request_id) {
                Err(e) => Err(e),
                Ok(c) => {
                    if let Some(c) = &c {
                        sub.clone_from(&c.sub);
                    }
                    match dispatch(app, &r, c.as_ref(), req, now).await {
                        Ok(reply) => Ok(reply),
                        Err(StoreOr::Api(e)) => Err(e),
                        Err(StoreOr::Store(e)) => {
                            tracing::error!(request_id, route = r.name(), error = %e, "store failure");
                            Err(store_failure(&e))
                        }
                    }
                }
            };
            (r.name(), result)
        }
    };
    let cors = app.config.cors_allow_origin.as_deref();
    let response = match result {
        Ok(reply) => render(reply, cors),
        Err(e) => render_error(&e, cors),
    };
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(
        target: "access",
        request_id,
        sub = sub.as_str(),
        route = route_name,
        status = response.status_code,
        latency_ms,
        "request"
    );
    response
}

fn authenticate(
    r: &Route<'_>,
    req: &ApiGatewayProxyRequest,
    request_id: &str,
) -> Result<Option<AuthorizerContext>, ApiError> {
    if !r.needs_caller() {
        return Ok(None);
    }
    match caller(&req.request_context.authorizer) {
        Ok(c) => Ok(Some(c)),
        Err(e) => {
            // Only reachable if the route is not behind the authorizer:
            // a deployment bug, so it is logged loudly, and nobody is served.
            tracing::error!(request_id, route = r.name(), error = %e, "no caller in the authorizer context");
            Err(ApiError::new(
                401,
                "unauthorized",
                "no authenticated caller",
            ))
        }
    }
}

async fn dispatch<S: NoteStore>(
    app: &App<S>,
    r: &Route<'_>,
    caller: Option<&AuthorizerContext>,
    req: &ApiGatewayProxyRequest,
    now: SystemTime,
) -> Result<Reply, StoreOr> {
    let Some(caller) = caller else {
        return Ok(App::<S>::health()?);
    };
    // Per-user routes serve people: a machine (client-credentials) token's
    // `sub` is its app client, not a user whose notes these are.
    if !caller.is_user() && !matches!(r, Route::Health | Route::AdminListNotes(_)) {
        return Err(ApiError::new(
            403,
            "machine_principal_not_allowed",
            "this route serves signed-in users; a machine token may not call it",
        )
        .into());
    }
    // The partition comes from the authorizer's `sub` and nothing else.
    let owner = Owner::parse(&caller.sub)
        .map_err(|_| ApiError::new(401, "unauthorized", "the caller's sub is not usable"))?;
    // Token revocation (issue 11): a signed-out session is refused.
    if app.revocations.is_revoked(caller, now).await? {
        return Err(crate::revocation::revoked().into());
    }
    match *r {
        Route::Health => Ok(App::<S>::health()?),
        Route::Me => app.me(caller, &owner).await,
        Route::ListNotes => {
            let (limit, cursor) = page_params(req)?;
            app.list(&owner, limit, cursor).await
        }
        Route::CreateNote => {
            let key = header(req, "idempotency-key")?
                .map(IdempotencyKey::parse)
                .transpose()
                .map_err(ApiError::invalid_parameter)?;
            let content = note_content(req)?;
            app.create(&owner, content, key, now, &notes_url(req)).await
        }
        Route::GetNote(id) => {
            let id = note_id(id)?;
            let fresh = header_list(req, "if-none-match")
                .map(|raw| IfNoneMatch::parse(&raw))
                .transpose()
                .map_err(ApiError::invalid_parameter)?;
            app.get(&owner, id, fresh.as_ref()).await
        }
        Route::ReplaceNote(id) => {
            let id = note_id(id)?;
            let Some(raw) = header_list(req, "if-match") else {
                return Err(ApiError::new(
                    428,
                    "precondition_required",
                    "PUT needs If-Match with the note's ETag",
                )
                .with_field("If-Match")
                .into());
            };
            let expected = IfMatch::parse(&raw).map_err(ApiError::invalid_parameter)?;
            let content = note_content(req)?;
            app.replace(&owner, id, content, expected, now).await
        }
        Route::DeleteNote(id) => {
            let id = note_id(id)?;
            let expected = header_list(req, "if-match")
                .map(|raw| IfMatch::parse(&raw))
                .transpose()
                .map_err(ApiError::invalid_parameter)?;
            app.delete(&owner, id, expected).await
        }
        Route::AdminListNotes(sub) => {
            // The authorizer already enforces this; check again (defence in depth).
            let admin = if caller.is_user() {
                caller.in_group(ADMIN_GROUP)
            } else {
                caller.scopes().any(|s| s == ADMIN_READ_SCOPE)
            };
            if !admin {
                return Err(ApiError::new(403, "forbidden", "requires the admin group (or, for a machine token, the notes/admin.read scope)").into());
            }
            let target = Owner::parse(sub).map_err(ApiError::invalid_parameter)?;
            let (limit, cursor) = page_params(req)?;
            app.list(&target, limit, cursor).await
        }
        Route::Signout => crate::revocation::signout(&app.revocations, caller, now).await,
    }
}

fn note_id(raw: &str) -> Result<NoteId, ApiError> {
    NoteId::parse(raw).map_err(ApiError::invalid_parameter)
}

fn page_params(req: &ApiGatewayProxyRequest) -> Result<(Limit, Option<Cursor>), ApiError> {
    let limit = Limit::parse(query_once(req, "limit")?).map_err(ApiError::invalid_parameter)?;
    let cursor = query_once(req, "cursor")?
        .map(Cursor::decode)
        .transpose()
        .map_err(|e| ApiError::new(400, "invalid_cursor", e.message).with_field(e.field))?;
    Ok((limit, cursor))
}

/// A query parameter that may appear at most once: `limit=5&limit=50`
/// has no single meaning (API Gateway's `queryStringParameters` keeps the
/// last, a proxy in front may keep the first), so it is a 400.
///
/// REST events carry the last value in `queryStringParameters` and every
/// value in `multiValueQueryStringParameters`; the full list is used when
/// the two agree, as they always do in events API Gateway builds.
/// <https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html#api-gateway-simple-proxy-for-lambda-input-format>
fn query_once<'a>(
    req: &'a ApiGatewayProxyRequest,
    name: &'static str,
) -> Result<Option<&'a str>, ApiError> {
    let Some(last) = req.query_string_parameters.first(name) else {
        return Ok(None);
    };
    let all = req
        .multi_value_query_string_parameters
        .all(name)
        .filter(|all| all.last() == Some(&last));
    match all.as_deref() {
        Some([_, _, ..]) => Err(ApiError::new(
            400,
            "invalid_parameter",
            "this query parameter may be given only once",
        )
        .with_field(name)),
        _ => Ok(Some(last)),
    }
}

/// All field lines of a list-valued header joined with commas, as bytes
/// (RFC 9110 §5.3: several lines of a list field are one list; entity tags
/// may hold obs-text, which `to_str` refuses). As for the query, `headers`
/// holds the last line and `multiValueHeaders` all of them; the full list
/// is used when the two agree.
fn header_list(req: &ApiGatewayProxyRequest, name: &'static str) -> Option<Vec<u8>> {
    let last = req.headers.get(name)?;
    let lines: Vec<&HeaderValue> = req.multi_value_headers.get_all(name).iter().collect();
    if lines.last() != Some(&last) {
        return Some(last.as_bytes().to_vec());
    }
    let mut out = Vec::new();
    for (i, v) in lines.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(v.as_bytes());
    }
    Some(out)
}

/// A header as text; present but not visible ASCII is a 400.
fn header<'a>(
    req: &'a ApiGatewayProxyRequest,
    name: &'static str,
) -> Result<Option<&'a str>, ApiError> {
    req.headers
        .get(name)
        .map(|v| {
            v.to_str().map_err(|_| {
                ApiError::new(400, "invalid_parameter", "header is not visible ASCII")
                    .with_field(name.to_owned())
            })
        })
        .transpose()
}

/// The public path of the notes collection, including any stage or
/// base-path prefix API Gateway stripped from `path`.
fn notes_url(req: &ApiGatewayProxyRequest) -> String {
    let path = req.path.as_deref().unwrap_or_default();
    let prefix = req
        .request_context
        .path
        .as_deref()
        .and_then(|full| full.strip_suffix(path))
        .filter(|p| p.starts_with('/') && !p.contains(['?', '#']))
        .unwrap_or_default();
    format!("{prefix}/notes")
}

/// The JSON object body of a POST/PUT: size (413), media type (415), syntax (400).
fn json_object(req: &ApiGatewayProxyRequest) -> Result<Map<String, Value>, ApiError> {
    let too_large = || {
        ApiError::new(
            413,
            "payload_too_large",
            format!("request body exceeds {MAX_BODY_BYTES} bytes"),
        )
    };
    let raw = req.body.as_deref().unwrap_or_default();
    let bytes: Cow<'_, [u8]> = if req.is_base64_encoded {
        if raw.len() > MAX_BODY_BYTES.div_ceil(3) * 4 {
            return Err(too_large());
        }
        Cow::Owned(
            STANDARD
                .decode(raw)
                .map_err(|_| ApiError::new(400, "invalid_json", "body is not valid base64"))?,
        )
    } else {
        Cow::Borrowed(raw.as_bytes())
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(too_large());
    }
    let is_json = header(req, "content-type")?
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(ApiError::new(
            415,
            "unsupported_media_type",
            "send the body as Content-Type: application/json",
        )
        .with_field("Content-Type"));
    }
    match parse_unique(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::new(
            400,
            "invalid_json",
            "the body must be a JSON object",
        )),
        Err(BodyError::DuplicateKey(key)) => {
            Err(
                ApiError::new(400, "duplicate_key", "the body repeats an object key")
                    .with_field(key),
            )
        }
        Err(BodyError::Syntax) => Err(ApiError::new(
            400,
            "invalid_json",
            "the body is not valid JSON",
        )),
    }
}

/// `{"title", "body", "tags"?}` and nothing else.
fn note_content(req: &ApiGatewayProxyRequest) -> Result<NoteContent, ApiError> {
    let mut m = json_object(req)?;
    if let Some(unknown) = m
        .keys()
        .find(|k| !matches!(k.as_str(), "title" | "body" | "tags"))
    {
        return Err(
            ApiError::new(400, "unknown_field", "unknown field").with_field(unknown.clone())
        );
    }
    let missing = |f: &str| {
        ApiError::new(400, "missing_field", "this field is required").with_field(f.to_owned())
    };
    let not_string = |f: &str| ApiError::invalid_field(FieldError::new(f, "must be a string"));
    let title = match m.remove("title") {
        Some(Value::String(s)) => NoteTitle::parse(&s).map_err(ApiError::invalid_field)?,
        Some(_) => return Err(not_string("title")),
        None => return Err(missing("title")),
    };
    let body = match m.remove("body") {
        Some(Value::String(s)) => NoteBody::parse(s).map_err(ApiError::invalid_field)?,
        Some(_) => return Err(not_string("body")),
        None => return Err(missing("body")),
    };
    let tags = match m.remove("tags") {
        None => Tags::default(),
        Some(Value::Array(items)) => {
            let strings = items
                .iter()
                .enumerate()
                .map(|(i, v)| v.as_str().ok_or_else(|| not_string(&format!("tags[{i}]"))))
                .collect::<Result<Vec<&str>, _>>()?;
            Tags::parse(strings.into_iter()).map_err(ApiError::invalid_field)?
        }
        Some(_) => {
            return Err(ApiError::invalid_field(FieldError::new(
                "tags",
                "must be an array of strings",
            )));
        }
    };
    Ok(NoteContent { title, body, tags })
}

fn base_response(status: u16, body: Option<String>, cors: Option<&str>) -> ApiGatewayProxyResponse {
    let mut r = ApiGatewayProxyResponse::default();
    if let Some(origin) = cors.and_then(|o| HeaderValue::from_str(o).ok()) {
        r.headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        // Browsers hide these from scripts unless exposed; clients need them.
        r.headers.insert(
            ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("ETag, Location, Retry-After, Idempotent-Replayed"),
        );
    }
    r.status_code = i64::from(status);
    // Every answer is private to the caller: never cache it anywhere.
    r.headers
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r.headers
        .insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if let Some(b) = body {
        r.headers
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        r.body = Some(Body::Text(b));
    }
    r
}

fn render(reply: Reply, cors: Option<&str>) -> ApiGatewayProxyResponse {
    let mut r = base_response(reply.status, reply.body, cors);
    for (name, value) in reply.headers {
        // Values are built here from ids, versions and the request path;
        // should one ever be unencodable, drop the header rather than fail.
        if let (Ok(n), Ok(v)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            r.headers.insert(n, v);
        }
    }
    r
}

fn render_error(e: &ApiError, cors: Option<&str>) -> ApiGatewayProxyResponse {
    let mut r = base_response(e.status, Some(e.body()), cors);
    if let Some(secs) = e.retry_after {
        r.headers.insert(RETRY_AFTER, HeaderValue::from(secs));
    }
    if let Some(allow) = e.allow {
        r.headers.insert(ALLOW, HeaderValue::from_static(allow));
    }
    r
}

#[cfg(test)]
#[path = "handler_tests.rs"]
mod tests;
