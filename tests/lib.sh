# SPDX-License-Identifier: Apache-2.0
# Shared helpers for the integration tests (bash). Source it first:
#
#   . "$FTRACK_TEST_LIB"
#   start_hub                      # FTRACK_SERVER, HUB_PID, HUB_PORT, HUB_LOG are set
#   wait_for 10 some_command args  # poll until it succeeds, or fail after 10 s
#   stop_hub                       # SIGTERM; HUB_EXIT holds the exit code
#
# Every child started through these helpers (or registered with track_child) is stopped when
# the script exits, however it exits. Nothing here waits without a time limit.

set -u

: "${FTRACK_HOST_BIN:?FTRACK_HOST_BIN must point at the ftrack-host binary}"

FTRACK_TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ftrack-test.XXXXXX")
export FTRACK_TEST_TMP
# Credentials the test hub accepts; tests may override them before start_hub.
: "${FTRACK_TEST_API_USER:=test-user}"
: "${FTRACK_TEST_API_KEY:=test-key-0123456789abcdef}"
_FT_CHILDREN=()

fail() {
    echo "FAIL: $*" >&2
    if [ -n "${HUB_LOG:-}" ] && [ -f "$HUB_LOG" ]; then
        echo "--- hub log ($HUB_LOG) ---" >&2
        tail -n 40 "$HUB_LOG" >&2
    fi
    exit 1
}

note() {
    echo "# $*" >&2
}

# track_child PID: stop this process when the script exits.
track_child() {
    _FT_CHILDREN+=("$1")
}

# wait_pid_exit PID SECONDS: wait for PID to exit; sets WAIT_STATUS to its exit code.
# Returns 1 if it is still running when the time is up.
wait_pid_exit() {
    local pid=$1 limit=$2 i
    local steps=$((limit * 10))
    for ((i = 0; i < steps; i++)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            WAIT_STATUS=0
            wait "$pid" 2>/dev/null || WAIT_STATUS=$?
            return 0
        fi
        sleep 0.1
    done
    return 1
}

_ft_cleanup() {
    local pid
    for pid in "${_FT_CHILDREN[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${_FT_CHILDREN[@]}"; do
        if ! wait_pid_exit "$pid" 5; then
            kill -KILL "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    rm -rf "$FTRACK_TEST_TMP"
}
trap _ft_cleanup EXIT

# wait_for SECONDS COMMAND [ARGS...]: run COMMAND every 0.1 s until it succeeds.
# Returns 1 (it does not exit) when SECONDS pass first.
wait_for() {
    local limit=$1 i
    shift
    local steps=$((limit * 10))
    for ((i = 0; i < steps; i++)); do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

_FT_HUB_COUNT=0

# start_hub [ARGS...]: start `ftrack-host hub --listen 127.0.0.1:0` with the test
# credentials and a private data dir (extra ARGS are passed on), wait (at most 20 s) for its
# URL line and export FTRACK_SERVER. Sets HUB_PID, HUB_PORT, HUB_LOG, HUB_DATA_DIR.
start_hub() {
    _FT_HUB_COUNT=$((_FT_HUB_COUNT + 1))
    HUB_LOG="$FTRACK_TEST_TMP/hub.$_FT_HUB_COUNT.log"
    : "${HUB_DATA_DIR:=$FTRACK_TEST_TMP/hub-data}"
    export FTRACK_API_USER="$FTRACK_TEST_API_USER"
    export FTRACK_API_KEY="$FTRACK_TEST_API_KEY"
    "$FTRACK_HOST_BIN" hub --listen 127.0.0.1:0 --data-dir "$HUB_DATA_DIR" "$@" 2>"$HUB_LOG" &
    HUB_PID=$!
    track_child "$HUB_PID"
    if ! wait_for 20 grep -q 'http://127\.0\.0\.1:[0-9]' "$HUB_LOG"; then
        kill -0 "$HUB_PID" 2>/dev/null || fail "the hub exited before it was ready"
        fail "the hub printed no URL within 20 s"
    fi
    FTRACK_SERVER=$(grep -o -m1 'http://127\.0\.0\.1:[0-9]*' "$HUB_LOG")
    export FTRACK_SERVER
    HUB_PORT=${FTRACK_SERVER##*:}
    note "hub $HUB_PID at $FTRACK_SERVER"
}

# stop_hub: SIGTERM the hub and wait (at most 10 s). Sets HUB_EXIT.
stop_hub() {
    [ -n "${HUB_PID:-}" ] || return 0
    kill -TERM "$HUB_PID" 2>/dev/null || true
    wait_pid_exit "$HUB_PID" 10 || fail "the hub did not stop within 10 s of SIGTERM"
    HUB_EXIT=$WAIT_STATUS
    HUB_PID=
}

# free_port: print a TCP port nothing listens on right now (bound once, then released).
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
