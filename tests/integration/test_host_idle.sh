#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# An idle host does not poll: its plugin workers (journaled and not) sleep until something
# has work for them. With 12 instances running and no events, those 12 threads together may
# wake only a few times in 3 s; a worker that polled every
# 20 ms would wake 150 times by itself. After the idle spell, an event still
# reaches every instance at once: the sleepers are woken, not timed out.
set -euo pipefail
. "$FTRACK_TEST_LIB"
. "$(dirname "$0")/host_helpers.sh"

dir=$(plugin_dir recorder)
t=$FTRACK_TEST_TMP
cfg="$t/config.json"
{
    echo '{"plugins": {'
    sep=""
    for i in $(seq 1 8); do
        printf '%s"j%d": {"plugin": "recorder", "arguments": {"record": "%s/j%d.jsonl"}}\n' \
            "$sep" "$i" "$t" "$i"
        sep=","
    done
    for i in $(seq 1 4); do
        printf ',"n%d": {"plugin": "recorder", "journal": false, "arguments": {"record": "%s/n%d.jsonl"}}\n' \
            "$i" "$t" "$i"
    done
    echo '}}'
} >"$cfg"
start_host --plugin-path "$dir" --config "$cfg"
pub() { "$FTRACK_TEST_BIN_DIR/rel_publisher" test.rel "$@" >/dev/null || fail "publish failed"; }
all_have() { # all_have N: every instance recorded at least N deliveries
    local f
    for f in "$t"/j{1..8}.jsonl "$t"/n{1..4}.jsonl; do
        [ -f "$f" ] && [ "$(wc -l <"$f")" -ge "$1" ] || return 1
    done
}

pub --count 1 --start 0
wait_for 10 all_have 1 || fail "not every instance handled the first event"

# Voluntary context switches of the workers (named fth-worker; journaled events are written by
# the network thread, so there is no intake thread): each is one time a thread went to sleep
# after being woken. Other threads are left out: the main thread has real timers, a
# sanitizer's runtime may run a timer thread.
sleepers() {
    local task sum=0 n=0 v
    for task in /proc/"$HOST_PID"/task/*; do
        case $(cat "$task/comm" 2>/dev/null) in fth-worker | fth-intake) ;; *) continue ;; esac
        v=$(awk '/^voluntary_ctxt_switches:/ {print $2}' "$task/status" 2>/dev/null || echo 0)
        sum=$((sum + ${v:-0}))
        n=$((n + 1))
    done
    echo "$n $sum"
}
sleep 1 # the first event's replies and journal writes settle
read -r threads before < <(sleepers)
# 12 workers, 8 of them journaled
[ "$threads" -eq 12 ] || fail "found $threads worker threads, expected 12"
sleep 3
read -r _ after < <(sleepers)
wakeups=$((after - before))
echo "MEASURED: $wakeups wake-ups in 3 s across $threads worker threads"
[ "$wakeups" -le 5 ] || fail "$wakeups wake-ups in 3 s of idling (threads poll)"

started=$(date +%s.%N)
pub --count 1 --start 1
wait_for 10 all_have 2 || fail "not every instance handled the event sent after idling"
took=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN {printf "%.2f", b - a}')
echo "MEASURED: an event after idling reached all 12 instances in $took s"
stop_host
[ "$HOST_EXIT" -eq 0 ] || fail "exit $HOST_EXIT"
echo "ok"
