//! authorizer::strict_json::parse_json_object. Properties: whatever it
//! accepts, serde_json accepts as the same object; it accepts exactly the
//! objects without a repeated key at any depth, as decided by an
//! independently written checker (api-handler's unique-key reader).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let strict = authorizer::strict_json::parse_json_object(data);
    let unique = api_handler::json::parse_unique(data);
    match strict {
        Ok(m) => {
            let plain: Value =
                serde_json::from_slice(data).expect("strict accepted, serde_json did not");
            assert_eq!(
                plain,
                Value::Object(m.clone()),
                "strict and serde_json read different objects"
            );
            assert_eq!(
                unique,
                Ok(Value::Object(m)),
                "strict accepted a repeated key"
            );
        }
        Err(_) => assert!(
            !matches!(unique, Ok(Value::Object(_))),
            "strict refused an object with unique keys that serde_json reads"
        ),
    }
});
