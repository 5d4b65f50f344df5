#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Reliability 1: kill -9 the host while a slow plugin has about 1,000 events queued; restart it
# on the same data dir. Every event ends up in the plugin's record; the only duplicates are
# events that were in flight at the kill (at most one: one worker), and those arrive marked as
# redeliveries.
set -euo pipefail
. "$FTRACK_TEST_LIB"
. "$(dirname "$0")/host_helpers.sh"

N=1000
dir=$(plugin_dir recorder)
rec="$FTRACK_TEST_TMP/record.jsonl"
start_host --plugin-path "$dir" --plugin-arg record="$rec" --plugin-arg delay=0.005
"$FTRACK_TEST_BIN_DIR/rel_publisher" test.rel --count $N --wait 30 || fail "publish failed"
recorded() { [ -f "$rec" ] && [ "$(wc -l <"$rec")" -ge "$1" ]; }
distinct() { python3 -c 'import json,sys; print(len({json.loads(l)["i"] for l in open(sys.argv[1])}))' "$rec"; }
all_recorded() { [ "$(distinct)" -ge "$N" ]; }
# Let some be handled, then kill while most are still queued.
wait_for 20 recorded 40 || fail "the plugin handled nothing"
kill -KILL "$HOST_PID"
wait "$HOST_PID" 2>/dev/null || true
before=$(wc -l <"$rec")
note "killed with $before of $N events recorded"
[ "$before" -lt $((N - 100)) ] || fail "too few events were queued at the kill ($before handled)"
expect_log "fsync batched"

start_host --plugin-path "$dir" --plugin-arg record="$rec" --plugin-arg delay=0.005
expect_log "deliveries pending from earlier runs"
wait_for 60 all_recorded || fail "only $(distinct) of $N events recorded after the restart"
sleep 0.5
stop_host
[ "$HOST_EXIT" -eq 0 ] || fail "exit $HOST_EXIT"

python3 - "$rec" "$N" <<'PY' || fail "record check failed"
import collections, json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
n = int(sys.argv[2])
seen = collections.defaultdict(list)
for l in lines:
    seen[l["id"]].append(l)
assert sorted({l["i"] for l in lines}) == list(range(n)), "missing events"
dups = {k: v for k, v in seen.items() if len(v) > 1}
print("MEASURED: %d lines, %d distinct events, %d duplicated (in flight at the kill)"
      % (len(lines), len(seen), len(dups)))
assert len(dups) <= 1, "more duplicates than workers: %r" % list(dups)
for v in dups.values():
    assert len(v) == 2, v
    assert not v[0]["redelivery"] and v[1]["redelivery"], "duplicate not marked: %r" % v
marked = [l for l in lines if l["redelivery"]]
assert len(marked) <= 1, "redelivery flags on events that were not in flight: %r" % marked
# Order per subscriber: i increases along the record, except at the one redelivery.
order = [l["i"] for l in lines if not l["redelivery"]]
assert order == sorted(order), "events out of order"
PY
echo ok
