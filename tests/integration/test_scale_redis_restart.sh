#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Scale-out (docs/scale-out.md), test 4: Redis restarts (append-only file on, so the stream
# survives) while workers are busy, and events are published while it is down. The ingest
# keeps them in memory and the workers keep their acknowledgements until Redis is back;
# everyone reconnects and every event is handled, exactly once.
. "$FTRACK_TEST_LIB"
. "$(dirname "$0")/host_helpers.sh"
. "$(dirname "$0")/scale_helpers.sh"

start_redis --appendonly yes --appendfsync always
start_hub
SCALE_DELAY=0.005
for w in w1 w2; do
    write_worker_config "$w"
    start_queue_host "$w" worker
done
write_ingest_config ingest
start_queue_host ingest ingest
wait_ingest_subscribed 1

publish_numbered test.scale 0 1000
wait_for 30 records_at_least 200 w1 w2 || fail "the workers are not handling events"
stop_redis
note "Redis stopped with $(records_total w1 w2) of 1000 handled"
sleep 1
publish_numbered test.scale 1000 500 # while Redis is down: the ingest holds them
sleep 1
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$REDIS_DIR" --save "" \
    --appendonly yes --appendfsync always --logfile "$REDIS_DIR/redis.log" --daemonize no &
REDIS_PID=$!
track_child "$REDIS_PID"
wait_for 10 rcli_ping || fail "redis-server did not come back"
note "Redis restarted"

wait_for 60 records_at_least 1500 w1 w2 ||
    fail "only $(records_total w1 w2) of 1500 events were handled within 60 s of the restart"
sleep 1
python3 - "$FTRACK_TEST_TMP" 1500 <<'PY' || fail "the records are wrong (above)"
import json, sys, collections
tmp, count = sys.argv[1], int(sys.argv[2])
seen = collections.Counter()
for w in ("w1", "w2"):
    for l in open(f"{tmp}/{w}.jsonl"):
        seen[json.loads(l)["i"]] += 1
missing = [i for i in range(count) if seen[i] == 0]
twice = [i for i, n in seen.items() if n > 1]
print("handled:", sum(seen.values()), "missing:", len(missing), "twice:", twice, file=sys.stderr)
assert not missing, f"{len(missing)} events lost, e.g. {missing[:5]}"
assert not twice, f"{len(twice)} events handled twice, e.g. {twice[:5]}"
PY
len=$(rcli xlen test:events)
[ "$len" = 1500 ] || fail "the stream holds $len entries for 1500 events"
for h in w1 w2 ingest; do
    grep -q "reconnected to Redis" "$FTRACK_TEST_TMP/$h.log" || fail "$h did not log its reconnect"
done
note "Redis restart: everyone reconnected, nothing lost"
exit 0
