#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Plugin files are trusted as sshd's StrictModes trusts authorized_keys: a group-writable
# plugin (or folder) is refused at the scan, and an isolated child judges its file again each
# time it starts, so a file made group-writable after the host started is not loaded by the
# restarted child.
set -euo pipefail
. "$FTRACK_TEST_LIB"
. "$(dirname "$0")/host_helpers.sh"

t=$FTRACK_TEST_TMP
dir=$(plugin_dir recorder)
# At the scan: a group-writable copy is refused, with the reason.
mkdir -m 755 "$t/g"
cp "$dir/test_plugin_recorder.so" "$t/g/recorder.so"
chmod 664 "$t/g/recorder.so"
out=$("$FTRACK_HOST_BIN" plugins --plugin-path "$t/g" 2>&1 || true)
grep -q "writable by its group" <<<"$out" || fail "a group-writable plugin was not refused: $out"

cat >"$t/config.json" <<JSON
{"plugins": {"iso": {"plugin": "recorder", "isolated": true,
                     "arguments": {"record": "$t/iso.jsonl"},
                     "failure": {"max_attempts": 2, "retry_delay": 0.1}}}}
JSON
start_host --plugin-path "$dir" --config "$t/config.json"
expect_log "plugin instance 'iso' runs isolated in process"
"$FTRACK_TEST_BIN_DIR/rel_publisher" test.rel --start 1 >/dev/null || fail "publish failed"
wait_for 20 test -s "$t/iso.jsonl" || fail "the isolated instance handled nothing"
# The file becomes group-writable; the child crashes and its restart must refuse the file.
chmod g+w "$dir/test_plugin_recorder.so"
"$FTRACK_TEST_BIN_DIR/rel_publisher" test.rel --start 2 --data '{"crash": true}' >/dev/null ||
    fail "publish failed"
wait_for 30 grep -q "its child could not be restarted: .*writable by its group" "$HOST_LOG" ||
    { cat "$HOST_LOG" >&2; fail "the restarted child loaded a group-writable plugin"; }
stop_host
echo ok
