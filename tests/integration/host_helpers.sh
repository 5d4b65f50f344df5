# SPDX-License-Identifier: Apache-2.0
# Helpers for the host's integration tests (test_host_*.sh, test_plugins_*.sh). Source after
# $FTRACK_TEST_LIB.
#
#   plugin_dir NAME...        a fresh folder with copies of the named test plugins
#   start_host [ARGS...]      ftrack-host on its embedded hub (ephemeral port, private data
#                             dir); waits for "ready:"; sets HOST_PID, HOST_LOG, FTRACK_SERVER
#   stop_host [SIGNAL]        signal (default TERM) and wait; sets HOST_EXIT
#   probe TOPIC [ARGS...]     host_probe against FTRACK_SERVER; output in PROBE_OUT

: "${FTRACK_TEST_PLUGIN_DIR:?}"
: "${FTRACK_TEST_BIN_DIR:?}"

export FTRACK_API_USER="$FTRACK_TEST_API_USER"
export FTRACK_API_KEY="$FTRACK_TEST_API_KEY"
unset FTRACK_SERVER FTRACK_EVENT_PLUGIN_PATH

_HOST_COUNT=0

plugin_dir() {
    local dir name
    dir=$(mktemp -d "$FTRACK_TEST_TMP/plugins.XXXXXX")
    chmod 755 "$dir"
    for name in "$@"; do
        cp "$FTRACK_TEST_PLUGIN_DIR/$name/test_plugin_$name.so" "$dir/" ||
            fail "test plugin $name is not built"
        chmod 755 "$dir/test_plugin_$name.so"
    done
    echo "$dir"
}

start_host() {
    _HOST_COUNT=$((_HOST_COUNT + 1))
    HOST_LOG="$FTRACK_TEST_TMP/host.$_HOST_COUNT.log"
    env -u FTRACK_SERVER "$FTRACK_HOST_BIN" --listen 127.0.0.1:0 \
        --data-dir "$FTRACK_TEST_TMP/host-data" "$@" 2>"$HOST_LOG" &
    HOST_PID=$!
    track_child "$HOST_PID"
    # "ready:" comes once the hub has acknowledged every subscription the plugins made.
    if ! wait_for 30 grep -q 'ready:' "$HOST_LOG"; then
        cat "$HOST_LOG" >&2
        fail "ftrack-host did not get ready within 30 s"
    fi
    FTRACK_SERVER=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$HOST_LOG" | head -n 1)
    export FTRACK_SERVER
    note "ftrack-host $HOST_PID at $FTRACK_SERVER"
}

stop_host() {
    kill "-${1:-TERM}" "$HOST_PID" 2>/dev/null || true
    if ! wait_pid_exit "$HOST_PID" 20; then
        cat "$HOST_LOG" >&2
        fail "ftrack-host did not stop within 20 s of SIG${1:-TERM}"
    fi
    HOST_EXIT=$WAIT_STATUS
}

probe() {
    PROBE_RC=0
    PROBE_OUT=$("$FTRACK_TEST_BIN_DIR/host_probe" "$@") || PROBE_RC=$?
}

# expect_log PATTERN [FILE]: the host log (or FILE) must contain PATTERN (grep -E).
expect_log() {
    grep -Eq -- "$1" "${2:-$HOST_LOG}" || {
        cat "${2:-$HOST_LOG}" >&2
        fail "log lacks: $1"
    }
}

# count_lines PATTERN [FILE]: print how many lines match (fixed string).
count_lines() {
    grep -cF -- "$1" "${2:-$HOST_LOG}" || true
}

# encode_media_setup: for the encode_media tests; sets PEER (the JS client script), dir (a plugin
# folder holding the shipped encode_media plugin) and CLIP (a one-second .mov).
encode_media_setup() {
    PEER="$FTRACK_SOURCE_DIR/tests/interop/js_media_peer.mjs"
    local plugin="$FTRACK_SHIPPED_PLUGIN_DIR/ftrack_encode_media.so"
    [ -f "$plugin" ] || fail "the encode_media plugin is not built"
    command -v ffmpeg >/dev/null || fail "ffmpeg is not installed (build.sh installs it)"
    # node resolves @ftrack/api from the peer's own folder (tests/interop/node_modules).
    [ -d "$FTRACK_SOURCE_DIR/tests/interop/node_modules/@ftrack/api" ] ||
        fail "tests/interop/node_modules is not installed (npm install there)"
    dir=$(mktemp -d "$FTRACK_TEST_TMP/plugins.XXXXXX")
    chmod 755 "$dir"
    cp "$plugin" "$dir/" && chmod 755 "$dir/ftrack_encode_media.so"
    CLIP="$FTRACK_TEST_TMP/plate.mov"
    ffmpeg -v error -y -f lavfi -i testsrc=duration=1:size=160x120:rate=10 -pix_fmt yuv420p "$CLIP" ||
        fail "ffmpeg could not make a test clip"
}
