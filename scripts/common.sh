# shellcheck shell=bash
# Shared settings and set-up steps for scripts/*.sh. Every step is idempotent:
# a second call reuses what the first one made.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Finding or fetching Odoo (resolve_odoo_src): check_odoo_src sets ODOO_SRC, ODOO_BIN, ADDONS_PATH.
source "$ROOT/scripts/odoo_src.sh"
# The virtualenv lives outside the clone so that fresh clones (CI) reuse it.
VENV=${VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/livechat_groups/venv-18.0}
PY="$VENV/bin/python"
PG_VERSION=${PG_VERSION:-15}

log() { printf '\033[1m[livechat_groups]\033[0m %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
    log "installing Debian packages: $*"
    if [ ! -f /var/lib/apt/periodic/.livechat_groups_updated ]; then
        as_root apt-get update -qq
        as_root mkdir -p /var/lib/apt/periodic
        as_root touch /var/lib/apt/periodic/.livechat_groups_updated
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# The Odoo 18.0 tree, fetched when missing, then the paths that follow from it, exported so that
# the Python scripts (concurrency_check.py, bench_routing.py) use the same tree.
check_odoo_src() {
    resolve_odoo_src
    ODOO_BIN="$ODOO_SRC/odoo-bin"
    ADDONS_PATH="$ODOO_SRC/addons,$ODOO_SRC/odoo/addons,$ROOT"
    export ODOO_SRC ADDONS_PATH
}

# Make `import odoo` find ODOO_SRC (pytest-odoo, scripts) without writing into the Odoo tree.
link_odoo_src() {
    "$PY" - "$ODOO_SRC" <<'PYEOF'
import sys, sysconfig, pathlib
pth = pathlib.Path(sysconfig.get_paths()["purelib"], "odoo-src.pth")
if not pth.exists() or pth.read_text() != sys.argv[1] + "\n":
    pth.write_text(sys.argv[1] + "\n")
PYEOF
}

ensure_venv() {
    check_odoo_src
    local stamp="$VENV/.livechat_groups.stamp" want
    want=$(cat "$ODOO_SRC/requirements.txt" "$ROOT/requirements.txt" "$ROOT/requirements-dev.txt" | sha256sum | cut -c1-16)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$PY" ]; then
        link_odoo_src
        if "$PY" -c "import odoo" 2>/dev/null; then return; fi
    fi
    log "preparing the virtualenv $VENV (first time: a few minutes)"
    [ -x "$PY" ] || python3 -m venv "$VENV"
    local constraints="$VENV/constraints.txt"
    # Source builds of Odoo's pinned packages import pkg_resources, gone from setuptools>=70.
    echo "setuptools<70" >"$constraints"
    # python-ldap only serves auth_ldap and needs LDAP headers: leave it out.
    grep -v '^python-ldap' "$ODOO_SRC/requirements.txt" >"$VENV/odoo-requirements.txt"
    PIP_CONSTRAINT="$constraints" "$PY" -m pip install -q --upgrade "pip<25" wheel "setuptools<70"
    PIP_CONSTRAINT="$constraints" "$PY" -m pip install -q -r "$VENV/odoo-requirements.txt" \
        -r "$ROOT/requirements.txt" -r "$ROOT/requirements-dev.txt"
    link_odoo_src
    echo "$want" >"$stamp"
}

ensure_postgres() {
    if ! command -v pg_lsclusters >/dev/null; then
        apt_install postgresql
    fi
    if ! pg_lsclusters -h | awk '{print $4}' | grep -q online; then
        local cluster
        cluster=$(pg_lsclusters -h | awk 'NR==1 {print $1" "$2}')
        [ -n "$cluster" ] || { as_root pg_createcluster "$PG_VERSION" main; cluster="$PG_VERSION main"; }
        log "starting PostgreSQL cluster $cluster"
        # shellcheck disable=SC2086
        as_root pg_ctlcluster $cluster start
    fi
    local me
    me=$(id -un)
    [ "$me" != postgres ] || die "Odoo refuses to connect as 'postgres': run as another user"
    if ! psql -d postgres -tAc "select 1" >/dev/null 2>&1; then
        log "creating PostgreSQL role $me"
        as_root su postgres -c "createuser --createdb $me" 2>/dev/null \
            || as_root su postgres -c "psql -qc 'ALTER ROLE \"$me\" CREATEDB'"
    fi
}

ensure_browser() {
    # Odoo skips tours silently without a Chrome and websocket-client; we install both.
    if ! command -v chromium >/dev/null && ! command -v google-chrome >/dev/null; then
        apt_install chromium
    fi
    "$PY" -c "import websocket" 2>/dev/null || "$PY" -m pip install -q websocket-client
}

db_exists() {
    psql -d postgres -tAc "select 1 from pg_database where datname='$1'" | grep -q 1
}

odoo() {
    "$PY" "$ODOO_BIN" --addons-path="$ADDONS_PATH" "$@"
}
