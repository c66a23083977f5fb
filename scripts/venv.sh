#!/usr/bin/env bash
# Creates the project-local Python environments once (and again only when a
# requirements file changes). Usage: scripts/venv.sh [--sam] [--client]
set -euo pipefail
cd "$(dirname "$0")/.."

ensure() { # dir requirements-file
  local dir=$1 req=$2 stamp=$1/.installed
  if [[ -f $stamp ]] && cmp -s "$req" "$stamp"; then
    return 0
  fi
  echo "==> installing $(grep -v '^#' "$req" | xargs) into $dir (once; about a minute)" >&2
  python3 -m venv "$dir"
  "$dir/bin/pip" install --quiet --disable-pip-version-check --upgrade pip >&2
  "$dir/bin/pip" install --quiet --disable-pip-version-check -r "$req" >&2
  cp "$req" "$stamp"
}

ensure .venv requirements-dev.txt
for arg in "$@"; do
  case $arg in
    --sam) ensure .venv-sam requirements-sam.txt ;;
    # pycognito for the client's SRP known-answer test.
    --client) ensure .venv-client requirements-client.txt ;;
    *) echo "venv.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done
