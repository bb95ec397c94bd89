#!/usr/bin/env bash
# Fast loop: run tests with pytest-odoo on an installed database (by default the one of
# `make run`), after updating the addon there. Arguments go to pytest, e.g.
#   make pytest ARGS="livechat_groups/tests/test_livechat_group.py -k members"
source "$(dirname "$0")/common.sh"
DB=${DB:-livechat_groups}
ensure_venv
ensure_postgres
if ! db_exists "$DB"; then
    log "creating database $DB with livechat_groups"
    odoo -d "$DB" -i livechat_groups --stop-after-init --log-level=warn
else
    odoo -d "$DB" -u livechat_groups --stop-after-init --log-level=warn
fi
conf="$ROOT/var/pytest-odoo.conf"
mkdir -p "$ROOT/var"
printf '[options]\naddons_path = %s\ndb_name = %s\nhttp_port = %s\n' "$ADDONS_PATH" "$DB" "${TEST_HTTP_PORT:-8169}" >"$conf"
cd "$ROOT"
exec "$VENV/bin/pytest" --odoo-config="$conf" --odoo-database="$DB" "${@:-livechat_groups/tests}"
