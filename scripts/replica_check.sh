#!/usr/bin/env bash
# The read-replica check (scripts/replica_check.py): Odoo on a PostgreSQL primary with a streaming
# replica of its own (var/replica_pg, ports REPLICA_PG_PORT 5496 and 5497; the cluster of the
# other targets is never touched), replay paused; run by scripts/test.sh (REPLICA_TEMPLATE_DB: the
# database concurrency_check.py left, copied instead of building one). Prints one line per check
# and "replica checks: N passed, N failed"; fails when a check fails. Log: var/replica_check.log.
source "$(dirname "$0")/common.sh"
ensure_venv
ls /usr/lib/postgresql/*/bin/pg_basebackup >/dev/null 2>&1 || command -v pg_basebackup >/dev/null \
    || apt_install postgresql
mkdir -p "$ROOT/var"
log "replica check: a primary and its streaming replica of its own, replay paused"
set +e
"$PY" "$ROOT/scripts/replica_check.py" 2>&1 | grep --line-buffered -v "security risk" | tee "$ROOT/var/replica_check.log"
status=${PIPESTATUS[0]}
set -e
grep -qE "^replica checks: [0-9]+ passed, [0-9]+ failed" "$ROOT/var/replica_check.log" \
    || die "the replica check printed no result: see var/replica_check.log"
[ "$status" -eq 0 ] || die "the replica check failed: see var/replica_check.log"
