#!/usr/bin/env bash
# The addon installs like any OCA addon (run by scripts/test.sh). whool, the OCA build backend,
# builds the wheel odoo-addon-livechat_groups from livechat_groups/pyproject.toml and
# __manifest__.py; a new virtualenv that holds Odoo but not this repository installs it with pip;
# Odoo, given addons paths without this repository, finds the addon in that virtualenv's
# site-packages (odoo/addons/livechat_groups: odoo.addons is a namespace package) and installs it
# on a fresh database.
#
# The new virtualenv borrows Odoo's dependencies from the shared one through a .pth file
# (installing Odoo's requirements again would take minutes) and Odoo itself from ODOO_SRC, as
# `pip install -e` of Odoo would; it gets the addon only from the wheel (pip --no-deps).
# Prints one line per check and "wheel checks: N passed, N failed"; exits 1 when any check fails.
# Environment: WHEEL_DB (default livechat_groups_wheel), BUILD_VENV (where whool is cached).
source "$(dirname "$0")/common.sh"
DB=${WHEEL_DB:-livechat_groups_wheel}
BUILD_VENV=${BUILD_VENV:-$(dirname "$VENV")/build-venv}
WHOOL="whool>=1.3,<2"
ensure_venv
ensure_postgres

passed=0
failed=0
check() {  # check NAME DETAIL COMMAND...: one line per check
    local name=$1 detail=$2
    shift 2
    if "$@" >/dev/null 2>&1; then
        passed=$((passed + 1)); echo "check ok     $name${detail:+  ($detail)}"
    else
        failed=$((failed + 1)); echo "check FAILED $name${detail:+  ($detail)}"
    fi
}
finish() {
    echo "wheel checks: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}

WORK=$(mktemp -d /tmp/livechat-groups-wheel.XXXXXX)
trap 'rm -rf "$WORK"; dropdb --if-exists "$DB" 2>/dev/null || true' EXIT

# whool (and the wheel tool it calls) live in a virtualenv of their own, cached beside the shared
# one, so that the build needs no network once made and never touches Odoo's packages.
if ! "$BUILD_VENV/bin/python" -c "import whool, wheel" 2>/dev/null; then
    log "preparing the build virtualenv $BUILD_VENV ($WHOOL)"
    python3 -m venv "$BUILD_VENV"
    "$BUILD_VENV/bin/python" -m pip install -q "$WHOOL" wheel
fi

# 1. The wheel. whool takes the files git tracks in livechat_groups/ (everything there, outside
# git) and appends to the manifest's version the number of commits since it last changed.
started=$(date +%s)
"$BUILD_VENV/bin/python" -m pip wheel -q --no-build-isolation --no-deps -w "$WORK/dist" \
    "$ROOT/livechat_groups" 2>&1 | grep -v "is ignored" >&2 || true
wheel=$(ls "$WORK"/dist/odoo_addon_livechat_groups-*-py3-none-any.whl 2>/dev/null | head -1)
version=$("$PY" -c "import ast, sys; print(ast.literal_eval(open(sys.argv[1]).read())['version'])" \
    "$ROOT/livechat_groups/__manifest__.py")
check "whool builds the wheel" "$(basename "${wheel:-none}") in $(($(date +%s) - started)) s" \
    test -n "$wheel"
[ -n "$wheel" ] || { finish; exit 1; }
"$PY" - "$wheel" "$ROOT/livechat_groups" "$ROOT/livechat_groups_tools" >"$WORK/metadata.txt" <<'PYEOF'
import ast, email, pathlib, re, sys, zipfile
wheel, addon, tools = sys.argv[1], pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])
# the test tools: a file of livechat_groups_tools/ (by name), the stand-in, a webhook signer
tool_files = {path.name for path in tools.glob("*.py") if path.name != "__init__.py"}
tool_code = re.compile(r"^(class StandIn\b|def (sign|whatsapp_signature)\()", re.M)
with zipfile.ZipFile(wheel) as zf:
    names = set(zf.namelist())
    meta = email.message_from_bytes(zf.read(next(n for n in names if n.endswith(".dist-info/METADATA"))))
    for name in sorted(names):
        code = zf.read(name).decode(errors="replace") if name.endswith(".py") else ""
        if tools.name in name or name.rsplit("/", 1)[-1] in tool_files or tool_code.search(code):
            print("tool", name)
print("toolfiles", len(tool_files))
manifest = ast.literal_eval((addon / "__manifest__.py").read_text())
print("name", meta["Name"])
print("version", meta["Version"])
for dependency in meta.get_all("Requires-Dist") or []:
    print("requires", dependency.split(";")[0].replace(" ", ""))
for package in manifest.get("external_dependencies", {}).get("python", []):
    print("declares", package)
for path in manifest.get("data", []) + manifest.get("demo", []) + ["__manifest__.py", "__init__.py"]:
    print("file", "ok" if f"odoo/addons/livechat_groups/{path}" in names else "missing", path)
PYEOF
name=$(awk '$1 == "name" {print $2}' "$WORK/metadata.txt")
wheel_version=$(awk '$1 == "version" {print $2}' "$WORK/metadata.txt")
check "named odoo-addon-livechat_groups, version $version or a post-version of it" \
    "$name $wheel_version" \
    bash -c '[ "$1" = odoo-addon-livechat_groups ] && [[ "$2" == "$3" || "$2" == "$3".* ]]' _ \
    "$name" "$wheel_version" "$version"
missing_deps=$(awk '$1 == "declares" {print $2}' "$WORK/metadata.txt" | while read -r package; do
    grep -qiE "^requires ${package}([<>=!~]|$)" "$WORK/metadata.txt" || echo "$package"; done)
check "every external Python dependency of the manifest is a Requires-Dist" \
    "$(awk '$1 == "requires" {printf "%s ", $2}' "$WORK/metadata.txt")" test -z "$missing_deps"
missing_files=$(awk '$1 == "file" && $2 == "missing" {print $3}' "$WORK/metadata.txt")
check "every data and demo file of the manifest is in the wheel" \
    "$(awk '$1 == "file"' "$WORK/metadata.txt" | wc -l) files${missing_files:+, missing: $missing_files}" \
    test -z "$missing_files"
shipped_tools=$(awk '$1 == "tool" {printf "%s ", $2}' "$WORK/metadata.txt")
check "no stand-in and no test tool in the wheel (livechat_groups_tools/ stays in the repository)" \
    "${shipped_tools:+shipped: $shipped_tools}" \
    bash -c '[ -z "$1" ] && [ "$2" -gt 0 ]' _ "$shipped_tools" "$(awk '$1 == "toolfiles" {print $2}' "$WORK/metadata.txt")"

# 2. A new virtualenv: Odoo and its dependencies, not the addon; then pip installs the wheel.
"$PY" -m venv --without-pip "$WORK/venv"
NEW_PY="$WORK/venv/bin/python"
new_site=$("$NEW_PY" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
shared_site=$("$PY" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
printf '%s\n%s\n' "$ODOO_SRC" "$shared_site" >"$new_site/odoo-and-its-dependencies.pth"
check "the new virtualenv has Odoo but not the addon" "" \
    "$NEW_PY" -c "import odoo, importlib.util as u; assert not u.find_spec('odoo.addons.livechat_groups')"
"$PY" -m pip --python "$NEW_PY" install -q --no-deps --no-index "$wheel" >&2
check "pip installs the wheel in the new virtualenv" "" \
    test -f "$new_site/odoo/addons/livechat_groups/__manifest__.py"

# 3. Odoo, with addons paths that leave this repository out, finds the addon in site-packages.
ADDONS="$ODOO_SRC/addons,$ODOO_SRC/odoo/addons"
found=$(cd "$WORK" && "$NEW_PY" - "$ADDONS" <<'PYEOF'
import sys
from odoo.tools import config
from odoo.modules.module import get_module_path, initialize_sys_path
config.parse_config([f"--addons-path={sys.argv[1]}"])
initialize_sys_path()
print(get_module_path("livechat_groups"))
PYEOF
)
check "Odoo finds the addon in the new virtualenv's site-packages" "$found" \
    test "$found" = "$new_site/odoo/addons/livechat_groups"
dropdb --if-exists "$DB"
started=$(date +%s)
(cd "$WORK" && "$NEW_PY" "$ODOO_SRC/odoo-bin" --addons-path="$ADDONS" -d "$DB" -i livechat_groups \
    --stop-after-init --max-cron-threads=0 --no-http --log-level=info \
    >"$WORK/install.log" 2>&1) && status=0 || status=$?
paths=$(grep -m1 "addons paths:" "$WORK/install.log" | sed 's/.*addons paths: //')
state=$(psql -d "$DB" -tAc "select state from ir_module_module where name='livechat_groups'" 2>/dev/null || true)
check "odoo-bin -i livechat_groups installs it from the wheel" \
    "exit $status, state ${state:-none}, $(($(date +%s) - started)) s" \
    bash -c '[ "$1" = 0 ] && [ "$2" = installed ] && ! grep -qE " (ERROR|CRITICAL) " "$3"' _ \
    "$status" "$state" "$WORK/install.log"
check "the addons paths Odoo used hold the virtualenv, not this repository" "$paths" \
    bash -c '[[ "$1" == *"$2/odoo/addons"* && "$1" != *"$3"* ]]' _ "$paths" "$new_site" "$ROOT"
[ "$failed" -eq 0 ] || { mkdir -p "$ROOT/var"; cp "$WORK/install.log" "$ROOT/var/wheel_install.log"; }
finish
