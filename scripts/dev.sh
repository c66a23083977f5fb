#!/usr/bin/env bash
# `make dev`: the whole stack offline, no Docker — moto (Cognito, Cognito
# Identity, DynamoDB) on a free 127.0.0.1 port, provisioned from
# template.yaml; both functions as real binaries under `cargo lambda watch`;
# a local REST API gateway on 127.0.0.1:3000 (DEVSTACK_PORT). Ctrl-C stops
# all of it.
#
#   scripts/dev.sh            # serve until Ctrl-C
#   scripts/dev.sh --demo     # start, run the narrated demo, stop
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

"$root/scripts/venv.sh"
echo "==> building devstack, authorizer and api-handler (debug)" >&2
# One build per binary, exactly as `cargo lambda watch` builds them (each
# with its own feature set; devstack turns on the authorizer's `test-util`),
# so the first request does not wait for a rebuild.
cargo build --quiet --bin devstack
cargo build --quiet --bin authorizer
cargo build --quiet --bin api-handler
cargo build --quiet -p client --bin notes   # the client (make demo uses it)

# with-moto.sh stops moto when devstack exits (Ctrl-C included); devstack
# stops cargo lambda watch and the functions it started.
exec "$root/scripts/with-moto.sh" "${CARGO_TARGET_DIR:-$root/target}/debug/devstack" up \
  --port "${DEVSTACK_PORT:-3000}" --functions-port "${DEVSTACK_FUNCTIONS_PORT:-9000}" "$@"
