#!/usr/bin/env bash
# Stock's own suites with the addon and its demo data installed: im_livechat, website_livechat,
# test_discuss_full and the Discuss part of mail (its tests/discuss folder, and the users'
# settings, whose bus notifications it counts). They must pass as they do without the addon.
# Fails when a test fails or errors, or when none ran.
source "$(dirname "$0")/common.sh"
DB=${PEER_DB:-livechat_groups_peer}
HTTP_PORT=${PEER_HTTP_PORT:-8189}
LOG=${PEER_LOG:-$ROOT/var/peer.log}

ensure_venv
ensure_postgres
ensure_browser
mail_discuss=$(grep -h "^class " "$ODOO_SRC"/addons/mail/tests/discuss/*.py \
    | sed -E 's/^class ([A-Za-z0-9_]+).*/\1/' | sort -u | sed 's|^|/mail:|' | paste -sd, -)
# one stock test is left out on purpose: as a plain employee it sets another user's presence to
# online, which the addon refuses (see the addon's README, Known issues)
TAGS=${PEER_TAGS:-/im_livechat,/website_livechat,/test_discuss_full,$mail_discuss,/mail:TestResUsersSettings,-/im_livechat:TestImLivechatMessage.test_message_to_store}
mkdir -p "$(dirname "$LOG")"
dropdb --if-exists "$DB"
log "stock's suites with livechat_groups and its demo installed, on a fresh database $DB; log in $LOG"
set +e
odoo -d "$DB" -i livechat_groups,website_livechat,test_discuss_full --test-enable --test-tags="$TAGS" \
    --stop-after-init --http-port="$HTTP_PORT" --log-level=test --max-cron-threads=0 >"$LOG" 2>&1
status=$?
set -e
dropdb --if-exists "$DB" || true
grep -E "(ERROR|FAIL):" "$LOG" | head -40 || true
report=$(grep -E "[0-9]+ failed, [0-9]+ error\(s\) of [0-9]+ tests when loading database" "$LOG" | tail -1)
[ -n "$report" ] || die "Odoo printed no test report (exit $status): see $LOG"
read -r failed errors total < <(sed -E 's/.* ([0-9]+) failed, ([0-9]+) error\(s\) of ([0-9]+) tests.*/\1 \2 \3/' <<<"$report")
echo "peer tests: $((total - failed - errors)) passed, $((failed + errors)) failed"
[ "$total" -gt 0 ] || die "no stock test ran"
[ "$((failed + errors))" -eq 0 ] || die "$failed failure(s), $errors error(s) in stock's suites: see $LOG"
log "all $total tests of stock's suites passed with the addon"
