#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The C SDK's hub client against the embedded hub: refused credentials, heartbeats answered
# and watched, reconnect after a hub restart (local meta events, re-subscription, a publish
# queued while disconnected delivered afterwards), publish with a reply, and a quick
# throughput figure.
. "$FTRACK_TEST_LIB"

PROBE="$FTRACK_TEST_BIN_DIR/hub_client_probe"
[ -x "$PROBE" ] || fail "missing $PROBE"

# probe NAME ARGS...: run the probe in the background; its stdout goes to $FTRACK_TEST_TMP/NAME.out
probe() {
    local name=$1
    shift
    "$PROBE" "$@" >"$FTRACK_TEST_TMP/$name.out" 2>"$FTRACK_TEST_TMP/$name.err" &
    PROBE_PID=$!
    track_child "$PROBE_PID"
}
out() { cat "$FTRACK_TEST_TMP/$1.out"; }
count() { grep -c -- "$2" "$FTRACK_TEST_TMP/$1.out" || true; }
has() { grep -q -- "$2" "$FTRACK_TEST_TMP/$1.out"; }
lines_at_least() { [ "$(count "$1" "$2")" -ge "$3" ]; }
now() { date +%s.%N; }

start_hub --heartbeat 0.5

# --- wrong credentials: a clear error, at once, without the key -----------------------------
t0=$(now)
FTRACK_API_KEY="wrong-key-S3CR3T" "$PROBE" --connect-timeout 20 --time 1 \
    >"$FTRACK_TEST_TMP/badkey.out" 2>"$FTRACK_TEST_TMP/badkey.err"
rc=$?
elapsed=$(awk -v a="$(now)" -v b="$t0" 'BEGIN{printf "%.2f", a-b}')
[ "$rc" = 2 ] || fail "wrong key: exit $rc (want 2): $(out badkey)"
has badkey '"status":"authentication failed"' || fail "wrong key: $(out badkey)"
has badkey "refused the credentials of API user '$FTRACK_TEST_API_USER'" || fail "wrong key message: $(out badkey)"
grep -q "S3CR3T" "$FTRACK_TEST_TMP/badkey.out" "$FTRACK_TEST_TMP/badkey.err" &&
    fail "the key appeared in the output"
awk -v e="$elapsed" 'BEGIN{exit !(e < 10)}' || fail "wrong key took ${elapsed}s (the wait should end on the 401)"
note "wrong credentials refused in ${elapsed}s"

# --- publish with a reply through the hub ---------------------------------------------------
probe responder --subscribe 'topic=test.ping' --reply '{"pong":true}' --time 15 --exit-after 1 \
    --settle
wait_for 10 has responder '"connected":true' || fail "responder did not connect: $(out responder)"
"$PROBE" --publish test.ping --data '{"n":1}' --wait-reply --reply-timeout 5 --exit-after 1 --time 10 \
    >"$FTRACK_TEST_TMP/asker.out" 2>"$FTRACK_TEST_TMP/asker.err" || fail "asker failed: $(out asker)"
has asker '"reply":{' || fail "no reply reached the publisher: $(out asker)"
has asker '"data":{"pong":true}' || fail "reply data: $(out asker)"
wait_pid_exit "$PROBE_PID" 10 || fail "responder did not finish"
has responder '"topic":"test.ping"' || fail "responder saw no event: $(out responder)"

# --- heartbeats: answered and watched -------------------------------------------------------
# The hub sends 2:: every 0.5 s; a 2 s watchdog must never fire while they arrive.
probe hb --meta --subscribe 'topic=test.hb' --heartbeat-timeout 2 --time 15 --exit-after 1
wait_for 10 has hb '"connected":true' || fail "hb probe did not connect: $(out hb)"
sleep 5
"$PROBE" --publish test.hb --time 3 >/dev/null 2>&1 || fail "publish test.hb failed"
wait_pid_exit "$PROBE_PID" 10 || fail "hb probe did not finish"
has hb '"topic":"test.hb"' || fail "event after 5 s of heartbeats not received: $(out hb)"
[ "$(count hb '"meta":"connected"')" = 1 ] || fail "hb probe reconnected: $(out hb)"
[ "$(count hb '"meta":"disconnected"')" = 0 ] || fail "hb probe was disconnected: $(out hb)"

# --- bench: events/s through the hub and back, in one process -------------------------------
"$PROBE" --bench 5000 --time 30 >"$FTRACK_TEST_TMP/bench.out" 2>"$FTRACK_TEST_TMP/bench.err" ||
    fail "bench failed: $(out bench)"
note "loop throughput: $(grep -o '"events_per_second":[0-9.]*' "$FTRACK_TEST_TMP/bench.out")"

# --- restart on the same port: reconnect, re-subscribe, queued publish delivered ------------
probe rc --meta --subscribe 'topic=test.after' --subscribe 'topic=test.queued' \
    --publish-on-disconnect test.queued --time 40 --exit-after 2
wait_for 10 has rc '"meta":"connected"' || fail "rc probe did not connect: $(out rc)"
port=$HUB_PORT
kill -KILL "$HUB_PID"
wait_pid_exit "$HUB_PID" 5 || fail "hub did not die"
HUB_PID=
wait_for 10 has rc '"meta":"disconnected"' || fail "no ftrack.meta.disconnected: $(out rc)"
wait_for 5 has rc '"published":' || fail "nothing published while disconnected: $(out rc)"
sleep 1 # the client keeps retrying meanwhile

t_restart=$(now)
"$FTRACK_HOST_BIN" hub --listen "127.0.0.1:$port" --data-dir "$HUB_DATA_DIR" --heartbeat 0.5 \
    2>"$FTRACK_TEST_TMP/hub.restart.log" &
HUB_PID=$!
track_child "$HUB_PID"
HUB_LOG="$FTRACK_TEST_TMP/hub.restart.log"
wait_for 20 grep -q "http://127.0.0.1:$port" "$HUB_LOG" || fail "hub did not restart on port $port"
wait_for 20 lines_at_least rc '"meta":"connected"' 2 || fail "no reconnect: $(out rc)"
t_back=$(now)
note "reconnected $(awk -v a="$t_back" -v b="$t_restart" 'BEGIN{printf "%.2f", a-b}') s after the hub restart was started"
wait_for 10 has rc '"topic":"test.queued"' || fail "queued publish not delivered: $(out rc)"
"$PROBE" --publish test.after --time 3 >/dev/null 2>&1 || fail "publish test.after failed"
wait_pid_exit "$PROBE_PID" 15 || fail "rc probe did not finish: $(out rc)"
has rc '"topic":"test.after"' || fail "no event after the reconnect (not re-subscribed?): $(out rc)"
[ "$(count rc '"topic":"test.queued"')" = 1 ] || fail "queued event delivered more than once: $(out rc)"

# --- the watchdog: a hub whose heartbeats are too slow makes the client reconnect ----------
stop_hub
start_hub --heartbeat 30
probe wd --meta --heartbeat-timeout 1 --time 6
wait_pid_exit "$PROBE_PID" 15 || fail "wd probe did not finish"
lines_at_least wd '"meta":"disconnected"' 1 || fail "watchdog never fired: $(out wd)"
lines_at_least wd '"meta":"connected"' 2 || fail "no reconnect after the watchdog: $(out wd)"
grep -q "no frame from the event server" "$FTRACK_TEST_TMP/wd.err" || fail "watchdog not logged"

stop_hub
echo "ok"
