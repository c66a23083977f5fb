#!/usr/bin/env bash
# Runs a command with a fresh moto server (Cognito IdP, Cognito Identity,
# DynamoDB) on 127.0.0.1 (or on MOTO_HOST, e.g. the Docker bridge's gateway
# for `make sam-local`), and stops the server afterwards, whatever happens.
#
#   scripts/with-moto.sh cargo test --workspace
#
# The command sees MOTO_ENDPOINT (e.g. http://127.0.0.1:43121), the standard
# AWS_ENDPOINT_URL pointing at it, and dummy credentials, so the real AWS SDK
# talks to moto with no custom endpoint code.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/venv.sh"

host=${MOTO_HOST:-127.0.0.1}
# Ask the kernel for a free port.
port=$(python3 -c 'import socket,sys; s=socket.socket(); s.bind((sys.argv[1],0)); print(s.getsockname()[1]); s.close()' "$host")
log=$(mktemp -t moto.XXXXXX.log)
"$root/.venv/bin/moto_server" -H "$host" -p "$port" >"$log" 2>&1 &
moto_pid=$!
cleanup() {
  kill "$moto_pid" 2>/dev/null || true
  wait "$moto_pid" 2>/dev/null || true
  rm -f "$log"
}
trap cleanup EXIT INT TERM

for _ in $(seq 1 100); do
  if curl -fs "http://$host:$port/moto-api/" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$moto_pid" 2>/dev/null; then
    echo "moto server failed to start:" >&2; cat "$log" >&2; exit 1
  fi
  sleep 0.1
done
echo "==> moto server on http://$host:$port" >&2

export MOTO_ENDPOINT="http://$host:$port"
export AWS_ENDPOINT_URL="$MOTO_ENDPOINT"
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-testing}
export AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-testing}
export AWS_REGION=${AWS_REGION:-us-east-1}
export AWS_DEFAULT_REGION=$AWS_REGION
"$@"
