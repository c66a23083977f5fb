//! AUTH_RULES. Properties: the authorizer either starts, or refuses with a
//! message naming AUTH_RULES; a started one answers the sample allow event
//! with a decision or a 401, never an internal error or a panic.
#![no_main]

use authorizer::handler::{Authorizer, AuthorizerError};
use libfuzzer_sys::fuzz_target;
use notes_fuzz::{authz, block_on};

const ALLOW: &str = include_str!("../../events/authorizer/rest-request-allow.json");

fuzz_target!(|data: &[u8]| {
    let Ok(rules) = std::str::from_utf8(data) else {
        return;
    };
    let mut env = authz::env();
    env.insert("AUTH_RULES".into(), rules.to_owned());
    match Authorizer::from_lookup(|k| env.get(k).cloned(), authz::clock()) {
        Err(e) => assert!(
            e.to_string().contains("AUTH_RULES"),
            "refused without naming AUTH_RULES: {e}"
        ),
        Ok(a) => match block_on(a.handle_json(ALLOW.as_bytes(), None)) {
            Ok(_) | Err(AuthorizerError::Unauthorized) => {}
            Err(e) => panic!("rules {rules:?} make a valid event fail: {e}"),
        },
    }
});
