#!/usr/bin/env python3
"""Cold start of the RELEASE authorizer binary, measured against a fake
Lambda Runtime API on 127.0.0.1 (no network beyond loopback, JWKS embedded).

Reports: process start -> first /next (init done), process start -> first
decision posted, and peak RSS (VmHWM) after the first decision. Then checks
that a malformed AUTH_RULES makes the binary report /init/error with a
readable message and exit non-zero, never polling for events.

    cargo build --release -p authorizer --bin authorizer
    python3 authorizer/benches/cold_start.py [target/release/authorizer] [runs]
"""
import base64, json, os, subprocess, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

POOL, CLIENT, NOW = "us-east-1_ColdPool", "cold-client", int(time.time())


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def int_b64(i):
    return b64(i.to_bytes((i.bit_length() + 7) // 8, "big"))


key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
pub = key.public_key().public_numbers()
jwks = {"keys": [{"kty": "RSA", "kid": "cold-1", "alg": "RS256", "use": "sig", "n": int_b64(pub.n), "e": int_b64(pub.e)}]}
header = {"kid": "cold-1", "alg": "RS256"}
claims = {"sub": "cold-user", "iss": f"https://cognito-idp.us-east-1.amazonaws.com/{POOL}", "client_id": CLIENT,
          "token_use": "access", "scope": "notes/read", "auth_time": NOW, "iat": NOW, "exp": NOW + 3600,
          "jti": "j", "origin_jti": "o", "username": "cold-user"}
signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
sig = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
token = f"{signing_input}.{b64(sig)}"
event = {"type": "REQUEST", "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/notes",
         "headers": {"Authorization": f"Bearer {token}"}, "requestContext": {"requestId": "cold-req"}}


class Api(BaseHTTPRequestHandler):
    state = None

    def log_message(self, *a):
        pass

    def do_GET(self):
        st = Api.state
        if self.path.endswith("/invocation/next"):
            st["nexts"] += 1
            if st["nexts"] == 1:
                st["t_next"] = time.perf_counter()
                body = json.dumps(event).encode()
                self.send_response(200)
                self.send_header("Lambda-Runtime-Aws-Request-Id", "cold-req")
                self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 3000))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:a")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            else:
                st["second_next"].set()
                st["release"].wait(10)
                self.send_response(500)
                self.end_headers()

    def do_POST(self):
        st = Api.state
        n = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(n)
        if "/response" in self.path:
            st["t_resp"] = time.perf_counter()
            st["response"] = json.loads(body)
        elif "/init/error" in self.path or "/error" in self.path:
            st["error"] = (self.path, self.headers.get("Lambda-Runtime-Function-Error-Type"), json.loads(body or b"{}"))
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()


def run(binary, extra_env):
    Api.state = {"nexts": 0, "second_next": threading.Event(), "release": threading.Event()}
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    env = {"PATH": os.environ.get("PATH", ""), "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{srv.server_port}",
           "AWS_LAMBDA_FUNCTION_NAME": "authorizer", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
           "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "USER_POOL_ID": POOL, "APP_CLIENT_IDS": CLIENT,
           "JWKS_JSON": json.dumps(jwks), "RUST_LOG": "info"}
    env.update(extra_env)
    t0 = time.perf_counter()
    p = subprocess.Popen([binary], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    st = Api.state
    st["second_next"].wait(5)
    hwm = None
    try:
        for line in open(f"/proc/{p.pid}/status"):
            if line.startswith("VmHWM"):
                hwm = int(line.split()[1])
    except FileNotFoundError:
        pass
    st["release"].set()
    try:
        p.wait(5)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    out, err = p.communicate()
    srv.shutdown()
    return t0, st, hwm, p.returncode, out.decode(), err.decode()


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "target/release/authorizer"
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    rules = '[{"route":"GET /notes","scopes_any":["notes/read"]},{"route":"ANY /admin/*","groups_any":["admin"]}]'
    inits, firsts, hwms = [], [], []
    for _ in range(runs):
        t0, st, hwm, rc, out, err = run(binary, {"AUTH_RULES": rules})
        assert "t_resp" in st, f"no decision (rc={rc}) stdout={out} stderr={err}"
        assert st["response"]["policyDocument"]["Statement"][0]["Effect"] == "Allow", st["response"]
        assert token not in out + err, "token leaked into logs"
        inits.append((st["t_next"] - t0) * 1e3)
        firsts.append((st["t_resp"] - t0) * 1e3)
        hwms.append(hwm)
    inits.sort(); firsts.sort()
    print(f"binary: {binary} ({os.path.getsize(binary) / 1048576:.1f} MiB), {runs} runs")
    print(f"  start -> init done (first /next): median {inits[len(inits) // 2]:.2f} ms, min {inits[0]:.2f} ms")
    print(f"  start -> first decision posted  : median {firsts[len(firsts) // 2]:.2f} ms, min {firsts[0]:.2f} ms")
    print(f"  peak RSS (VmHWM) after first decision: max {max(hwms) / 1024:.2f} MiB (target <= 10 MiB)")
    print(f"  decision log line: {out.strip().splitlines()[-1] if out.strip() else err.strip().splitlines()[-1]}")

    t0, st, hwm, rc, out, err = run(binary, {"AUTH_RULES": '[{"route":"GET /a","scope":["x"]}]'})
    assert st["nexts"] == 0, "a misconfigured function must never poll for events"
    assert rc != 0, "must exit non-zero"
    path, etype, body = st["error"]
    assert path.endswith("/runtime/init/error") and etype == "Runtime.InitError", st["error"]
    assert "AUTH_RULES[0]: unknown field `scope`" in body["errorMessage"], body
    print(f"  bad AUTH_RULES: exit {rc}, POST {path} errorMessage={body['errorMessage']!r}")


if __name__ == "__main__":
    main()
