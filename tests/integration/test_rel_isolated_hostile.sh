#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Isolated children that stop reading or flood the host. A child that never reads a 1 MB event
# is killed at the deadline (the host's write has the same deadline as the answer), restarted,
# and the event retried; a child that writes thousands of lines that are not protocol messages
# is cut off and restarted, with only a few of them logged, and its log lines are rate-limited.
# Both instances go on handling later events.
set -euo pipefail
. "$FTRACK_TEST_LIB"
. "$(dirname "$0")/host_helpers.sh"

t=$FTRACK_TEST_TMP
child="$(dirname "$0")/isolated_hostile_child.py"
cat >"$t/config.json" <<JSON
{"plugins": {
  "deaf": {"command": ["python3", "$child", "deaf", "$t/deaf.rec", "$t/deaf.marker"],
           "failure": {"deadline": 2, "max_attempts": 3, "retry_delay": 0.1}},
  "garbage": {"command": ["python3", "$child", "garbage", "$t/garbage.rec", "$t/garbage.marker"],
              "failure": {"deadline": 20, "max_attempts": 3, "retry_delay": 0.1}}}}
JSON
start_host --plugin-path "$(plugin_dir)" --config "$t/config.json"
expect_log "plugin instance 'deaf' runs isolated in process"
expect_log "plugin instance 'garbage' runs isolated in process"

python3 -c 'import json; json.dump({"blob": "x" * 1000000}, open("'"$t"'/big.json", "w"))'
"$FTRACK_TEST_BIN_DIR/rel_publisher" test.hostile --data "@$t/big.json" --start 1 >/dev/null ||
    fail "publishing the large event failed"
"$FTRACK_TEST_BIN_DIR/rel_publisher" test.hostile --start 2 >/dev/null || fail "publish failed"

has() { [ -f "$1" ] && grep -qx "$2" "$1"; }
for inst in deaf garbage; do
    wait_for 60 has "$t/$inst.rec" 2 || fail "instance $inst did not handle the later event"
    has "$t/$inst.rec" 1 || fail "instance $inst lost the first event"
done
expect_log "plugin instance 'deaf': its child did not read an event within the deadline and was killed"
expect_log "plugin instance 'garbage': its child sent more than 100 messages that are not protocol messages"
expect_log "plugin instance 'garbage': dropped [0-9]+ log lines from its child"
ignored=$(grep -c "garbage': ignored a message from its child" "$HOST_LOG" || true)
floods=$(grep -c "flood [0-9]" "$HOST_LOG" || true)
echo "MEASURED: $ignored stray-line warnings, $floods of 2000 flood log lines logged"
[ "$ignored" -le 5 ] || fail "$ignored warnings about stray lines were logged (at most 5)"
[ "$floods" -le 250 ] || fail "$floods of the child's 2000 log lines were logged"
kill -0 "$HOST_PID" || fail "the host died"
stop_host
echo ok
