#!/usr/bin/env bash
# Set up csqa on a fresh machine: a virtual environment in .venv with csqa installed (editable).
#   scripts/bootstrap.sh           the app and its command line
#   scripts/bootstrap.sh --test    plus the test tools (pytest, hypothesis, playwright) and Chromium
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
# the versions the tests last passed with (constraints.txt; scripts/update_constraints.sh refreshes it)
if [ "${1:-}" = "--test" ]; then
  .venv/bin/python -m pip install --quiet -c constraints.txt -e '.[test]'
  if [ -f scripts/install_browser.sh ]; then bash scripts/install_browser.sh; fi
else
  .venv/bin/python -m pip install --quiet -c constraints.txt -e .
fi
echo "csqa is installed in .venv ($(.venv/bin/csqa --version))" >&2
