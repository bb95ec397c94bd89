#!/usr/bin/env bash
# ruff (lint and format check) and pylint-odoo on the addon, scripts and benchmarks; no method of
# the addon's own defined in two files (scripts/check_methods.py); README.rst up to date.
# With --fix, ruff rewrites what it can instead.
source "$(dirname "$0")/common.sh"
ensure_venv
cd "$ROOT"
if [ "${1:-}" = "--fix" ]; then
    "$VENV/bin/ruff" check --fix .
    "$VENV/bin/ruff" format .
    exit 0
fi
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
"$VENV/bin/pylint" --rcfile=.pylintrc livechat_groups livechat_groups_website
"$PY" scripts/check_methods.py
"$PY" scripts/gen_readme.py --check
log "lint: clean"
