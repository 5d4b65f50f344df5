#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Reliability 2: restart the hub 10 times while a publisher sends events. The host reconnects
# each time, every event published while it was connected is handled, and exactly one local
# ftrack.host.reconnected event (with disconnected_at, reconnected_at, seconds) reaches the
# plugin per outage.
set -euo pipefail
. "$FTRACK_TEST_LIB"
. "$(dirname "$0")/host_helpers.sh"

ROUNDS=10
PER_ROUND=5
dir=$(plugin_dir recorder)
t=$FTRACK_TEST_TMP
rec="$t/record.jsonl"
port=$(free_port)
start_hub --listen "127.0.0.1:$port"

HOST_LOG="$t/host.log"
"$FTRACK_HOST_BIN" --data-dir "$t/host-data" --plugin-path "$dir" \
    --plugin-arg record="$rec" \
    --plugin-arg expression="topic=test.rel or topic=ftrack.host.reconnected" 2>"$HOST_LOG" &
HOST_PID=$!
track_child "$HOST_PID"
wait_for 30 grep -q 'ready:' "$HOST_LOG" || { cat "$HOST_LOG" >&2; fail "host not ready"; }

count_topic() { [ -f "$rec" ] && grep -c "\"topic\":\"$1\"" "$rec" || echo 0; }
has_topic() { [ "$(count_topic "$1")" -ge "$2" ]; }
sent=0
t0=$(date +%s.%N)
for ((r = 0; r <= ROUNDS; r++)); do
    "$FTRACK_TEST_BIN_DIR/rel_publisher" test.rel --count $PER_ROUND --start $((r * 100)) \
        >/dev/null || fail "round $r: publish not acknowledged"
    sent=$((sent + PER_ROUND))
    wait_for 20 has_topic test.rel $sent ||
        fail "round $r: $(count_topic test.rel) of $sent events handled"
    [ "$r" -lt "$ROUNDS" ] || break
    stop_hub
    sleep 0.3
    start_hub --listen "127.0.0.1:$port"
    wait_for 40 has_topic ftrack.host.reconnected $((r + 1)) ||
        { tail -20 "$HOST_LOG" >&2; fail "round $r: no reconnect event after the hub came back"; }
done
t1=$(date +%s.%N)
echo "MEASURED: $ROUNDS hub restarts in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
kill -0 "$HOST_PID" || fail "the host died"
sleep 0.5
python3 - "$rec" "$ROUNDS" "$PER_ROUND" <<'PY' || fail "record check failed"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
rounds, per = int(sys.argv[2]), int(sys.argv[3])
events = sorted(l["i"] for l in lines if l["topic"] == "test.rel")
want = sorted(r * 100 + k for r in range(rounds + 1) for k in range(per))
assert events == want, (events, want)
gaps = [l["data"] for l in lines if l["topic"] == "ftrack.host.reconnected"]
assert len(gaps) == rounds, "%d gap events for %d outages" % (len(gaps), rounds)
for g in gaps:
    assert set(g) == {"disconnected_at", "reconnected_at", "seconds"}, g
    assert 0 < g["seconds"] < 60 and g["disconnected_at"] < g["reconnected_at"], g
print("MEASURED: outage lengths seen by the host: %s s" % ", ".join("%.1f" % g["seconds"] for g in gaps))
PY
kill -TERM "$HOST_PID"
wait_pid_exit "$HOST_PID" 20 || fail "host did not stop"
[ "$WAIT_STATUS" -eq 0 ] || fail "host exit $WAIT_STATUS"
echo ok
