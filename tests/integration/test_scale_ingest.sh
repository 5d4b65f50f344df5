#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Scale-out (docs/scale-out.md), test 3: two ingest hosts on the same hub (for availability)
# both receive every event; each event enters the stream once (deduplicated by event id in
# Redis) and is handled once. Their metrics show that both took part.
. "$FTRACK_TEST_LIB"
. "$(dirname "$0")/host_helpers.sh"
. "$(dirname "$0")/scale_helpers.sh"

COUNT=2000
start_redis
start_hub
for w in w1 w2; do
    write_worker_config "$w"
    start_queue_host "$w" worker
done
for g in ingest-a ingest-b; do
    write_ingest_config "$g"
    start_queue_host "$g" ingest --health-listen 127.0.0.1:0
    wait_ingest_subscribed 1 "$FTRACK_TEST_TMP/$g.log"
done
sleep 0.5 # the hub files the second ingest's subscription

publish_numbered test.scale 0 "$COUNT"
wait_for 60 records_at_least "$COUNT" w1 w2 ||
    fail "only $(records_total w1 w2) of $COUNT events were handled within 60 s"
sleep 1

len=$(rcli xlen test:events)
[ "$len" = "$COUNT" ] || fail "the stream holds $len entries for $COUNT events"
distinct=$(rcli xrange test:events - + | grep -E '^[0-9a-f-]{32,36}$' | sort -u | wc -l)
[ "$distinct" = "$COUNT" ] || fail "the stream holds $distinct distinct event ids for $COUNT events"
total=$(records_total w1 w2)
[ "$total" = "$COUNT" ] || fail "$total records for $COUNT events"

metric() { # metric LOG NAME: the value of an unlabelled metric of the host writing LOG
    local url
    url=$(grep -o 'health and metrics at http://127\.0\.0\.1:[0-9]*' "$1" | grep -o 'http://.*')
    curl -fsS "$url/metrics" | awk -v n="$2" '$1 == n {print $2}'
}
pa=$(metric "$FTRACK_TEST_TMP/ingest-a.log" ftrack_host_queue_published_total)
pb=$(metric "$FTRACK_TEST_TMP/ingest-b.log" ftrack_host_queue_published_total)
da=$(metric "$FTRACK_TEST_TMP/ingest-a.log" ftrack_host_queue_duplicates_total)
db=$(metric "$FTRACK_TEST_TMP/ingest-b.log" ftrack_host_queue_duplicates_total)
note "ingest-a added $pa (skipped $da), ingest-b added $pb (skipped $db)"
[ $((pa + pb)) = "$COUNT" ] || fail "the ingests added $((pa + pb)) events for $COUNT"
[ $((da + db)) = "$COUNT" ] || fail "the ingests skipped $((da + db)) duplicates, not $COUNT"
note "two ingest hosts: every event entered the stream once"
exit 0
