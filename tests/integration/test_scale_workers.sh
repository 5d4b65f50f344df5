#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Scale-out (docs/scale-out.md), test 1: one ingest host and three workers share 10,000
# events through Redis Streams. Every event is handled exactly once across the workers (the
# recorder plugins' records), and each worker handles a fair share of them.
. "$FTRACK_TEST_LIB"
. "$(dirname "$0")/host_helpers.sh"
. "$(dirname "$0")/scale_helpers.sh"

COUNT=${SCALE_COUNT:-10000}
start_redis
start_hub
SCALE_DELAY=0.001
for w in w1 w2 w3; do
    write_worker_config "$w"
    start_queue_host "$w" worker
done
write_ingest_config ingest
start_queue_host ingest ingest
wait_ingest_subscribed 1

publish_numbered test.scale 0 "$COUNT"
wait_for 120 records_at_least "$COUNT" w1 w2 w3 ||
    fail "only $(records_total w1 w2 w3) of $COUNT events were handled within 120 s"
sleep 1 # a duplicate would arrive now

python3 - "$FTRACK_TEST_TMP" "$COUNT" <<'PY' || fail "the records are wrong (above)"
import json, sys, collections
tmp, count = sys.argv[1], int(sys.argv[2])
per, ids, seen_i = {}, collections.Counter(), collections.Counter()
for w in ("w1", "w2", "w3"):
    lines = [json.loads(l) for l in open(f"{tmp}/{w}.jsonl")]
    per[w] = len(lines)
    for l in lines:
        ids[l["id"]] += 1
        seen_i[l["i"]] += 1
dups = [i for i, n in ids.items() if n > 1]
missing = [i for i in range(count) if seen_i[i] == 0]
print("per worker:", per, "distinct ids:", len(ids), "duplicates:", len(dups),
      "missing:", len(missing), file=sys.stderr)
assert not dups, f"{len(dups)} events handled twice, e.g. {dups[:3]}"
assert not missing, f"{len(missing)} events never handled, e.g. {missing[:5]}"
assert sum(per.values()) == count, f"{sum(per.values())} records for {count} events"
for w, n in per.items():
    assert n >= count * 0.15, f"{w} handled only {n} of {count}: the load is not spread"
PY

# Redis agrees: nothing is left pending in the recorder's group, and the stream holds each
# event once.
pending=$(rcli xpending test:events ftrack-host:recorder | head -n 1)
[ "$pending" = 0 ] || fail "$pending entries still pending in the group"
len=$(rcli xlen test:events)
[ "$len" = "$COUNT" ] || fail "the stream holds $len entries for $COUNT events"
for w in w1 w2 w3; do
    grep -q "registered 1 subscription for the ingest hosts" "$FTRACK_TEST_TMP/$w.log" ||
        fail "$w did not register its subscription"
done
note "10,000 events, three workers: each handled once"
exit 0
