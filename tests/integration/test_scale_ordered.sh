#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Scale-out (docs/scale-out.md): an instance listed in queue.ordered keeps the order of the
# events of each entity (partitioned by the id of the event's first entity, one consumer per
# partition at a time) while two workers still share the partitions.
. "$FTRACK_TEST_LIB"
. "$(dirname "$0")/host_helpers.sh"
. "$(dirname "$0")/scale_helpers.sh"

start_redis
start_hub
SCALE_DELAY=0.002
Q='"partitions": 4, "ordered": ["recorder"], "claim_idle": 5'
for w in w1 w2; do
    write_worker_config "$w" "$Q"
    start_queue_host "$w" worker
done
write_ingest_config ingest "$Q"
start_queue_host ingest ingest
wait_ingest_subscribed 1

holders() {
    local p
    for p in 0 1 2 3; do rcli get "test:events:$p:lease:ftrack-host:recorder"; done | sort -u | tr '\n' ' '
}
wait_for 15 sh -c "[ \"\$(for p in 0 1 2 3; do redis-cli -h 127.0.0.1 -p $REDIS_PORT get test:events:\$p:lease:ftrack-host:recorder; done | sort -u | tr '\n' ' ')\" = 'w1 w2 ' ]" ||
    fail "the two workers do not share the partitions (lease holders: $(holders))"

# 8 entities, 8 rounds: each round publishes 40 events per entity, so events of different
# entities interleave in the stream
for round in 0 1 2 3 4 5 6 7; do
    for e in 0 1 2 3 4 5 6 7; do
        "$FTRACK_TEST_BIN_DIR/rel_publisher" test.scale --start $((round * 1000 + e * 100)) \
            --count 40 --data "{\"entities\": [{\"entityId\": \"entity-$e\", \"entityType\": \"Task\"}], \"entity\": $e}" \
            --wait 30 >/dev/null || fail "publish failed"
    done
done
wait_for 60 records_at_least 2560 w1 w2 || fail "only $(records_total w1 w2) of 2560 handled"
sleep 1

python3 - "$FTRACK_TEST_TMP" <<'PY' || fail "the order is wrong (above)"
import json, sys, collections
tmp = sys.argv[1]
by_entity = collections.defaultdict(list)
workers = collections.defaultdict(set)
total = 0
for w in ("w1", "w2"):
    for l in open(f"{tmp}/{w}.jsonl"):
        r = json.loads(l)
        e = r["data"]["entity"]
        by_entity[e].append((w, r["i"]))
        workers[w].add(e)
        total += 1
print("entities per worker:", {w: sorted(s) for w, s in workers.items()}, file=sys.stderr)
assert total == 2560, f"{total} records for 2560 events"
assert len(workers) == 2, "one worker did all the work: the partitions were not shared"
for e, recs in by_entity.items():
    ws = {w for w, _ in recs}
    assert len(ws) == 1, f"entity {e} was handled by {ws} (its partition moved without a failure)"
    seq = [i for _, i in recs]
    assert seq == sorted(seq), f"entity {e} out of order: {seq[:20]}"
    assert len(seq) == 320, f"entity {e}: {len(seq)} events"
PY
note "ordered instance: per-entity order kept across two workers"
exit 0
