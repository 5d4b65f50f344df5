#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The same no-op Python plugin (register(session) answering ftrack.action.discover with
# {"items": []}) under ftrack-host --python-plugins and under ftrack's own listener (a
# ftrack_api.Session loading it from its plugin path, then session.event_hub.wait()), on the
# same hub, under the same load (ftbench_load roundtrip). Prints replies per second, latency
# and CPU per event: ftrack-host + its runner against the Python process. Printed, not a test.
#
#   bench/python_plugins.sh BUILD_DIR [PYTHON]
#
# BUILD_DIR needs the benchmarks (-DFTRACK_BUILD_BENCH=ON: ./build.sh bench makes build-bench).
# PYTHON must import ftrack_api (default: the build's virtual environment, build-venv/).
# Environment: BENCH_RUNS (3), BENCH_SECONDS (5: measured seconds per run).
set -euo pipefail

BUILD=$(cd "${1:?usage: bench/python_plugins.sh BUILD_DIR [PYTHON]}" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${2:-$ROOT/build-venv/bin/python}
RUNS=${BENCH_RUNS:-3}
SECONDS_PER_RUN=${BENCH_SECONDS:-5}
HOST_BIN=$BUILD/host/ftrack-host
LOAD=$BUILD/bench/ftbench_load
for f in "$HOST_BIN" "$LOAD" "$PY"; do
    [ -x "$f" ] || { echo "bench/python_plugins.sh: $f is missing" >&2; exit 2; }
done
"$PY" -c 'import ftrack_api' || { echo "bench/python_plugins.sh: $PY cannot import ftrack_api" >&2; exit 2; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/ftbench-py.XXXXXX")
export FTRACK_API_USER=bench-user
export FTRACK_API_KEY=bench-key-0123456789abcdef
unset FTRACK_SERVER FTRACK_EVENT_PLUGIN_PATH
. "$(dirname "$0")/processes.sh"

mkdir -p "$TMP/plugins"
cat >"$TMP/plugins/bench_noop.py" <<'PY'
def register(session):
    session.event_hub.subscribe("topic=ftrack.action.discover", lambda event: {"items": []})
PY
cat >"$TMP/listener.py" <<'PY'
import sys, time
import ftrack_api
session = ftrack_api.Session(auto_connect_event_hub=True, plugin_paths=[sys.argv[1]])
until = time.time() + 15
while not session.event_hub.connected and time.time() < until:
    time.sleep(0.01)
print("READY", flush=True)
session.event_hub.wait()
PY

N=0
measure() { # measure NAME: start the responder, run the load at concurrency 1 and 16
    local name=$1 c log hub_pid hub_url watch
    N=$((N + 1))
    log=$TMP/hub.$N.log
    "$HOST_BIN" hub --listen 127.0.0.1:0 --data-dir "$TMP/hub-$N" 2>"$log" &
    hub_pid=$!
    CHILDREN+=("$hub_pid")
    wait_line "$log" "ready at http://" 20
    hub_url=$(grep -o -m1 'http://127\.0\.0\.1:[0-9]*' "$log")
    if [ "$name" = ftrack-host ]; then
        FTRACK_SERVER=$hub_url "$HOST_BIN" --require-server --data-dir "$TMP/host-$N" \
            --plugin-path "$TMP/plugins" --python-plugins --python "$PY" 2>"$TMP/host.$N.log" &
        RESP=$!
        CHILDREN+=("$RESP")
        wait_line "$TMP/host.$N.log" "ready:" 60
        runner=$(pgrep -P "$RESP" -f ftrack_host_runner.py)
        watch=(--watch "ftrack-host=$RESP" --watch "runner=$runner")
    else
        FTRACK_SERVER=$hub_url "$PY" "$TMP/listener.py" "$TMP/plugins" >"$TMP/listener.$N.log" 2>&1 &
        RESP=$!
        CHILDREN+=("$RESP")
        wait_line "$TMP/listener.$N.log" "READY" 60
        watch=(--watch "python=$RESP")
    fi
    sleep 0.5 # the subscription reaches the hub
    for c in 1 16; do
        FTRACK_SERVER=$hub_url "$LOAD" roundtrip --concurrency "$c" --seconds "$SECONDS_PER_RUN" \
            --warmup 1 "${watch[@]}" --watch "hub=$hub_pid" |
            sed "s/^{/{\"responder\":\"$name\",/" >>"$TMP/results.jsonl"
    done
    stop "$RESP"
    stop "$hub_pid"
}

for ((run = 1; run <= RUNS; run++)); do
    echo "run $run of $RUNS" >&2
    measure ftrack-host
    measure ftrack_api
done

python3 - "$TMP/results.jsonl" <<'PY'
import collections, json, statistics, sys
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    r = json.loads(line)
    rows[(r["responder"], r["concurrency"])].append(r)
def med(values):
    return "%.1f [%.1f-%.1f]" % (statistics.median(values), min(values), max(values))
print("No-op Python plugin, one hub; median [min-max] of %d runs" % len(next(iter(rows.values()))))
print("| responder | concurrency | replies/s | p50 latency ms | CPU µs/event (responder) | of which |")
print("|---|---|---|---|---|---|")
for (name, c), rs in sorted(rows.items()):
    own = lambda k: k not in ("hub", "loadgen")  # the shared hub and the load generator
    cpu = [sum(v for k, v in r["cpu_us_per_event"].items() if own(k)) for r in rs]
    parts = {k for r in rs for k in r["cpu_us_per_event"] if own(k)}
    detail = ", ".join("%s %s" % (k, med([r["cpu_us_per_event"][k] for r in rs]))
                       for k in sorted(parts)) if len(parts) > 1 else ""
    print("| %s | %d | %s | %s | %s | %s |" % (
        name, c, med([r["replies_per_s"] for r in rs]),
        med([r["lat_us"]["p50"] / 1000 for r in rs]), med(cpu), detail))
PY
