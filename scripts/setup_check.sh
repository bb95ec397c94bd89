#!/usr/bin/env bash
# Checks of how the set-up finds or fetches Odoo (scripts/odoo_src.sh, through
# `scripts/setup.sh --odoo`), against a local git repository holding a small fake Odoo: no network,
# no virtualenv, no PostgreSQL, a few seconds. Run by scripts/test.sh; ends with
# "setup checks: N passed, N failed" and fails when a check fails.
set -uo pipefail
SETUP="$(cd "$(dirname "$0")" && pwd)/setup.sh"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/livechat_groups-setup-check.XXXXXX")
trap 'rm -rf -- "$WORK"' EXIT
# Nothing of this machine's git configuration, caches or Odoo settings leaks in.
export HOME="$WORK/home" XDG_CACHE_HOME="$WORK/cache" GIT_CONFIG_NOSYSTEM=1
unset ODOO_SRC ODOO_GIT_URL ODOO_REF
mkdir -p "$HOME"
CACHE_TREE="$XDG_CACHE_HOME/livechat_groups/odoo-18.0"
STAMP="$XDG_CACHE_HOME/livechat_groups/odoo-fetched.tsv"

# --- a fake Odoo repository: branch 18.0 (commits A then B, tag v18.0-a on A), branch 17.0 -----
REPO="$WORK/odoo.git"
URL="file://$REPO"
UNREACHABLE="file://$WORK/nowhere/odoo.git"
fake_tree() {  # $1 directory, $2 major version, $3 a marker
    mkdir -p "$1/odoo/addons/base" "$1/addons/im_livechat"
    printf '#!/usr/bin/env python3\nprint("fake odoo-bin")\n' >"$1/odoo-bin"
    printf "version_info = (%s, 0, 0, FINAL, 0, '')\n" "$2" >"$1/odoo/release.py"
    echo "$3" >"$1/marker"
    : >"$1/requirements.txt"
}
commit() { git -C "$REPO" -c user.name=check -c user.email=check@example.com "$@"; }
git init -q -b 18.0 "$REPO"
fake_tree "$REPO" 18 A && commit add -A && commit commit -qm A && commit tag -a v18.0-a -m A
A=$(git -C "$REPO" rev-parse HEAD)
fake_tree "$REPO" 18 B && commit commit -qam B
B=$(git -C "$REPO" rev-parse HEAD)
commit checkout -q -b 17.0 && fake_tree "$REPO" 17 C && commit commit -qam C && commit checkout -q 18.0

# --- helpers ---------------------------------------------------------------------------------
# Run the set-up step with the given VAR=value settings: RC, OUT (its assignments, also evaluated
# into GOT_ODOO_SRC, GOT_ODOO_BIN, GOT_ADDONS_PATH) and LOG (what it printed on stderr).
setup() {
    OUT=$(env "$@" bash "$SETUP" --odoo 2>"$WORK/stderr")
    RC=$?
    LOG=$(cat "$WORK/stderr")
    RUNS+=("$* (exit $RC):" "$OUT" "$LOG")
    GOT_ODOO_SRC="" GOT_ODOO_BIN="" GOT_ADDONS_PATH=""
    eval "$(sed -nE 's/^(ODOO_SRC|ODOO_BIN|ADDONS_PATH)=/GOT_\1=/p' <<<"$OUT")"
}
# A fingerprint of a directory: every path with its type, size, mtime and content.
fingerprint() {
    (cd "$1" && find . -printf '%p %y %s %T@\n' | sort && find . -type f -print0 | sort -z | xargs -0 -r cat) | sha256sum
}
leftovers() { find "$@" -maxdepth 1 -name '.livechat_groups-fetch*' 2>/dev/null; }

passed=0 failed=0 problems=() RUNS=()
expect() {  # a description, then a command that succeeds when it holds
    local what=$1
    shift
    "$@" 2>/dev/null || problems+=("$what")
}
has() { grep -qF -- "$2" <<<"$1"; }
lacks() { ! grep -qF -- "$2" <<<"$1"; }
uses() {  # the set-up ended well, on the tree $1, and exported the paths that follow from it
    [ "$RC" -eq 0 ] && [ "$GOT_ODOO_SRC" = "$1" ] && [ "$GOT_ODOO_BIN" = "$1/odoo-bin" ] \
        && [ "$GOT_ADDONS_PATH" = "$1/addons,$1/odoo/addons,$(dirname "$(dirname "$SETUP")")" ]
}
head_of() { git -C "$1" rev-parse HEAD 2>/dev/null; }
check() {  # a name, then the function holding the scenario
    problems=() RUNS=()
    "$2"
    if [ "${#problems[@]}" -eq 0 ]; then
        passed=$((passed + 1))
        echo "ok     $1"
    else
        failed=$((failed + 1))
        echo "FAILED $1"
        printf '    not true: %s\n' "${problems[@]}"
        printf '%s\n' "${RUNS[@]}" | sed 's/^/        /'
    fi
}

# --- the scenarios ---------------------------------------------------------------------------
missing_tree_is_fetched() {
    local dest="$WORK/missing/opt/odoo"
    setup ODOO_SRC="$dest" ODOO_GIT_URL="$URL"
    expect "the fetched tree is used and its paths exported" uses "$dest"
    expect "branch 18.0 is checked out (commit B)" [ "$(head_of "$dest")" = "$B" ]
    expect "the fetch is shallow" [ "$(git -C "$dest" rev-parse --is-shallow-repository)" = true ]
    expect "a progress line names the URL" has "$LOG" "fetching Odoo 18.0 Community: 18.0 of $URL into $dest"
    expect "the commit is printed" has "$LOG" "commit $B"
    expect "the stamp keeps path and commit" grep -qP "^\Q$dest\E\t$B\t18.0\t" "$STAMP"
    expect "no temporary directory is left" [ -z "$(leftovers "$dest" "$(dirname "$dest")")" ]
    # A second run uses it as it is, without fetching (the URL is unreachable now).
    local before
    before=$(fingerprint "$dest")
    setup ODOO_SRC="$dest" ODOO_GIT_URL="$UNREACHABLE"
    expect "the second run uses the fetched tree" uses "$dest"
    expect "the second run fetches nothing" lacks "$LOG" "fetching"
    expect "the second run prints the pinned commit" has "$LOG" "commit $B"
    expect "the second run leaves the tree untouched" [ "$(fingerprint "$dest")" = "$before" ]
}

empty_directory_is_filled() {
    local dest="$WORK/empty/odoo" dead
    mkdir -p "$dest"
    # What a fetch killed on the way leaves: a temporary directory named after a dead process.
    true &
    dead=$!
    wait "$dead"
    fake_tree "$dest/.livechat_groups-fetch-$dead" 18 stale
    setup ODOO_SRC="$dest" ODOO_GIT_URL="$URL"
    expect "the empty directory receives the tree and is used" uses "$dest"
    expect "it holds commit B" [ "$(head_of "$dest")" = "$B" ]
    expect "its content is the fetched one" [ "$(cat "$dest/marker")" = B ]
    expect "the leftovers of the killed fetch are gone" [ -z "$(leftovers "$dest" "$(dirname "$dest")")" ]
}

present_tree_is_untouched() {
    local dest="$WORK/present/odoo" before
    fake_tree "$dest" 18 mine
    touch -d '2020-01-02 03:04:05' "$dest/odoo/release.py" "$dest/odoo-bin"
    before=$(fingerprint "$dest")
    setup ODOO_SRC="$dest" ODOO_GIT_URL="$UNREACHABLE"
    expect "the tree is used and its paths exported" uses "$dest"
    expect "nothing is fetched" lacks "$LOG" "fetching"
    expect "no path, size, mtime or content changed" [ "$(fingerprint "$dest")" = "$before" ]
    expect "nothing was added next to it" [ "$(ls -A "$(dirname "$dest")")" = odoo ]
}

other_version_is_refused() {
    local dest="$WORK/v17/odoo" before
    fake_tree "$dest" 17 mine
    before=$(fingerprint "$dest")
    setup ODOO_SRC="$dest" ODOO_GIT_URL="$URL"
    expect "the exit code is not zero" [ "$RC" -ne 0 ]
    expect "the message names the version found" has "$LOG" "$dest holds Odoo 17.0"
    expect "the message says what is needed" has "$LOG" "needs Odoo 18.0"
    expect "nothing is fetched" lacks "$LOG" "fetching"
    expect "the tree is untouched" [ "$(fingerprint "$dest")" = "$before" ]
}

other_version_fetched_is_refused() {
    local dest="$WORK/ref17/odoo"
    setup ODOO_SRC="$dest" ODOO_GIT_URL="$URL" ODOO_REF=17.0
    expect "the exit code is not zero" [ "$RC" -ne 0 ]
    expect "the message names the version fetched" has "$LOG" "17.0 of $URL holds Odoo 17.0, not 18.0"
    expect "nothing is left at the destination" [ ! -e "$dest" ]
    expect "no temporary directory is left" [ -z "$(leftovers "$(dirname "$dest")")" ]
}

foreign_directory_is_refused() {
    local dest="$WORK/foreign/odoo" before
    mkdir -p "$dest"
    echo "someone's notes" >"$dest/notes.txt"
    before=$(fingerprint "$dest")
    setup ODOO_SRC="$dest" ODOO_GIT_URL="$URL"
    expect "the exit code is not zero" [ "$RC" -ne 0 ]
    expect "the message says why" has "$LOG" "$dest is not empty but holds no Odoo tree (no odoo/release.py)"
    expect "nothing is fetched" lacks "$LOG" "fetching"
    expect "the directory is untouched" [ "$(fingerprint "$dest")" = "$before" ]
}

unreachable_url_fails_clearly() {
    local dest="$WORK/unreachable/odoo"
    setup ODOO_SRC="$dest" ODOO_GIT_URL="$UNREACHABLE"
    expect "the exit code is not zero" [ "$RC" -ne 0 ]
    expect "the message names ref, URL and destination" \
        has "$LOG" "git fetch of ref 18.0 from $UNREACHABLE into $dest failed"
    expect "the message quotes git's error" \
        has "$(sed -n '/ERROR:/,$p' <<<"$LOG")" "fatal: '$WORK/nowhere/odoo.git' does not appear to be a git repository"
    expect "the message says how to use an existing tree" has "$LOG" "point ODOO_SRC at an existing Odoo 18.0 Community tree"
    expect "nothing is left at the destination" [ ! -e "$dest" ]
    expect "no temporary directory is left" [ -z "$(leftovers "$(dirname "$dest")")" ]
    expect "no temporary file is left" [ -z "$(find "$WORK/tmp" -mindepth 1)" ]
}

ref_chooses_a_tag() {
    local dest="$WORK/tag/odoo"
    setup ODOO_SRC="$dest" ODOO_GIT_URL="$URL" ODOO_REF=v18.0-a
    expect "the tree is used" uses "$dest"
    expect "the tag's commit A is checked out" [ "$(head_of "$dest")" = "$A" ]
    expect "its content is A's" [ "$(cat "$dest/marker")" = A ]
    expect "the commit is printed" has "$LOG" "commit $A"
    expect "the stamp keeps the tag" grep -qP "^\Q$dest\E\t$A\tv18.0-a\t" "$STAMP"
}

ref_chooses_a_commit() {
    local dest="$WORK/commit/odoo" short="$WORK/short/odoo"
    setup ODOO_SRC="$dest" ODOO_GIT_URL="$URL" ODOO_REF="$A"
    expect "the tree is used" uses "$dest"
    expect "commit A is checked out" [ "$(head_of "$dest")" = "$A" ]
    expect "the fetch of a full commit id is shallow" [ "$(git -C "$dest" rev-parse --is-shallow-repository)" = true ]
    # No server sends an abbreviated commit id by itself: the whole history is fetched.
    setup ODOO_SRC="$short" ODOO_GIT_URL="$URL" ODOO_REF="${A:0:10}"
    expect "an abbreviated commit id is used" uses "$short"
    expect "commit A is checked out from its abbreviated id" [ "$(head_of "$short")" = "$A" ]
    expect "the fallback is said" has "$LOG" "fetching the whole history instead, to find commit ${A:0:10}"
}

unwritable_goes_to_cache() {
    # A file where a directory of ODOO_SRC should be: it cannot be created, even by root.
    local dest="$WORK/blocked/file/odoo" before
    mkdir -p "$WORK/blocked"
    echo "a file" >"$WORK/blocked/file"
    setup ODOO_SRC="$dest" ODOO_GIT_URL="$URL"
    expect "the cache folder receives the tree and is used" uses "$CACHE_TREE"
    expect "the log says so" has "$LOG" "no Odoo tree at $dest, which cannot be written here: using $CACHE_TREE"
    expect "it holds commit B" [ "$(head_of "$CACHE_TREE")" = "$B" ]
    expect "the file in the way is untouched" [ "$(cat "$WORK/blocked/file")" = "a file" ]
    before=$(fingerprint "$CACHE_TREE")
    setup ODOO_SRC="$dest" ODOO_GIT_URL="$UNREACHABLE"
    expect "a second run uses the cache folder" uses "$CACHE_TREE"
    expect "a second run fetches nothing" lacks "$LOG" "fetching"
    expect "a second run leaves it untouched" [ "$(fingerprint "$CACHE_TREE")" = "$before" ]
}

interrupted_fetch_leaves_no_tree() {
    # A git that pauses once the tree is checked out, so the run can be stopped at the worst time.
    local dest="$WORK/interrupted/odoo" bin="$WORK/slow-git" pid signal left=0
    mkdir -p "$bin" "$(dirname "$dest")"
    printf '#!/usr/bin/env bash\n%q "$@" || exit\n[[ " $* " != *" checkout "* ]] || { touch %q; sleep 60; }\n' \
        "$(command -v git)" "$WORK/paused" >"$bin/git"
    chmod +x "$bin/git"
    for signal in TERM KILL; do
        rm -f "$WORK/paused"
        # In a process group of its own, like a run under a terminal that gets Ctrl+C.
        PATH="$bin:$PATH" ODOO_SRC="$dest" ODOO_GIT_URL="$URL" setsid bash "$SETUP" --odoo >/dev/null 2>&1 &
        pid=$!
        for _ in $(seq 300); do [ -e "$WORK/paused" ] || sleep 0.1; done
        expect "the fetch reached its checkout before SIG$signal" [ -e "$WORK/paused" ]
        kill -"$signal" -- -"$pid"
        { wait "$pid"; } 2>/dev/null
        expect "after SIG$signal nothing is at the destination" [ ! -e "$dest" ]
        # SIGTERM lets the run remove its temporary directory; SIGKILL leaves it to the next run.
        expect "after SIG$signal, $left temporary directory is left" \
            [ "$(leftovers "$(dirname "$dest")" | wc -l)" = "$left" ]
        left=1
    done
    setup ODOO_SRC="$dest" ODOO_GIT_URL="$URL"
    expect "the next run fetches and uses a tree" uses "$dest"
    expect "the next run removes what SIGKILL left" [ -z "$(leftovers "$(dirname "$dest")")" ]
}

mkdir -p "$WORK/tmp"
export TMPDIR="$WORK/tmp"
check "a missing tree is fetched, pinned and then reused" missing_tree_is_fetched
check "an empty directory receives the tree; a killed fetch's leftovers go" empty_directory_is_filled
check "a tree already there is used untouched" present_tree_is_untouched
check "a tree of another version is refused, naming it" other_version_is_refused
check "a fetched ref of another version is refused, nothing left" other_version_fetched_is_refused
check "a non-empty directory without Odoo is refused, untouched" foreign_directory_is_refused
check "an unreachable URL fails saying what was tried" unreachable_url_fails_clearly
check "ODOO_REF chooses a tag" ref_chooses_a_tag
check "ODOO_REF chooses a commit, full or abbreviated" ref_chooses_a_commit
check "an ODOO_SRC that cannot be written sends Odoo to the cache folder" unwritable_goes_to_cache
check "a fetch stopped by a signal leaves no tree; the next run fetches again" interrupted_fetch_leaves_no_tree
echo "setup checks: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
