#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The segment journal: a record damaged in the middle of a file (bit rot, a bad sector). Events
# stay pending behind one that hangs; the host is killed (-9); bytes in the text of an event
# record in the middle are flipped. At the restart the host logs the corrupted record with its
# file and offset and the bytes it skipped, delivers every other event once, and never the
# damaged one (not garbled, not twice).
set -euo pipefail
. "$FTRACK_TEST_LIB"
. "$(dirname "$0")/host_helpers.sh"
. "$(dirname "$0")/journal_helpers.sh"

N=20
t=$FTRACK_TEST_TMP
pending_then_killed $N

jdump "$t/before.jsonl"
# The event record of i=10 (the 11th event record, in seq order), its text's middle byte
# flipped: the header's checksum no longer matches.
read -r path off bytes id skip < <(python3 - "$t/before.jsonl" "$JDATA/journal" <<'PY'
import json, struct, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert not [r for r in recs if r["type"] == "damaged"], "damage before the test touched anything"
ev = sorted((r for r in recs if r["type"] == "event"), key=lambda r: r["seq"])
r = ev[10]
path = sys.argv[2] + "/" + r["file"]
with open(path, "r+b") as f:
    f.seek(r["offset"] + 8)
    (plen,) = struct.unpack("<I", f.read(4))
    end = r["offset"] + 24 + plen
    text = end - r["text_bytes"]
    f.seek(text)
    assert f.read(1) == b"{", "the text does not start where the layout says"
    at = text + r["text_bytes"] // 2
    f.seek(at)
    b = f.read(2)
    f.seek(at)
    f.write(bytes(x ^ 0x5A for x in b))
# Skipped: up to the next record of the file (records are 8-byte aligned; "bytes" counts the
# padding, so this is also offset + bytes).
nxt = min(x["offset"] for x in recs if x["file"] == r["file"] and x["offset"] > r["offset"])
print(path, r["offset"], r["bytes"], r["id"], nxt - r["offset"])
PY
) || fail "cannot damage the middle event record"
seg=$(basename "$path")
grep -c "$id" "$path" >/dev/null || fail "the event id $id is not in $seg"
echo "MEASURED: flipped 2 bytes of the text of the $bytes-byte event record at offset $off of $seg"

touch "$t/cured"
start_host --plugin-path "$JPLUGINS" --config "$t/config.json"
expect_log "$path: a corrupted record at offset $off \(.*\): $skip bytes skipped up to the next good record"
grep -F "corrupted record" "$HOST_LOG" | sed 's/^/MEASURED: log: /'
[ "$(count_lines "corrupted record")" -eq 1 ] || fail "more than one corrupted record reported"
want=$(seq -s ' ' 0 $N | sed 's/ 10 / /')
has() { [ "$(ids_of "$t/rec.jsonl")" = "$1" ]; }
wait_for 30 has "$want" || fail "handled [$(ids_of "$t/rec.jsonl")], want [$want]"
pub test.rel --count 1 --start 1000
wait_for 20 has "$want 1000" || fail "the event published after the restart was not handled"
sleep 0.5
python3 - "$t/rec.jsonl" "$id" <<'PY' || fail "record check failed"
import collections, json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
bad = sys.argv[2]
assert bad not in {l["id"] for l in lines}, "the damaged event was delivered"
count = collections.Counter(l["id"] for l in lines)
dups = {i: c for i, c in count.items() if c > 1}
assert not dups, "delivered more than once: %r" % dups
print("MEASURED: %d events handled, the damaged one not" % len(lines))
PY
stop_host
[ "$HOST_EXIT" -eq 0 ] || fail "exit $HOST_EXIT"
echo ok
