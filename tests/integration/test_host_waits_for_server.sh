#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A server that is not there yet is waited for: `ftrack-host` started 10 s before its (TLS)
# server logs each failed attempt once per backoff step, stays alive, answers /readyz 503
# meanwhile and sends systemd no READY=1, then connects, registers its plugin and answers
# discovery once the server is up, without a restart; /readyz turns 200 and READY=1 is sent.
# Errors retrying cannot fix exit at once: wrong credentials (exit 1), a server URL without a
# scheme (exit 2).
set -euo pipefail
. "$FTRACK_TEST_LIB"
. "$(dirname "$0")/host_helpers.sh"
. "$(dirname "$0")/tls_helpers.sh"

studio_pki
dir=$(plugin_dir echo)
port=$(free_port)
health_port=$(free_port)

# A stand-in for systemd's notification socket: one line per datagram.
NOTIFY_LOG="$FTRACK_TEST_TMP/notify.log"
: >"$NOTIFY_LOG"
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as log:
    while True:
        log.write(s.recv(4096).decode().replace("\n", " ") + "\n")
' "$FTRACK_TEST_TMP/notify.sock" "$NOTIFY_LOG" &
track_child $!
wait_for 10 test -S "$FTRACK_TEST_TMP/notify.sock" || fail "no notify socket"

t0=$(date +%s.%N)
run_host early "FTRACK_SERVER=https://localhost:$port" "NOTIFY_SOCKET=$FTRACK_TEST_TMP/notify.sock" -- \
    --plugin-path "$dir" \
    --plugin-arg topic=ftrack.action.discover --ca-file "$PKI/studio.crt" \
    --health-listen "127.0.0.1:$health_port"
wait_log 10 '\(attempt 2;'
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$health_port/readyz" || true)
[ "$code" = 503 ] || fail "/readyz answered $code while the server was unreachable"
# The server comes up 10 s after the host.
left=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { d = 10 - (b - a); print (d > 0 ? d : 0) }')
sleep "$left"
kill -0 "$HOST_PID" 2>/dev/null || { cat "$HOST_LOG" >&2; fail "the host exited while waiting"; }
grep -q 'READY=1' "$NOTIFY_LOG" && fail "READY=1 was sent before the session opened"
grep -q 'STATUS=waiting for the ftrack server' "$NOTIFY_LOG" || { cat "$NOTIFY_LOG" >&2; fail "no waiting status"; }
grep 'cannot open the session' "$HOST_LOG"
expect_log "cannot open the session: Could not reach https://localhost:$port/api: .* \(attempt 1; retrying in 1 s\)"
for n in 1 2 3; do
    [ "$(count_lines "(attempt $n;")" -eq 1 ] || fail "attempt $n was not logged exactly once"
done
TLS_HUB_PORT=$port start_tls_hub hub
t1=$(date +%s.%N)
wait_log 40 'ready: 1 plugin instance running, event hub connected'
t2=$(date +%s.%N)
kill -0 "$HOST_PID" 2>/dev/null || fail "the host is gone"
expect_log "session opened after [0-9]+ failed attempts"
echo "MEASURED: server up $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s after the host; host ready $(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.1f", b - a }') s later"
wait_for 10 bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$health_port/readyz)\" = 200 ]" ||
    fail "/readyz did not turn 200 once connected"
wait_for 10 grep -q 'READY=1' "$NOTIFY_LOG" || { cat "$NOTIFY_LOG" >&2; fail "no READY=1 once connected"; }
REQUESTS_CA_BUNDLE="$PKI/studio.crt" probe ftrack.action.discover --expect 1 --wait 10
[ "$PROBE_RC" -eq 0 ] || fail "discovery not answered"
stop_host TERM
[ "$HOST_EXIT" -eq 0 ] || fail "host exit $HOST_EXIT"

# Wrong credentials: retrying cannot fix them; exit 1 at once.
HOST_LOG="$FTRACK_TEST_TMP/host-auth.log"
t0=$(date +%s.%N)
rc=0
FTRACK_API_KEY=wrong-key timeout 20 "$FTRACK_HOST_BIN" --data-dir "$FTRACK_TEST_TMP/d2" \
    --plugin-path "$dir" --ca-file "$PKI/studio.crt" 2>"$HOST_LOG" || rc=$?
took=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
echo "MEASURED: wrong credentials: exit $rc after $took s"
[ "$rc" -eq 1 ] || { cat "$HOST_LOG" >&2; fail "wrong credentials: exit $rc"; }
awk -v t="$took" 'BEGIN { exit !(t < 5) }' || fail "wrong credentials took $took s"
grep -qF "(attempt" "$HOST_LOG" && fail "wrong credentials were retried"

# A bad configuration: exit 2 at once.
rc=0
FTRACK_SERVER="localhost:$port" timeout 20 "$FTRACK_HOST_BIN" --data-dir "$FTRACK_TEST_TMP/d3" \
    --plugin-path "$dir" 2>"$FTRACK_TEST_TMP/host-config.log" || rc=$?
[ "$rc" -eq 2 ] || { cat "$FTRACK_TEST_TMP/host-config.log" >&2; fail "bad server URL: exit $rc"; }
echo "PASS"
