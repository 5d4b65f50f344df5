#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The shipped encode-media trigger in ftrack-host on its embedded hub, driven by the official
# JavaScript client: the client creates an AssetVersion and a FileComponent through /api and
# uploads it; the hub publishes ftrack.update; the plugin calls encode_media, follows the Job
# (ffmpeg) and publishes its result; the outputs are queryable, and the outputs never trigger a
# second encode. Then the "Encode media" action through discover/launch.
. "$FTRACK_TEST_LIB"
. "$FTRACK_SOURCE_DIR/tests/integration/host_helpers.sh"

PROBE="$FTRACK_TEST_BIN_DIR/sdk_data_probe"
encode_media_setup

# The embedded hub knows one API user, so the JS client is "our own user" here: own-user
# filtering is turned off and the plugin must avoid re-triggering by its other guards.
start_host --plugin-path "$dir" --log-level debug \
    --plugin-arg encode_media_ignore_own_user=false \
    --plugin-arg encode_media_file_types=.mov \
    --plugin-arg encode_media_job_timeout=120
expect_log 'encode_media.*encoding 1 file type'

RESULTS="$FTRACK_TEST_TMP/results.txt"
node "$PEER" listen "$FTRACK_SERVER" ftrack.host.encode-media.result 90 >"$RESULTS" 2>&1 &
track_child $!
wait_for 20 grep -q READY "$RESULTS" || fail "listener not ready: $(cat "$RESULTS")"

out=$(timeout 60 node "$PEER" publish-media "$FTRACK_SERVER" "$CLIP" 2>&1) ||
    fail "publishing media failed: $out"
version=$(awk '$1 == "VERSION" {print $2}' <<<"$out")
component=$(awk '$1 == "COMPONENT" {print $2}' <<<"$out")
[ -n "$version" ] && [ -n "$component" ] || fail "no ids from the peer: $out"
note "version $version component $component"

# result_for COMPONENT STATUS: a result event for the component with that status arrived.
result_for() {
    python3 - "$RESULTS" "$1" "$2" <<'EOF'
import json, sys
path, component, status = sys.argv[1:]
for line in open(path):
    if line.startswith("EVENT "):
        d = json.loads(line[6:])
        if d.get("component_id") == component and d.get("status") == status:
            sys.exit(0)
sys.exit(1)
EOF
}
if ! wait_for 120 result_for "$component" done; then
    cat "$RESULTS" >&2
    cat "$HOST_LOG" >&2
    fail "no 'done' result for component $component"
fi
expect_log "encoding component $component"

# The result names the job and its outputs; the outputs are queryable FileComponents.
line=$(grep "\"component_id\":\"$component\"" "$RESULTS" | grep '"status":"done"' | head -n 1)
job=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1][6:])["job_id"])' "$line")
outputs=$(python3 -c 'import json,sys; print(" ".join(o["component_id"] for o in json.loads(sys.argv[1][6:])["outputs"]))' "$line")
[ -n "$outputs" ] || fail "the result lists no outputs: $line"
out=$(timeout 30 "$PROBE" wait-job "$job" 10 2>&1) || fail "job $job not done: $out"
grep -qx "job $job done" <<<"$out" || fail "job $job: $out"

# Outputs (ftrackreview-* FileComponents, their ComponentLocations) produced ftrack.update
# events too; give the plugin time to see them, then there must still be exactly one job.
sleep 3
out=$(timeout 30 node "$PEER" jobs "$FTRACK_SERVER" 2>&1) || fail "counting jobs failed: $out"
[ "$out" = "JOBS 1" ] || { cat "$HOST_LOG" >&2; fail "expected one job, got: $out"; }
for o in $outputs; do
    [ "$(count_lines "encoding component $o")" = 0 ] || fail "the plugin encoded its own output $o"
done

# The action: discover offers "Encode media" for the version, launch encodes it again.
out=$(timeout 60 node "$PEER" action "$FTRACK_SERVER" "$version" 2>&1) || fail "action failed: $out"
grep -q '^DISCOVER .*"label":"Encode media"' <<<"$out" || fail "not offered: $out"
grep -q '^LAUNCH .*"success":true' <<<"$out" || fail "launch did not succeed: $out"
wait_for 60 bash -c "[ \$(grep -c '\"component_id\":\"$component\".*\"status\":\"done\"' '$RESULTS') -ge 2 ]" ||
    { cat "$RESULTS" >&2; fail "no second result after the action"; }
out=$(timeout 30 node "$PEER" jobs "$FTRACK_SERVER" 2>&1)
[ "$out" = "JOBS 2" ] || fail "expected two jobs after the action, got: $out"

stop_host
[ "$HOST_EXIT" = 0 ] || fail "ftrack-host exited with $HOST_EXIT"
echo "PASS"
