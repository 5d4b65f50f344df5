#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The benchmark suite. `./build.sh bench` builds build-bench/ (Release, -DFTRACK_BUILD_BENCH=ON)
# and runs this script on it.
#
#   bench/run.sh BUILD_DIR [STEP...]
#
# Steps: roundtrip fanout dispatch idle wakeups startup micro (the default: all of these,
# about 5 minutes on 2 cores; roundtrip runs concurrency 1, 64 and 256) and footprint
# (1,000,000 events through the host with RSS printed every 100,000; about 3 minutes; run it
# on its own) and scaleout (events/s through an ingest
# host, Redis and 1, 2, 4 workers; about 1 minute; needs redis-server). Every measured figure is repeated
# BENCH_RUNS times (default 3); the summary gives the median with min and max.
#
# Environment: BENCH_RUNS (3), BENCH_SECONDS (3: measured seconds per round-trip run),
# BENCH_IDLE_SECONDS (5: seconds an idle host is watched for wake-ups),
# BENCH_FOOTPRINT_EVENTS (1000000), BENCH_FOOTPRINT_MAX_SECONDS (900: the footprint run stops
# there and reports how far it got), BENCH_HOST_BIN (another ftrack-host to measure).
#
# Results: BUILD_DIR/bench-results/<time>.jsonl (raw, one JSON object per measurement) and
# BUILD_DIR/bench-results/latest.md (the tables, also printed). The footprint step writes
# footprint-latest.jsonl, which later summaries include.
set -euo pipefail

BUILD=$(cd "${1:?usage: bench/run.sh BUILD_DIR [STEP...]}" && pwd)
shift
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
STEPS=("$@")
[ ${#STEPS[@]} -gt 0 ] || STEPS=(roundtrip fanout dispatch idle wakeups startup micro)

RUNS=${BENCH_RUNS:-3}
SECONDS_PER_RUN=${BENCH_SECONDS:-3}
IDLE_SECONDS=${BENCH_IDLE_SECONDS:-5}
FOOTPRINT_EVENTS=${BENCH_FOOTPRINT_EVENTS:-1000000}
FOOTPRINT_MAX_SECONDS=${BENCH_FOOTPRINT_MAX_SECONDS:-900}

HOST_BIN=${BENCH_HOST_BIN:-$BUILD/host/ftrack-host}
LOAD=$BUILD/bench/ftbench_load
FLOOR=$BUILD/bench/ftbench_floor
MICRO=$BUILD/bench/ftbench_micro
PLUGINS=$BUILD/bench/plugins
PLUGINS50=$BUILD/bench/plugins50
for f in "$HOST_BIN" "$LOAD" "$FLOOR" "$PLUGINS/bench_noop.so"; do
    [ -e "$f" ] || { echo "bench/run.sh: $f is missing (build with -DFTRACK_BUILD_BENCH=ON)" >&2; exit 2; }
done

OUT=$BUILD/bench-results
mkdir -p "$OUT"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RESULTS=$OUT/$STAMP.jsonl
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ftbench.XXXXXX")
export FTRACK_API_USER=bench-user
export FTRACK_API_KEY=bench-key-0123456789abcdef
unset FTRACK_SERVER FTRACK_EVENT_PLUGIN_PATH

# ---- processes: everything started here is stopped here, by pid --------------------------

. "$HERE/processes.sh"

# start_hub: the standalone embedded hub a scenario shares; sets HUB_PID, HUB_URL.
HUB_N=0
start_hub() {
    HUB_N=$((HUB_N + 1))
    local log=$TMP/hub.$HUB_N.log # a fresh name: the shell opens it in the background
    local data=$TMP/hub-data.$HUB_N # its own: the round trip runs four hubs at once
    "$HOST_BIN" hub --listen 127.0.0.1:0 --data-dir "$data" 2>"$log" &
    HUB_PID=$!
    CHILDREN+=("$HUB_PID")
    wait_line "$log" "ready at http://" 20
    HUB_URL=$(grep -o -m1 'http://127\.0\.0\.1:[0-9]*' "$log")
}

# start_host CONFIG [ARGS...]: ftrack-host on the shared hub, its data in HOST_DATA
# ($TMP/host-data unless set); sets RESP_PID, HOST_LOG.
HOST_N=0
start_host() {
    local config=$1 data=${HOST_DATA:-$TMP/host-data}
    shift
    HOST_N=$((HOST_N + 1))
    HOST_LOG=$TMP/host.$HOST_N.log
    rm -rf "$data"
    FTRACK_SERVER=$HUB_URL "$HOST_BIN" --plugin-path "$PLUGINS" --config "$config" \
        --data-dir "$data" "$@" 2>"$HOST_LOG" &
    RESP_PID=$!
    CHILDREN+=("$RESP_PID")
    wait_line "$HOST_LOG" "ready:" 30
}

# start_responder host|host_nj|js|floor: sets RESP_PID.
RESP_N=0
start_responder() {
    RESP_N=$((RESP_N + 1))
    local log=$TMP/responder.$RESP_N.log
    case $1 in
    host)
        start_host "$TMP/host-1.json"
        return ;;
    host_nj)
        start_host "$TMP/host-1-nj.json"
        return ;;
    js)
        FTRACK_SERVER=$HUB_URL node "$HERE/js_responder.mjs" ftrack.action.discover >"$log" 2>&1 &
        ;;
    floor)
        FTRACK_SERVER=$HUB_URL "$FLOOR" respond --topic ftrack.action.discover >"$log" 2>&1 &
        ;;
    esac
    RESP_PID=$!
    CHILDREN+=("$RESP_PID")
    wait_line "$log" "READY" 30
}

# record JSON-FIELDS RESULT-LINE: append {FIELDS, RESULT...} to the results.
record() {
    local fields=$1 line=$2
    [[ $line == \{* ]] || { echo "bench/run.sh: bad result: $line" >&2; return 1; }
    echo "{$fields,${line#\{}" >>"$RESULTS"
}

# ---- configurations ---------------------------------------------------------------------

# write_config FILE N [PLUGIN]: N instances of bench_noop with realistic subscriptions; the
# first answers ftrack.action.discover, the rest only count (reply=false). Every instance
# answers the burst marker.
EXPRESSIONS=(
    "topic=ftrack.update"
    "topic=ftrack.action.discover and source.user.username=bench-user"
    "topic=ftrack.action.launch and data.actionIdentifier=bench-action-%d"
    "topic=ftrack.update and data.pushToken!=nothing and not source.user.username=robot"
    "topic=ftrack.* and (data.applicationId=ftrack.client.web or data.applicationId=nuke)"
)
write_config() {
    local file=$1 n=$2 mode=${3:-reply} i expr reply sep=""
    {
        echo '{"queue_capacity": 1000000, "plugins": {'
        for ((i = 0; i < n; i++)); do
            # shellcheck disable=SC2059
            expr=$(printf "${EXPRESSIONS[i % 5]}" "$i")
            reply=false
            if [ "$mode" = reply ] && [ "$i" -eq 0 ]; then
                expr="topic=ftrack.action.discover"
                reply=true
            fi
            printf '%s"bench-%d": {"plugin": "bench_noop", "arguments": {"expression": "%s", "reply": %s, "marker": "bench.marker"}}\n' \
                "$sep" "$i" "$expr" "$reply"
            sep=","
        done
        echo '}}'
    } >"$file"
}

# write_config50 FILE: one instance of each of the fifty distinct plugins.
write_config50() {
    local file=$1 i expr reply sep=""
    {
        echo '{"plugins": {'
        for ((i = 1; i <= 50; i++)); do
            # shellcheck disable=SC2059
            expr=$(printf "${EXPRESSIONS[i % 5]}" "$i")
            reply=false
            [ "$i" -eq 1 ] && expr="topic=ftrack.action.discover" && reply=true
            printf '%s"bench_noop_%d": {"arguments": {"expression": "%s", "reply": %s}}\n' \
                "$sep" "$i" "$expr" "$reply"
            sep=","
        done
        echo '}}'
    } >"$file"
}

write_config "$TMP/host-1.json" 1
# the same instance with "journal": false (at most once: no journal write per event)
sed 's/"marker": "bench.marker"}/&, "journal": false/' "$TMP/host-1.json" >"$TMP/host-1-nj.json"
write_config "$TMP/host-10.json" 10

# ---- steps ------------------------------------------------------------------------------

# journal_bytes DATA_DIR: allocated bytes of the host's journal (null when it has none): the
# directory of segment files <data dir>/journal/ or else journal.sqlite with its -wal and -shm
# files.
journal_bytes() {
    local dir=$1
    if [ -d "$dir/journal" ]; then
        du -s -B1 "$dir/journal" | awk '{print $1}'
    elif [ -e "$dir/journal.sqlite" ]; then
        du -c -B1 "$dir"/journal.sqlite* | awk 'END {print $1}'
    else
        echo null
    fi
}

# Each run starts every responder on a hub of its own first, then measures concurrency 1, 64
# and 256, each for all responders in turn: the figures a ratio compares are taken seconds
# apart, on the machine as it was then (a shared machine's speed drifts over minutes). The
# order of the responders turns by one each run, so none is always measured first.
# Each run also records the growth of the journal on disk over the whole ftbench_load call
# (probe and warm-up included: divide by "published"), for the responders with one.
step_roundtrip() {
    local run resp c line jb0 jb1 jdelta
    local order=(host host_nj js floor)
    local -A hub_pid hub_url resp_pid
    for ((run = 1; run <= RUNS; run++)); do
        for resp in "${order[@]}"; do
            start_hub
            HOST_DATA=$TMP/host-data.$resp start_responder "$resp"
            hub_pid[$resp]=$HUB_PID
            hub_url[$resp]=$HUB_URL
            resp_pid[$resp]=$RESP_PID
        done
        for c in 1 64 256; do
            for resp in "${order[@]}"; do
                note "round trip: $resp, concurrency $c, run $run"
                jb0=null
                [[ $resp == host* ]] && jb0=$(journal_bytes "$TMP/host-data.$resp")
                line=$(FTRACK_SERVER=${hub_url[$resp]} "$LOAD" roundtrip --concurrency "$c" \
                    --seconds "$SECONDS_PER_RUN" --warmup 1 \
                    --watch "responder=${resp_pid[$resp]}" --watch "hub=${hub_pid[$resp]}")
                jdelta=null
                if [ "$jb0" != null ]; then
                    jb1=$(journal_bytes "$TMP/host-data.$resp")
                    [ "$jb1" = null ] || jdelta=$((jb1 - jb0))
                fi
                record "\"bench\":\"roundtrip\",\"responder\":\"$resp\",\"run\":$run,\"journal_bytes_delta\":$jdelta" "$line"
            done
        done
        for resp in "${order[@]}"; do
            rss_record "${resp}_after_roundtrip" "${resp_pid[$resp]}" # warm: after the load
            stop "${resp_pid[$resp]}"
            stop "${hub_pid[$resp]}"
        done
        order=("${order[@]:1}" "${order[0]}")
    done
}

step_fanout() {
    local run m count line
    for ((run = 1; run <= RUNS; run++)); do
        for m in 1 10 100; do
            case $m in 1) count=200000 ;; 10) count=40000 ;; *) count=8000 ;; esac
            start_hub
            note "fan-out: $m subscribers, $count events, run $run"
            line=$(FTRACK_SERVER=$HUB_URL "$FLOOR" fanout --subscribers "$m" --count "$count" \
                --window 64 --watch "hub=$HUB_PID")
            record "\"bench\":\"fanout\",\"run\":$run" "$line"
            stop "$HUB_PID"
        done
    done
}

# burst_shortfall N RC: after a failed burst (the host stopped), say whether an event was lost
# or the benchmark raced a subscription: for each instance that did not answer the marker,
# what the host's journal holds of the marker and of the burst (`ftrack-host journal`, its
# records replayed). Exits the suite.
burst_shortfall() {
    local n=$1 rc=$2 shortfall
    if [ "$rc" -eq 3 ]; then
        echo "bench/run.sh: dispatch: the benchmark raced a subscription (no event was lost):" \
            "not every instance was subscribed 30 s after the host was ready" >&2
        exit 1
    fi
    shortfall=$(grep -o 'MARKER-SHORTFALL .*' "$TMP/burst.err" || true)
    [ -n "$shortfall" ] || { echo "bench/run.sh: dispatch: ftbench_load failed (exit $rc)" >&2; exit 1; }
    "$HOST_BIN" journal --data-dir "$TMP/host-data" 2>/dev/null |
        python3 -c '
import json, sys
n, line = int(sys.argv[1]), sys.argv[2]
fields = dict(f.split("=", 1) for f in line.split()[1:])
marker, answered = fields["id"], set(filter(None, fields.get("answered", "").split(",")))
tag = marker[len("marker-"):]
ids, state = {}, {}  # seq -> id; (instance, seq) -> [handled, attempts]
for rec in map(json.loads, sys.stdin):
    kind, seq = rec["type"], rec.get("seq")
    if kind == "event":
        ids[seq] = rec["id"]
        for t in rec["instances"]:
            state[(t["instance"], seq)] = [False, t["attempts"]]
    elif kind == "delivery":
        state.setdefault((rec["instance"], seq), [False, 0])
    elif kind == "started" and (rec["instance"], seq) in state:
        state[(rec["instance"], seq)][1] += 1
    elif kind == "finished" and (rec["instance"], seq) in state:
        state[(rec["instance"], seq)][0] = True
for inst in ["bench-%d" % i for i in range(n)]:
    if inst in answered:
        continue
    mine = {ids.get(s): v for (i, s), v in state.items() if i == inst}
    row = mine.get(marker)
    burst = [v for k, v in mine.items() if k and k.endswith("-" + tag) and k != marker]
    if row is None:
        verdict = ("NOT in the host'"'"'s journal: the host never received it for this instance "
                   "(LOST before the journal: hub or the host'"'"'s network thread), unless it "
                   "was handled and its file compacted away at the stop")
    elif not row[0]:
        verdict = ("in the host'"'"'s journal, PENDING after %d attempts: received and kept, not "
                   "handled before the benchmark gave up (not lost)" % row[1])
    else:
        verdict = ("in the host'"'"'s journal, HANDLED: the plugin answered; the reply was LOST "
                   "on its way back")
    print("bench/run.sh: dispatch: instance %s missed marker %s: %s; the journal holds %d of "
          "this burst'"'"'s events for it (%d pending)" % (inst, marker, verdict, len(burst),
                                                       sum(1 for v in burst if not v[0])))
' "$n" "$shortfall" >&2 || true
    exit 1
}

step_dispatch() {
    local run n count line handled rc
    for n in 1 10 100; do
        write_config "$TMP/dispatch-$n.json" "$n" count
    done
    for ((run = 1; run <= RUNS; run++)); do
        for n in 1 10 100; do
            case $n in 1) count=10000 ;; 10) count=5000 ;; *) count=1000 ;; esac
            start_hub
            start_host "$TMP/dispatch-$n.json"
            # ftbench_load waits until every instance answers a probe marker (their
            # subscriptions are on the hub) before the burst.
            note "dispatch: $n plugin instances, $count events, run $run"
            rc=0
            line=$(FTRACK_SERVER=$HUB_URL "$LOAD" burst --count "$count" --expect "$n" \
                --marker bench.marker --watch "host=$RESP_PID" --watch "hub=$HUB_PID" \
                2>"$TMP/burst.err") || rc=$?
            cat "$TMP/burst.err" >&2
            stop "$RESP_PID"
            [ "$rc" -eq 0 ] || burst_shortfall "$n" "$rc"
            handled=$(grep -o 'bench_noop handled [0-9]*' "$HOST_LOG" |
                awk '{s += $3} END {print s + 0}')
            record "\"bench\":\"dispatch\",\"run\":$run,\"deliveries\":$handled" "$line"
            stop "$HUB_PID"
        done
    done
}

# rss_record NAME PID: a JSON footprint record of a live process (uses the caller's $run).
rss_record() {
    local name=$1 pid=$2 rss anon file
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
    anon=$(awk '/^RssAnon:/ {print $2}' "/proc/$pid/status")
    file=$(awk '/^RssFile:/ {print $2}' "/proc/$pid/status")
    record "\"bench\":\"idle\",\"run\":$run" \
        "{\"name\":\"$name\",\"rss_kb\":$rss,\"anon_kb\":$anon,\"file_kb\":$file}"
}

step_idle() {
    local run pid log
    for ((run = 1; run <= RUNS; run++)); do
        note "idle footprint, run $run"
        start_hub
        start_host "$TMP/host-10.json"
        sleep 2
        rss_record host_10_plugins "$RESP_PID"
        rss_record hub_alone "$HUB_PID"
        stop "$RESP_PID"
        start_responder js
        sleep 2
        rss_record js_responder "$RESP_PID"
        stop "$RESP_PID"
        start_responder floor
        sleep 1
        rss_record floor_responder "$RESP_PID"
        stop "$RESP_PID"
        stop "$HUB_PID"
        # the host on its own embedded hub (FTRACK_SERVER unset), as `ftrack-host` runs by default
        log=$TMP/embedded.$run.log
        rm -rf "$TMP/host-data"
        "$HOST_BIN" --plugin-path "$PLUGINS" --config "$TMP/host-10.json" --listen 127.0.0.1:0 \
            --data-dir "$TMP/host-data" 2>"$log" &
        pid=$!
        CHILDREN+=("$pid")
        wait_line "$log" "ready:" 30
        sleep 2
        rss_record host_10_plugins_embedded_hub "$pid"
        stop "$pid"
    done
}

# context_switches PID: voluntary + involuntary context switches of every thread of PID so
# far; each is one time a thread went to sleep or was taken off the CPU, i.e. one wake-up.
context_switches() {
    cat /proc/"$1"/task/*/status 2>/dev/null |
        awk '/^(voluntary|nonvoluntary)_ctxt_switches:/ {s += $2} END {print s + 0}'
}

# An idle host must wake only for heartbeats and the timers it really has: ftrack-host on its
# own embedded hub (as it runs by default) with 10 and 100 plugin instances and no events,
# watched for IDLE_SECONDS after it is ready and has settled.
step_wakeups() {
    local run n pid log before after threads
    for n in 10 100; do
        write_config "$TMP/wakeups-$n.json" "$n" count
    done
    for ((run = 1; run <= RUNS; run++)); do
        for n in 10 100; do
            note "idle wake-ups: $n plugin instances on the embedded hub, run $run"
            log=$TMP/wakeups.$n.$run.log
            rm -rf "$TMP/host-data"
            env -u FTRACK_SERVER "$HOST_BIN" --plugin-path "$PLUGINS" --config "$TMP/wakeups-$n.json" \
                --listen 127.0.0.1:0 --data-dir "$TMP/host-data" 2>"$log" &
            pid=$!
            CHILDREN+=("$pid")
            wait_line "$log" "ready:" 30
            sleep 1 # start-up work (subscriptions, first heartbeat) is not idling
            threads=$(ls /proc/"$pid"/task | wc -l)
            before=$(context_switches "$pid")
            sleep "$IDLE_SECONDS"
            after=$(context_switches "$pid")
            record "\"bench\":\"wakeups\",\"run\":$run" \
                "{\"instances\":$n,\"threads\":$threads,\"seconds\":$IDLE_SECONDS,\"wakeups\":$((after - before)),\"wakeups_per_s\":$(awk -v w=$((after - before)) -v s="$IDLE_SECONDS" 'BEGIN {printf "%.1f", w / s}')}"
            stop "$pid"
        done
    done
}

step_startup() {
    local run line
    write_config50 "$TMP/host-50.json"
    for ((run = 1; run <= RUNS; run++)); do
        start_hub
        note "start-up with 50 plugins, run $run"
        rm -rf "$TMP/host-data"
        line=$(FTRACK_SERVER=$HUB_URL "$LOAD" startup --ready "ready:" -- \
            "$HOST_BIN" --plugin-path "$PLUGINS50" --config "$TMP/host-50.json" \
            --data-dir "$TMP/host-data")
        record "\"bench\":\"startup\",\"mode\":\"server\",\"run\":$run" "$line"
        rm -rf "$TMP/host-data"
        line=$(FTRACK_SERVER=$HUB_URL "$LOAD" startup --ready "ready:" --ready-only -- \
            env -u FTRACK_SERVER "$HOST_BIN" --plugin-path "$PLUGINS50" \
            --config "$TMP/host-50.json" --listen 127.0.0.1:0 --data-dir "$TMP/host-data")
        record "\"bench\":\"startup\",\"mode\":\"embedded\",\"run\":$run" "$line"
        stop "$HUB_PID"
    done
}

step_micro() {
    local run line
    for ((run = 1; run <= RUNS; run++)); do
        note "micro-benchmarks, run $run"
        while IFS= read -r line; do
            record "\"bench\":\"micro\",\"run\":$run" "$line"
        done < <("$MICRO" --seconds 0.2)
    done
}

step_footprint() {
    local line
    start_hub
    start_host "$TMP/host-10.json"
    note "footprint: $FOOTPRINT_EVENTS events through ftrack-host with 10 plugins (RSS every 100,000)"
    RESULTS=$OUT/footprint-$STAMP.jsonl
    while IFS= read -r line; do
        record "\"bench\":\"footprint\",\"run\":1" "$line"
        [[ $line == *'"kind":"rss"'* ]] && note "$line"
    done < <(FTRACK_SERVER=$HUB_URL "$LOAD" roundtrip --concurrency 64 --count "$FOOTPRINT_EVENTS" \
        --warmup 0 --rss-every 100000 --max-seconds "$FOOTPRINT_MAX_SECONDS" \
        --watch "host=$RESP_PID" --watch "hub=$HUB_PID")
    stop "$RESP_PID"
    stop "$HUB_PID"
    cp "$RESULTS" "$OUT/footprint-latest.jsonl"
}

# Scale-out (docs/scale-out.md): ingest → Redis stream → 1, 2, 4 workers; bench/scaleout.sh.
step_scaleout() {
    note "scale-out: events/s through ingest, Redis and N workers (needs redis-server)"
    BENCH_RUNS=$RUNS bash "$HERE/scaleout.sh" "$BUILD" >"$OUT/scaleout-$STAMP.jsonl" \
        2> >(tee "$OUT/scaleout-latest.md" >&2)
}

machine() {
    local cpu lws jsonc api
    cpu=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
    lws=$(pkg-config --modversion libwebsockets 2>/dev/null || echo "?")
    jsonc=$(pkg-config --modversion json-c 2>/dev/null || echo "?")
    api=$(node -p 'require(process.argv[1]).version' \
        "$ROOT/tests/interop/node_modules/@ftrack/api/package.json" 2>/dev/null || echo "?")
    printf '{"bench":"machine","nproc":%s,"cpu":"%s","kernel":"%s","date":"%s","node":"%s","ftrack_api":"%s","lws":"%s","jsonc":"%s","runs":%s,"seconds":%s}\n' \
        "$(nproc)" "$cpu" "$(uname -r)" "$(date -u +%Y-%m-%dT%H:%MZ)" "$(node --version 2>/dev/null)" \
        "$api" "$lws" "$jsonc" "$RUNS" "$SECONDS_PER_RUN" >>"$RESULTS"
}

# The JS responder needs the interop tests' node_modules (@ftrack/api).
if [[ " ${STEPS[*]} " == *" roundtrip "* || " ${STEPS[*]} " == *" idle "* ]] &&
    [ ! -d "$ROOT/tests/interop/node_modules/@ftrack/api" ]; then
    note "installing @ftrack/api for the JS responder (npm ci in tests/interop)"
    (cd "$ROOT/tests/interop" && npm ci --no-audit --no-fund --loglevel=error) >&2
fi

machine
for step in "${STEPS[@]}"; do
    case $step in
    roundtrip | fanout | dispatch | idle | wakeups | startup | micro | footprint | scaleout) "step_$step" ;;
    *) echo "bench/run.sh: unknown step '$step'" >&2; exit 2 ;;
    esac
done
RESULTS=$OUT/$STAMP.jsonl
python3 "$HERE/summarise.py" "$RESULTS" "$OUT/footprint-latest.jsonl" | tee "$OUT/latest.md"
note "raw results: $RESULTS; tables: $OUT/latest.md"
