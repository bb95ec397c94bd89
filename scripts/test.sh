#!/usr/bin/env bash
# Set everything up, then run every test of livechat_groups with Odoo's test runner on a fresh
# database, tours included in headless Chromium, then the concurrency checks against a real
# multi-worker server (scripts/concurrency_check.py). Fails when a test or check fails or errors,
# when no test ran, and when Odoo skipped a test (a skipped tour is not a passing tour).
# First, in seconds, the checks of the set-up itself (scripts/setup_check.sh: finding or fetching Odoo).
source "$(dirname "$0")/common.sh"
DB=${TEST_DB:-livechat_groups_test}
HTTP_PORT=${TEST_HTTP_PORT:-8169}
TAGS=${TEST_TAGS:-/livechat_groups}
LOG=${TEST_LOG:-$ROOT/var/test.log}

log "set-up checks: finding or fetching Odoo, against a local fake repository"
mkdir -p "$ROOT/var"
set +e
bash "$ROOT/scripts/setup_check.sh" 2>&1 | tee "$ROOT/var/setup_check.log"
set -e
setup=$(grep -E "^setup checks: [0-9]+ passed, [0-9]+ failed" "$ROOT/var/setup_check.log" | tail -1)
[ -n "$setup" ] || die "the set-up checks printed no result: see var/setup_check.log"
setup_passed=$(sed -E 's/setup checks: ([0-9]+) passed, ([0-9]+) failed/\1/' <<<"$setup")
setup_failed=$(sed -E 's/setup checks: ([0-9]+) passed, ([0-9]+) failed/\2/' <<<"$setup")

ensure_venv
ensure_postgres
ensure_browser
mkdir -p "$(dirname "$LOG")"
dropdb --if-exists "$DB"
log "running tests ($TAGS) on a fresh database $DB; full log in $LOG"
set +e
odoo -d "$DB" -i livechat_groups --test-enable --test-tags="$TAGS" --stop-after-init \
    --http-port="$HTTP_PORT" --log-level=test --max-cron-threads=0 2>&1 | tee "$LOG" \
    | grep -E --line-buffered "(ERROR|CRITICAL|FAIL|skipped|Starting|tests when loading|Ran )" 
status=${PIPESTATUS[0]}
set -e
dropdb --if-exists "$DB" || true

report=$(grep -E "[0-9]+ failed, [0-9]+ error\(s\) of [0-9]+ tests when loading database" "$LOG" | tail -1)
[ -n "$report" ] || die "Odoo printed no test report (exit $status): see $LOG"
failed=$(sed -E 's/.* ([0-9]+) failed, ([0-9]+) error\(s\) of ([0-9]+) tests.*/\1/' <<<"$report")
errors=$(sed -E 's/.* ([0-9]+) failed, ([0-9]+) error\(s\) of ([0-9]+) tests.*/\2/' <<<"$report")
total=$(sed -E 's/.* ([0-9]+) failed, ([0-9]+) error\(s\) of ([0-9]+) tests.*/\3/' <<<"$report")
skipped=$(grep -cE "odoo\.addons\.[a-z_.]+: skipped " "$LOG" || true)
passed=$((total - failed - errors - skipped)); [ "$passed" -ge 0 ] || passed=0
log "tours run: $(grep -cE "tour .*succeeded" "$LOG" || true)"
grep -E "odoo\.addons\.[a-z_.]+: skipped " "$LOG" || true

# counts PREFIX LOG: "passed failed" from the line "PREFIX: N passed, N failed" of LOG
counts() {
    local line
    line=$(grep -E "^$1: [0-9]+ passed, [0-9]+ failed" "$2" | tail -1)
    [ -n "$line" ] || die "the $1 printed no result: see $2"
    sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\1 \2/' <<<"$line"
}

# The races Odoo's test runner cannot show: a real server with several workers. It leaves a copy
# of its database as built for the two-server check.
races_db="${DB}_races"
log "concurrency checks against a multi-worker server"
set +e
CONCURRENCY_TEMPLATE_DB="$races_db" "$PY" "$ROOT/scripts/concurrency_check.py" 2>&1 | grep -v "security risk" \
    | tee "$ROOT/var/concurrency.log"
set -e
checks=$(grep -E "^checks: [0-9]+ passed, [0-9]+ failed" "$ROOT/var/concurrency.log" | tail -1)
[ -n "$checks" ] || die "the concurrency checks printed no result: see var/concurrency.log"
checks_passed=$(sed -E 's/checks: ([0-9]+) passed, ([0-9]+) failed/\1/' <<<"$checks")
checks_failed=$(sed -E 's/checks: ([0-9]+) passed, ([0-9]+) failed/\2/' <<<"$checks")

# The same races sent to two servers on one database, and the bus from one to the other.
log "two-server checks: two multi-worker servers on one database"
started=$SECONDS
set +e
CONCURRENCY_TEMPLATE_DB="$races_db" "$PY" "$ROOT/scripts/two_servers_check.py" 2>&1 \
    | grep -v "security risk" | tee "$ROOT/var/two_servers.log"
set -e
log "two-server checks: $((SECONDS - started)) s"
read -r two_passed two_failed < <(counts "checks" "$ROOT/var/two_servers.log")

# Odoo with a read replica that lags: a primary and its streaming replica of the check's own,
# replay paused (Take then open, the board's reload, a stale Assign, a session made meanwhile).
log "replica checks: a primary and its streaming replica, replay paused"
started=$SECONDS
rm -f "$ROOT/var/replica_check.log"
set +e
REPLICA_TEMPLATE_DB="$races_db" bash "$ROOT/scripts/replica_check.sh"
set -e
dropdb --if-exists "$races_db" || true
log "replica checks: $((SECONDS - started)) s"
read -r replica_passed replica_failed < <(counts "replica checks" "$ROOT/var/replica_check.log")

# The wheel: built with whool, installed in a new virtualenv, installed by Odoo from there.
log "wheel checks: build, install with pip, install in Odoo from site-packages"
started=$SECONDS
set +e
WHEEL_DB="${WHEEL_DB:-${DB}_wheel}" bash "$ROOT/scripts/wheel_check.sh" 2>&1 | tee "$ROOT/var/wheel_check.log"
set -e
log "wheel checks: $((SECONDS - started)) s"
read -r wheel_passed wheel_failed < <(counts "wheel checks" "$ROOT/var/wheel_check.log")

echo "tests: $((passed + checks_passed + two_passed + replica_passed + wheel_passed + setup_passed)) passed, \
$((failed + errors + checks_failed + two_failed + replica_failed + wheel_failed + setup_failed)) failed, $skipped skipped"
[ "$total" -gt 0 ] || die "no test ran"
[ "$skipped" -eq 0 ] || die "$skipped test(s) skipped: a skipped test or tour does not pass"
[ "$((failed + errors))" -eq 0 ] || die "$failed failure(s), $errors error(s): see $LOG"
[ "$checks_failed" -eq 0 ] || die "$checks_failed concurrency check(s) failed: see var/concurrency.log"
[ "$two_failed" -eq 0 ] || die "$two_failed two-server check(s) failed: see var/two_servers.log"
[ "$replica_failed" -eq 0 ] || die "$replica_failed replica check(s) failed: see var/replica_check.log"
[ "$wheel_failed" -eq 0 ] || die "$wheel_failed wheel check(s) failed: see var/wheel_check.log"
[ "$setup_failed" -eq 0 ] || die "$setup_failed set-up check(s) failed: see var/setup_check.log"
[ "$status" -eq 0 ] || die "Odoo exited with status $status: see $LOG"
log "all $passed tests, $checks_passed concurrency checks, $two_passed two-server checks, \
$replica_passed replica checks, $wheel_passed wheel checks and $setup_passed set-up checks passed"
