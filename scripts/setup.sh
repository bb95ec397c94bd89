#!/usr/bin/env bash
# Prepare this machine: virtualenv with Odoo's and our requirements, PostgreSQL and its role,
# and with --browser, Chromium for tours.
source "$(dirname "$0")/common.sh"
ensure_venv
ensure_postgres
if [ "${1:-}" = "--browser" ]; then ensure_browser; fi
log "ready: Odoo $("$PY" -c 'import odoo.release as r; print(r.version)') from $ODOO_SRC, venv $VENV"
