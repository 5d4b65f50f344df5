#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A data folder that exists already is checked like a new one would be made: one writable by
# other users is refused (ftrack-host run and hub exit 2 naming the fix), one readable by them
# is used with a warning, a private one without.
set -euo pipefail
. "$FTRACK_TEST_LIB"

t=$FTRACK_TEST_TMP
export FTRACK_API_USER=test-user FTRACK_API_KEY=test-key-0123456789abcdef
mkdir -m 777 "$t/open" && chmod 777 "$t/open"
for cmd in run hub; do
    rc=0
    if [ "$cmd" = run ]; then
        env -u FTRACK_SERVER timeout 20 "$FTRACK_HOST_BIN" --listen 127.0.0.1:0 --data-dir "$t/open" \
            --plugin-path "$t/none" 2>"$t/$cmd.err" || rc=$?
    else
        timeout 20 "$FTRACK_HOST_BIN" hub --listen 127.0.0.1:0 --data-dir "$t/open" 2>"$t/$cmd.err" || rc=$?
    fi
    [ "$rc" = 2 ] || { cat "$t/$cmd.err" >&2; fail "$cmd with a world-writable data dir: exit $rc (want 2)"; }
    grep -q "folder $t/open is writable by other users (mode 0777); run \`chmod 700 $t/open\`" "$t/$cmd.err" ||
        { cat "$t/$cmd.err" >&2; fail "$cmd does not say why"; }
done

mkdir -m 755 "$t/readable"
chmod 755 "$t/readable"
"$FTRACK_HOST_BIN" hub --listen 127.0.0.1:0 --data-dir "$t/readable" 2>"$t/hub.log" &
pid=$!
track_child "$pid"
wait_for 20 grep -q 'ready at' "$t/hub.log" || { cat "$t/hub.log" >&2; fail "the hub did not start"; }
grep -q "folder $t/readable is readable by other users (mode 0755)" "$t/hub.log" ||
    { cat "$t/hub.log" >&2; fail "no warning about a readable data dir"; }
kill "$pid"
wait_pid_exit "$pid" 10 || fail "the hub did not stop"
echo ok
