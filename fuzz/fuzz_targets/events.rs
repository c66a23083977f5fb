//! The authorizer's handler over raw event bytes (REST TOKEN, REST REQUEST,
//! HTTP API v2). Properties: never panics; answers JSON; any answer at all
//! (an Allow, or a policy) only for an event whose token the development key
//! signed — everything else is an error (401/500), never a decision.
#![no_main]

use authorizer::event::AuthorizerEvent;
use libfuzzer_sys::fuzz_target;
use notes_fuzz::{authz, block_on};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(out) = block_on(authz::authorizer().handle_json(data, None)) else {
        return;
    };
    let answer: Value = serde_json::from_str(&out).expect("answer is JSON");
    let event = AuthorizerEvent::parse(data).expect("answered an event the parser refuses");
    let token = event
        .credential()
        .token()
        .expect("answered an event without a token");
    assert!(
        authz::signed_by_key(token),
        "decided on a token the key did not sign: {answer}"
    );
});
