#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Scale-out (docs/scale-out.md): an idle worker does not poll Redis. Its plugin worker thread
# waits on its Redis connection and its inbox at once, with a read that blocks in Redis until
# the next real timer (the XAUTOCLAIM pass, every min(claim_idle / 2, 5 s)). In 3 s of idling
# it may wake for at most one such pass: the read's timeout answer, the XAUTOCLAIM round trip,
# and a registry refresh (every 30 s) falling in the same spell, so at most 4 times; a worker
# that polled with XREADGROUP BLOCK 200 woke 15 times or more. After the idle spell an event
# still reaches the worker at once (Redis answers the blocked read), and a stop ends the
# blocked read at once (CLIENT UNBLOCK), without dropping the connection. The ingest host's
# ingest thread, likewise, sleeps until an event or its one-second registry read.
. "$FTRACK_TEST_LIB"
. "$(dirname "$0")/host_helpers.sh"
. "$(dirname "$0")/scale_helpers.sh"

start_redis
start_hub
write_worker_config w1
start_queue_host w1 worker
write_ingest_config ingest
start_queue_host ingest ingest
wait_ingest_subscribed 1
publish_numbered test.scale 0 1
wait_for 20 records_at_least 1 w1 || fail "the worker did not handle the first event"

# Voluntary context switches of the worker's plugin threads (fth-worker) and of the ingest
# host's ingest thread (fth-ingest): each is one time the thread went to sleep after being
# woken. The other threads (hub client, main) have timers of their own.
sleepers() { # sleepers PID NAME
    local task sum=0 n=0 v
    for task in /proc/"$1"/task/*; do
        [ "$(cat "$task/comm" 2>/dev/null)" = "$2" ] || continue
        v=$(awk '/^voluntary_ctxt_switches:/ {print $2}' "$task/status" 2>/dev/null || echo 0)
        sum=$((sum + ${v:-0}))
        n=$((n + 1))
    done
    echo "$n $sum"
}
sleep 1 # the first event's acknowledgement and reply settle
read -r threads before < <(sleepers "${QPID[w1]}" fth-worker)
[ "$threads" -eq 1 ] || fail "found $threads worker threads in w1, expected 1"
read -r ithreads ibefore < <(sleepers "${QPID[ingest]}" fth-ingest)
[ "$ithreads" -eq 1 ] || fail "found $ithreads ingest threads, expected 1"
sleep 3
read -r _ after < <(sleepers "${QPID[w1]}" fth-worker)
read -r _ iafter < <(sleepers "${QPID[ingest]}" fth-ingest)
wakeups=$((after - before))
iwakeups=$((iafter - ibefore))
echo "MEASURED: $wakeups wake-ups of the Redis worker's plugin thread in 3 s of idling"
echo "MEASURED: $iwakeups wake-ups of the ingest thread in 3 s of idling"
[ "$wakeups" -le 4 ] || fail "$wakeups wake-ups in 3 s of idling (the worker polls Redis)"
# The ingest's one timer: the subscription registry, read once a second, each a sleep until
# the timer and one for the Redis answer: at most 4 reads in 3 s, so 8, plus a spare. A 0.2 s
# poll of its queue added 15 (measured: 21).
[ "$iwakeups" -le 9 ] || fail "$iwakeups ingest wake-ups in 3 s of idling (the ingest polls)"

started=$(date +%s.%N)
publish_numbered test.scale 1 1
wait_for 10 records_at_least 2 w1 || fail "the event sent after idling was not handled"
took=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN {printf "%.2f", b - a}')
echo "MEASURED: an event after idling was handled in $took s"

started=$(date +%s.%N)
kill -TERM "${QPID[w1]}"
wait_pid_exit "${QPID[w1]}" 20 || fail "w1 did not stop within 20 s"
[ "$WAIT_STATUS" -eq 0 ] || fail "w1 exited with $WAIT_STATUS"
took=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN {printf "%.2f", b - a}')
echo "MEASURED: the idle worker stopped in $took s"
awk -v t="$took" 'BEGIN {exit !(t < 3)}' || fail "stopping the idle worker took $took s"
lost=$(grep "lost the connection" "$FTRACK_TEST_TMP/w1.log" || true)
[ -z "$lost" ] || fail "the worker dropped its Redis connection: $lost"
pending=$(rcli xpending test:events ftrack-host:recorder | head -n 1)
[ "$pending" = 0 ] || fail "$pending entries still pending in the group"
note "an idle scale-out worker sleeps until Redis, its inbox or a timer wakes it"
exit 0
