# The two commands a newcomer needs:
#   make dev    the whole stack offline (moto + both functions + a local REST API gateway)
#   make test   every test, with the services they need started and stopped here
# CI runs `bash .ci/run`, which calls `make test`.

.PHONY: dev demo test lint unit check-template sam-local events bench build clean-dev schemathesis fuzz

dev:
	scripts/dev.sh

demo:
	scripts/demo.sh

test:
	scripts/test.sh

# Formatting and lints only (part of `make test`).
lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

# cfn-lint, sam validate --lint and sam build of template.yaml (part of `make test`).
check-template:
	scripts/check-template.sh --build

# sam build (x86_64), then every sample event through `sam local invoke` and
# the sign-in -> API flow through `sam local start-api`, in Docker with a
# locally built image stand-in (part of `make test`; skipped without Docker).
sam-local:
	scripts/sam-local.sh

# Regenerate events/ (tokens signed with the in-repo development key).
events:
	cargo run --quiet -p devstack --bin gen-events

# Criterion benches of both functions (ratios printed at the end), then the
# authorizer's cold start and peak RSS as a release binary.
bench:
	scripts/venv.sh
	cargo bench -p authorizer
	cargo bench -p api-handler
	cargo build --release -p authorizer --bin authorizer
	.venv/bin/python authorizer/benches/cold_start.py target/release/authorizer 10

# Release build for deployment (sam build calls cargo lambda). On a machine
# that can only build x86_64:  make build SAM_BUILD_FLAGS="--parameter-overrides Architecture=x86_64"
SAM_BUILD_FLAGS ?=
build:
	scripts/venv.sh --sam
	SAM_CLI_TELEMETRY=0 PATH="$$PWD/.venv/bin:$$PATH" .venv-sam/bin/sam build $(SAM_BUILD_FLAGS)

# schemathesis (pinned, .venv-schemathesis) against the offline stack with a
# signed-in user's token (part of `make test`). ST_MAX_TIME=600 for longer.
schemathesis:
	scripts/schemathesis.sh

# Every cargo-fuzz target for FUZZ_SECONDS each (default 300; `make test`
# runs each for 20 s). One target: scripts/fuzz.sh 3600 verifier
FUZZ_SECONDS ?= 300
fuzz:
	scripts/fuzz.sh $(FUZZ_SECONDS)
