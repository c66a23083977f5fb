#!/usr/bin/env bash
# `make sam-local` (part of `make test`): the functions under SAM CLI in
# Docker, judged by devstack's sam-local-check (see its doc comment):
# every sample event through `sam local invoke`, then the end-to-end flow
# through `sam local start-api` with the Lambda authorizer and moto.
#
# No registry is needed: scripts/sam-local-image.sh builds the base image
# SAM runs provided.al2023 in from this host's files. Without a Docker
# engine this prints one loud SKIPPED line and succeeds.
#
# Usage: scripts/sam-local.sh [--no-build]   (--no-build: reuse .aws-sam/build
# from an x86_64 `sam build`, as `make test` does after the template checks)
set -euo pipefail
cd "$(dirname "$0")/.."

build=true
for arg in "$@"; do
  case $arg in
    --no-build) build=false ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done

if ! docker info >/dev/null 2>&1; then
  echo "SKIPPED: sam local (no Docker engine)"
  exit 0
fi
[[ $(uname -m) == x86_64 ]] ||
  { echo "sam-local: the image stand-in is built for x86_64 hosts only" >&2; exit 1; }

scripts/venv.sh --sam
export SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}
start=$SECONDS
if $build; then
  echo "==> sam build --parameter-overrides Architecture=x86_64"
  # As in `make test`: the check needs working binaries, not fat LTO.
  CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 PATH="$PWD/.venv/bin:$PATH" \
    .venv-sam/bin/sam build --parameter-overrides Architecture=x86_64
fi
echo "==> image stand-in for provided.al2023 (no registry)"
scripts/sam-local-image.sh x86_64

# moto on the Docker bridge's gateway address: reachable from the
# function containers (the default bridge network) and from this host.
# (Docker leaves Gateway out of the network's IPAM config when it chose the
# default; docker0's own address is that gateway then.)
gateway=$(docker network inspect bridge --format '{{range .IPAM.Config}}{{.Gateway}}{{end}}')
if [[ -z $gateway ]]; then
  gateway=$(ip -4 -o addr show docker0 2>/dev/null | awk '{split($4, a, "/"); print a[1]; exit}')
fi
[[ -n $gateway ]] || { echo "sam-local: cannot find the Docker bridge's gateway address" >&2; exit 1; }
echo "==> sam local invoke of every event, then sam local start-api (moto on $gateway)"
cargo build --quiet --locked -p devstack --bin sam-local-check
MOTO_HOST=$gateway scripts/with-moto.sh "${CARGO_TARGET_DIR:-target}/debug/sam-local-check" --root .
echo "    sam local took $((SECONDS - start)) s"
