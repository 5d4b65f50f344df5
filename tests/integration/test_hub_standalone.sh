#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `ftrack-hub`, the hub server's own executable: the same command line as `ftrack-host hub`
# under its own name (usage, errors, the URL line), serving the same protocol.
. "$FTRACK_TEST_LIB"
: "${FTRACK_HUB_BIN:?FTRACK_HUB_BIN must point at the ftrack-hub binary}"

# The help text is ftrack-host hub's, with the name and its indentation changed.
"$FTRACK_HUB_BIN" --help >"$FTRACK_TEST_TMP/hub-help" || fail "ftrack-hub --help failed"
"$FTRACK_HOST_BIN" hub --help >"$FTRACK_TEST_TMP/host-help" || fail "ftrack-host hub --help failed"
head -n1 "$FTRACK_TEST_TMP/hub-help" | grep -q '^usage: ftrack-hub \[--listen HOST:PORT\]' ||
    fail "usage line: $(head -n1 "$FTRACK_TEST_TMP/hub-help")"
sed -n 2p "$FTRACK_TEST_TMP/hub-help" | grep -q '^                  \[--store' ||
    fail "continuation not under the options: $(sed -n 2p "$FTRACK_TEST_TMP/hub-help")"
diff <(tail -n +4 "$FTRACK_TEST_TMP/hub-help") <(tail -n +4 "$FTRACK_TEST_TMP/host-help") ||
    fail "the option descriptions differ from ftrack-host hub's"

rc=0
"$FTRACK_HUB_BIN" --bogus 2>"$FTRACK_TEST_TMP/err" || rc=$?
[ "$rc" = 2 ] || fail "unknown option: exit $rc, expected 2"
head -n1 "$FTRACK_TEST_TMP/err" | grep -qx "ftrack-hub: unknown or incomplete option '--bogus'" ||
    fail "usage error: $(head -n1 "$FTRACK_TEST_TMP/err")"

# It serves: the URL line, a handshake with the configured credentials, a refused key.
export FTRACK_API_USER="$FTRACK_TEST_API_USER" FTRACK_API_KEY="$FTRACK_TEST_API_KEY"
log="$FTRACK_TEST_TMP/ftrack-hub.log"
"$FTRACK_HUB_BIN" --listen 127.0.0.1:0 --data-dir "$FTRACK_TEST_TMP/data" --store memory 2>"$log" &
pid=$!
track_child "$pid"
wait_for 20 grep -q '^ftrack-hub: ready at http://127\.0\.0\.1:[0-9]' "$log" || fail "no ready line: $(cat "$log")"
url=$(grep -o -m1 'http://127\.0\.0\.1:[0-9]*' "$log")
body=$(curl -s --max-time 10 -H "ftrack-user: $FTRACK_TEST_API_USER" \
    -H "ftrack-api-key: $FTRACK_TEST_API_KEY" "$url/socket.io/1/")
[[ "$body" =~ ^[0-9a-f]{8,}:60:60:websocket$ ]] || fail "handshake body '$body'"
code=$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' -H "ftrack-user: $FTRACK_TEST_API_USER" \
    -H "ftrack-api-key: wrong" "$url/socket.io/1/")
[ "$code" = 401 ] || fail "wrong key: HTTP $code"
kill -TERM "$pid"
wait_pid_exit "$pid" 10 || fail "ftrack-hub did not stop on SIGTERM"
[ "$WAIT_STATUS" = 0 ] || fail "SIGTERM: exit $WAIT_STATUS"
echo "ok: ftrack-hub"
