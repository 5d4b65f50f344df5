# SPDX-License-Identifier: Apache-2.0
# Helpers for the scale-out tests (test_scale_*.sh): a private redis-server and ftrack-hosts in
# queue mode (docs/scale-out.md). Source after $FTRACK_TEST_LIB.
#
#   start_redis [ARGS...]        redis-server on 127.0.0.1 and a free port, no persistence
#                                unless ARGS ask for it; sets REDIS_PID, REDIS_PORT, REDIS_DIR
#   stop_redis                   SHUTDOWN (saves when persistence is on), waits for the exit
#   rcli ARGS...                 redis-cli against it
#   write_worker_config NAME     a config for worker NAME: the recorder plugin appending each
#                                event of topic test.scale to $FTRACK_TEST_TMP/NAME.jsonl
#   start_queue_host NAME MODE [ARGS...]   ftrack-host run --queue-mode MODE (ingest|worker),
#                                log $FTRACK_TEST_TMP/NAME.log, own data dir; waits for
#                                "ready:"; the pid is in QPID[NAME]
#   wait_ingest_subscribed N [LOG]  the ingest log says it holds N subscriptions

: "${FTRACK_TEST_PLUGIN_DIR:?}"
: "${FTRACK_TEST_BIN_DIR:?}"
command -v redis-server >/dev/null || fail "redis-server is not installed (build.sh installs it)"

declare -A QPID=()
SCALE_PLUGINS=""

start_redis() {
    REDIS_PORT=$(free_port)
    REDIS_DIR="$FTRACK_TEST_TMP/redis"
    mkdir -p "$REDIS_DIR"
    local cfg=(--port "$REDIS_PORT" --bind 127.0.0.1 --dir "$REDIS_DIR" --save "" \
        --appendonly no --logfile "$REDIS_DIR/redis.log" --daemonize no)
    redis-server "${cfg[@]}" "$@" &
    REDIS_PID=$!
    track_child "$REDIS_PID"
    wait_for 10 rcli_ping || fail "redis-server did not answer within 10 s"
    note "redis-server $REDIS_PID on 127.0.0.1:$REDIS_PORT"
}

rcli_ping() {
    [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]
}

rcli() {
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"
}

stop_redis() {
    rcli shutdown >/dev/null 2>&1 || true
    wait_pid_exit "$REDIS_PID" 10 || fail "redis-server did not stop within 10 s"
}

scale_plugin_dir() {
    [ -n "$SCALE_PLUGINS" ] || SCALE_PLUGINS=$(plugin_dir recorder)
    echo "$SCALE_PLUGINS"
}

# write_worker_config NAME [QUEUE_JSON]: QUEUE_JSON is merged into "queue" (e.g.
# '"claim_idle": 3').
write_worker_config() {
    local name=$1 extra=${2:-}
    cat >"$FTRACK_TEST_TMP/$name.json" <<JSON
{
  "queue": {"stream": "test:events"${extra:+, $extra}},
  "plugins": {
    "recorder": {"arguments": {"record": "$FTRACK_TEST_TMP/$name.jsonl",
                               "expression": "topic=test.scale",
                               "delay": ${SCALE_DELAY:-0}}}
  }
}
JSON
}

write_ingest_config() {
    local name=$1 extra=${2:-}
    cat >"$FTRACK_TEST_TMP/$name.json" <<JSON
{"queue": {"stream": "test:events"${extra:+, $extra}}}
JSON
}

start_queue_host() {
    local name=$1 mode=$2
    shift 2
    local log="$FTRACK_TEST_TMP/$name.log"
    local plugins
    plugins=$(scale_plugin_dir)
    "$FTRACK_HOST_BIN" run --queue-mode "$mode" --queue-redis "127.0.0.1:$REDIS_PORT" \
        --queue-consumer "$name" --config "$FTRACK_TEST_TMP/$name.json" \
        --plugin-path "$plugins" --data-dir "$FTRACK_TEST_TMP/data-$name" "$@" 2>>"$log" &
    QPID[$name]=$!
    track_child "${QPID[$name]}"
    if ! wait_for 30 grep -q 'ready:' "$log"; then
        cat "$log" >&2
        fail "$name ($mode) did not get ready within 30 s"
    fi
}

wait_ingest_subscribed() {
    local n=$1 log=${2:-$FTRACK_TEST_TMP/ingest.log}
    wait_for 20 grep -q "subscribed on behalf of the workers: $n subscription" "$log" || {
        cat "$log" >&2
        fail "the ingest did not subscribe for the workers within 20 s"
    }
}

# records_total NAME...: lines in the workers' record files.
records_total() {
    local n=0 f
    for f in "$@"; do
        [ -f "$FTRACK_TEST_TMP/$f.jsonl" ] && n=$((n + $(wc -l <"$FTRACK_TEST_TMP/$f.jsonl")))
    done
    echo "$n"
}

records_at_least() {
    local want=$1
    shift
    [ "$(records_total "$@")" -ge "$want" ]
}

# publish_numbered TOPIC START COUNT: events with data.i = START..START+COUNT-1, in batches
# of 1000 (the SDK remembers 1024 unacknowledged publishes), each acknowledged by the hub.
publish_numbered() {
    local topic=$1 start=$2 count=$3 i n
    for ((i = start; i < start + count; i += 1000)); do
        n=$((start + count - i))
        [ "$n" -le 1000 ] || n=1000
        "$FTRACK_TEST_BIN_DIR/rel_publisher" "$topic" --start "$i" --count "$n" --wait 60 \
            >"$FTRACK_TEST_TMP/pub.out" 2>&1 ||
            fail "the hub did not acknowledge every event: $(tail -n 3 "$FTRACK_TEST_TMP/pub.out")"
    done
}
