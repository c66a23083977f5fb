#!/usr/bin/env bash
# Checks template.yaml offline:
#   1. cfn-lint with the default parameters (Cognito sign-in only),
#   2. cfn-lint with every federation parameter set (and the other
#      conditions flipped: prod stage, x86_64, no account logging role, MFA
#      off, reserved concurrency, alarm e-mail, SES sender),
#   3. sam validate --lint,
#   3b. checkov (CloudFormation checks; every skip is justified in the
#      skipped resource's Metadata, next to it),
#   4. with --build: sam build for x86_64 (release build of both functions
#      through cargo-lambda; slow on a small machine) and a check that each
#      artifact is an x86-64 ELF named bootstrap; then the template's default,
#      arm64 (cargo-lambda cross-compiles with zig, aws-lc included), into
#      .aws-sam/build-arm64, each artifact an AArch64 ELF. The x86_64 build
#      stays in .aws-sam/build for `make sam-local`.
# Any cfn-lint finding (error, warning or informational) fails the check.
# Outputs go to .aws-sam/ (gitignored). Usage: scripts/check-template.sh [--build]
set -euo pipefail
cd "$(dirname "$0")/.."

build=false
for arg in "$@"; do
  case $arg in
    --build) build=true ;;
    -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg (try --help)" >&2; exit 2 ;;
  esac
done

scripts/venv.sh --sam --checkov
export SAM_CLI_TELEMETRY=0
# sam and cfn-lint need a region to pick the resource specs; nothing is
# sent to AWS.
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}

echo "==> cfn-lint template.yaml (default parameters)"
.venv/bin/cfn-lint template.yaml

echo "==> cfn-lint template.yaml (every identity provider configured)"
# cfn-lint 1.x resolves !Ref/!If against --parameters instead of the
# defaults, so the conditional providers and their references are checked
# with values present. The values are placeholders of the right shape.
.venv/bin/cfn-lint template.yaml --parameters \
  Stage=prod Architecture=x86_64 ConfigureApiGatewayAccount=false Mfa=OFF \
  AuthorizerReservedConcurrency=100 AlarmEmail=ops@example.com \
  SesSourceArn=arn:aws:ses:us-east-1:123456789012:identity/example.com \
  SesFromAddress=no-reply@example.com \
  DomainPrefix=notes-example CorsAllowOrigin=https://app.example.com \
  CallbackUrls=https://app.example.com/callback LogoutUrls=https://app.example.com/ \
  GoogleClientId=1234567890-example.apps.googleusercontent.com GoogleClientSecret=google-secret \
  FacebookAppId=1234567890 FacebookAppSecret=facebook-secret \
  AppleServicesId=com.example.notes.web AppleTeamId=ABCDE12345 AppleKeyId=KEY1234567 \
  ApplePrivateKey=apple-private-key \
  SamlProviderName=CorpSAML SamlMetadataUrl=https://idp.example.com/saml/metadata \
  OidcProviderName=CorpOIDC OidcIssuer=https://login.example.com OidcClientId=oidc-client \
  OidcClientSecret=oidc-secret

echo "==> sam validate --lint"
.venv-sam/bin/sam validate --lint --template template.yaml

check_artifacts() { # build-dir e_machine-hex name
  for fn in AuthorizerFunction ApiHandlerFunction; do
    artifact=$1/$fn/bootstrap
    [[ -x $artifact ]] || { echo "missing $artifact" >&2; exit 1; }
    # ELF magic, and e_machine (offset 18, little-endian): 0x3e x86-64, 0xb7 AArch64.
    magic=$(od -An -tx1 -N4 "$artifact" | tr -d ' \n')
    machine=$(od -An -tx1 -j18 -N2 "$artifact" | tr -d ' \n')
    [[ $magic == 7f454c46 && $machine == "$2" ]] ||
      { echo "$artifact is not an $3 ELF (magic $magic, machine $machine)" >&2; exit 1; }
    echo "    $artifact: $3 ELF, $(wc -c <"$artifact") bytes"
  done
}

echo "==> checkov"
# --skip-download: the checks ship in the package; nothing is fetched.
.venv-checkov/bin/checkov --file template.yaml --framework cloudformation --compact --quiet \
  --skip-download

if $build; then
  # The rust-cargolambda workflow runs `cargo lambda` (from .venv, which
  # also provides zig for the cross-linker).
  echo "==> sam build --parameter-overrides Architecture=x86_64"
  start=$(date +%s)
  PATH="$PWD/.venv/bin:$PATH" .venv-sam/bin/sam build --parameter-overrides Architecture=x86_64
  echo "    sam build (x86_64) took $(($(date +%s) - start)) s"
  check_artifacts .aws-sam/build 3e00 x86-64

  echo "==> sam build (the default, arm64; zig cross-compile — the slowest step)"
  # The target's standard library, installed before SAM builds the two
  # functions (cargo-lambda would install it per build, racing itself).
  # rustup fetches it from the Rust distribution server; where that is not
  # reachable and it is not installed, the arm64 build is skipped, loudly.
  if rustup target list --installed 2>/dev/null | grep -q '^aarch64-unknown-linux-gnu$' ||
    rustup target add aarch64-unknown-linux-gnu; then
    start=$(date +%s)
    PATH="$PWD/.venv/bin:$PATH" .venv-sam/bin/sam build --build-dir .aws-sam/build-arm64
    echo "    sam build (arm64) took $(($(date +%s) - start)) s"
    check_artifacts .aws-sam/build-arm64 b700 AArch64
  else
    echo "SKIPPED: arm64 sam build (the aarch64-unknown-linux-gnu standard library is not installed and rustup cannot fetch it)"
  fi
fi
echo "template checks passed"
