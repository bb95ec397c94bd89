#!/usr/bin/env bash
# Set everything up, then serve Odoo with livechat_groups, the website's live chat (and so
# livechat_groups_website) and the reference scenario's demo data on
# http://localhost:${HTTP_PORT:-8069} (admin / admin). A second call reuses the database.
source "$(dirname "$0")/common.sh"
DB=${DB:-livechat_groups}
HTTP_PORT=${HTTP_PORT:-8069}
ensure_venv
ensure_postgres
if ! db_exists "$DB"; then
    log "creating database $DB with livechat_groups, the website's live chat and demo data (about two minutes)"
    odoo -d "$DB" -i livechat_groups,website_livechat --stop-after-init --http-port="$HTTP_PORT" \
        --log-level=warn || { dropdb --if-exists "$DB"; die "installation failed"; }
else
    log "reusing database $DB (drop it with: dropdb $DB)"
fi
log "serving Odoo on http://localhost:$HTTP_PORT (login admin / admin); Ctrl+C stops it"
log "to play the demo's WhatsApp customer, run in another terminal: make standin"
exec "$PY" "$ODOO_BIN" --addons-path="$ADDONS_PATH" -d "$DB" --db-filter="^$DB\$" \
    --http-port="$HTTP_PORT" "$@"
