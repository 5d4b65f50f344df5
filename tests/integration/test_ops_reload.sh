#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# SIGHUP reload: while a stream of events flows to an unchanged instance, a reload adds an
# instance and removes another, a second one re-registers the streamed instance with new
# arguments; no event of the stream is lost. Then broken configurations (invalid JSON, an
# argument of the wrong type) are rejected and the old configuration keeps answering. Last,
# reliability settings changed at a reload take effect (journal, isolated).
. "$FTRACK_TEST_LIB"
. "$(dirname "$0")/host_helpers.sh"
. "$(dirname "$0")/ops_helpers.sh"

dir=$(plugin_dir echo)
cfg=$FTRACK_TEST_TMP/host.json
config() { # keep's tag, then the other instances as JSON members
    printf '{"plugins": {"keep": {"plugin": "echo", "arguments": {"topic": "test.keep", "tag": "%s"}}%s}}\n' \
        "$1" "${2:+, $2}" >"$cfg"
}
config one '"gone": {"plugin": "echo", "arguments": {"topic": "test.gone"}}'
start_host --plugin-path "$dir" --config "$cfg" --health-listen 127.0.0.1:0
expect_log "registered plugin instance 'keep'"
expect_log "registered plugin instance 'gone'"

stream_out=$FTRACK_TEST_TMP/stream.out
"$FTRACK_TEST_BIN_DIR/ops_stream" test.keep --count 300 --interval 0.02 --wait 20 >"$stream_out" &
stream_pid=$!
track_child "$stream_pid"
wait_for 10 grep -q '^reply keep 5$' "$stream_out" || fail "the stream got no replies"

# 1: add "new", remove "gone"; "keep" unchanged
config one '"new": {"plugin": "echo", "arguments": {"topic": "test.new"}}'
kill -HUP "$HOST_PID"
wait_for 15 grep -q 'reloaded:' "$HOST_LOG" || { cat "$HOST_LOG" >&2; fail "no reload after SIGHUP"; }
expect_log "reloaded: 1 started, 1 stopped, 0 re-registered, 1 unchanged, 0 failed; 2 plugin instances running"
expect_log "gone: unregistered"
probe test.new --expect 1 --wait 5
[ "$PROBE_RC" = 0 ] || fail "the added instance does not answer"
grep -q '"instance":"new"' <<<"$PROBE_OUT" || fail "reply not from 'new': $PROBE_OUT"
probe test.gone --expect 1 --wait 1.5
[ "$PROBE_RC" = 1 ] || fail "the removed instance still answers: $PROBE_OUT"

# 2: keep's arguments change: registered anew while the stream still flows
config two '"new": {"plugin": "echo", "arguments": {"topic": "test.new"}}'
kill -HUP "$HOST_PID"
wait_for 15 bash -c "[ \$(grep -c 'reloaded:' '$HOST_LOG') -ge 2 ]" || fail "no second reload"
expect_log "reloaded: 0 started, 0 stopped, 1 re-registered, 1 unchanged, 0 failed"
grep -q "keep: unregistered" "$HOST_LOG" || fail "the old 'keep' was not unregistered"
grep -q 'reply keep 200' "$stream_out" || note "(the stream was past event 200 at the second reload)"

wait_pid_exit "$stream_pid" 40 || fail "the stream did not finish"
[ "$WAIT_STATUS" = 0 ] || { tail -n 3 "$stream_out" >&2; fail "the stream missed replies"; }
distinct=$(awk '$1 == "reply" && $2 == "keep" { print $3 }' "$stream_out" | sort -un | wc -l)
[ "$distinct" = 300 ] || fail "events lost across reloads: $distinct of 300 answered"
note "300 of 300 streamed events answered across two reloads"
probe test.keep --expect 1 --wait 5
grep -q '"tag":"two"' <<<"$PROBE_OUT" || fail "keep does not run with its new arguments: $PROBE_OUT"

# 3: broken configurations are refused; the old one keeps running
echo '{"plugins": {"keep": ' >"$cfg"
kill -HUP "$HOST_PID"
wait_for 10 grep -q 'reload refused' "$HOST_LOG" || fail "invalid JSON was not refused"
expect_log "reload refused, the running configuration stays: .*host.json: not valid JSON"
printf '{"plugins": {"keep": {"plugin": "echo", "arguments": {"topic": "test.keep", "count": "five"}}}}\n' >"$cfg"
kill -HUP "$HOST_PID"
wait_for 10 bash -c "[ \$(grep -c 'reload refused' '$HOST_LOG') -ge 2 ]" ||
    fail "a wrong argument type was not refused"
expect_log "plugin instance 'keep' would be refused"
for topic in test.keep test.new; do
    probe "$topic" --expect 1 --wait 5
    [ "$PROBE_RC" = 0 ] || fail "$topic stopped answering after a refused reload"
    [ "$topic" != test.keep ] || grep -q '"tag":"two"' <<<"$PROBE_OUT" ||
        fail "keep lost its arguments after a refused reload: $PROBE_OUT"
done

url=$(health_url)
prom_check "$url/metrics" "$FTRACK_TEST_TMP/m"
[ "$(metric "$FTRACK_TEST_TMP/m" ftrack_host_reloads_total)" = 2.0 ] || fail "reloads_total"
[ "$(metric "$FTRACK_TEST_TMP/m" ftrack_host_reload_failures_total)" = 2.0 ] ||
    fail "reload_failures_total"

# 4: reliability settings are read at reload: "new" turns "journal": false (registered anew),
# an added "isolated" instance runs in a child process
config two '"new": {"plugin": "echo", "journal": false, "arguments": {"topic": "test.new"}},
  "iso": {"plugin": "echo", "isolated": true, "arguments": {"topic": "test.iso"}}'
kill -HUP "$HOST_PID"
wait_for 15 bash -c "[ \$(grep -c 'reloaded:' '$HOST_LOG') -ge 3 ]" || fail "no third reload"
expect_log "reloaded: 1 started, 0 stopped, 1 re-registered, 1 unchanged, 0 failed"
expect_log "plugin instance 'iso' runs isolated in process [0-9]+"
for topic in test.new test.iso; do
    probe "$topic" --expect 1 --wait 5
    [ "$PROBE_RC" = 0 ] || fail "$topic does not answer after the third reload"
done

stop_host
[ "$HOST_EXIT" = 0 ] || fail "exit status $HOST_EXIT after SIGTERM"
echo "PASS: reload"
