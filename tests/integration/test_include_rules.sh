#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The include rules (cmake/IncludeRules.cmake, docs/internals/architecture.md): the checker
# CMake runs at configure time passes on this tree and refuses each kind of crossing include in
# a copy of it, naming the file, the include and the rule.
set -euo pipefail
cd "$FTRACK_SOURCE_DIR"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ftrack-include-rules.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

cmake -DROOT="$PWD" -P cmake/IncludeRules.cmake || { echo "FAIL: the tree breaks its own rules" >&2; exit 1; }

# expect_refused FILE INCLUDE WORDS: a copy of the tree where FILE also includes INCLUDE fails
# the check with a message naming both and WORDS of the rule.
expect_refused() {
    local file=$1 include=$2 words=$3
    rm -rf "$tmp/tree" && mkdir -p "$tmp/tree"
    cp -r host sdk plugins examples "$tmp/tree/"
    printf '#include "%s"\n' "$include" >>"$tmp/tree/$file"
    local out rc=0
    out=$(cmake -DROOT="$tmp/tree" -P cmake/IncludeRules.cmake 2>&1) || rc=$?
    if [ "$rc" -eq 0 ]; then
        echo "FAIL: $file including \"$include\" was accepted" >&2
        exit 1
    fi
    grep -qF "$file includes \"$include\"" <<<"$out" || { echo "FAIL: no line names $file: $out" >&2; exit 1; }
    grep -qF "$words" <<<"$out" || { echo "FAIL: the rule ($words) is not said: $out" >&2; exit 1; }
    echo "ok: $file including \"$include\" is refused"
}

expect_refused host/ops/logging.c cli/cli.h "never include the command line"
expect_refused host/delivery/journal.c cli/cli.h "never include the command line"
expect_refused host/hub/store.c config/config.h "never includes the host"
expect_refused host/hub/api.c session/session_internal.h "only through common/ and wire/"
expect_refused host/runtime/workers.c hub/hub_internal.h "only through common/ and wire/"
expect_refused sdk/src/wire/socketio.c hub/hub_internal.h "knows neither"
expect_refused plugins/webhook/plugin.c common/internal.h "only the public API"
echo "ok: every rule refuses its crossing"
