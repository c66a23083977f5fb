#!/usr/bin/env bash
# `make demo`: the seed's flow, narrated — against the stack `make dev` is
# running, or, when none is running, against a fresh one started (and
# stopped) for the occasion.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

state=.devstack/stack.json
if [[ -f $state ]]; then
  api=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["apiUrl"])' "$state")
  if curl -fs "$api/health" >/dev/null 2>&1; then
    cargo build --quiet -p devstack --bin devstack
    cargo build --quiet -p client --bin notes   # the demo's user side
    exec "${CARGO_TARGET_DIR:-$root/target}/debug/devstack" demo
  fi
fi
echo "==> no running stack (make dev); starting one for the demo" >&2
DEVSTACK_PORT=${DEVSTACK_PORT:-0} DEVSTACK_FUNCTIONS_PORT=${DEVSTACK_FUNCTIONS_PORT:-0} \
  exec "$root/scripts/dev.sh" --demo
