#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Scale-out (docs/scale-out.md), test 2: kill -9 one of three workers mid-run. What it had
# taken but not acknowledged is claimed by the others once idle for claim_idle (2 s here):
# no event is lost, and the only event that may run twice is the one the dead worker was
# handling (arriving again marked as a redelivery).
. "$FTRACK_TEST_LIB"
. "$(dirname "$0")/host_helpers.sh"
. "$(dirname "$0")/scale_helpers.sh"

COUNT=3000
start_redis
start_hub
SCALE_DELAY=0.004
for w in w1 w2 w3; do
    write_worker_config "$w" '"claim_idle": 2, "batch": 32'
    start_queue_host "$w" worker
done
write_ingest_config ingest
start_queue_host ingest ingest
wait_ingest_subscribed 1

publish_numbered test.scale 0 "$COUNT"
wait_for 30 records_at_least 600 w1 w2 w3 || fail "the workers are not handling events"
before=$(records_total w2)
kill -KILL "${QPID[w2]}"
wait_pid_exit "${QPID[w2]}" 5 || fail "w2 did not die"
note "killed w2 after it handled $before events"
[ "$before" -lt $((COUNT / 3)) ] || fail "w2 had already finished its share: nothing to test"

wait_for 90 records_at_least "$COUNT" w1 w2 w3 ||
    fail "only $(records_total w1 w2 w3) of $COUNT events were handled within 90 s"
wait_for 20 sh -c "[ \"\$(redis-cli -h 127.0.0.1 -p $REDIS_PORT xpending test:events ftrack-host:recorder | head -n 1)\" = 0 ]" ||
    fail "entries are still pending: $(rcli xpending test:events ftrack-host:recorder | head -n 1)"
sleep 1

python3 - "$FTRACK_TEST_TMP" "$COUNT" <<'PY' || fail "the records are wrong (above)"
import json, sys, collections
tmp, count = sys.argv[1], int(sys.argv[2])
recs = collections.defaultdict(list)
per = {}
for w in ("w1", "w2", "w3"):
    lines = [json.loads(l) for l in open(f"{tmp}/{w}.jsonl")]
    per[w] = len(lines)
    for l in lines:
        recs[l["i"]].append((w, l["redelivery"], l["attempt"]))
missing = [i for i in range(count) if i not in recs]
dups = {i: r for i, r in recs.items() if len(r) > 1}
claimed = [i for i, r in recs.items() if any(w != "w2" and red for w, red, _ in r)]
print("per worker:", per, "missing:", len(missing), "twice:", dups,
      "redelivered to the others:", len(claimed), file=sys.stderr)
assert not missing, f"{len(missing)} events lost, e.g. {missing[:5]}"
assert claimed, "no event of the dead worker was claimed by the others"
assert len(dups) <= 1, f"{len(dups)} events ran twice (only the one in flight may)"
for i, r in dups.items():
    assert [w for w, _, _ in r].count("w2") == 1 and len(r) == 2, f"event {i}: {r}"
    assert any(red and att >= 2 for w, red, att in r if w != "w2"), f"event {i}: {r}"
PY
grep -h "claimed [0-9]* pending event" "$FTRACK_TEST_TMP/w1.log" "$FTRACK_TEST_TMP/w3.log" >&2 ||
    fail "no worker logged a claim"
note "kill -9 of a worker: its pending events were claimed, none lost"
exit 0
