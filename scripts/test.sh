#!/usr/bin/env bash
# `make test`: every check and test of the project, in the order that fails
# fastest. Starts moto on a free loopback port for the tests that need it and
# stops it afterwards (scripts/with-moto.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export SAM_CLI_TELEMETRY=0
export PATH="$PWD/.venv/bin:$PATH"   # cargo-lambda (and its zig) for the tests and sam build

step() { printf '\n==> %s\n' "$*" >&2; }
start=$SECONDS

step "Python tools (moto, cargo-lambda, cfn-lint, aws-sam-cli, checkov, pycognito) in .venv / .venv-sam / .venv-checkov / .venv-client"
scripts/venv.sh --sam --checkov --client

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "template checks: cfn-lint, sam validate --lint, checkov, sam build (x86_64, then arm64)"
# The build check proves that SAM and cargo-lambda turn the template into
# both bootstrap artifacts; it need not pay for fat LTO on every test run
# (a deployment build, `make build` or `sam build`, uses the real profile).
CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
  scripts/check-template.sh --build

step "sam local: every sample event through sam local invoke, the flow through sam local start-api (Docker)"
# Reuses the x86_64 build above; prints one SKIPPED line without a Docker engine.
scripts/sam-local.sh --no-build

step "cargo test --workspace (moto on 127.0.0.1)"
scripts/with-moto.sh cargo test --workspace --locked --no-fail-fast

step "schemathesis against the offline stack (openapi.yaml; about 2 minutes)"
scripts/schemathesis.sh

step "fuzz targets, 20 s each (fuzz/; the first run builds them, a few minutes)"
scripts/fuzz.sh 20

step "all checks passed in $((SECONDS - start)) s"
