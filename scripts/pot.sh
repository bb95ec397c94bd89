#!/usr/bin/env bash
# Regenerate livechat_groups/i18n/livechat_groups.pot from a fresh database without demo data.
source "$(dirname "$0")/common.sh"
DB=${POT_DB:-livechat_groups_pot}
ensure_venv
ensure_postgres
dropdb --if-exists "$DB"
odoo -d "$DB" -i livechat_groups --without-demo=all --stop-after-init --log-level=warn
odoo -d "$DB" --modules=livechat_groups --i18n-export="$ROOT/livechat_groups/i18n/livechat_groups.pot" \
    --stop-after-init --log-level=warn
dropdb --if-exists "$DB"
log "wrote livechat_groups/i18n/livechat_groups.pot"
