#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Reliability: the data dir. ftrack-host creates every missing folder of it (0700), and never
# runs without its journal: a data dir another host holds, or one that cannot be created, is a
# start-up failure (exit 1) that names the folder and suggests --data-dir. Also on the default
# data dir (here under a scratch HOME: the test never touches the real ~/.local/state).
set -euo pipefail
. "$FTRACK_TEST_LIB"
. "$(dirname "$0")/host_helpers.sh"

dir=$(plugin_dir echo)
mode() { stat -c %a "$1"; }

# expect_refused LOG WHAT: the host exited 1 with the journal message, never ready.
expect_refused() {
    local log=$1 what=$2
    grep -qF "$what" "$log" || { cat "$log" >&2; fail "no '$what' in the refusal"; }
    grep -qF -- "--data-dir" "$log" || { cat "$log" >&2; fail "the refusal does not suggest --data-dir"; }
    grep -qF "does not run without its journal" "$log" || { cat "$log" >&2; fail "no journal message"; }
    grep -q "ready:" "$log" && fail "a refused host said it was ready"
    return 0
}

# --- the default data dir, under a scratch HOME whose .local does not exist yet ---------------
home="$FTRACK_TEST_TMP/home"
mkdir -m 755 "$home"
log1="$FTRACK_TEST_TMP/first.log"
env -u FTRACK_SERVER -u XDG_STATE_HOME HOME="$home" "$FTRACK_HOST_BIN" --listen 127.0.0.1:0 \
    --plugin-path "$dir" 2>"$log1" &
HOST_PID=$!
HOST_LOG=$log1
track_child "$HOST_PID"
wait_for 30 grep -q 'ready:' "$log1" || { cat "$log1" >&2; fail "the first host did not get ready"; }
url=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$log1" | head -n 1)
state="$home/.local/state/ftrack-host"
compgen -G "$state/journal/*.seg" >/dev/null || fail "no journal in the default data dir $state"
for d in "$home/.local" "$home/.local/state" "$state"; do
    [ "$(mode "$d")" = 700 ] || fail "$d was created $(mode "$d"), not 700"
done

# A second host of the same user on the default data dir: refused, not run without a journal.
log2="$FTRACK_TEST_TMP/second.log"
rc=0
env -u XDG_STATE_HOME HOME="$home" FTRACK_SERVER="$url" timeout 30 "$FTRACK_HOST_BIN" \
    --plugin-path "$dir" 2>"$log2" || rc=$?
[ "$rc" -eq 1 ] || { cat "$log2" >&2; fail "second host on the default data dir: exit $rc, want 1"; }
expect_refused "$log2" "$state/journal is in use by another ftrack-host"
grep -q "WITHOUT a journal" "$log2" && fail "the second host ran without a journal"
note "second host refused: $(grep -o 'the journal .*in use[^;]*' "$log2" | head -n 1)"

# The first one is unaffected.
FTRACK_SERVER=$url probe test.echo --expect 1 --wait 10
[ "$PROBE_RC" -eq 0 ] || fail "the first host stopped answering: $PROBE_OUT"
stop_host TERM
[ "$HOST_EXIT" -eq 0 ] || fail "first host: exit $HOST_EXIT"

# --- --data-dir with missing parents: all created 0700 ------------------------------------------
nested="$FTRACK_TEST_TMP/n1/n2/data"
start_host --plugin-path "$dir" --data-dir "$nested"
for d in "$FTRACK_TEST_TMP/n1" "$FTRACK_TEST_TMP/n1/n2" "$nested"; do
    [ "$(mode "$d")" = 700 ] || fail "$d was created $(mode "$d"), not 700"
done
compgen -G "$nested/journal/*.seg" >/dev/null || fail "no journal in $nested"
stop_host TERM
[ "$HOST_EXIT" -eq 0 ] || fail "nested data dir: exit $HOST_EXIT"

# --- a data dir that cannot be created: exit 1, naming it -------------------------------------
touch "$FTRACK_TEST_TMP/a-file"
bad="$FTRACK_TEST_TMP/a-file/data"
log3="$FTRACK_TEST_TMP/bad.log"
rc=0
env -u FTRACK_SERVER timeout 30 "$FTRACK_HOST_BIN" --listen 127.0.0.1:0 --plugin-path "$dir" \
    --data-dir "$bad" 2>"$log3" || rc=$?
[ "$rc" -eq 1 ] || { cat "$log3" >&2; fail "uncreatable data dir: exit $rc, want 1"; }
grep -qF "$FTRACK_TEST_TMP/a-file" "$log3" || { cat "$log3" >&2; fail "the error does not name the folder"; }
grep -q "ready:" "$log3" && fail "a host without a data dir said it was ready"
echo ok
