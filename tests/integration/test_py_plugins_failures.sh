#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Python plugins 3: bad input. Files that do not import (syntax error, missing module) or have
# no register are refused with one line naming the file and the error's last line; a register
# that raises refuses its instance; a handler that raises fails the attempt (traceback in the
# instance's log) and is dead-lettered by the failure policy; a handler that hangs is killed at
# its deadline; a runner that exits or is killed is restarted. The healthy plugin answers
# throughout. An interpreter without ftrack_api stops the host with a clear error.
set -euo pipefail
. "$FTRACK_TEST_LIB"
. "$(dirname "$0")/host_helpers.sh"
. "$(dirname "$0")/python_helpers.sh"

t=$FTRACK_TEST_TMP
dir=$(py_plugins healthy raiser hanger crasher broken_syntax missing_module no_register register_raises)
cat >"$t/config.json" <<JSON
{"failure": {"max_attempts": 2, "retry_delay": 0.1, "retry_max_delay": 0.2, "deadline": 20},
 "plugins": {"hanger": {"failure": {"deadline": 2}}}}
JSON
start_seeded_hub

note "an interpreter without ftrack_api"
python3 -m venv --without-pip "$t/bare"
rc=0
"$FTRACK_HOST_BIN" --require-server --data-dir "$t/bare-data" --plugin-path "$dir" \
    --python-plugins --python "$t/bare/bin/python" 2>"$t/bare.log" || rc=$?
[ "$rc" -eq 1 ] || fail "exit $rc with an interpreter lacking ftrack_api"
expect_log "Python plugins need an interpreter that can import ftrack_api, and $t/bare/bin/python cannot \(ModuleNotFoundError: No module named 'ftrack_api'\)" "$t/bare.log"

start_py_host --plugin-path "$dir" --config "$t/config.json"
expect_log "ready: 4 plugin instances running"
for f in broken_syntax missing_module no_register register_raises; do
    [ "$(grep -c "refused plugin instance '$f'" "$HOST_LOG")" -eq 1 ] || fail "$f: not refused once"
done
expect_log "refused plugin instance 'broken_syntax' .*: Failed to load plugin from \"$dir/broken_syntax.py\": SyntaxError: expected ':' \(broken_syntax.py, line 3\)$"
expect_log "refused plugin instance 'missing_module' .*: Failed to load plugin from \"$dir/missing_module.py\": ModuleNotFoundError: No module named 'no_such_module_xyz'$"
expect_log "refused plugin instance 'no_register' .*: Failed to load plugin that did not define a \"register\" function at the module level: $dir/no_register.py$"
expect_log "refused plugin instance 'register_raises' .*: register of \"$dir/register_raises.py\" failed: RuntimeError: no database configured$"
[ "$(grep -c "broken_syntax.py" "$HOST_LOG")" -eq 1 ] || fail "more than one line about broken_syntax.py"

ping() { # ping N: the healthy plugin answers; prints its process id
    probe test.py.ping --data "{\"n\": $1}" --expect 1 --wait 15
    [ "$PROBE_RC" -eq 0 ] || fail "the healthy plugin did not answer ping $1: $PROBE_OUT"
    grep -o '"pid":[0-9]*' <<<"$PROBE_OUT" | cut -d: -f2
}
pid1=$(ping 1)
dl="$t/host-data/dead-letter.jsonl"
dead() { [ -f "$dl" ] && grep -q "\"instance\":\"$1\"" "$dl"; }
publish() { "$FTRACK_TEST_BIN_DIR/rel_publisher" "$1" --data '{}' >/dev/null || fail "publish $1"; }

note "a handler that raises"
publish test.py.raise
wait_for 20 dead raiser || fail "the raising event was not dead-lettered"
grep '"instance":"raiser"' "$dl" | grep -q 'ValueError: asked to raise (attempt 2)' || fail "dead letter: $(cat "$dl")"
expect_log "raiser: Error calling subscriber .*"
expect_log "raise ValueError\(\"asked to raise \(attempt %d\)\" % event.attempt\)"
[ "$(ping 2)" = "$pid1" ] || fail "the healthy runner changed"

note "a handler that hangs"
publish test.py.hang
wait_for 30 dead hanger || fail "the hanging event was not dead-lettered"
expect_log "plugin instance 'hanger': its child did not answer within the deadline and was killed"
expect_log "plugin instance 'hanger': child restarted as process"

note "a handler that ends its process"
publish test.py.crash
wait_for 30 dead crasher || fail "the crashing event was not dead-lettered"
expect_log "plugin instance 'crasher': its child ended while handling an event \(child exited with status 3\)"
expect_log "plugin instance 'crasher': child restarted as process"
[ "$(ping 3)" = "$pid1" ] || fail "the healthy runner changed"

note "a runner killed between events"
kill -KILL "$pid1"
pid2=$(ping 4)
[ -n "$pid2" ] && [ "$pid2" != "$pid1" ] || fail "the healthy runner was not restarted ($pid1 -> $pid2)"
expect_log "plugin instance 'healthy': its child ended between events \(child killed by signal 9 \(Killed\)\)"
expect_log "plugin instance 'healthy': child restarted as process $pid2"
! grep -q "plugin instance 'healthy' failed on event" "$HOST_LOG" || fail "the event after the kill paid for it"
grep -q '"instance":"healthy"' "$dl" && fail "the healthy plugin dead-lettered an event"

note "reload: a Python plugin's file is run anew"
sed -i 's/"pong"/"pong2"/' "$dir/healthy.py"
kill -HUP "$HOST_PID"
wait_for 30 grep -q "reloaded: " "$HOST_LOG" || fail "no reload"
# re-registered: the 4 running instances, side by side with their old processes; failed: the
# 4 broken files, refused again
expect_log "reloaded: 0 started, 0 stopped, 4 re-registered, 0 unchanged, 4 failed; 4 plugin instances running"
grep -q "new registration failed beside the old one" "$HOST_LOG" && fail "the new runner could not start beside the old one"
probe test.py.ping --data '{"n": 5}' --expect 1 --wait 15
grep -q '"pong2":{"n":5' <<<"$PROBE_OUT" || fail "the edited plugin did not answer: $PROBE_OUT"
stop_py_host
[ "$HOST_EXIT" -eq 0 ] || fail "exit $HOST_EXIT"
echo ok
