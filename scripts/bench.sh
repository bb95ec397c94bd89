#!/usr/bin/env bash
# Routing benchmark: builds its own database once (about two minutes), then prints a table of
# routing latency (p50, p95) and SQL queries per new session, stock against grouped live chats,
# for 50, 500 and 2000 operators. Arguments go to bench/bench_routing.py (e.g. --runs 100).
# Then a shift change (1,000 lapsed sessions of 200 away operators handed back by the timers in
# 4 processes) and a Take with 10 and 1,000 visitors waiting (bench/bench_handback.py, on a copy
# of the routing bench's database, BENCH_HANDBACK_DB, made again at each run).
# Then a burst of website visitors on a 4-worker server, stock against grouped (bench/bench_burst.py,
# its own database BENCH_BURST_DB, built once, port BENCH_BURST_PORT; about a minute and a half).
# Then the messengers' webhook intake on a 4-worker server (bench/bench_webhook.py, its own
# database BENCH_WEBHOOK_DB, port BENCH_WEBHOOK_PORT).
# Then the figures at size (bench/bench_figures.py, its own database BENCH_FIGURES_DB): the Group
# Figures pivot over 1,000,000 sessions and the supervisors' board over 10,000 open ones; its
# first build takes several minutes (BENCH_FIGURES=0 skips it; BENCH_FIGURES_ARGS, e.g.
# "--sessions 100000", passes arguments to it).
# BENCH_REBUILD=1 drops the benchmark databases first.
source "$(dirname "$0")/common.sh"
DB=${BENCH_DB:-livechat_groups_bench}
ensure_venv
ensure_postgres

# bench_db DB: the database DB with the addon (no demo data), built once (again with BENCH_REBUILD=1);
# the addon updated in it at each run
bench_db() {
    [ -z "${BENCH_REBUILD:-}" ] || dropdb --if-exists "$1"
    if ! db_exists "$1"; then
        log "creating database $1 with livechat_groups (no demo data)"
        odoo -d "$1" -i livechat_groups --without-demo=all --stop-after-init --log-level=warn
    else
        log "updating livechat_groups in $1"
        odoo -d "$1" -u livechat_groups --stop-after-init --log-level=warn
    fi
}

bench_db "$DB"
BENCH_DB="$DB" ADDONS_PATH="$ADDONS_PATH" "$PY" "$ROOT/bench/bench_routing.py" "$@"
# a shift change and a long queue, on a copy of the routing bench's database; a broken guarantee
# fails `make bench`, after the rest has run too
failed=0
BENCH_DB="$DB" BENCH_HANDBACK_DB="${BENCH_HANDBACK_DB:-${DB}_handback}" ADDONS_PATH="$ADDONS_PATH" \
    "$PY" "$ROOT/bench/bench_handback.py" || failed=$?
# a burst that breaks a guarantee fails `make bench`, after the webhook intake has run too
burst=0
ADDONS_PATH="$ADDONS_PATH" "$PY" "$ROOT/bench/bench_burst.py" || burst=$?
# a message lost or doubled fails `make bench`, after the figures have run too
webhook=0
ADDONS_PATH="$ADDONS_PATH" "$PY" "$ROOT/bench/bench_webhook.py" || webhook=$?
if [ "${BENCH_FIGURES:-1}" != 0 ]; then
    FIGURES_DB=${BENCH_FIGURES_DB:-livechat_groups_bench_figures}
    bench_db "$FIGURES_DB"
    # shellcheck disable=SC2086
    BENCH_FIGURES_DB="$FIGURES_DB" ADDONS_PATH="$ADDONS_PATH" "$PY" "$ROOT/bench/bench_figures.py" ${BENCH_FIGURES_ARGS:-}
fi
[ "$burst" = 0 ] || failed=$burst
[ "$webhook" = 0 ] || failed=$webhook
exit "$failed"
