#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The segment journal writes an event once for all the instances it is for: ten journaled
# instances subscribed to one topic, one event of about 100 KB. The journal holds exactly one
# event record for its id, listing all ten instances; the journal grew by less than twice the
# event (record bytes and allocated disk blocks); all ten handled it.
set -euo pipefail
. "$FTRACK_TEST_LIB"
. "$(dirname "$0")/host_helpers.sh"
. "$(dirname "$0")/journal_helpers.sh"

t=$FTRACK_TEST_TMP
dir=$(plugin_dir recorder)
# Each instance sleeps 3 s per event, so the event is still pending while the test reads the
# journal (a segment with nothing pending may be compacted away).
python3 - "$t" >"$t/config.json" <<'PY'
import json, sys
t = sys.argv[1]
print(json.dumps({"plugins": {"r%d" % k: {"plugin": "recorder", "arguments": {
    "record": "%s/r%d.jsonl" % (t, k), "delay": 3}} for k in range(10)}}))
PY
python3 -c 'import json; print(json.dumps({"blob": "x" * 100000}))' >"$t/data.json"
start_host --plugin-path "$dir" --config "$t/config.json"
record_bytes() { jdump | python3 -c 'import json,sys; print(sum(json.loads(l)["bytes"] for l in sys.stdin))'; }
jdir="$JDATA/journal"
bytes0=$(record_bytes)
du0=$(du -s -B1 "$jdir" | cut -f1)
pub test.rel --count 1 --start 7 --data @"$t/data.json"
wait_for 10 journaled 1 || fail "the event was not journaled"
jdump "$t/dump.jsonl"
bytes1=$(record_bytes)
du1=$(du -s -B1 "$jdir" | cut -f1)
read -r id text_bytes < <(python3 - "$t/dump.jsonl" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
ev = [r for r in recs if r["type"] == "event"]
assert len(ev) == 1, "%d event records: %r" % (len(ev), ev)
e = ev[0]
names = sorted(x["instance"] for x in e["instances"])
assert names == sorted("r%d" % k for k in range(10)), names
assert not [r for r in recs if r["type"] == "delivery"], "delivery records besides the event"
assert e["text_bytes"] > 100000, e
print(e["id"], e["text_bytes"])
PY
) || fail "the journal does not hold the event once for the ten instances"
# The wire text verbatim, once.
n=$(cat "$jdir"/*.seg | grep -ao "\"blob\": *\"xxxxxxxxxx" | wc -l)
[ "$n" -eq 1 ] || fail "the event's text is in the journal files $n times"
grew=$((bytes1 - bytes0))
dgrew=$((du1 - du0))
echo "MEASURED: event text $text_bytes bytes; journal records grew by $grew bytes" \
    "($((grew * 100 / text_bytes))% of the text), allocated blocks by $dgrew bytes"
[ "$grew" -lt $((2 * text_bytes)) ] || fail "records grew by $grew bytes for a $text_bytes-byte event"
[ "$dgrew" -lt $((2 * text_bytes)) ] || fail "allocated size grew by $dgrew bytes"
all_handled() {
    local k
    for k in 0 1 2 3 4 5 6 7 8 9; do
        [ "$(ids_of "$t/r$k.jsonl")" = 7 ] || return 1
    done
}
wait_for 30 all_handled || { tail -n 20 "$HOST_LOG"; ls -la "$t"; fail "not every instance handled the event"; }
for k in 0 1 2 3 4 5 6 7 8 9; do
    [ "$(wc -l <"$t/r$k.jsonl")" -eq 1 ] || fail "r$k handled it more than once"
    grep -q "$id" "$t/r$k.jsonl" || fail "r$k handled another id"
done
stop_host
[ "$HOST_EXIT" -eq 0 ] || fail "exit $HOST_EXIT"
echo ok
