#!/usr/bin/env bash
# Prepare this machine: virtualenv with Odoo's and our requirements, PostgreSQL and its role,
# and with --browser, Chromium for tours. With --odoo, only the Odoo tree (found, or fetched when
# missing: see odoo_src.sh), then the paths the other scripts get, as shell assignments.
source "$(dirname "$0")/common.sh"
if [ "${1:-}" = "--odoo" ]; then
    check_odoo_src
    # From the environment: what the Python scripts started by the other scripts see.
    printf 'ODOO_SRC=%q\nODOO_BIN=%q\nADDONS_PATH=%q\n' "$(printenv ODOO_SRC)" "$ODOO_BIN" "$(printenv ADDONS_PATH)"
    exit 0
fi
ensure_venv
ensure_postgres
if [ "${1:-}" = "--browser" ]; then ensure_browser; fi
log "ready: Odoo $("$PY" -c 'import odoo.release as r; print(r.version)') from $ODOO_SRC, venv $VENV"
