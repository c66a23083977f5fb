"""Reference side of the SRP known-answer test (client/tests/srp.rs).

Plays the Cognito *server* of the SRP exchange with pycognito's own
primitives (pycognito is an independent client implementation on PyPI),
and first checks that this server agrees with pycognito's client, so that
the Rust client is judged against pycognito, not against this file.

  python srp_reference.py server-b  < cases.json   -> [{"B": hex}, ...]
  python srp_reference.py expected  < cases.json   -> [{"signature": b64}, ...]

Each case: pool_id, user_id, password, salt (hex), b (hex, server secret),
secret_block (base64); for `expected` also A (hex, the client's public
value) and timestamp (the client's TIMESTAMP).
"""
import base64
import hashlib
import hmac
import json
import sys

from pycognito.aws_srp import (
    AWSSRP,
    G_HEX,
    N_HEX,
    calculate_u,
    compute_hkdf,
    hash_sha256,
    hex_hash,
    hex_to_long,
    long_to_hex,
    pad_hex,
)

N = hex_to_long(N_HEX)
G = hex_to_long(G_HEX)
K = hex_to_long(hex_hash("00" + N_HEX + "0" + G_HEX))


def verifier(case):
    pool_name = case["pool_id"].split("_")[1]
    inner = hash_sha256(f"{pool_name}{case['user_id']}:{case['password']}".encode("utf-8"))
    x = hex_to_long(hex_hash(pad_hex(case["salt"]) + inner))
    return pow(G, x, N)


def server_b(case):
    v = verifier(case)
    return (K * v + pow(G, hex_to_long(case["b"]), N)) % N


def server_signature(case, big_a, timestamp):
    """What a server that knows the verifier expects from a client with A."""
    big_b = server_b(case)
    u = calculate_u(big_a, big_b)
    v = verifier(case)
    s = pow(big_a * pow(v, u, N), hex_to_long(case["b"]), N)
    key = compute_hkdf(
        bytearray.fromhex(pad_hex(s)), bytearray.fromhex(pad_hex(long_to_hex(u)))
    )
    msg = (
        case["pool_id"].split("_")[1].encode("utf-8")
        + case["user_id"].encode("utf-8")
        + base64.standard_b64decode(case["secret_block"])
        + timestamp.encode("utf-8")
    )
    return base64.standard_b64encode(hmac.new(key, msg, hashlib.sha256).digest()).decode()


def pycognito_agrees(case):
    """pycognito's client, with a fixed secret a, must satisfy this server."""
    srp = AWSSRP(
        username=case["user_id"],
        password=case["password"],
        pool_id=case["pool_id"],
        client_id="reference",
        client=object(),  # never called: no AWS request is made here
    )
    srp.small_a_value = hex_to_long("7" * 256) % N
    srp.large_a_value = srp.calculate_a()
    big_b = server_b(case)
    resp = srp.process_challenge(
        {
            "USER_ID_FOR_SRP": case["user_id"],
            "SALT": case["salt"],
            "SRP_B": long_to_hex(big_b),
            "SECRET_BLOCK": case["secret_block"],
        },
        {"USERNAME": case["user_id"]},
    )
    want = server_signature(case, srp.large_a_value, resp["TIMESTAMP"])
    if resp["PASSWORD_CLAIM_SIGNATURE"] != want:
        sys.exit(f"reference server disagrees with pycognito for user {case['user_id']!r}")


def main():
    mode = sys.argv[1]
    cases = json.load(sys.stdin)
    out = []
    for case in cases:
        pycognito_agrees(case)
        if mode == "server-b":
            out.append({"B": long_to_hex(server_b(case))})
        elif mode == "expected":
            out.append(
                {"signature": server_signature(case, hex_to_long(case["A"]), case["timestamp"])}
            )
        else:
            sys.exit(f"unknown mode {mode}")
    json.dump(out, sys.stdout)


main()
