# shellcheck shell=bash
# Find the Odoo 18.0 Community tree, or fetch it. Sourced by common.sh, whose check_odoo_src calls
# resolve_odoo_src; `bash scripts/setup.sh --odoo` runs only this step.
#
# Settings: ODOO_SRC (default /opt/odoo), ODOO_GIT_URL (default the official repository), ODOO_REF
# (a branch, tag or commit to fetch; default 18.0).
# * ODOO_SRC holds a tree (odoo/release.py): it is used as it is, never touched, and refused when
#   it is not Odoo 18.0.
# * ODOO_SRC is absent or an empty directory: ODOO_REF of ODOO_GIT_URL is fetched (depth 1) into
#   it when it can be written, else into the cache folder ($ODOO_CACHE_SRC), which later runs reuse.
# * ODOO_SRC is anything else (a non-empty directory without odoo/release.py, a file): refused and
#   left as it is.
# The fetch goes to a temporary directory; the tree moves into place only once complete and
# checked, so an interrupted fetch never leaves a half tree that passes for one. The commit
# fetched is printed and kept in $ODOO_FETCH_STAMP.

ODOO_GIT_URL=${ODOO_GIT_URL:-https://github.com/odoo/odoo.git}
ODOO_REF=${ODOO_REF:-18.0}
ODOO_CACHE_SRC=${XDG_CACHE_HOME:-$HOME/.cache}/livechat_groups/odoo-18.0
ODOO_FETCH_STAMP=${XDG_CACHE_HOME:-$HOME/.cache}/livechat_groups/odoo-fetched.tsv
# Name prefix of the temporary directories of a fetch, followed by the fetching shell's PID.
ODOO_FETCH_MARK=.livechat_groups-fetch

# The version of the Odoo tree in $1 ("18.0", "17.0", "saas~17.4"), empty when unknown.
odoo_tree_version() {
    sed -nE "/^version_info = /{s/^version_info = \(['\"]?([^,'\"]+)['\"]?, *([^,]+),.*/\1.\2/p;q}" \
        "$1/odoo/release.py"
}

# The commit checked out in $1 when it is a git work tree of its own, else nothing.
odoo_tree_commit() {
    [ -e "$1/.git" ] || return 0
    git -C "$1" rev-parse -q --verify HEAD 2>/dev/null || true
}

# True when $1 is absent, or a directory holding nothing but leftovers of an interrupted fetch.
odoo_dir_free() {
    [ -e "$1" ] || [ -L "$1" ] || return 0
    [ -d "$1" ] || return 1
    [ -z "$(find "$1/" -mindepth 1 -maxdepth 1 ! -name "$ODOO_FETCH_MARK-*" -print -quit)" ]
}

odoo_refuse_unless_free() {
    odoo_dir_free "$1" && return 0
    if [ -d "$1" ]; then
        die "$1 is not empty but holds no Odoo tree (no odoo/release.py): it is left as it is.
  Point ODOO_SRC at an Odoo 18.0 Community tree (odoo-bin, odoo/, addons/), or at an absent or
  empty directory to have Odoo 18.0 fetched there, e.g. ODOO_SRC=\$HOME/odoo-18.0 make run"
    fi
    die "$1 is not a directory: it is left as it is.
  Point ODOO_SRC at an Odoo 18.0 Community tree (odoo-bin, odoo/, addons/), or at an absent or
  empty directory to have Odoo 18.0 fetched there, e.g. ODOO_SRC=\$HOME/odoo-18.0 make run"
}

# Remove the temporary directories "$1<pid>" whose fetching shell is gone (killed mid-fetch); one
# with this shell's PID is stale too, since this shell has not made it yet.
odoo_clean_stale() {
    local dir pid
    for dir in "$1"*; do
        [ -d "$dir" ] || continue
        pid=${dir##*-}
        [[ "$pid" =~ ^[0-9]+$ ]] || continue
        if [ "$pid" = $$ ] || ! kill -0 "$pid" 2>/dev/null; then
            log "removing $dir, left by an interrupted fetch"
            rm -rf -- "$dir" 2>/dev/null || true
        fi
    done
    return 0
}

# Create the temporary directory of a fetch into $1, in ODOO_FETCH_TMP: inside $1 when it exists
# (an empty directory, maybe a mount point), else next to it. Fails when $1 cannot be written.
odoo_fetch_tmp() {
    local dest=$1 prefix
    if [ -d "$dest" ]; then
        prefix="$dest/$ODOO_FETCH_MARK-"
    else
        prefix="$(dirname "$dest")/$ODOO_FETCH_MARK-$(basename "$dest")-"
        mkdir -p "$(dirname "$dest")" 2>/dev/null || return 1
    fi
    ODOO_FETCH_TMP="$prefix$$"
    odoo_clean_stale "$prefix"
    mkdir "$ODOO_FETCH_TMP" 2>/dev/null
}

# git in the fetch directory; its messages go to stderr and to the file $ODOO_FETCH_ERR.
odoo_git() {
    git -C "$ODOO_FETCH_TMP" "$@" 2>&1 >/dev/null | tee -a "$ODOO_FETCH_ERR" >&2
    return "${PIPESTATUS[0]}"
}

# Fetch ODOO_REF of ODOO_GIT_URL into ODOO_FETCH_TMP and check it out.
odoo_git_fetch() {
    local progress=()
    [ ! -t 2 ] || progress=(--progress)
    git init -q "$ODOO_FETCH_TMP" && odoo_git remote add origin "$ODOO_GIT_URL" || return 1
    if odoo_git fetch "${progress[@]}" --depth 1 origin "$ODOO_REF"; then
        odoo_git -c advice.detachedHead=false checkout -q --detach FETCH_HEAD
    elif [[ "$ODOO_REF" =~ ^[0-9a-fA-F]{7,40}$ ]]; then
        # A server may refuse a commit by its id (and every server an abbreviated one): fetch all.
        log "fetching the whole history instead, to find commit $ODOO_REF (much larger)"
        odoo_git fetch "${progress[@]}" --tags origin "+refs/heads/*:refs/remotes/origin/*" \
            && odoo_git -c advice.detachedHead=false checkout -q --detach "$ODOO_REF^{commit}"
    else
        return 1
    fi
}

# Move the complete tree ODOO_FETCH_TMP to $1: one rename when $1 is absent; entry by entry, odoo/
# last (it holds release.py, which makes a tree), when $1 is an existing empty directory.
odoo_move_into_place() {
    local dest=$1 entry
    if [ "$(dirname "$ODOO_FETCH_TMP")" != "$dest" ]; then
        mv -T -- "$ODOO_FETCH_TMP" "$dest"
        return
    fi
    for entry in "$ODOO_FETCH_TMP"/* "$ODOO_FETCH_TMP"/.[!.]* "$ODOO_FETCH_TMP"/..?*; do
        [ -e "$entry" ] || [ -L "$entry" ] || continue
        [ "$entry" = "$ODOO_FETCH_TMP/odoo" ] || mv -- "$entry" "$dest/" || return 1
    done
    mv -- "$ODOO_FETCH_TMP/odoo" "$dest/odoo" && rmdir -- "$ODOO_FETCH_TMP"
}

# Fetch Odoo into $1 through ODOO_FETCH_TMP (made by odoo_fetch_tmp), or die saying what was tried.
odoo_fetch() {
    local dest=$1 version commit status=0 reason
    command -v git >/dev/null || apt_install git ca-certificates
    log "fetching Odoo 18.0 Community: $ODOO_REF of $ODOO_GIT_URL into $dest (depth 1, about 400 MB)"
    ODOO_FETCH_ERR=$(mktemp)
    trap 'rm -rf -- "$ODOO_FETCH_TMP" "$ODOO_FETCH_ERR"' EXIT
    odoo_git_fetch || status=$?
    if [ "$status" -ne 0 ]; then
        reason=$(tr '\r' '\n' <"$ODOO_FETCH_ERR" | grep -E '^(fatal|error|ERROR):' | tail -5 | sed 's/^/    /' || true)
        die "could not fetch Odoo 18.0: git fetch of ref $ODOO_REF from $ODOO_GIT_URL into $dest failed (exit $status):
${reason:-    (git printed no error; see above)}
  Nothing was left at $dest. Make that URL reachable, or set ODOO_GIT_URL to a mirror (and ODOO_REF
  to a branch, tag or commit it holds), or point ODOO_SRC at an existing Odoo 18.0 Community tree
  (odoo-bin, odoo/, addons/): ODOO_SRC=/path/to/odoo make run"
    fi
    [ -f "$ODOO_FETCH_TMP/odoo/release.py" ] \
        || die "$ODOO_REF of $ODOO_GIT_URL holds no Odoo tree (no odoo/release.py): nothing was left at $dest"
    version=$(odoo_tree_version "$ODOO_FETCH_TMP")
    [ "$version" = 18.0 ] || die "$ODOO_REF of $ODOO_GIT_URL holds Odoo ${version:-of unknown version}, \
not 18.0: nothing was left at $dest. Set ODOO_REF to an 18.0 branch, tag or commit"
    commit=$(odoo_tree_commit "$ODOO_FETCH_TMP")
    if ! odoo_move_into_place "$dest"; then
        [ -f "$dest/odoo/release.py" ] || die "could not move the fetched tree into $dest"
        log "another run fetched Odoo into $dest meanwhile: using that one"
    fi
    trap - EXIT
    rm -rf -- "$ODOO_FETCH_TMP" "$ODOO_FETCH_ERR"
    mkdir -p "$(dirname "$ODOO_FETCH_STAMP")" 2>/dev/null || true
    printf '%s\t%s\t%s\t%s\t%s\n' "$dest" "$commit" "$ODOO_REF" "$ODOO_GIT_URL" "$(date -u +%FT%TZ)" \
        >>"$ODOO_FETCH_STAMP" 2>/dev/null \
        || log "fetched commit $commit into $dest (warning: could not write $ODOO_FETCH_STAMP)"
}

# Use the tree in $1 as ODOO_SRC, or die when it is not Odoo 18.0.
odoo_use_tree() {
    local version stamp head commit ref url date
    version=$(odoo_tree_version "$1")
    [ "$version" = 18.0 ] || die "$1 holds Odoo ${version:-of unknown version} \
($(grep -m1 '^version_info' "$1/odoo/release.py" || echo 'no version_info in odoo/release.py')), not 18.0:
  livechat_groups needs Odoo 18.0 Community. Point ODOO_SRC at an Odoo 18.0 tree, or at an absent
  or empty directory to have Odoo 18.0 fetched there. $1 is left as it is."
    ODOO_SRC=$1
    # What we fetched there, if we did (the last line for this path): path commit ref url date.
    [ -f "$ODOO_FETCH_STAMP" ] || return 0
    stamp=$(awk -F'\t' -v p="$1" '$1 == p' "$ODOO_FETCH_STAMP" | tail -1)
    [ -n "$stamp" ] || return 0
    IFS=$'\t' read -r _ commit ref url date <<<"$stamp"
    head=$(odoo_tree_commit "$1")
    log "Odoo 18.0 from $1: commit ${head:-$commit} (fetched $date: $ref of $url)"
    [ "$ref" = "$ODOO_REF" ] || log "note: ODOO_REF is $ODOO_REF but $1 holds $ref; \
remove $1 to fetch $ODOO_REF"
}

# Set ODOO_SRC to an Odoo 18.0 tree: the one there, or one fetched (see the top of this file).
resolve_odoo_src() {
    local wanted=${ODOO_SRC:-/opt/odoo}
    case $wanted in /*) ;; *) wanted=$PWD/$wanted ;; esac
    [ "$wanted" = / ] || wanted=${wanted%/}
    if [ -f "$wanted/odoo/release.py" ]; then
        odoo_use_tree "$wanted"
        return
    fi
    odoo_refuse_unless_free "$wanted"
    if odoo_fetch_tmp "$wanted"; then
        odoo_fetch "$wanted"
        odoo_use_tree "$wanted"
        return
    fi
    log "no Odoo tree at $wanted, which cannot be written here: using $ODOO_CACHE_SRC"
    if [ -f "$ODOO_CACHE_SRC/odoo/release.py" ]; then
        odoo_use_tree "$ODOO_CACHE_SRC"
        return
    fi
    odoo_refuse_unless_free "$ODOO_CACHE_SRC"
    odoo_fetch_tmp "$ODOO_CACHE_SRC" || die "cannot write $wanted nor $ODOO_CACHE_SRC to fetch Odoo 18.0.
  Set ODOO_SRC to a writable directory, or to an existing Odoo 18.0 Community tree"
    odoo_fetch "$ODOO_CACHE_SRC"
    odoo_use_tree "$ODOO_CACHE_SRC"
}
