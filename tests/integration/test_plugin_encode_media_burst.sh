#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A burst of new media larger than encode_media_max_jobs: every component is encoded. Events
# beyond the limit wait for a followed job to end (or fail their delivery to come back later)
# instead of being skipped.
. "$FTRACK_TEST_LIB"
. "$FTRACK_SOURCE_DIR/tests/integration/host_helpers.sh"

encode_media_setup
cat >"$FTRACK_TEST_TMP/config.json" <<JSON
{"plugins": {"encode_media": {"arguments": {
   "encode_media_ignore_own_user": false, "encode_media_file_types": ".mov",
   "encode_media_job_timeout": 120, "encode_media_max_jobs": 1},
   "failure": {"max_attempts": 10, "retry_delay": 0.5}}}}
JSON
start_host --plugin-path "$dir" --config "$FTRACK_TEST_TMP/config.json"

RESULTS="$FTRACK_TEST_TMP/results.txt"
node "$PEER" listen "$FTRACK_SERVER" ftrack.host.encode-media.result 170 >"$RESULTS" 2>&1 &
track_child $!
wait_for 20 grep -q READY "$RESULTS" || fail "listener not ready: $(cat "$RESULTS")"

BURST=4
for i in $(seq "$BURST"); do
    timeout 90 node "$PEER" publish-media "$FTRACK_SERVER" "$CLIP" >"$FTRACK_TEST_TMP/peer.$i" 2>&1 &
    track_child $!
done
components() { awk '$1 == "COMPONENT" {print $2}' "$FTRACK_TEST_TMP"/peer.*; }
all_published() { [ "$(grep -l '^DONE' "$FTRACK_TEST_TMP"/peer.* 2>/dev/null | wc -l)" -eq "$BURST" ]; }
wait_for 120 all_published || fail "the media was not published: $(cat "$FTRACK_TEST_TMP"/peer.*)"
done_count() {
    python3 -c '
import json, sys
want = set(sys.argv[2:])
done = set()
for line in open(sys.argv[1]):
    if line.startswith("EVENT "):
        d = json.loads(line[6:])
        if d.get("component_id") in want and d.get("status") == "done":
            done.add(d["component_id"])
print(len(done))' "$RESULTS" $(components)
}
all_done() { [ "$(done_count)" -eq "$BURST" ]; }
wait_for 90 all_done || { tail -n 30 "$HOST_LOG" >&2; fail "$(done_count) of $BURST components encoded"; }
echo "MEASURED: $BURST of $BURST components encoded with encode_media_max_jobs 1"
stop_host
echo ok
