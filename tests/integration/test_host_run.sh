#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `ftrack-host` with no command: the embedded hub, the one join line (never the key), a
# publish reaching a plugin and its reply coming back, clean exits on SIGTERM/SIGINT (exit 0;
# under ASan a leak would make it non-zero), the bounded drain, usage errors (exit 2),
# --require-server, and the FTRACK_SERVER path against a separate hub.
set -euo pipefail
. "$FTRACK_TEST_LIB"
. "$(dirname "$0")/host_helpers.sh"

dir=$(plugin_dir echo slow)
secret="sekrit-$RANDOM-$RANDOM-key"

# --- no arguments beyond the test's port: FTRACK_EVENT_PLUGIN_PATH, key from the env ----------
export FTRACK_API_KEY="$secret"
log="$FTRACK_TEST_TMP/noargs.log"
FTRACK_EVENT_PLUGIN_PATH="$dir" env -u FTRACK_SERVER "$FTRACK_HOST_BIN" \
    --listen 127.0.0.1:0 --data-dir "$FTRACK_TEST_TMP/d1" 2>"$log" &
HOST_PID=$!
HOST_LOG=$log
track_child "$HOST_PID"
wait_for 30 grep -q 'ready:' "$log" || { cat "$log" >&2; fail "not ready"; }
cat "$log"
n=$(grep -c 'clients join with' "$log" || true)
[ "$n" -eq 1 ] || fail "expected ONE join line, got $n"
line=$(grep 'clients join with' "$log")
grep -qE "embedded event hub at http://127\.0\.0\.1:[0-9]+; clients join with FTRACK_SERVER=http://127\.0\.0\.1:[0-9]+ FTRACK_API_USER=$FTRACK_API_USER and FTRACK_API_KEY set to the FTRACK_API_KEY of this host's environment" <<<"$line" ||
    fail "join line: $line"
grep -qF "running on the EMBEDDED event hub" "$log" || fail "no embedded-hub warning"
FTRACK_SERVER=$(grep -o 'http://127\.0\.0\.1:[0-9]*' <<<"$line" | head -n 1)
export FTRACK_SERVER
probe test.echo --data '{"hello":"world"}' --expect 1 --wait 10
echo "$PROBE_OUT"
[ "$PROBE_RC" -eq 0 ] || fail "no reply through the embedded hub"
grep -q '"instance":"echo".*"hello":"world"' <<<"$PROBE_OUT" || fail "unexpected reply"
# Bounded drain: queue 4 slow events (2 s each), then SIGTERM with the default 5 s drain.
"$FTRACK_TEST_BIN_DIR/host_probe" test.slow --count 4 --expect 0 --wait 0.5 >/dev/null || true
sleep 0.3
t0=$(date +%s.%N)
stop_host TERM
t1=$(date +%s.%N)
took=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
echo "MEASURED: SIGTERM with 4 slow events queued: exit $HOST_EXIT after ${took} s (drain 5 s)"
[ "$HOST_EXIT" -eq 0 ] || fail "exit $HOST_EXIT after SIGTERM"
awk -v t="$took" 'BEGIN { exit !(t < 9.5) }' || fail "the drain was not bounded (${took} s)"
grep -qF "stopped cleanly" "$log" || fail "no clean stop"
grep -qF "echo: unregistered" "$log" || fail "echo was not unregistered"
grep -qF "$secret" "$log" && fail "the API key appeared in the log"
unset FTRACK_SERVER

# --- key from the key file (generated), SIGINT -------------------------------------------------
unset FTRACK_API_KEY
log="$FTRACK_TEST_TMP/keyfile.log"
FTRACK_EVENT_PLUGIN_PATH="$dir" "$FTRACK_HOST_BIN" --listen 127.0.0.1:0 \
    --data-dir "$FTRACK_TEST_TMP/d2" 2>"$log" &
HOST_PID=$!
HOST_LOG=$log
track_child "$HOST_PID"
wait_for 30 grep -q 'ready:' "$log" || { cat "$log" >&2; fail "not ready"; }
keyfile=$(find "$FTRACK_TEST_TMP/d2" -name 'api-key' | head -n 1)
[ -n "$keyfile" ] || fail "no key file was generated"
key=$(cat "$keyfile")
[ -n "$key" ] || fail "empty key file"
grep -qF "FTRACK_API_KEY set to the content of $keyfile" "$log" || fail "join line does not say where the key is"
grep -qF "$key" "$log" && fail "the generated key appeared in the log"
FTRACK_SERVER=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$log" | head -n 1) FTRACK_API_KEY="$key" \
    "$FTRACK_TEST_BIN_DIR/host_probe" test.echo --expect 1 --wait 10 >/dev/null ||
    fail "a client with the key file's key got no reply"
stop_host INT
[ "$HOST_EXIT" -eq 0 ] || fail "exit $HOST_EXIT after SIGINT"
export FTRACK_API_KEY="$FTRACK_TEST_API_KEY"

# --- usage and configuration errors: exit 2 ---------------------------------------------------
rc=0; "$FTRACK_HOST_BIN" --no-such-option 2>/dev/null || rc=$?
[ "$rc" -eq 2 ] || fail "unknown option: exit $rc"
rc=0; "$FTRACK_HOST_BIN" --log-level loud 2>/dev/null || rc=$?
[ "$rc" -eq 2 ] || fail "bad log level: exit $rc"
rc=0; "$FTRACK_HOST_BIN" --listen nowhere 2>/dev/null || rc=$?
[ "$rc" -eq 2 ] || fail "bad --listen: exit $rc"
rc=0; env -u FTRACK_SERVER "$FTRACK_HOST_BIN" --require-server --plugin-path "$dir" \
    --data-dir "$FTRACK_TEST_TMP/d4" 2>"$FTRACK_TEST_TMP/req.log" || rc=$?
[ "$rc" -eq 2 ] || fail "--require-server without FTRACK_SERVER: exit $rc"
grep -qF "FTRACK_SERVER is not set" "$FTRACK_TEST_TMP/req.log" || fail "no --require-server message"
"$FTRACK_HOST_BIN" run --help | grep -q -- "--require-server" || fail "run --help lacks --require-server"
"$FTRACK_HOST_BIN" plugins --help | grep -q -- "--plugin-arg" || fail "plugins --help"

# --- a busy port is a runtime failure (exit 1) --------------------------------------------------
start_hub
rc=0
env -u FTRACK_SERVER "$FTRACK_HOST_BIN" --listen "127.0.0.1:$HUB_PORT" --plugin-path "$dir" \
    --data-dir "$FTRACK_TEST_TMP/d3" 2>"$FTRACK_TEST_TMP/busy.log" || rc=$?
[ "$rc" -eq 1 ] || { cat "$FTRACK_TEST_TMP/busy.log" >&2; fail "busy port: exit $rc"; }

# --- FTRACK_SERVER set: connect to that hub, no embedded one ------------------------------------
log="$FTRACK_TEST_TMP/remote.log"
"$FTRACK_HOST_BIN" --require-server --plugin-path "$dir" --data-dir "$FTRACK_TEST_TMP/d5" 2>"$log" &
HOST_PID=$!
HOST_LOG=$log
track_child "$HOST_PID"
wait_for 30 grep -q 'ready:' "$log" || { cat "$log" >&2; fail "not ready against FTRACK_SERVER"; }
grep -qF "EMBEDDED" "$log" && fail "started an embedded hub although FTRACK_SERVER is set"
probe test.echo --expect 1 --wait 10
[ "$PROBE_RC" -eq 0 ] || fail "no reply through the external hub: $PROBE_OUT"
stop_host TERM
[ "$HOST_EXIT" -eq 0 ] || fail "exit $HOST_EXIT"
stop_hub
echo "ok"
