#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The segment journal's first start imports an old SQLite journal: <data dir>/journal.sqlite
# (made by make_old_journal.py, the old schema) holds pending deliveries for two instances,
# those of "a" started once by the old host (a crash), those of "b" never. The host imports
# them (logged with the count), handles each once (a's as redeliveries, attempt 2: the old
# attempt is kept), renames the old file to journal.sqlite.migrated, and a second start
# imports nothing and handles nothing again.
set -euo pipefail
. "$FTRACK_TEST_LIB"
. "$(dirname "$0")/host_helpers.sh"
. "$(dirname "$0")/journal_helpers.sh"

N=5
t=$FTRACK_TEST_TMP
dir=$(plugin_dir recorder)
mkdir -m 700 "$JDATA"
old="$JDATA/journal.sqlite"
python3 "$(dirname "$0")/make_old_journal.py" "$old" --instance a --instance b --count $N \
    --attempts 1 >"$t/made.txt" || fail "make_old_journal.py failed"
# b's deliveries: never started (the script gives every instance the same attempts).
python3 - "$old" <<'PY' || fail "cannot edit the old journal"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
with db:
    db.execute("UPDATE deliveries SET attempts = 0, run = 0 WHERE instance = 'b'")
db.close()
PY
note "old journal: $(cat "$t/made.txt")"
cat >"$t/config.json" <<JSON
{"plugins": {
  "a": {"plugin": "recorder", "arguments": {"record": "$t/a.jsonl",
        "expression": "topic=ftrack.test.old or topic=test.rel"}},
  "b": {"plugin": "recorder", "arguments": {"record": "$t/b.jsonl",
        "expression": "topic=ftrack.test.old or topic=test.rel"}}}}
JSON
start_host --plugin-path "$dir" --config "$t/config.json"
expect_log "imported $((2 * N)) pending deliveries from the SQLite journal"
grep -F "imported" "$HOST_LOG" | sed 's/^/MEASURED: log: /'
want=$(seq -s ' ' 1 $N)
has() { [ "$(ids_of "$1")" = "$2" ]; }
wait_for 20 has "$t/a.jsonl" "$want" || fail "a handled [$(ids_of "$t/a.jsonl")], want [$want]"
wait_for 20 has "$t/b.jsonl" "$want" || fail "b handled [$(ids_of "$t/b.jsonl")], want [$want]"
[ -f "$old.migrated" ] || fail "no journal.sqlite.migrated"
[ ! -e "$old" ] || fail "journal.sqlite is still there"
stop_host
[ "$HOST_EXIT" -eq 0 ] || fail "exit $HOST_EXIT"

# A second start: nothing imported, nothing handled again; a new event still flows.
start_host --plugin-path "$dir" --config "$t/config.json"
grep -q "imported" "$HOST_LOG" && fail "the second start imported again: $(grep imported "$HOST_LOG")"
pub test.rel --count 1 --start 100
wait_for 20 has "$t/a.jsonl" "$want 100" || fail "a did not handle the new event"
wait_for 20 has "$t/b.jsonl" "$want 100" || fail "b did not handle the new event"
sleep 0.5
stop_host
[ "$HOST_EXIT" -eq 0 ] || fail "exit $HOST_EXIT"
[ ! -e "$old" ] || fail "journal.sqlite came back"
python3 - "$t" "$N" <<'PY' || fail "record check failed"
import collections, json, sys
t, n = sys.argv[1], int(sys.argv[2])
for name, attempt, redelivery in (("a", 2, True), ("b", 1, False)):
    lines = [json.loads(l) for l in open("%s/%s.jsonl" % (t, name))]
    count = collections.Counter(l["id"] for l in lines)
    dups = {k: c for k, c in count.items() if c > 1}
    assert not dups, "%s handled more than once: %r" % (name, dups)
    old = [l for l in lines if l["topic"] == "ftrack.test.old"]
    assert sorted(l["id"] for l in old) == sorted("old-%d" % i for i in range(1, n + 1)), old
    got = {(l["attempt"], l["redelivery"]) for l in old}
    assert got == {(attempt, redelivery)}, "%s: attempts/redelivery %r, want %r" % (
        name, got, (attempt, redelivery))
    print("MEASURED: %s handled %d imported events once each (attempt %d, redelivery %s)"
          % (name, len(old), attempt, redelivery))
PY
echo ok
