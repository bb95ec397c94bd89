#!/usr/bin/env bash
# The fault check (scripts/faults_check.py): faults injected under load on a multi-worker Odoo
# that runs on its own PostgreSQL cluster (var/faults_pg, port FAULTS_PG_PORT, default 5499;
# the cluster of the other targets is never touched). Prints its table and
# "checks: N passed, N failed"; fails when a check fails. Log: var/faults.log.
source "$(dirname "$0")/common.sh"
ensure_venv
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null \
    || apt_install postgresql
if [ "${1:-}" = "--stop" ]; then  # make clean: stop the check's cluster if a run left it up
    exec "$PY" "$ROOT/scripts/faults_check.py" --stop
fi
mkdir -p "$ROOT/var"
log "fault check: its own PostgreSQL cluster, a 4-worker Odoo, the WhatsApp stand-in"
started=$SECONDS
set +e
"$PY" "$ROOT/scripts/faults_check.py" 2>&1 | grep --line-buffered -v "security risk" | tee "$ROOT/var/faults.log"
status=${PIPESTATUS[0]}
set -e
log "fault check: $((SECONDS - started)) s"
grep -qE "^checks: [0-9]+ passed, [0-9]+ failed" "$ROOT/var/faults.log" \
    || die "the fault check printed no result: see var/faults.log"
[ "$status" -eq 0 ] || die "the fault check failed: see var/faults.log"
