# SPDX-License-Identifier: Apache-2.0
# Process helpers of the benchmark scripts (run.sh, python_plugins.sh): everything started
# here is stopped here, by pid. Source it after setting TMP (a scratch folder removed at exit).

CHILDREN=()
cleanup() {
    local pid
    for pid in "${CHILDREN[@]+"${CHILDREN[@]}"}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${CHILDREN[@]+"${CHILDREN[@]}"}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT

note() { echo "# $*" >&2; }

# wait_line FILE TEXT SECONDS: wait until FILE contains TEXT.
wait_line() {
    local i
    for ((i = 0; i < $3 * 20; i++)); do
        grep -qF -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "bench/$(basename "$0"): no '$2' in $1 within $3 s:" >&2
    tail -n 20 "$1" >&2
    return 1
}

# stop PID: SIGTERM and wait (SIGKILL after 10 s); forget the pid.
stop() {
    local pid=$1 i keep=() p
    for p in "${CHILDREN[@]+"${CHILDREN[@]}"}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
    CHILDREN=("${keep[@]+"${keep[@]}"}")
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

