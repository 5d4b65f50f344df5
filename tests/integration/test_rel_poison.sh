#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Reliability: a poison event must not crash-loop the host. An in-process plugin ("poisoned")
# segfaults on one event (after a 3 s hang, so the events published behind it reach the host
# first); the test restarts the host after each crash, as systemd would, at most 6 times.
#   1. Default configuration: the crash counts as attempt 1; from the next start the instance
#      runs isolated (its own child process, logged, persisted in the data dir), where attempts
#      2 and 3 crash only the child; the event is dead-lettered after max_attempts (3) tries in
#      all, the events behind it are handled, and the host crashed once. It stays isolated
#      after a clean restart.
#   2. With "isolated": false it runs in process again: a second poison event crashes the host
#      3 times, and at the 4th start it is dead-lettered without running; the events behind it
#      flow.
# Throughout, "other" (another in-process instance) gets every event published while the host
# was up.
set -euo pipefail
. "$FTRACK_TEST_LIB"
. "$(dirname "$0")/host_helpers.sh"

dir=$(plugin_dir recorder)
t=$FTRACK_TEST_TMP
dl="$t/host-data/dead-letter.jsonl"
write_config() { # $1: extra keys of the poisoned instance
    cat >"$t/config.json" <<JSON
{"plugins": {
  "poisoned": {"plugin": "recorder", $1
               "arguments": {"record": "$t/poisoned.jsonl", "trace": "$t/trace.jsonl",
                             "hang_seconds": 3},
               "failure": {"max_attempts": 3, "retry_delay": 0.1, "pause_after": 0}},
  "other": {"plugin": "recorder", "arguments": {"record": "$t/other.jsonl", "obey": false}}}}
JSON
}

alive() { kill -0 "$HOST_PID" 2>/dev/null; }
ready_or_dead() { grep -q 'ready:' "$HOST_LOG" || ! alive; }
STARTS=0
CRASHES=0
PIDS=()
# start: like start_host, but a host that crashes before it is ready is not a failure here.
start() {
    STARTS=$((STARTS + 1))
    [ "$STARTS" -le 12 ] || fail "more than 12 host starts"
    HOST_LOG="$t/host.$STARTS.log"
    env -u FTRACK_SERVER "$FTRACK_HOST_BIN" --listen 127.0.0.1:0 --data-dir "$t/host-data" \
        --plugin-path "$dir" --config "$t/config.json" 2>"$HOST_LOG" &
    HOST_PID=$!
    track_child "$HOST_PID"
    PIDS+=("$HOST_PID")
    wait_for 30 ready_or_dead || fail "ftrack-host did not get ready within 30 s"
    grep -q 'ready:' "$HOST_LOG" || return 0 # crashed first: supervise restarts it
    FTRACK_SERVER=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$HOST_LOG" | head -n 1)
    export FTRACK_SERVER
    note "start $STARTS: ftrack-host $HOST_PID at $FTRACK_SERVER"
}
# supervise SECONDS COMMAND...: restart the host after each crash (at most 6 crashes) until
# COMMAND succeeds.
supervise() {
    local limit=$1 i
    shift
    for ((i = 0; i < limit * 10; i++)); do
        if ! alive; then
            wait "$HOST_PID" 2>/dev/null || true
            CRASHES=$((CRASHES + 1))
            note "the host crashed ($CRASHES so far)"
            [ "$CRASHES" -le 6 ] || fail "the host crash-loops: $CRASHES crashes"
            start
        fi
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}
pub() { "$FTRACK_TEST_BIN_DIR/rel_publisher" test.rel "$@" >/dev/null || fail "publish failed"; }
distinct() { # FILE: the distinct data.i handled, sorted
    [ -f "$1" ] || return 0
    python3 -c 'import json,sys; print(" ".join(map(str, sorted({json.loads(l)["i"] for l in open(sys.argv[1])}))))' "$1"
}
has() { [ "$(distinct "$1")" = "$2" ]; }
seqs() { python3 -c 'import sys; print(" ".join(map(str, sorted(int(x) for x in sys.argv[1:]))))' "$@"; }
dead_letters() { [ -f "$dl" ] && wc -l <"$dl" || echo 0; }
# settle SECONDS LAST POISONS DEAD: supervise until poisoned handled 0..LAST, other those and
# the POISONS, and DEAD events are in the dead-letter file.
settled() {
    has "$t/poisoned.jsonl" "$(seqs $(seq 0 "$1"))" &&
        has "$t/other.jsonl" "$(seqs $(seq 0 "$1") $2)" && [ "$(dead_letters)" -ge "$3" ]
}
settle() {
    supervise "$1" settled "$2" "$3" "$4" || fail "not settled: poisoned handled" \
        "[$(distinct "$t/poisoned.jsonl")], other [$(distinct "$t/other.jsonl")]," \
        "$(dead_letters) dead letters, $CRASHES crashes"
}

# ---- 1. default configuration: isolated after the crash ---------------------------------
write_config ""
start
pub --count 5 --start 0
wait_for 30 has "$t/poisoned.jsonl" "$(seqs 0 1 2 3 4)" || fail "poisoned did not handle 0-4"
first=$HOST_PID
pub --count 1 --start 100 --data '{"hang": true, "crash": true}'
pub --count 5 --start 5
wait_pid_exit "$HOST_PID" 30 || fail "the poison event did not crash the host"
note "the poison event crashed the host (exit $WAIT_STATUS)"
CRASHES=1
start
pub --count 5 --start 10
settle 90 14 "100" 1
alive || fail "the host died"
[ "$CRASHES" -eq 1 ] || fail "the host crashed $CRASHES times (expected once)"
expect_log "plugin instance 'poisoned' runs isolated: it crashed the host"
expect_log "plugin instance 'poisoned' runs isolated in process"
# Its child restarts after each crash (with backoff): one runs again soon.
isolated_child() { ps --ppid "$HOST_PID" -o args= | grep -q -- '--isolated-child'; }
wait_for 10 isolated_child || fail "no isolated child process of the host runs"
python3 - "$t" "$first" <<'PY' || fail "phase 1 records wrong"
import json, sys
t, first = sys.argv[1], int(sys.argv[2])
rd = lambda f: [json.loads(l) for l in open(f)]
tries = [l for l in rd(t + "/trace.jsonl") if l["i"] == 100]
assert [l["attempt"] for l in tries] == [1, 2, 3], tries
assert tries[0]["pid"] == first, ("attempt 1 runs in the first host", tries)
assert all(l["pid"] != first for l in tries[1:]), ("attempts 2, 3 in a child", tries)
dead = rd(t + "/host-data/dead-letter.jsonl")
assert [(d["instance"], d["event"]["data"]["i"], d["attempts"]) for d in dead] == \
    [("poisoned", 100, 3)], dead
order = [l["i"] for l in rd(t + "/poisoned.jsonl")]
assert order == list(range(15)), order
print("MEASURED: poison tried %d times (pids %s), dead-lettered; 1 host crash" %
      (len(tries), [l["pid"] for l in tries]))
PY
# A clean restart keeps it isolated (the decision is in the data dir).
stop_host
[ "$HOST_EXIT" -eq 0 ] || fail "exit $HOST_EXIT"
start
expect_log "plugin instance 'poisoned' runs isolated: it crashed the host"
expect_log "plugin instance 'poisoned' runs isolated in process"
wait_for 10 isolated_child || fail "no isolated child process after the restart"

# ---- 2. "isolated": false: in process; dead-lettered at the 4th start without running -----
stop_host
write_config '"isolated": false,'
start
expect_log "plugin instance 'poisoned' runs in process again"
grep -q "plugin instance 'poisoned' runs isolated" "$HOST_LOG" && fail "still isolated"
CRASHES=0
pub --count 1 --start 200 --data '{"hang": true, "crash": true}'
pub --count 5 --start 15
settle 120 19 "100 200" 2
[ "$CRASHES" -eq 3 ] || fail "the host crashed $CRASHES times (expected 3: max_attempts)"
grep -q "plugin instance 'poisoned' crashed the host (signal .*) but stays in process" \
    "$t"/host.*.log || fail "no log line says it stays in process"
python3 -c 'import json,sys; assert "poisoned" not in json.load(open(sys.argv[1]))' \
    "$t/host-data/isolated-after-crash.json" || fail "still listed as isolated after a crash"
expect_log "plugin instance 'poisoned' did not finish event .* 3 times"
expect_log "without running it again"
python3 - "$t" "${PIDS[*]}" <<'PY' || fail "phase 2 records wrong"
import json, sys
t, hosts = sys.argv[1], {int(p) for p in sys.argv[2].split()}
rd = lambda f: [json.loads(l) for l in open(f)]
tries = [l for l in rd(t + "/trace.jsonl") if l["i"] == 200]
assert [l["attempt"] for l in tries] == [1, 2, 3], tries
assert all(l["pid"] in hosts for l in tries), ("in process", tries)
assert len({l["pid"] for l in tries}) == 3, ("one try per start", tries)
dead = rd(t + "/host-data/dead-letter.jsonl")
assert (dead[1]["instance"], dead[1]["event"]["data"]["i"], dead[1]["attempts"]) == \
    ("poisoned", 200, 3), dead
order = [l["i"] for l in rd(t + "/poisoned.jsonl")]
assert order == list(range(20)), order
print("MEASURED: poison tried %d times in process, 3 host crashes, dead-lettered at start 4"
      % len(tries))
PY
stop_host
[ "$HOST_EXIT" -eq 0 ] || fail "exit $HOST_EXIT"
echo ok
