#!/usr/bin/env bash
# Refresh constraints.txt: the exact versions of every distribution csqa and its test tools install, resolved
# afresh from the package index in a throwaway virtualenv. scripts/bootstrap.sh (the README's two commands, and
# so CI) installs with `-c constraints.txt`, so every machine runs the set the tests last passed on.
#   scripts/update_constraints.sh        then run the tests (.ci/run) and commit constraints.txt with the result
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$PY" -m venv "$tmp/v"
"$tmp/v/bin/python" -m pip install --quiet --upgrade pip
"$tmp/v/bin/python" -m pip install --quiet '.[test]'
{
  echo "# The versions the tests passed with (scripts/update_constraints.sh wrote this; scripts/bootstrap.sh installs them)."
  echo "# Python $("$tmp/v/bin/python" -c 'import platform; print(platform.python_version())'), $(date -u +%Y-%m-%d)."
  # csqa itself (installed from this folder: `csqa @ file://…`), pip's own tools and pip's comment lines are not pins
  "$tmp/v/bin/python" -m pip freeze --all | grep -v -i -E '^(csqa|pip|setuptools|wheel)( @|==)|^#|^-e '
} > constraints.txt
echo "constraints.txt: $(grep -c '==' constraints.txt) pins" >&2
