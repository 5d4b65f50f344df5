#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The isolated Python example (examples/isolated_python): it registers through the child
# protocol, answers events with data from its own /api call, and its exceptions go through the
# failure policy to the dead-letter file.
set -euo pipefail
. "$FTRACK_TEST_LIB"
. "$(dirname "$0")/host_helpers.sh"

t=$FTRACK_TEST_TMP
cat >"$t/config.json" <<JSON
{"plugins": {"pyping": {"command": ["python3", "$FTRACK_SOURCE_DIR/examples/isolated_python/plugin.py"],
                        "arguments": {"greeting": "hi"},
                        "failure": {"max_attempts": 2, "retry_delay": 0.1}}}}
JSON
dir=$(plugin_dir) # no .so plugins: only the command instance
start_host --plugin-path "$dir" --config "$t/config.json"
expect_log "ready: 1 plugin instance running"
expect_log "plugin instance 'pyping' runs isolated in process"
probe example.python.ping --data '{"n": 7}' --expect 1 --wait 10
echo "$PROBE_OUT"
[ "$PROBE_RC" -eq 0 ] || fail "no reply from the python plugin"
grep -q '"pong":{"n":7,"i":0}' <<<"$PROBE_OUT" || fail "wrong reply"
grep -q '"greeting":"hi"' <<<"$PROBE_OUT" || fail "arguments did not arrive"
grep -q '"server_version":"[^"]' <<<"$PROBE_OUT" || fail "no server version from /api"
"$FTRACK_TEST_BIN_DIR/rel_publisher" example.python.ping --data '{"fail": true}' >/dev/null
dl="$t/host-data/dead-letter.jsonl"
wait_for 10 test -s "$dl" || fail "the failing event was not dead-lettered"
grep -q '"instance":"pyping".*asked to fail (attempt 2)' "$dl" || { cat "$dl" >&2; fail "bad dead letter"; }
expect_log "python plugin ready"
stop_host
[ "$HOST_EXIT" -eq 0 ] || fail "exit $HOST_EXIT"
echo ok
