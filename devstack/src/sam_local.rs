//! What `sam local invoke` must answer for each sample event under
//! `events/`, derived from the event's file name — the same expectation the
//! name states (`rest-request-expired.json` → 401 with reason `expired`).
//! An event whose name states no known case is an error, never skipped:
//! whoever adds an event adds its case here (or names it after one).
//!
//! Used by the `sam-local-check` binary (`make sam-local`).

use std::fmt;

/// Which function an event is for, and what it must answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectation {
    /// The template's logical id of the function to invoke.
    pub function: &'static str,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// An authorizer event answered with a policy (REST) or simple response
    /// (HTTP API v2) that allows the event's own route.
    Allow,
    /// The authorizer fails with exactly `Unauthorized` (API Gateway: 401),
    /// logging this reason when the case names one.
    Unauthorized { reason: Option<&'static str> },
    /// The authorizer answers, but not for this route (API Gateway: 403).
    Deny { reason: Option<&'static str> },
    /// An `api-handler` proxy event answered with this status.
    Status(u16),
}

/// The authorizer event shapes, by file-name prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorizerEvent {
    /// `rest-request-*`: REST API REQUEST authorizer (policy response).
    RestRequest,
    /// `rest-token-*`: REST API TOKEN authorizer (policy response).
    RestToken,
    /// `http-v2-*`: HTTP API payload 2.0 (simple response `isAuthorized`).
    HttpV2,
}

impl AuthorizerEvent {
    pub fn of(file_name: &str) -> Option<(Self, &str)> {
        [
            ("rest-request-", Self::RestRequest),
            ("rest-token-", Self::RestToken),
            ("http-v2-", Self::HttpV2),
        ]
        .into_iter()
        .find_map(|(prefix, kind)| file_name.strip_prefix(prefix).map(|case| (kind, case)))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownCase {
    pub event: String,
    pub why: &'static str,
}

impl fmt::Display for UnknownCase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "no expectation for sample event {} ({}); name it after a known case or add \
             its case to devstack/src/sam_local.rs",
            self.event, self.why
        )
    }
}

/// The cases an authorizer event's name may end with (after its shape
/// prefix), most specific first: `admin-allow` before `allow`.
const AUTHORIZER_CASES: &[(&str, Outcome)] = &[
    // Valid tokens the route's rule accepts: a user's, an admin's on the
    // admin route, a token for another stage's ARN, a machine client's.
    ("allow", Outcome::Allow),
    ("admin-allow", Outcome::Allow),
    ("stage-allow", Outcome::Allow),
    ("machine-allow", Outcome::Allow),
    // Not a valid API token: 401.
    (
        "expired",
        Outcome::Unauthorized {
            reason: Some("expired"),
        },
    ),
    (
        "tampered",
        Outcome::Unauthorized {
            reason: Some("bad_signature"),
        },
    ),
    (
        "id-token",
        Outcome::Unauthorized {
            reason: Some("wrong_token_use"),
        },
    ),
    (
        "missing-header",
        Outcome::Unauthorized {
            reason: Some("malformed"),
        },
    ),
    // A valid token the route's rule refuses: 403.
    (
        "admin-denied",
        Outcome::Deny {
            reason: Some("insufficient_group"),
        },
    ),
];

/// `api-handler` proxy events (`events/api/`) by route, on an empty table:
/// the note the id-addressed events name does not exist.
const API_CASES: &[(&str, u16)] = &[
    ("health", 200),
    ("get-me", 200),
    ("get-notes", 200),
    ("post-notes", 201),
    ("post-notes-idempotent", 201),
    ("get-note", 404),
    ("put-note", 404),
    ("delete-note", 404),
    ("get-admin-user-notes", 200),
];

/// The expectation for `events/<dir>/<file_name>` (`dir` is `authorizer` or `api`).
pub fn expectation(dir: &str, file_name: &str) -> Result<Expectation, UnknownCase> {
    let unknown = |why| UnknownCase {
        event: format!("{dir}/{file_name}"),
        why,
    };
    let stem = file_name
        .strip_suffix(".json")
        .ok_or_else(|| unknown("not a .json file"))?;
    match dir {
        "authorizer" => {
            let (_, case) = AuthorizerEvent::of(stem)
                .ok_or_else(|| unknown("not rest-request-, rest-token- or http-v2-"))?;
            let outcome = AUTHORIZER_CASES
                .iter()
                .find(|(c, _)| *c == case)
                .map(|(_, o)| o.clone())
                .or_else(|| {
                    // Further refusals of valid tokens (machine tokens on user
                    // routes, …) state their 403 by the `-denied` suffix.
                    case.ends_with("-denied")
                        .then_some(Outcome::Deny { reason: None })
                })
                .ok_or_else(|| unknown("unknown authorizer case"))?;
            Ok(Expectation {
                function: "AuthorizerFunction",
                outcome,
            })
        }
        "api" => API_CASES
            .iter()
            .find(|(c, _)| *c == stem)
            .map(|&(_, status)| Expectation {
                function: "ApiHandlerFunction",
                outcome: Outcome::Status(status),
            })
            .ok_or_else(|| unknown("unknown api-handler route")),
        _ => Err(unknown("not under events/authorizer or events/api")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(dir: &str, name: &str) -> Outcome {
        expectation(dir, name).unwrap().outcome
    }

    #[test]
    fn every_case_suffix_maps_to_what_its_name_states() {
        let cases: &[(&str, Outcome)] = &[
            ("rest-request-allow.json", Outcome::Allow),
            ("rest-request-admin-allow.json", Outcome::Allow),
            ("http-v2-stage-allow.json", Outcome::Allow),
            ("rest-request-machine-allow.json", Outcome::Allow),
            ("rest-token-allow.json", Outcome::Allow),
            (
                "rest-token-expired.json",
                Outcome::Unauthorized {
                    reason: Some("expired"),
                },
            ),
            (
                "http-v2-expired.json",
                Outcome::Unauthorized {
                    reason: Some("expired"),
                },
            ),
            (
                "rest-request-tampered.json",
                Outcome::Unauthorized {
                    reason: Some("bad_signature"),
                },
            ),
            (
                "rest-request-id-token.json",
                Outcome::Unauthorized {
                    reason: Some("wrong_token_use"),
                },
            ),
            (
                "rest-token-missing-header.json",
                Outcome::Unauthorized {
                    reason: Some("malformed"),
                },
            ),
            (
                "rest-request-admin-denied.json",
                Outcome::Deny {
                    reason: Some("insufficient_group"),
                },
            ),
            (
                "rest-request-machine-denied.json",
                Outcome::Deny { reason: None },
            ),
        ];
        for (name, want) in cases {
            assert_eq!(&outcome("authorizer", name), want, "{name}");
            assert_eq!(
                expectation("authorizer", name).unwrap().function,
                "AuthorizerFunction"
            );
        }
        assert_eq!(outcome("api", "get-note.json"), Outcome::Status(404));
        assert_eq!(outcome("api", "post-notes.json"), Outcome::Status(201));
        assert_eq!(
            expectation("api", "health.json").unwrap().function,
            "ApiHandlerFunction"
        );
    }

    #[test]
    fn an_unknown_case_is_an_error_naming_the_event() {
        for (dir, name) in [
            ("authorizer", "rest-request-weird.json"),
            ("authorizer", "rest-request-allowed.json"),
            ("authorizer", "soap-allow.json"),
            ("authorizer", "rest-request-allow.yaml"),
            ("api", "post-signout.json"),
            ("other", "get-me.json"),
        ] {
            let e = expectation(dir, name).unwrap_err();
            assert!(
                e.to_string()
                    .starts_with(&format!("no expectation for sample event {dir}/{name}")),
                "{e}"
            );
        }
    }

    #[test]
    fn every_committed_event_has_an_expectation() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
        let mut seen = 0;
        for dir in ["authorizer", "api"] {
            for entry in std::fs::read_dir(root.join(dir)).unwrap() {
                let name = entry.unwrap().file_name().into_string().unwrap();
                if let Err(e) = expectation(dir, &name) {
                    panic!("{e}");
                }
                seen += 1;
            }
        }
        assert!(seen >= 20, "only {seen} events");
    }
}
