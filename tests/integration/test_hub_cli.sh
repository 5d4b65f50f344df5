#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `ftrack-host hub`: URL line, handshake, credentials (headers and query), key file, signals,
# busy port and usage errors.
. "$FTRACK_TEST_LIB"

CURL=(curl -s --max-time 10)

# --- URL line and handshake ---------------------------------------------------------------
start_hub
[ "$(grep -c 'http://' "$HUB_LOG")" = 1 ] || fail "expected exactly one line with the URL"
grep -Eq 'http://127\.0\.0\.1:[0-9]+( |$)' "$HUB_LOG" || fail "URL line lacks an explicit port"
grep -Eq 'http://127\.0\.0\.1:[0-9]+/' "$HUB_LOG" && fail "URL has a trailing slash"
[ "$HUB_PORT" -gt 0 ] || fail "port 0 was not replaced by the bound port"

body=$("${CURL[@]}" -H "ftrack-user: $FTRACK_TEST_API_USER" -H "ftrack-api-key: $FTRACK_TEST_API_KEY" \
    "$FTRACK_SERVER/socket.io/1/")
[[ "$body" =~ ^[0-9a-f]{8,}:60:60:websocket$ ]] || fail "handshake body '$body'"
body2=$("${CURL[@]}" -H "FTRACK-USER: $FTRACK_TEST_API_USER" -H "Ftrack-Api-Key: $FTRACK_TEST_API_KEY" \
    "$FTRACK_SERVER/socket.io/1/")
[[ "$body2" =~ :60:60:websocket$ ]] || fail "header names must be case-insensitive: '$body2'"
[ "${body%%:*}" != "${body2%%:*}" ] || fail "two handshakes got the same session id"

# Query-string credentials, URL-encoded (the JavaScript client's way).
code=$("${CURL[@]}" -o /dev/null -w '%{http_code}' \
    "$FTRACK_SERVER/socket.io/1/?api_user=$FTRACK_TEST_API_USER&api_key=$FTRACK_TEST_API_KEY")
[ "$code" = 200 ] || fail "query credentials: HTTP $code"

expect_401() {
    local what=$1
    shift
    local out code
    out=$("${CURL[@]}" -w '\n%{http_code}' "$@")
    code=${out##*$'\n'}
    [ "$code" = 401 ] || fail "$what: expected 401, got $code"
    [[ "${out%$'\n'*}" == *'"exception":"InvalidCredentialsError"'* ]] || fail "$what: body '${out%$'\n'*}'"
}
expect_401 "wrong key (headers)" -H "ftrack-user: $FTRACK_TEST_API_USER" -H "ftrack-api-key: nope" \
    "$FTRACK_SERVER/socket.io/1/"
expect_401 "wrong user (headers)" -H "ftrack-user: someone" -H "ftrack-api-key: $FTRACK_TEST_API_KEY" \
    "$FTRACK_SERVER/socket.io/1/"
expect_401 "missing credentials" "$FTRACK_SERVER/socket.io/1/"
expect_401 "wrong key (query)" "$FTRACK_SERVER/socket.io/1/?api_user=$FTRACK_TEST_API_USER&api_key=x"
expect_401 "key prefix (query)" \
    "$FTRACK_SERVER/socket.io/1/?api_user=$FTRACK_TEST_API_USER&api_key=${FTRACK_TEST_API_KEY:0:5}"

# A websocket upgrade with an unknown session id is refused before the upgrade.
code=$("${CURL[@]}" -o /dev/null -w '%{http_code}' -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
    -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' \
    "$FTRACK_SERVER/socket.io/1/websocket/deadbeef")
[ "$code" = 401 ] || fail "upgrade with an unknown sid: expected 401, got $code"

# --- SIGTERM / SIGINT ---------------------------------------------------------------------
stop_hub
[ "$HUB_EXIT" = 0 ] || fail "SIGTERM: exit $HUB_EXIT"
start_hub
kill -INT "$HUB_PID"
wait_pid_exit "$HUB_PID" 10 || fail "SIGINT: still running"
[ "$WAIT_STATUS" = 0 ] || fail "SIGINT: exit $WAIT_STATUS"
HUB_PID=

# --- busy port ----------------------------------------------------------------------------
start_hub
busy_log="$FTRACK_TEST_TMP/busy.log"
rc=0
timeout 20 "$FTRACK_HOST_BIN" hub --listen "127.0.0.1:$HUB_PORT" --data-dir "$FTRACK_TEST_TMP/d2" \
    2>"$busy_log" || rc=$?
[ "$rc" = 1 ] || fail "busy port: exit $rc (want 1)"
grep -q "$HUB_PORT" "$busy_log" || fail "busy port error does not name the port: $(cat "$busy_log")"
stop_hub

# --- usage errors -------------------------------------------------------------------------
for args in "--listen" "--listen nonsense:port" "--listen 127.0.0.1:70000" "--heartbeat 0" \
    "--bogus" "extra-arg" "--listen ::1:80"; do
    rc=0
    # shellcheck disable=SC2086
    timeout 10 "$FTRACK_HOST_BIN" hub $args 2>/dev/null || rc=$?
    [ "$rc" = 2 ] || fail "'hub $args': exit $rc (want 2)"
done
timeout 10 "$FTRACK_HOST_BIN" hub --help | grep -q -- '--listen' || fail "--help lacks --listen"

# --- IPv6 ---------------------------------------------------------------------------------
if python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null; then
    v6_log="$FTRACK_TEST_TMP/v6.log"
    FTRACK_API_USER=u FTRACK_API_KEY=k "$FTRACK_HOST_BIN" hub --listen '[::1]:0' \
        --data-dir "$FTRACK_TEST_TMP/d6" 2>"$v6_log" &
    v6=$!
    track_child $v6
    wait_for 20 grep -q 'http://\[::1\]:[0-9]' "$v6_log" || fail "IPv6: no URL line: $(cat "$v6_log")"
    url=$(grep -o -m1 'http://\[::1\]:[0-9]*' "$v6_log")
    code=$("${CURL[@]}" -o /dev/null -w '%{http_code}' -H 'ftrack-user: u' -H 'ftrack-api-key: k' \
        "$url/socket.io/1/")
    [ "$code" = 200 ] || fail "IPv6 handshake: HTTP $code"
    kill -TERM $v6
    wait_pid_exit $v6 10 && [ "$WAIT_STATUS" = 0 ] || fail "IPv6 hub did not stop cleanly"
else
    note "no IPv6 loopback here; skipped the [::1] check"
fi

# --- generated key file -------------------------------------------------------------------
data="$FTRACK_TEST_TMP/keyed/state"
run_keyless() {
    env -u FTRACK_API_KEY -u FTRACK_APIKEY FTRACK_API_USER=keyless \
        "$FTRACK_HOST_BIN" hub --listen 127.0.0.1:0 --data-dir "$data" 2>"$1" &
    KPID=$!
    track_child $KPID
    wait_for 20 grep -q 'http://127' "$1" || fail "keyless hub: no URL line: $(cat "$1")"
}
run_keyless "$FTRACK_TEST_TMP/k1.log"
keyfile="$data/api-key"
[ -f "$keyfile" ] || fail "no key file at $keyfile"
[ "$(stat -c %a "$keyfile")" = 600 ] || fail "key file mode $(stat -c %a "$keyfile")"
[ "$(stat -c %a "$data")" = 700 ] || fail "data folder mode $(stat -c %a "$data")"
[ "$(stat -c %a "$(dirname "$data")")" = 700 ] || fail "a created parent is not 0700"
[ "$(stat -c %a "$data/hub.sqlite")" = 600 ] || fail "entity store mode $(stat -c %a "$data/hub.sqlite")"
key=$(cat "$keyfile")
[ "${#key}" -ge 32 ] || fail "generated key is too short"
grep -q "$keyfile" "$FTRACK_TEST_TMP/k1.log" || fail "the key file path was not printed"
grep -q 'export FTRACK_API_KEY="$(cat' "$FTRACK_TEST_TMP/k1.log" || fail "no export line"
grep -qF "$key" "$FTRACK_TEST_TMP/k1.log" && fail "the key itself was printed"
url=$(grep -o -m1 'http://127\.0\.0\.1:[0-9]*' "$FTRACK_TEST_TMP/k1.log")
code=$("${CURL[@]}" -o /dev/null -w '%{http_code}' -H 'ftrack-user: keyless' -H "ftrack-api-key: $key" \
    "$url/socket.io/1/")
[ "$code" = 200 ] || fail "the generated key is not accepted: HTTP $code"
kill -TERM $KPID
wait_pid_exit $KPID 10 || fail "keyless hub did not stop"
run_keyless "$FTRACK_TEST_TMP/k2.log"
[ "$(cat "$keyfile")" = "$key" ] || fail "the key changed across restarts"
grep -qF "$key" "$FTRACK_TEST_TMP/k2.log" && fail "the key was printed on restart"
kill -TERM $KPID
wait_pid_exit $KPID 10 || fail "keyless hub did not stop"

# A key file others can read is refused, not used.
chmod 644 "$keyfile"
rc=0
env -u FTRACK_API_KEY -u FTRACK_APIKEY timeout 10 "$FTRACK_HOST_BIN" hub --listen 127.0.0.1:0 \
    --data-dir "$data" 2>"$FTRACK_TEST_TMP/k3.log" || rc=$?
[ "$rc" = 2 ] || fail "readable key file: exit $rc (want 2)"
grep -q 'chmod 600' "$FTRACK_TEST_TMP/k3.log" || fail "readable key file: no advice given"
grep -qF "$key" "$FTRACK_TEST_TMP/k3.log" && fail "the key was printed in an error"

echo "ok"
