#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# An instance configured with "journal": false takes its events straight from its queue: it
# handles every event like a journaled one, writes nothing to the journal, and a failure is
# logged once and not retried (at most once), while a journaled instance of the same plugin
# retries it. check-config refuses "journal": false on an isolated instance.
set -euo pipefail
. "$FTRACK_TEST_LIB"
. "$(dirname "$0")/host_helpers.sh"

dir=$(plugin_dir recorder)
t=$FTRACK_TEST_TMP
cfg="$t/config.json"
cat >"$cfg" <<JSON
{"plugins": {
  "kept": {"plugin": "recorder", "arguments": {"record": "$t/kept.jsonl"},
           "failure": {"max_attempts": 2, "retry_delay": 0.1}},
  "quick": {"plugin": "recorder", "journal": false,
            "arguments": {"record": "$t/quick.jsonl", "expression": "topic=test.rel or topic=test.later"},
            "failure": {"max_attempts": 2, "retry_delay": 0.1}}}}
JSON
"$FTRACK_HOST_BIN" check-config --plugin-path "$dir" "$cfg" >/dev/null ||
    fail "check-config refused a good file"
start_host --plugin-path "$dir" --config "$cfg"
pub() { "$FTRACK_TEST_BIN_DIR/rel_publisher" test.rel "$@" >/dev/null || fail "publish failed"; }
count() { [ -f "$1" ] && wc -l <"$1" || echo 0; }
has_lines() { [ "$(count "$1")" -ge "$2" ]; }

pub --count 20 --start 0
pub --count 1 --start 20 --data '{"fail": true}'
# kept: 21 events + 1 retry of the failing one; quick: 21 events, no retry.
wait_for 10 has_lines "$t/kept.jsonl" 22 || fail "kept handled $(count "$t/kept.jsonl") of 22"
wait_for 10 has_lines "$t/quick.jsonl" 21 || fail "quick handled $(count "$t/quick.jsonl") of 21"
# Both have the same retry delay and kept's retry has come (22 lines), so a retry of quick's
# would have been queued by now; a later event queued after it shows quick's queue is through.
"$FTRACK_TEST_BIN_DIR/rel_publisher" test.later --start 21 >/dev/null || fail "publish failed"
wait_for 10 has_lines "$t/quick.jsonl" 22 || fail "quick did not handle the later event"
[ "$(count "$t/quick.jsonl")" -eq 22 ] || fail "quick handled $(count "$t/quick.jsonl") deliveries, expected 22 (no retry)"
python3 -c 'import json,sys; sys.exit(0 if [json.loads(l)["i"] for l in open(sys.argv[1])][-1] == 21 else 1)' \
    "$t/quick.jsonl" || fail "quick's last delivery is not the later event (a retry came after it)"
expect_log "plugin instance 'quick' failed on an event \(not retried: the instance is not journaled\)"
stop_host
[ "$HOST_EXIT" -eq 0 ] || fail "exit $HOST_EXIT"

# The journal holds the journaled instance's deliveries and none of the other's.
read -r kept quick < <("$FTRACK_HOST_BIN" journal --data-dir "$t/host-data" | python3 -c '
import json, sys
n = {}
for line in sys.stdin:
    r = json.loads(line)
    names = [x["instance"] for x in r.get("instances", [])] if r["type"] == "event" else \
        [r["instance"]] if r["type"] == "delivery" else []
    for name in names:
        n[name] = n.get(name, 0) + 1
print(n.get("kept", 0), n.get("quick", 0))
')
echo "MEASURED: journal deliveries: kept=$kept quick=$quick"
[ "$kept" -eq 21 ] || fail "the journal has $kept deliveries of kept, expected 21"
[ "$quick" -eq 0 ] || fail "the journal has $quick deliveries of the unjournaled instance"

cat >"$cfg" <<'JSON'
{"plugins": {"iso": {"plugin": "recorder", "isolated": true, "journal": false,
                     "arguments": {"record": "/dev/null"}}}}
JSON
RC=0
OUT=$("$FTRACK_HOST_BIN" check-config --plugin-path "$dir" "$cfg" 2>&1) || RC=$?
[ "$RC" = 2 ] || fail "check-config exit $RC for journal false on an isolated instance: $OUT"
grep -qF '"journal": false cannot be combined with an isolated instance' <<<"$OUT" ||
    fail "check-config output lacks the reason: $OUT"
echo "ok"
