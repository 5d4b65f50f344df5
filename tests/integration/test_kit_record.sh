#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `ftrack-host record` against the embedded hub: a filtered and an unfiltered recorder capture
# exactly the events published (count, order, the same server bytes), the filter keeps other
# topics out, the API key never reaches the file, --count and --duration end it, SIGINT ends
# it cleanly with the count, and bad arguments are usage errors.
. "$FTRACK_TEST_LIB"

start_hub
T=$FTRACK_TEST_TMP

# start_recorder NAME ARGS...: record in the background; waits for its "recording" line.
start_recorder() {
    local name=$1
    shift
    "$FTRACK_HOST_BIN" record "$@" --out "$T/$name.jsonl" 2>"$T/$name.err" &
    eval "${name}_pid=$!"
    track_child "$!"
    wait_for 20 grep -q "^ftrack-host record: recording '" "$T/$name.err" ||
        fail "$name: no recording line: $(cat "$T/$name.err")"
}

pub() {
    timeout 30 "$FTRACK_HOST_BIN" publish "$@" 2>>"$T/pub.err" || fail "publish $*: $(tail -n 3 "$T/pub.err")"
}

start_recorder filtered --expression 'topic=kit.*'
start_recorder all
for i in 1 2 3 4 5; do
    pub kit.data --data "{\"n\": $i, \"text\": \"caf\\u00e9 \\\"quoted\\\" \\\\ slash/\"}"
    [ "$i" -le 3 ] && pub other.data --data "{\"n\": $i}"
done
pub kit.secret --data "{\"key\": \"$FTRACK_API_KEY\"}"
pub kit.end
wait_for 20 grep -q '"kit.end"' "$T/filtered.jsonl" || fail "kit.end never recorded"
wait_for 20 grep -q '"kit.end"' "$T/all.jsonl" || fail "kit.end never recorded (unfiltered)"

kill -INT "$filtered_pid" "$all_pid"
wait_pid_exit "$filtered_pid" 10 || fail "record did not end on SIGINT"
[ "$WAIT_STATUS" = 0 ] || fail "record exited $WAIT_STATUS on SIGINT: $(cat "$T/filtered.err")"
wait_pid_exit "$all_pid" 10 || fail "record (unfiltered) did not end on SIGINT"
grep -q '^ftrack-host record: 7 events recorded to ' "$T/filtered.err" ||
    fail "filtered count line: $(cat "$T/filtered.err")"
grep -q '^ftrack-host record: 10 events recorded to ' "$T/all.err" ||
    fail "unfiltered count line: $(cat "$T/all.err")"

python3 - "$T/filtered.jsonl" "$T/all.jsonl" "$FTRACK_API_KEY" <<'PY' || fail "recorded lines"
import json, sys
filtered = open(sys.argv[1], "rb").read().split(b"\n")
everything = open(sys.argv[2], "rb").read().split(b"\n")
assert filtered[-1] == b"" and everything[-1] == b"", "a recording does not end in a newline"
filtered, everything = filtered[:-1], everything[:-1]
key = sys.argv[3].encode()
assert key not in b"\n".join(filtered + everything), "the API key was written"
topics = [json.loads(l)["topic"] for l in filtered]
assert topics == ["kit.data"] * 5 + ["kit.secret", "kit.end"], topics
assert [json.loads(l)["data"]["n"] for l in filtered[:5]] == [1, 2, 3, 4, 5]
for l in filtered[:5]:
    assert json.loads(l)["data"]["text"] == 'caf\u00e9 "quoted" \\ slash/', l
assert json.loads(filtered[5])["data"]["key"] == "<redacted>"
all_topics = [json.loads(l)["topic"] for l in everything]
assert all_topics.count("other.data") == 3 and all_topics.count("kit.data") == 5, all_topics
assert len(everything) == 10, all_topics
# The same server bytes in both recordings, for every event the filter kept.
kept = [l for l in everything if json.loads(l)["topic"].startswith("kit.")]
assert kept == filtered, "the two recorders wrote different bytes"
PY

# --count ends after N events, with exit 0.
start_recorder counted --expression 'topic=kit.count' --count 2
for i in 1 2 3; do pub kit.count --data "{\"n\": $i}"; done
wait_pid_exit "$counted_pid" 20 || fail "--count 2 did not end the recording"
[ "$WAIT_STATUS" = 0 ] || fail "--count: exit $WAIT_STATUS"
[ "$(wc -l <"$T/counted.jsonl")" = 2 ] || fail "--count 2 wrote $(wc -l <"$T/counted.jsonl") lines"

# --duration ends a quiet recording.
start_recorder timed --expression 'topic=kit.nothing' --duration 1
wait_pid_exit "$timed_pid" 15 || fail "--duration 1 did not end the recording"
[ "$WAIT_STATUS" = 0 ] || fail "--duration: exit $WAIT_STATUS"
grep -q '^ftrack-host record: 0 events recorded' "$T/timed.err" || fail "--duration: $(cat "$T/timed.err")"

# Usage errors.
for args in "--bogus" "--count 0" "--count x" "--duration -1" "--expression topic=(" "extra"; do
    rc=0
    # shellcheck disable=SC2086
    timeout 20 "$FTRACK_HOST_BIN" record $args >/dev/null 2>"$T/usage.err" || rc=$?
    [ "$rc" = 2 ] || fail "record $args: exit $rc (want 2)"
    grep -q '^ftrack-host record: ' "$T/usage.err" || fail "record $args: $(cat "$T/usage.err")"
done
rc=0
(unset FTRACK_SERVER; timeout 20 "$FTRACK_HOST_BIN" record --count 1 2>"$T/usage.err") || rc=$?
[ "$rc" = 2 ] || fail "no FTRACK_SERVER: exit $rc"
rc=0
FTRACK_API_KEY=wrong-key-Zq9 timeout 30 "$FTRACK_HOST_BIN" record --count 1 2>"$T/usage.err" || rc=$?
[ "$rc" = 2 ] || fail "wrong key: exit $rc"
grep -q 'wrong-key-Zq9' "$T/usage.err" && fail "the key appeared in an error message"
echo "PASS: record"
