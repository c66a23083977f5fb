#!/usr/bin/env bash
# Creates the project-local Python environments once (and again only when a
# requirements file changes). Usage: scripts/venv.sh [--sam] [--client] [--schemathesis] [--fuzz] [--checkov]
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
# Each tool in its own venv: their dependencies never move .venv's pins.
for flag in "$@"; do
  case $flag in
    --sam | --client | --schemathesis | --fuzz | --checkov)
      ensure ".venv-${flag#--}" "requirements-${flag#--}.txt" ;;
    *) echo "venv.sh: unknown flag $flag (use --sam, --client, --schemathesis, --fuzz, --checkov)" >&2; exit 2 ;;
  esac
done
