//! Known-answer test of the client's SRP computation (the `aws-cognito-srp`
//! crate as `notes login` drives it) against PyPI's `pycognito`: moto does
//! not check the SRP proof, so this is what shows a real pool would accept
//! it. `srp_reference.py` plays the server with pycognito's primitives and
//! first proves that server agrees with pycognito's own client.
//!
//! Needs `.venv-client` (`scripts/venv.sh --client`, run by `make test`).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use aws_cognito_srp::{SrpClient, User};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

fn python() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let py = root.join("../.venv-client/bin/python");
    assert!(
        py.exists(),
        "{} is missing: run scripts/venv.sh --client (make test does)",
        py.display()
    );
    py
}

fn reference(mode: &str, cases: &Value) -> Vec<Value> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/srp_reference.py");
    let mut child = Command::new(python())
        .arg(script)
        .arg(mode)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the pycognito reference");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(cases.to_string().as_bytes())
        .expect("write cases");
    let out = child.wait_with_output().expect("reference output");
    assert!(
        out.status.success(),
        "reference failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Vec<Value>>(&out.stdout).expect("reference JSON")
}

/// Varied inputs: odd-length salts, salts and server secrets with the high
/// bit set (the padding rules differ there), non-ASCII names and passwords.
fn cases() -> Vec<Value> {
    let users = [
        (
            "us-east-1_AbCdEf123",
            "3f1c2b7a-5d0e-4c9b-8a61-0f2e9d7c4b11",
        ),
        ("eu-west-2_Zz9", "zoë@example.com"),
        ("ap-southeast-1_q", "user name with spaces"),
        ("us-west-2_7aB", "ユーザー"),
    ];
    let passwords = ["Correct-Horse-Battery-9", "pässwörd 🙂 !", "x"];
    let salts = [
        "a1b2c3d4e5f60718293a4b5c6d7e8f90",
        "f0e1d2c3b4a5968778695a4b3c2d1e0f",
        "abc",
        "8",
    ];
    let mut out = Vec::new();
    let mut n = 0usize;
    for (pool, user) in users {
        for password in passwords {
            let salt = salts[n % salts.len()];
            // A 1024-bit server secret; every other one with the high bit set.
            let b: String = format!("{:x}", 0x8 | (n % 8)) + &"3c9e".repeat(63) + "d1f";
            let block: Vec<u8> = (0..=255u8).cycle().skip(n * 7).take(48 + n).collect();
            out.push(json!({
                "pool_id": pool,
                "user_id": user,
                "password": password,
                "salt": salt,
                "b": b,
                "secret_block": STANDARD.encode(block),
            }));
            n += 1;
        }
    }
    out
}

/// Our side of each case's exchange, against the reference server's B, with
/// the password `password` makes of the case's. A and the timestamp go into
/// the case (the reference signs over them); returns our
/// PASSWORD_CLAIM_SIGNATUREs in case order.
fn our_signatures(cases: &mut [Value], password: impl Fn(&str) -> String) -> Vec<String> {
    let bs = reference("server-b", &Value::Array(cases.to_vec()));
    let mut ours = Vec::new();
    for (case, b) in cases.iter_mut().zip(&bs) {
        let s = |k: &str| case[k].as_str().expect(k).to_owned();
        // The client id only enters the secret hash, and there is no secret.
        let srp = SrpClient::new(
            User::new(&s("pool_id"), &s("user_id"), &password(&s("password"))),
            "client-id",
            None,
        );
        let a = srp.get_auth_parameters().a;
        let v = srp
            .verify(
                &s("secret_block"),
                &s("user_id"),
                &s("salt"),
                b["B"].as_str().expect("B"),
            )
            .expect("SRP verify");
        assert_eq!(v.password_claim_secret_block, s("secret_block"));
        case["A"] = json!(a);
        case["timestamp"] = json!(v.timestamp);
        ours.push(v.password_claim_signature);
    }
    ours
}

#[test]
fn srp_password_claim_matches_pycognito() {
    let mut cases = cases();
    let ours = our_signatures(&mut cases, str::to_owned);
    let expected = reference("expected", &Value::Array(cases.clone()));
    for ((case, sig), want) in cases.iter().zip(&ours).zip(&expected) {
        assert_eq!(
            Some(sig.as_str()),
            want["signature"].as_str(),
            "PASSWORD_CLAIM_SIGNATURE differs for user {} / password #{}",
            case["user_id"],
            case["password"].as_str().map_or(0, str::len)
        );
    }
}

#[test]
fn srp_password_claim_fails_with_the_wrong_password() {
    // The same exchange, but the client holds another password: the
    // server's expected signature must not match (the test can fail).
    let mut cases: Vec<Value> = cases().into_iter().take(3).collect();
    let ours = our_signatures(&mut cases, |p| format!("{p}-not"));
    let expected = reference("expected", &Value::Array(cases));
    for (sig, want) in ours.iter().zip(&expected) {
        assert_ne!(Some(sig.as_str()), want["signature"].as_str());
    }
}

#[test]
fn timestamp_has_cognitos_format() {
    // `Tue Dec 1 19:40:50 UTC 2026`: day without zero padding.
    let srp = SrpClient::new(User::new("us-east-1_A", "u", "p"), "c", None);
    let v = srp
        .verify(&STANDARD.encode(b"block"), "u", "ab", "1f")
        .expect("verify");
    let parts: Vec<&str> = v.timestamp.split(' ').collect();
    assert_eq!(parts.len(), 6, "{}", v.timestamp);
    assert!(!parts[2].starts_with('0'), "{}", v.timestamp);
    assert_eq!(parts[4], "UTC");
}
