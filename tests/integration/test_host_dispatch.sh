#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Dispatch: a slow plugin (2 s per event) does not delay a fast one on the same topic; order
# is kept per subscriber; `stop` holds back only the stopping plugin's own lower-priority
# subscribers.
set -euo pipefail
. "$FTRACK_TEST_LIB"
. "$(dirname "$0")/host_helpers.sh"

dir=$(plugin_dir echo slow stopper)
start_host --plugin-path "$dir" --plugin-arg topic=test.race --plugin-arg delay=2 \
    --drain-timeout 1
expect_log "ready: 3 plugin instances running"

# Three events; echo answers each at once, slow after 2 s each (6 s for the last).
probe test.race --count 3 --expect 6 --wait 20
echo "$PROBE_OUT"
[ "$PROBE_RC" -eq 0 ] || fail "expected 6 replies: $PROBE_OUT"
fast=$(grep '"instance":"echo"' <<<"$PROBE_OUT" | awk '{print $2}' | sort -n | tail -n 1)
slow_first=$(grep '"instance":"slow"' <<<"$PROBE_OUT" | awk '{print $2}' | sort -n | head -n 1)
slow_last=$(grep '"instance":"slow"' <<<"$PROBE_OUT" | awk '{print $2}' | sort -n | tail -n 1)
echo "MEASURED: fast plugin's 3 replies all within ${fast} s; slow plugin's first at ${slow_first} s, last at ${slow_last} s"
awk -v f="$fast" 'BEGIN { exit !(f < 1.0) }' || fail "fast replies took ${fast} s (slow delayed fast)"
awk -v s="$slow_last" 'BEGIN { exit !(s >= 5.5) }' || fail "slow's last reply at ${s} s: it did not sleep?"
# Order per subscriber: each plugin saw i = 0, 1, 2 in order.
order=$(grep '"instance":"echo"' <<<"$PROBE_OUT" | grep -o '"i":[0-9]*' | tr -d '\n')
[ "$order" = '"i":0"i":1"i":2' ] || fail "echo replies out of order: $order"
order=$(grep '"instance":"slow"' <<<"$PROBE_OUT" | grep -o '"i":[0-9]*' | tr -d '\n')
[ "$order" = '"i":0"i":1"i":2' ] || fail "slow replies out of order: $order"

# stop: stopper's first subscriber (priority 10) stops the event, so its second does not run;
# echo, another plugin on the same topic, still answers.
stop_host
[ "$HOST_EXIT" -eq 0 ] || fail "exit $HOST_EXIT"
start_host --plugin-path "$dir" --plugin-arg topic=test.stop --plugin-arg delay=0
probe test.stop --expect 3 --wait 2
echo "$PROBE_OUT"
grep -q '"stopper-first"' <<<"$PROBE_OUT" || fail "stopper's first subscriber did not reply"
grep -q '"stopper-second"' <<<"$PROBE_OUT" && fail "stop did not hold back the second subscriber"
grep -q '"instance":"echo"' <<<"$PROBE_OUT" || fail "stop in one plugin held back another"
grep -q '"instance":"slow"' <<<"$PROBE_OUT" || fail "stop in one plugin held back another"

# SIGINT during work: the queued slow events are drained for at most --drain-timeout.
stop_host INT
[ "$HOST_EXIT" -eq 0 ] || fail "exit $HOST_EXIT after SIGINT"
expect_log "SIGINT received: stopping"
expect_log "stopped cleanly"
echo "ok"
