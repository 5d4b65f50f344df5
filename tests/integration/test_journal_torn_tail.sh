#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The segment journal: a record torn at the end of the newest file (a write cut short by a
# crash or a power loss). Events stay pending behind one that hangs; the host is killed (-9);
# the newest segment is cut in the middle of its last event record. At the restart the host
# logs the torn record with its file and offset, cuts it, delivers every event before it, and
# goes on handling new events.
set -euo pipefail
. "$FTRACK_TEST_LIB"
. "$(dirname "$0")/host_helpers.sh"
. "$(dirname "$0")/journal_helpers.sh"

N=20
t=$FTRACK_TEST_TMP
pending_then_killed $N

jdump "$t/before.jsonl"
read -r seg off bytes id < <(python3 - "$t/before.jsonl" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert not [r for r in recs if r["type"] == "damaged"], "damage before the test cut anything"
newest = max(r["file"] for r in recs)
ev = [r for r in recs if r["type"] == "event" and r["file"] == newest]
last = max(ev, key=lambda r: r["offset"])
print(last["file"], last["offset"], last["bytes"], last["id"])
PY
) || fail "cannot find the last event record"
seg=$(basename "$seg")
[ "$seg" = "$(jsegs | tail -n 1)" ] || fail "the last event record is not in the newest file ($seg)"
path="$JDATA/journal/$seg"
size=$(stat -c %s "$path")
cut=$((off + bytes / 2))
truncate -s "$cut" "$path"
echo "MEASURED: $seg was $size bytes (preallocated), its last event record $bytes bytes at" \
    "offset $off; cut to $cut bytes"
# The torn event's i: its text is in the file only up to the cut, so from the record file later.

touch "$t/cured"
start_host --plugin-path "$JPLUGINS" --config "$t/config.json"
expect_log "$path: a torn record at offset $off \(.*\): cut, $((bytes / 2)) bytes dropped; every record before it is kept"
[ "$(stat -c %s "$path")" -eq "$off" ] || fail "$seg was not cut to $off bytes: $(stat -c %s "$path")"
want=$(seq -s ' ' 0 $((N - 1)))
has() { [ "$(ids_of "$t/rec.jsonl")" = "$1" ]; }
wait_for 30 has "$want" || fail "handled [$(ids_of "$t/rec.jsonl")], want [$want]"
# The host runs on: a new event is handled.
pub test.rel --count 1 --start 1000
wait_for 20 has "$want 1000" || fail "the event published after the restart was not handled"
sleep 0.5
python3 - "$t/rec.jsonl" "$id" "$N" <<'PY' || fail "record check failed"
import collections, json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
torn, n = sys.argv[2], int(sys.argv[3])
assert torn not in {l["id"] for l in lines}, "the torn event was delivered"
count = collections.Counter(l["i"] for l in lines)
dups = {i: c for i, c in count.items() if c > 1}
assert not dups, "delivered more than once: %r" % dups
print("MEASURED: %d events handled after the cut (the torn one, i=%d, dropped)" % (len(lines), n))
PY
jdump "$t/after.jsonl"
grep -q '"damaged"' "$t/after.jsonl" && fail "the journal still reports damage after the cut"
stop_host
[ "$HOST_EXIT" -eq 0 ] || fail "exit $HOST_EXIT"
echo ok
