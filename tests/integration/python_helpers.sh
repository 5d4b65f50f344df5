# SPDX-License-Identifier: Apache-2.0
# Helpers for the Python plugin tests (test_py_*.sh): ftrack's official Python client and
# plugins written for it, run by ftrack-host --python-plugins. Source after host_helpers.sh.
#
#   PY                          the interpreter with ftrack-python-api (FTRACK_TEST_PYTHON, else
#                               the build's virtual environment build-venv/)
#   py_plugins NAME...          a fresh folder with copies of python_plugins/NAME.py
#   start_seeded_hub            `ftrack-host hub` with the sample studio (host/hub/seed-sample.json)
#   start_py_host [ARGS...]     ftrack-host --python-plugins --python $PY on FTRACK_SERVER (the
#                               seeded hub); waits for "ready:"; sets HOST_PID, HOST_LOG
#   stop_py_host                stop_host, then no sanitizer report in any host log so far
#   py_client ARGS...           python_client.py under $PY; output in PY_OUT, status in PY_RC

PY=${FTRACK_TEST_PYTHON:-$FTRACK_SOURCE_DIR/build-venv/bin/python}
[ -x "$PY" ] || fail "no Python interpreter at $PY: ./build.sh creates build-venv/ with ftrack-python-api (or set FTRACK_TEST_PYTHON)"
"$PY" -c 'import ftrack_api, ftrack_action_handler' || fail "$PY cannot import ftrack_api and ftrack_action_handler"
PY_FIXTURES="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/python_plugins"

py_plugins() {
    local dir name
    dir=$(mktemp -d "$FTRACK_TEST_TMP/pyplugins.XXXXXX")
    chmod 755 "$dir"
    for name in "$@"; do
        cp "$PY_FIXTURES/$name.py" "$dir/" || fail "no fixture $name.py"
    done
    echo "$dir"
}

start_seeded_hub() {
    start_hub --seed "$FTRACK_SOURCE_DIR/host/hub/seed-sample.json"
}

start_py_host() {
    _HOST_COUNT=$((_HOST_COUNT + 1))
    HOST_LOG="$FTRACK_TEST_TMP/host.$_HOST_COUNT.log"
    "$FTRACK_HOST_BIN" --require-server --data-dir "$FTRACK_TEST_TMP/host-data" \
        --python-plugins --python "$PY" "$@" 2>"$HOST_LOG" &
    HOST_PID=$!
    track_child "$HOST_PID"
    if ! wait_for 60 grep -q 'ready:' "$HOST_LOG"; then
        cat "$HOST_LOG" >&2
        fail "ftrack-host did not get ready within 60 s"
    fi
    note "ftrack-host $HOST_PID on $FTRACK_SERVER"
}

stop_py_host() {
    stop_host
    ! grep -E "ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:" "$FTRACK_TEST_TMP"/host[.-]*.log ||
        fail "a sanitizer reported a problem in ftrack-host"
}

py_client() {
    PY_RC=0
    PY_OUT=$("$PY" "$(dirname "${BASH_SOURCE[0]}")/python_client.py" "$@") || PY_RC=$?
}
