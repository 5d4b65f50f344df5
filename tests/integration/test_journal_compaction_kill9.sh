#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The segment journal under compaction and kill -9. Small segments (64 KiB). Instance "held"
# keeps one old event pending the whole time (its plugin hangs on it until the file `cured`
# exists), so compaction must copy it forward to delete the segment it lives in; instance
# "busy" gets 300 events at each start and, once it has handled them, 500 more (5 ms each, so
# it is still at work when compaction runs and when it is killed, its backlog spread over a
# few segments; held's old segment and the idle ones after it make more than four, the count
# from which compaction copies forward; and the segment the start began with, held's newest
# attempt mark in it, has nothing pending left). The host compacts on its timer every 2 s here
# (journal.compact_interval; runtime/reliability.c) and at a clean stop, so each round kills
# it (-9) at a random moment between 0.5 and 2.3 s after the late batch is in (2.1 to 2.3 s in
# round 3): some kills land before the next compaction, some after it, some during it. Five
# rounds, then a last start.
# After the last restart: every event published to busy was handled at least once; the held
# event was tried once per start (its attempts counted on across the kills: 1, 2, ... 6) and
# handled exactly once at the end; its record was moved forward and the first segment is gone;
# after the clean stop the journal holds only a few segments.
# It fails when: a kill during compaction loses the held event (its copy not yet durable when
# the old segment was unlinked) or an event of busy's, when a copy resets or loses the
# attempts (as when a newer segment holding held's attempt mark goes before its older, live
# one), when a restart misreads a half-written copy, or when segments pile up.
set -euo pipefail
. "$FTRACK_TEST_LIB"
. "$(dirname "$0")/host_helpers.sh"
. "$(dirname "$0")/journal_helpers.sh"

ROUNDS=5
BATCH=300 LATE=500 DELAY=0.005
INTERVAL=2
HELD_I=999999
t=$FTRACK_TEST_TMP
dir=$(plugin_dir recorder)
cat >"$t/config.json" <<JSON
{"journal": {"segment_bytes": 65536, "compact_interval": $INTERVAL},
 "plugins": {
  "held": {"plugin": "recorder",
           "arguments": {"record": "$t/held.jsonl", "trace": "$t/held.trace",
                         "expression": "topic=test.held", "cured": "$t/cured",
                         "hang_seconds": 3600},
           "failure": {"max_attempts": 100}},
  "busy": {"plugin": "recorder", "arguments": {"record": "$t/busy.jsonl", "delay": $DELAY}}}}
JSON
tries() { [ -f "$t/held.trace" ] && [ "$(wc -l <"$t/held.trace")" -ge "$1" ]; }
# known FIRST LAST: every data.i in FIRST..LAST is in the journal's files or handled (files
# read first: an event compacted away in between was handled before).
known() {
    python3 - "$JDATA/journal" "$t/busy.jsonl" "$1" "$2" <<'PY'
import glob, json, os, re, sys
d, rec, first, last = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
seen = set()
for f in glob.glob(d + "/*.seg"):
    try:
        seen |= {int(m) for m in re.findall(rb'"i": ?(\d+)', open(f, "rb").read())}
    except FileNotFoundError:
        pass
if os.path.exists(rec):
    seen |= {json.loads(l)["i"] for l in open(rec) if l.endswith("\n")}
sys.exit(0 if set(range(first, last + 1)) <= seen else 1)
PY
}
# handled FIRST LAST: busy handled every data.i in FIRST..LAST.
handled() {
    python3 - "$t/busy.jsonl" "$1" "$2" <<'PY'
import json, os, sys
rec, first, last = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
seen = {json.loads(l)["i"] for l in open(rec) if l.endswith("\n")} if os.path.exists(rec) else set()
sys.exit(0 if set(range(first, last + 1)) <= seen else 1)
PY
}
SEGS=()
start_host --plugin-path "$dir" --config "$t/config.json"
pub test.held --count 1 --start $HELD_I --data '{"hang": true}'
wait_for 10 tries 1 || fail "held did not start its event"
for ((r = 1; r <= ROUNDS; r++)); do
    [ "$r" -eq 1 ] || start_host --plugin-path "$dir" --config "$t/config.json"
    started=$EPOCHREALTIME
    wait_for 10 tries "$r" || fail "held's event was not tried again at start $r"
    first=$((r * 10000))
    pub test.rel --count $BATCH --start $first --wait 60
    wait_for 20 known $first $((first + BATCH - 1)) || fail "batch $r is not all in the journal"
    # Once busy has caught up (what the last round left, then this batch), the segment this
    # start began with (held's new attempt mark in it) has nothing pending left. A second batch
    # then, shortly before the next compaction: with held's old segment and the idle ones
    # after it, more than four, the count from which compaction copies the held event forward.
    wait_for 30 handled $first $((first + BATCH - 1)) || fail "busy did not handle batch $r"
    pub test.rel --count $LATE --start $((first + BATCH)) --wait 60
    wait_for 20 known $((first + BATCH)) $((first + BATCH + LATE - 1)) || fail "late batch $r is not all in the journal"
    queued=$EPOCHREALTIME
    # A random moment around the next compaction (within 2 s); in round 3 surely after it, so
    # the last start reads a journal that was compacted at least once with the late batch in.
    lo=0.5 hi=2.3
    [ "$r" -ne 3 ] || lo=2.1 hi=2.3
    at=$(python3 -c 'import random,sys; print(round(random.uniform(float(sys.argv[1]), float(sys.argv[2])), 2))' $lo $hi)
    sleep "$(python3 -c 'import sys,time; print(max(0, float(sys.argv[1]) + float(sys.argv[2]) - time.time()))' "$queued" "$at")"
    killed=$EPOCHREALTIME
    stop_host KILL
    n=$(jsegs | wc -l)
    SEGS+=("$n")
    note "round $r: late batch in $(python3 -c 'import sys; print("%.2f s after the start, killed %.2f s after it (drawn: %s s)" % (float(sys.argv[2]) - float(sys.argv[1]), float(sys.argv[3]) - float(sys.argv[2]), sys.argv[4]))' "$started" "$queued" "$killed" "$at"); $n segments"
done
jdump "$t/before-last.jsonl"
touch "$t/cured"
start_host --plugin-path "$dir" --config "$t/config.json"
all=$(for ((r = 1; r <= ROUNDS; r++)); do seq $((r * 10000)) $((r * 10000 + BATCH + LATE - 1)); done | sort -n | tr '\n' ' ')
all=${all% }
has() { [ "$(ids_of "$1")" = "$2" ]; }
wait_for 60 has "$t/busy.jsonl" "$all" || fail "busy lost events: handled $(ids_of "$t/busy.jsonl" | wc -w) of $((ROUNDS * (BATCH + LATE)))"
wait_for 20 has "$t/held.jsonl" "$HELD_I" || fail "the held event was not handled at the end"
during=$(jsegs | wc -l)
jdump "$t/final.jsonl"
stop_host
[ "$HOST_EXIT" -eq 0 ] || fail "exit $HOST_EXIT"
final=$(jsegs | wc -l)
[ "$final" -le 3 ] || fail "compaction left $final segments after the clean stop: $(jsegs | tr '\n' ' ')"
echo "MEASURED: segments after each kill: ${SEGS[*]}; $during once all was handled, $final after the clean stop ($(du -s -B1 "$JDATA/journal" | cut -f1) bytes allocated)"
python3 - "$t" "$ROUNDS" "$HELD_I" <<'PY' || fail "record check failed"
import collections, json, sys
t, rounds, held_i = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rd = lambda f: [json.loads(l) for l in open(t + "/" + f)]
problems = []
busy = rd("busy.jsonl")
count = collections.Counter(l["i"] for l in busy)
dups = sorted(i for i, c in count.items() if c > 1)
redeliveries = sum(1 for l in busy if l["redelivery"])
print("MEASURED: busy: %d deliveries of %d events, %d handled more than once, %d marked as "
      "redeliveries" % (len(busy), len(count), len(dups), redeliveries))
# A kill -9 keeps what was appended (the page cache): only the event in flight at each kill
# (one worker) may run twice.
if len(dups) > rounds:
    problems.append("busy handled %d events more than once (at most %d in flight at the kills): "
                    "i = %s ..." % (len(dups), rounds, dups[:20]))
tries = rd("held.trace")
attempts = [l["attempt"] for l in tries]
if attempts != list(range(1, rounds + 2)):
    problems.append("held's attempts not kept across the kills: %r (pids %r)"
                    % (attempts, [l["pid"] for l in tries]))
held = rd("held.jsonl")
if len(held) != 1 or held[0]["i"] != held_i or not held[0]["redelivery"]:
    problems.append("held not handled once at the end: %r" % held)
before = [json.loads(l) for l in open(t + "/before-last.jsonl")]
copies = [r for r in before if r["type"] == "event" and r.get("moved")]
held_recs = [r for r in before if r["type"] == "event" and r["topic"] == "test.held"]
seq = held_recs[0]["seq"] if held_recs else None
if not held_recs:
    problems.append("the held event is not in the journal before the last start")
elif not any(r["moved"] for r in held_recs):
    problems.append("the held event was never copied forward: %r" % held_recs)
if "0000000000000001.seg" in {r["file"] for r in before}:
    problems.append("the first segment is still there before the last start")
damaged = [r for r in before if r["type"] == "damaged"]
print("MEASURED: before the last start: %d records in %d files, %d moved copies, %d damaged"
      % (len(before), len({r["file"] for r in before}), len(copies), len(damaged)))
print("MEASURED: held tried at attempts %s" % attempts)
if problems:
    print("the held event's records before the last start:")
    for r in before:
        if r.get("seq") == seq and (r["type"] == "event" or r.get("instance") == "held"):
            print("  ", json.dumps(r))
    for p in problems:
        print("PROBLEM:", p)
    sys.exit(1)
PY
echo ok
