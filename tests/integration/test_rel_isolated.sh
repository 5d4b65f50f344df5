#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Reliability 3: an isolated plugin that segfaults on events whose data asks it to (so its
# retries crash too). The host survives, another plugin sees every event, the crashing events
# end in the dead-letter file, the rest are handled, and `ftrack-host replay --plugin` hands the
# dead letters back to that plugin only (which, cured meanwhile, handles them).
set -euo pipefail
. "$FTRACK_TEST_LIB"
. "$(dirname "$0")/host_helpers.sh"

dir=$(plugin_dir recorder)
t=$FTRACK_TEST_TMP
cfg="$t/config.json"
cat >"$cfg" <<JSON
{"plugins": {
  "crasher": {"plugin": "recorder", "isolated": true,
              "arguments": {"record": "$t/crasher.jsonl", "cured": "$t/cured"},
              "failure": {"max_attempts": 2, "retry_delay": 0.1, "pause_after": 0}},
  "other": {"plugin": "recorder", "arguments": {"record": "$t/other.jsonl", "obey": false}}}}
JSON
start_host --plugin-path "$dir" --config "$cfg"
expect_log "plugin instance 'crasher' runs isolated in process"
pub() { "$FTRACK_TEST_BIN_DIR/rel_publisher" test.rel "$@" >/dev/null || fail "publish failed"; }
pub --count 10 --start 0
pub --count 3 --start 100 --data '{"crash": true}'
pub --count 10 --start 10

count() { [ -f "$1" ] && wc -l <"$1" || echo 0; }
has_lines() { [ "$(count "$1")" -ge "$2" ]; }
wait_for 30 has_lines "$t/other.jsonl" 23 || fail "the other plugin saw $(count "$t/other.jsonl") of 23"
wait_for 60 has_lines "$t/crasher.jsonl" 20 || fail "crasher handled $(count "$t/crasher.jsonl") of 20"
dl="$t/host-data/dead-letter.jsonl"
wait_for 30 has_lines "$dl" 3 || fail "$(count "$dl") dead letters, expected 3"
kill -0 "$HOST_PID" || fail "the host died"
# A plain build reports the signal; under AddressSanitizer its handler exits the child instead.
expect_log "its child ended while handling an event \(child (killed by signal 11|exited with status)"
expect_log "child restarted as process"
python3 - "$t" <<'PY' || fail "records wrong"
import json, sys
t = sys.argv[1]
rd = lambda f: [json.loads(l) for l in open(f)]
other = sorted(l["i"] for l in rd(t + "/other.jsonl"))
assert other == list(range(20)) + [100, 101, 102], other
crasher = [l["i"] for l in rd(t + "/crasher.jsonl")]
assert crasher == list(range(20)), crasher  # in order, without the crashing ones
dead = rd(t + "/host-data/dead-letter.jsonl")
assert sorted(d["event"]["data"]["i"] for d in dead) == [100, 101, 102], dead
assert all(d["instance"] == "crasher" and d["attempts"] == 2 for d in dead), dead
assert all("child ended while handling an event" in d["error"] for d in dead), dead
PY
echo "MEASURED: $(count "$dl") dead letters, $(grep -c 'child restarted' "$HOST_LOG") child restarts"

# Replay to the crasher only, cured: each comes back once, marked as a redelivery.
touch "$t/cured"
out=$("$FTRACK_HOST_BIN" replay "$dl" --plugin crasher --data-dir "$t/host-data") ||
    fail "replay failed: $out"
echo "$out"
grep -q "replayed 3 events" <<<"$out" || fail "replay did not send 3 events"
wait_for 30 has_lines "$t/crasher.jsonl" 23 || fail "the replayed events were not handled"
sleep 0.5
python3 - "$t" <<'PY' || fail "replay records wrong"
import json, sys
t = sys.argv[1]
rd = lambda f: [json.loads(l) for l in open(f)]
back = [l for l in rd(t + "/crasher.jsonl") if l["i"] >= 100]
assert sorted(l["i"] for l in back) == [100, 101, 102], back
assert all(l["redelivery"] for l in back), back
assert len(rd(t + "/other.jsonl")) == 23, "replay reached another plugin"
PY
# --plugin for an instance with no records sends nothing.
out=$("$FTRACK_HOST_BIN" replay "$dl" --plugin other --data-dir "$t/host-data")
grep -q "replayed 0 events (3 skipped" <<<"$out" || fail "unexpected: $out"
stop_host
[ "$HOST_EXIT" -eq 0 ] || fail "exit $HOST_EXIT"
echo ok
