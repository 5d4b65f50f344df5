#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Put the project's SPDX license identifier near the top of every source file that lacks it,
# in the file's own comment style, after a shebang line when there is one.
#
#   packaging/add-spdx.sh [--check] [ROOT]
#
# ROOT defaults to the repository this script is in. Files are those git tracks under ROOT
# (every file below ROOT when it is not a git checkout). --check changes nothing: it lists the
# source files without the identifier and exits 1 when there is one. Running it twice changes
# nothing the second time.
set -euo pipefail

ID="SPDX-License-Identifier: Apache-2.0"
# How many opening lines may come before the identifier (a shebang, a header guard).
HEAD_LINES=5

check=0
if [ "${1:-}" = --check ]; then
    check=1
    shift
fi
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"

list_files() {
    if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        git ls-files -z
    else
        find . -path ./.git -prune -o -type f -print0 | sed -z 's|^\./||'
    fi
}

# The comment style of a source file: c, hash, slash; nothing for files that are not source.
style_of() {
    local f=$1 base=${1##*/}
    case $f in
    */node_modules/* | node_modules/* | build*/*) return ;;
    esac
    case $base in
    *.c | *.h | *.S | *.h.in) echo c ;;
    *.mjs) echo slash ;;
    *.sh | *.py | *.cmake | CMakeLists.txt | *.pc.in | *.service.in) echo hash ;;
    *.in) head -c 2 "$f" | grep -q '^#!' && echo hash ;;
    *.*) ;;
    *) head -c 2 "$f" | grep -q '^#!' && echo hash ;;
    esac
    return 0
}

has_id() {
    head -n "$HEAD_LINES" "$1" | grep -q "$ID"
}

insert_id() {
    local f=$1 style=$2 line tmp
    case $style in
    c) line="/* $ID */" ;;
    slash) line="// $ID" ;;
    hash) line="# $ID" ;;
    esac
    tmp=$(mktemp "$f.spdx.XXXXXX")
    if [ "$style" != c ] && head -c 2 "$f" | grep -q '^#!'; then
        { head -n 1 "$f"; printf '%s\n' "$line"; tail -n +2 "$f"; } >"$tmp"
    else
        { printf '%s\n' "$line"; cat "$f"; } >"$tmp"
    fi
    chmod --reference="$f" "$tmp"
    mv "$tmp" "$f"
}

missing=0
changed=0
while IFS= read -r -d '' f; do
    [ -f "$f" ] || continue
    style=$(style_of "$f")
    [ -n "$style" ] || continue
    has_id "$f" && continue
    if [ "$check" = 1 ]; then
        echo "$f"
        missing=$((missing + 1))
    else
        insert_id "$f" "$style"
        changed=$((changed + 1))
    fi
done < <(list_files)

if [ "$check" = 1 ]; then
    [ "$missing" = 0 ] || { echo "$missing source file(s) lack '$ID' in their first $HEAD_LINES lines" >&2; exit 1; }
    exit 0
fi
echo "added '$ID' to $changed file(s)" >&2
