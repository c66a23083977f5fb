#!/usr/bin/env bash
# `make schemathesis` (and part of `make test`): schemathesis (pinned, its own
# .venv-schemathesis) against the offline stack — moto, both functions under
# cargo lambda watch, the local REST gateway — with a signed-in user's access
# token. Fails on any 5xx, any response that does not match openapi.yaml,
# and any broken stateful link (create → get → update with ETag → delete).
#
#   scripts/schemathesis.sh                 # about a minute of testing
#   ST_MAX_TIME=600 scripts/schemathesis.sh # longer
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
target=${CARGO_TARGET_DIR:-$root/target}
max_time=${ST_MAX_TIME:-60}
max_examples=${ST_MAX_EXAMPLES:-25}
# The coverage phase is off by default: on Python 3.11.7 (Debian's) it stops
# with CPython's "AST constructor recursion depth mismatch" inside
# hypothesis, a tool failure rather than a finding. ST_PHASES=… to choose.
phases=${ST_PHASES:-examples,fuzzing,stateful}

step() { printf '==> schemathesis: %s\n' "$*" >&2; }

scripts/venv.sh --schemathesis
step "building devstack, authorizer and api-handler (debug)"
cargo build --quiet --bin devstack
cargo build --quiet --bin authorizer
cargo build --quiet --bin api-handler

state=$(mktemp -d -t schemathesis.XXXXXX)
chmod 700 "$state"
stack_log=$state/stack.log
# Its own process group, so one signal stops moto, devstack and the functions.
set -m
info=$root/.devstack/stack.json
rm -f "$info"
scripts/with-moto.sh "$target/debug/devstack" --root "$root" up --port 0 --functions-port 0 >"$stack_log" 2>&1 &
stack_pid=$!
set +m
cleanup() {
  kill -INT -- -"$stack_pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$stack_pid" 2>/dev/null || break; sleep 0.1; done
  kill -TERM -- -"$stack_pid" 2>/dev/null || true
  rm -rf "$state"
}
trap cleanup EXIT INT TERM

step "starting the offline stack"
read_url() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["apiUrl"])' "$info" 2>/dev/null; }
api_url=
for _ in $(seq 1 600); do
  api_url=$(read_url) && break
  if ! kill -0 "$stack_pid" 2>/dev/null; then
    echo "the offline stack did not start:" >&2; cat "$stack_log" >&2; exit 1
  fi
  sleep 0.2
done
[[ -n $api_url ]] || { echo "the offline stack did not start in 120 s:" >&2; cat "$stack_log" >&2; exit 1; }
step "stack up at $api_url"

# A fresh user; the tokens go to a private file, never to the terminal.
email="schemathesis-$$@example.com"
password="Schemathesis-Pass-$RANDOM-9a"
"$target/debug/devstack" --root "$root" signup --email "$email" --password "$password" >/dev/null
# In the admin group, so GET /admin/users/{sub}/notes is exercised past its 403.
"$target/debug/devstack" --root "$root" add-to-group --email "$email" --group admin >/dev/null
(umask 077; "$target/debug/devstack" --root "$root" signin --email "$email" --password "$password" >"$state/tokens.env")
# shellcheck disable=SC1091
source "$state/tokens.env"
export ACCESS_TOKEN
unset ID_TOKEN REFRESH_TOKEN

# Wait until both functions answer (cargo lambda watch starts them on the
# first invocation); the header is read from a private file, not argv.
printf 'Authorization: Bearer %s\n' "$ACCESS_TOKEN" >"$state/auth.header"
step "warming up the functions"
for _ in $(seq 1 120); do
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 -H @"$state/auth.header" "$api_url/me" || true)
  [[ $code == 200 ]] && break
  sleep 1
done
[[ $code == 200 ]] || { echo "GET /me never answered 200 (last: $code)" >&2; tail -n 50 "$stack_log" >&2; exit 1; }

step "running (phases $phases; at most ${max_time} s)"
# Every check runs (scripts/schemathesis.toml) except, and why:
# - unsupported_method: API Gateway only forwards the methods a route declares
#   and answers any other with its MISSING_AUTHENTICATION_TOKEN response (404
#   in template.yaml), not 405; the handler's own 405 is unit-tested.
# - ensure_resource_availability: schemathesis reuses short Idempotency-Key
#   values across scenarios, and a replay answers the first 201 again by
#   design, also after that note was deleted (README, Idempotency-Key);
#   use_after_free and the links still check create → get → put → delete.
status=0
.venv-schemathesis/bin/st --config-file scripts/schemathesis.toml run openapi.yaml \
  --url "$api_url" \
  --phases "$phases" \
  --max-examples "$max_examples" --max-time "$max_time" \
  --workers 2 --seed 20261203 --no-color --request-timeout 30 --output-truncate true \
  --report junit --report-dir "$state/report" || status=$?
if [[ $status -ne 0 ]]; then
  echo "schemathesis found problems (above); the stack's log:" >&2
  tail -n 50 "$stack_log" >&2
fi
exit "$status"
