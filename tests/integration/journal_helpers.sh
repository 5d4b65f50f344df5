# SPDX-License-Identifier: Apache-2.0
# Helpers for the segment journal's integration tests (test_journal_*.sh). Source after
# $FTRACK_TEST_LIB and host_helpers.sh.
#
#   jdump [OUT]             `ftrack-host journal` of the test's data dir (to OUT, default stdout)
#   jsegs                   the segment files, oldest first, one per line
#   pub TOPIC [ARGS...]     rel_publisher; fails the test when an event is not acknowledged
#   ids_of FILE             the distinct data.i of a recorder file, sorted, space-separated
#   hang_config FILE        a config: instance "rec" (recorder, test.rel) that hangs on events
#                           with {"hang": true} until $FTRACK_TEST_TMP/cured exists
#   pending_then_killed N   the host with hang_config: event 0 hangs "rec", events 1..N wait in
#                           the journal behind it; then the host is killed (-9), nothing handled;
#                           JPLUGINS is the plugin folder it used, to start the host again

JDATA="$FTRACK_TEST_TMP/host-data"

jdump() {
    "$FTRACK_HOST_BIN" journal --data-dir "$JDATA" >"${1:-/dev/stdout}" ||
        fail "ftrack-host journal failed"
}

jsegs() {
    ls "$JDATA/journal/" 2>/dev/null | grep -E '^[0-9a-f]{16}\.seg$' | sort
}

pub() {
    local topic=$1
    shift
    local out
    out=$("$FTRACK_TEST_BIN_DIR/rel_publisher" "$topic" "$@" 2>&1) || {
        tail -n 20 "$HOST_LOG" >&2
        fail "publish failed: $(echo "$out" | tail -n 3)"
    }
}

ids_of() {
    [ -f "$1" ] || return 0
    python3 -c 'import json,sys; print(" ".join(map(str, sorted({json.loads(l)["i"] for l in open(sys.argv[1])}))))' "$1"
}

hang_config() {
    cat >"$1" <<JSON
{"journal": {"segment_bytes": 65536},
 "plugins": {
  "rec": {"plugin": "recorder",
          "arguments": {"record": "$FTRACK_TEST_TMP/rec.jsonl", "cured": "$FTRACK_TEST_TMP/cured",
                        "hang_seconds": 3600},
          "failure": {"max_attempts": 50}}}}
JSON
}

# journaled N: the journal holds at least N event records (while the host runs, too).
journaled() {
    [ "$("$FTRACK_HOST_BIN" journal --data-dir "$JDATA" | grep -c '"type": *"event"')" -ge "$1" ]
}

pending_then_killed() {
    local n=$1
    JPLUGINS=$(plugin_dir recorder)
    hang_config "$FTRACK_TEST_TMP/config.json"
    start_host --plugin-path "$JPLUGINS" --config "$FTRACK_TEST_TMP/config.json"
    pub test.rel --count 1 --start 0 --data '{"hang": true}'
    pub test.rel --count "$n" --start 1
    wait_for 20 journaled $((n + 1)) || fail "the journal does not hold the $((n + 1)) events"
    stop_host KILL
    [ ! -s "$FTRACK_TEST_TMP/rec.jsonl" ] ||
        fail "events were handled before the kill: $(ids_of "$FTRACK_TEST_TMP/rec.jsonl")"
}
