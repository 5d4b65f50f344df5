#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Scale-out benchmark (docs/scale-out.md): events per second through the embedded hub →
# ingest host → Redis stream → N worker hosts, each running one plugin instance that spends
# 1 ms of CPU per event (examples/scale-out's example_render with work_ms 1).
#
#   bench/scaleout.sh BUILD_DIR          (bench/run.sh BUILD_DIR scaleout runs it)
#
# Environment: SCALEOUT_EVENTS (3000 per run), SCALEOUT_WORKERS ("1 2 4"), BENCH_RUNS (3).
# For each N: the time from the first publish to the last acknowledgement in the group
# (XINFO GROUPS: entries read and nothing pending). One JSON object per run on stdout; a table
# on stderr. Needs redis-server and the test programs (tests/bin/rel_publisher).
set -euo pipefail
BUILD=$(cd "${1:?usage: bench/scaleout.sh BUILD_DIR}" && pwd)
EVENTS=${SCALEOUT_EVENTS:-3000}
WORKERS=${SCALEOUT_WORKERS:-1 2 4}
RUNS=${BENCH_RUNS:-3}
HOST=${BENCH_HOST_BIN:-$BUILD/host/ftrack-host}
PUB=$BUILD/tests/bin/rel_publisher
PLUGINS=$BUILD/examples/scale-out-plugins
for f in "$HOST" "$PUB" "$PLUGINS/example_render.so"; do
    [ -e "$f" ] || { echo "bench/scaleout.sh: $f is missing" >&2; exit 2; }
done
command -v redis-server >/dev/null || { echo "bench/scaleout.sh: redis-server is missing" >&2; exit 2; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/ftbench-scaleout.XXXXXX")
PIDS=()
stop_all() {
    for pid in "${PIDS[@]+"${PIDS[@]}"}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]+"${PIDS[@]}"}"; do wait "$pid" 2>/dev/null || true; done
    PIDS=()
}
trap 'stop_all; rm -rf "$TMP"' EXIT
note() { echo "# $*" >&2; }
wait_line() {
    for _ in $(seq 300); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
    echo "bench/scaleout.sh: no '$2' in $1" >&2; tail "$1" >&2; exit 1
}
now() { date +%s.%N; }

export FTRACK_API_USER=bench-user FTRACK_API_KEY=bench-key-0123456789abcdef
unset FTRACK_SERVER FTRACK_EVENT_PLUGIN_PATH

# acked COUNT: true once the group read COUNT entries and has none pending
acked() {
    local info read pending
    info=$(redis-cli -p "$PORT" xinfo groups bench:events 2>/dev/null | tr '\n' ' ')
    read=$(awk '{for (i = 1; i < NF; i++) if ($i == "entries-read") print $(i + 1)}' <<<"$info")
    pending=$(awk '{for (i = 1; i < NF; i++) if ($i == "pending") print $(i + 1)}' <<<"$info")
    [ "${read:-0}" -ge "$1" ] && [ "${pending:-1}" = 0 ]
}

one_run() { # one_run N RUN
    local n=$1 run=$2 d i t0 t1
    d=$TMP/run-$n-$run
    mkdir -p "$d"
    PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    redis-server --port "$PORT" --bind 127.0.0.1 --dir "$d" --save "" --appendonly no \
        --logfile "$d/redis.log" >/dev/null &
    PIDS+=($!)
    "$HOST" hub --listen 127.0.0.1:0 --data-dir "$d/hub" --store memory 2>"$d/hub.log" >/dev/null &
    PIDS+=($!)
    wait_line "$d/hub.log" 'http://127\.0\.0\.1:[0-9]'
    export FTRACK_SERVER
    FTRACK_SERVER=$(grep -o -m1 'http://127\.0\.0\.1:[0-9]*' "$d/hub.log")
    local q='"stream": "bench:events", "group": "bench"'
    echo "{\"queue\": {\"mode\": \"ingest\", $q}}" >"$d/ingest.json"
    echo "{\"queue\": {\"mode\": \"worker\", $q}, \"plugins\": {\"example_render\": {\"arguments\": {\"work_ms\": 1}}}}" >"$d/worker.json"
    local workers=()
    for ((i = 1; i <= n; i++)); do
        "$HOST" run --config "$d/worker.json" --queue-redis "127.0.0.1:$PORT" --queue-consumer "w$i" \
            --plugin-path "$PLUGINS" --data-dir "$d/w$i" 2>"$d/w$i.log" >/dev/null &
        PIDS+=($!)
        workers+=($!)
    done
    "$HOST" run --config "$d/ingest.json" --queue-redis "127.0.0.1:$PORT" --data-dir "$d/ingest" \
        --plugin-path "$PLUGINS" 2>"$d/ingest.log" >/dev/null &
    PIDS+=($!)
    wait_line "$d/ingest.log" 'subscribed on behalf of the workers'
    for ((i = 1; i <= n; i++)); do wait_line "$d/w$i.log" 'ready:'; done
    # The workers wait (SIGSTOP) while the events go into the stream, so the two rates are
    # measured apart: hub → ingest → stream, then stream → N workers.
    kill -STOP "${workers[@]}"
    local p0 p1
    p0=$(now)
    for ((i = 0; i < EVENTS; i += 1000)); do
        "$PUB" example.render --start "$i" --count $((EVENTS - i < 1000 ? EVENTS - i : 1000)) \
            --wait 60 >/dev/null 2>&1
    done
    for _ in $(seq 6000); do
        [ "$(redis-cli -p "$PORT" xlen bench:events)" -ge "$EVENTS" ] && break
        sleep 0.02
    done
    p1=$(now)
    t0=$(now)
    kill -CONT "${workers[@]}"
    for _ in $(seq 6000); do acked "$EVENTS" && break; sleep 0.02; done
    acked "$EVENTS" || { echo "bench/scaleout.sh: N=$n run $run did not finish" >&2; exit 1; }
    t1=$(now)
    stop_all
    python3 -c "import sys; n, r, e, s = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]) - float(sys.argv[6]); i = float(sys.argv[8]) - float(sys.argv[7]); print('{\"bench\":\"scaleout\",\"workers\":%d,\"run\":%d,\"events\":%d,\"seconds\":%.3f,\"events_per_s\":%.1f,\"ingest_events_per_s\":%.1f,\"nproc\":%s}' % (n, r, e, s, e / s, e / i, sys.argv[5]))" \
        "$n" "$run" "$EVENTS" "$t1" "$(nproc)" "$t0" "$p0" "$p1" >"$TMP/line"
}

RESULTS=()
for n in $WORKERS; do
    for ((run = 1; run <= RUNS; run++)); do
        note "scale-out: $n worker(s), run $run ($EVENTS events, 1 ms CPU each)"
        one_run "$n" "$run"
        line=$(cat "$TMP/line")
        echo "$line"
        RESULTS+=("$line")
    done
done
printf '%s\n' "${RESULTS[@]}" | python3 -c '
import json, sys, statistics, os
rows = [json.loads(l) for l in sys.stdin if l.strip()]
by = {}
for r in rows:
    by.setdefault(r["workers"], []).append(r["events_per_s"])
print("#### Scale-out (ingest -> Redis stream -> N workers, 1 ms CPU per event; %d cores)\n" % os.cpu_count())
ing = {}
for r in rows:
    ing.setdefault(r["workers"], []).append(r["ingest_events_per_s"])
print("| workers | stream -> workers events/s | vs 1 worker | hub -> ingest -> stream events/s |")
print("|---|---|---|---|")
base = statistics.median(by[min(by)]) if by else 0
for n in sorted(by):
    v = by[n]; m = statistics.median(v); g = statistics.median(ing[n])
    print("| %d | %s [%s-%s] | %.2fx | %s |" % (n, f"{m:,.0f}", f"{min(v):,.0f}", f"{max(v):,.0f}", m / base if base else 0, f"{g:,.0f}"))
' >&2
