#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Isolation: an isolated plugin's own publishes (ftrack_hub_publish in its register and in its
# callback) go through the host (the child's hub hands them to its outgoing hook, the child
# sends "publish" messages, the host publishes them) and reach a subscriber in another plugin.
set -euo pipefail
. "$FTRACK_TEST_LIB"
. "$(dirname "$0")/host_helpers.sh"

dir=$(plugin_dir relay recorder)
t=$FTRACK_TEST_TMP
cfg="$t/config.json"
cat >"$cfg" <<JSON
{"plugins": {
  "relayer": {"plugin": "relay", "isolated": true, "arguments": {"to": "test.relayed"},
              "failure": {"max_attempts": 1, "pause_after": 0}},
  "sink": {"plugin": "recorder", "arguments": {"record": "$t/sink.jsonl",
           "expression": "topic=test.relayed", "obey": false}}}}
JSON
start_host --plugin-path "$dir" --config "$cfg"
expect_log "plugin instance 'relayer' runs isolated in process"
"$FTRACK_TEST_BIN_DIR/rel_publisher" test.rel --count 10 --start 0 >/dev/null || fail "publish failed"

count() { [ -f "$1" ] && wc -l <"$1" || echo 0; }
has_lines() { [ "$(count "$1")" -ge "$2" ]; }
wait_for 30 has_lines "$t/sink.jsonl" 11 || {
    cat "$HOST_LOG" >&2
    fail "the sink saw $(count "$t/sink.jsonl") of 11 relayed events"
}
sleep 0.5
kill -0 "$HOST_PID" || fail "the host died"
if grep -q "a publish from its child failed\|relay failed" "$HOST_LOG"; then
    cat "$HOST_LOG" >&2
    fail "a publish from the child failed"
fi
python3 - "$t" "$HOST_PID" <<'PY' || fail "relayed records wrong"
import json, sys
t, host_pid = sys.argv[1], int(sys.argv[2])
rows = [json.loads(l) for l in open(t + "/sink.jsonl")]
assert sorted(r["i"] for r in rows) == list(range(-1, 10)), rows
assert all(r["topic"] == "test.relayed" for r in rows), rows
phases = {r["i"]: r["data"]["phase"] for r in rows}
assert phases[-1] == "register" and all(phases[i] == "callback" for i in range(10)), phases
pids = {r["data"]["pid"] for r in rows}
# published by the one isolated child, not by the host process
assert len(pids) == 1 and host_pid not in pids, (pids, host_pid)
PY
stop_host
[ "$HOST_EXIT" -eq 0 ] || fail "exit $HOST_EXIT"
echo ok
