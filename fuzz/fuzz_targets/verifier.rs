//! The verifier with the development key and a fixed clock. Property: it
//! never accepts a token the corpus signing key did not produce, byte for
//! byte (so no other key, no re-encoded signature, no edited segment).
#![no_main]

use authorizer::claims::TokenUse;
use libfuzzer_sys::fuzz_target;
use notes_fuzz::{authz, block_on};

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    for expected in [TokenUse::Access, TokenUse::Id] {
        if let Ok(claims) = block_on(authz::verifier().verify(token, expected)) {
            assert!(
                authz::signed_by_key(token),
                "accepted a token the key did not sign: {token:?}"
            );
            assert!(!claims.sub.is_empty());
        }
    }
});
