//! Routing: method + path → [`Route`], or 404 (no such path) / 405 (path
//! exists, method does not; with `Allow`).

use http::Method;

use crate::error::ApiError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route<'a> {
    Health,
    Me,
    ListNotes,
    CreateNote,
    GetNote(&'a str),
    ReplaceNote(&'a str),
    DeleteNote(&'a str),
    AdminListNotes(&'a str),
    /// Token revocation (issue 11).
    Signout,
}

impl Route<'_> {
    /// The route template, for logs (never the concrete ids).
    pub fn name(&self) -> &'static str {
        match self {
            Route::Health => "GET /health",
            Route::Me => "GET /me",
            Route::ListNotes => "GET /notes",
            Route::CreateNote => "POST /notes",
            Route::GetNote(_) => "GET /notes/{id}",
            Route::ReplaceNote(_) => "PUT /notes/{id}",
            Route::DeleteNote(_) => "DELETE /notes/{id}",
            Route::AdminListNotes(_) => "GET /admin/users/{sub}/notes",
            Route::Signout => "POST /signout",
        }
    }

    /// Health is the only route served without an authorizer context.
    pub fn needs_caller(&self) -> bool {
        !matches!(self, Route::Health)
    }
}

fn method_not_allowed(allow: &'static str) -> ApiError {
    let mut e = ApiError::new(
        405,
        "method_not_allowed",
        format!("method not allowed; allowed: {allow}"),
    );
    e.allow = Some(allow);
    e
}

pub fn route<'a>(method: &Method, path: &'a str) -> Result<Route<'a>, ApiError> {
    // A trailing slash names the same resource; empty segments never match.
    let trimmed = path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(path);
    let Some(rest) = trimmed.strip_prefix('/') else {
        return Err(ApiError::new(404, "route_not_found", "no such route"));
    };
    let segments: Vec<&str> = rest.split('/').collect();
    let get_only = |r: Route<'a>| {
        if method == Method::GET {
            Ok(r)
        } else {
            Err(method_not_allowed("GET"))
        }
    };
    match segments.as_slice() {
        ["health"] => get_only(Route::Health),
        ["me"] => get_only(Route::Me),
        ["notes"] => match *method {
            Method::GET => Ok(Route::ListNotes),
            Method::POST => Ok(Route::CreateNote),
            _ => Err(method_not_allowed("GET, POST")),
        },
        ["notes", id] if !id.is_empty() => match *method {
            Method::GET => Ok(Route::GetNote(id)),
            Method::PUT => Ok(Route::ReplaceNote(id)),
            Method::DELETE => Ok(Route::DeleteNote(id)),
            _ => Err(method_not_allowed("GET, PUT, DELETE")),
        },
        ["admin", "users", sub, "notes"] if !sub.is_empty() => get_only(Route::AdminListNotes(sub)),
        ["signout"] if method == Method::POST => Ok(Route::Signout),
        ["signout"] => Err(method_not_allowed("POST")),
        _ => Err(ApiError::new(404, "route_not_found", "no such route")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_routes_match_with_their_methods() {
        assert_eq!(route(&Method::GET, "/health"), Ok(Route::Health));
        assert_eq!(route(&Method::GET, "/me/"), Ok(Route::Me));
        assert_eq!(route(&Method::GET, "/notes"), Ok(Route::ListNotes));
        assert_eq!(route(&Method::POST, "/notes"), Ok(Route::CreateNote));
        assert_eq!(route(&Method::GET, "/notes/abc"), Ok(Route::GetNote("abc")));
        assert_eq!(
            route(&Method::PUT, "/notes/abc"),
            Ok(Route::ReplaceNote("abc"))
        );
        assert_eq!(
            route(&Method::DELETE, "/notes/abc"),
            Ok(Route::DeleteNote("abc"))
        );
        assert_eq!(
            route(&Method::GET, "/admin/users/u1/notes"),
            Ok(Route::AdminListNotes("u1"))
        );
    }

    #[test]
    fn unknown_paths_are_404_and_wrong_methods_405_with_allow() {
        for p in [
            "/",
            "",
            "/nope",
            "/notes/a/b",
            "/notes//",
            "//notes",
            "/admin/users//notes",
            "health",
        ] {
            let e = route(&Method::GET, p).unwrap_err();
            assert_eq!((e.status, e.code), (404, "route_not_found"), "{p:?}");
        }
        let e = route(&Method::DELETE, "/notes").unwrap_err();
        assert_eq!(
            (e.status, e.code, e.allow),
            (405, "method_not_allowed", Some("GET, POST"))
        );
        let e = route(&Method::POST, "/notes/x").unwrap_err();
        assert_eq!((e.status, e.allow), (405, Some("GET, PUT, DELETE")));
        assert_eq!(route(&Method::POST, "/health").unwrap_err().status, 405);
        assert_eq!(
            route(&Method::DELETE, "/admin/users/u/notes")
                .unwrap_err()
                .status,
            405
        );
    }
}
