#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Scale-out on one machine (docs/scale-out.md): a private redis-server, an embedded event hub,
# one ingest host and three workers, each with its config file in this folder. Publishes
# EVENTS example.render events (each costs the plugin 50 ms of CPU) and shows which worker
# handled how many. Ctrl-C (or the end) stops everything it started.
#
#   examples/scale-out/run.sh [BUILD_DIR] [EVENTS]      (default: build, 60)
#
# Needs redis-server (Debian: apt-get install redis-server; build.sh installs it) and a build
# with the examples (./build.sh build). Logs stay in the printed folder.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=$(cd "${1:-$HERE/../../build}" && pwd)
EVENTS=${2:-60}
HOST=$BUILD/host/ftrack-host
PLUGINS=$BUILD/examples/scale-out-plugins
[ -x "$HOST" ] && [ -d "$PLUGINS" ] || { echo "build first: ./build.sh build" >&2; exit 2; }
command -v redis-server >/dev/null || { echo "redis-server is missing" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ftrack-scale-out.XXXXXX")
PIDS=()
cleanup() {
    for pid in "${PIDS[@]+"${PIDS[@]}"}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]+"${PIDS[@]}"}"; do wait "$pid" 2>/dev/null || true; done
    echo "logs: $WORK" >&2
}
trap cleanup EXIT
wait_line() { # wait_line FILE PATTERN
    for _ in $(seq 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
    echo "no '$2' in $1:" >&2; tail "$1" >&2; exit 1
}

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$PORT" --bind 127.0.0.1 --dir "$WORK" --appendonly yes --save "" \
    --logfile "$WORK/redis.log" &
PIDS+=($!)
echo "redis-server on 127.0.0.1:$PORT"

export FTRACK_API_USER=example
FTRACK_API_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
export FTRACK_API_KEY
"$HOST" hub --listen 127.0.0.1:0 --data-dir "$WORK/hub" --store memory 2>"$WORK/hub.log" &
PIDS+=($!)
wait_line "$WORK/hub.log" 'http://127\.0\.0\.1:[0-9]'
FTRACK_SERVER=$(grep -o -m1 'http://127\.0\.0\.1:[0-9]*' "$WORK/hub.log")
export FTRACK_SERVER
echo "event hub at $FTRACK_SERVER"

start() { # start NAME: ftrack-host with NAME.json, its own data dir and log
    "$HOST" run --config "$HERE/$1.json" --queue-redis "127.0.0.1:$PORT" \
        --plugin-path "$PLUGINS" --data-dir "$WORK/$1" 2>"$WORK/$1.log" &
    PIDS+=($!)
    wait_line "$WORK/$1.log" 'ready:'
    echo "$1 running (log $WORK/$1.log)"
}
start worker-1
start worker-2
start worker-3
start ingest
wait_line "$WORK/ingest.log" 'subscribed on behalf of the workers'

echo "publishing $EVENTS example.render events ..."
for i in $(seq "$EVENTS"); do
    "$HOST" publish example.render --data "{\"shot\": \"sh$(printf %03d "$i")\"}" \
        >/dev/null 2>>"$WORK/publish.log"
done
for _ in $(seq 300); do
    done_=$(cat "$WORK"/worker-*.log | grep -c 'rendered sh' || true)
    [ "$done_" -ge "$EVENTS" ] && break
    sleep 0.1
done
for w in worker-1 worker-2 worker-3; do
    echo "$w handled $(grep -c 'rendered sh' "$WORK/$w.log" || true) events"
done
echo "stream length: $(redis-cli -p "$PORT" xlen example:render:0) + $(redis-cli -p "$PORT" xlen example:render:1) + $(redis-cli -p "$PORT" xlen example:render:2) + $(redis-cli -p "$PORT" xlen example:render:3) (4 partitions)"
