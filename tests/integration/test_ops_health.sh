#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The health endpoint against a separate hub process: /healthz and /readyz answer 200 while
# connected, /metrics parses as Prometheus text and its counters match the events sent,
# /healthz turns 503 when the hub goes away and 200 again after it is back on the same port,
# and the status page escapes what it shows.
. "$FTRACK_TEST_LIB"
. "$(dirname "$0")/host_helpers.sh"
. "$(dirname "$0")/ops_helpers.sh"

dir=$(plugin_dir echo)
# A file that is not a plugin, with markup in its name: its refusal lands in the page.
printf 'not a plugin' >"$dir/<b>bold.so"
chmod 644 "$dir/<b>bold.so"

start_hub
HOST_LOG=$FTRACK_TEST_TMP/host.log
"$FTRACK_HOST_BIN" run --require-server --plugin-path "$dir" --plugin-arg topic=test.m \
    --health-listen 127.0.0.1:0 --data-dir "$FTRACK_TEST_TMP/data" 2>"$HOST_LOG" &
HOST_PID=$!
track_child "$HOST_PID"
wait_for 30 grep -q 'health and metrics at' "$HOST_LOG" || { cat "$HOST_LOG" >&2; fail "no health URL logged"; }
url=$(health_url)
note "health at $url"
wait_for 10 bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' '$url/healthz')\" = 200 ]" ||
    fail "/healthz not 200 while connected"
http_get "$url/readyz"
[ "$HTTP_CODE" = 200 ] || fail "/readyz $HTTP_CODE: $BODY"

# Counters match what was sent.
"$FTRACK_TEST_BIN_DIR/ops_stream" test.m --count 50 --interval 0.005 --wait 15 >"$FTRACK_TEST_TMP/s.out" ||
    fail "the stream missed replies"
wait_for 5 bash -c "curl -s '$url/metrics' | grep -q 'ftrack_host_events_dispatched_total{instance=\"echo\",plugin=\"echo\"} 50'" ||
    fail "dispatched counter never reached 50"
m=$FTRACK_TEST_TMP/metrics
prom_check "$url/metrics" "$m"
# replied: the echo plugin answers every event, and each answer is counted when published.
for name in received dispatched replied; do
    v=$(metric "$m" "ftrack_host_events_${name}_total{instance=\"echo\",plugin=\"echo\"}")
    [ "$v" = 50.0 ] || fail "ftrack_host_events_${name}_total is $v, 50 events were sent"
done
v=$(metric "$m" 'ftrack_host_handler_seconds_count{instance="echo",plugin="echo"}')
[ "$v" = 50.0 ] || fail "handler histogram count is $v"
v=$(metric "$m" 'ftrack_host_events_dropped_total{instance="echo",plugin="echo"}')
[ "$v" = 0.0 ] || fail "dropped is $v"
[ "$(metric "$m" ftrack_host_hub_connected)" = 1.0 ] || fail "hub_connected gauge"
[ "$(metric "$m" ftrack_host_plugin_instances)" = 1.0 ] || fail "plugin_instances gauge"
[ "$(metric "$m" 'ftrack_host_queue_depth{instance="echo",plugin="echo"}')" = 0.0 ] || fail "queue depth"

# The hub goes away: unhealthy, with the reason.
port=$HUB_PORT
stop_hub
wait_for 15 bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' '$url/healthz')\" = 503 ]" ||
    fail "/healthz still healthy without the hub"
http_get "$url/healthz"
body=$BODY
[ "$HTTP_CODE" = 503 ] || fail "/healthz $HTTP_CODE"
grep -q 'not connected to the event hub' <<<"$body" || fail "503 without the reason: $body"
http_get "$url/readyz"
[ "$HTTP_CODE" = 503 ] || fail "/readyz $HTTP_CODE without the hub"

# Back on the same port: healthy again.
start_hub --listen "127.0.0.1:$port"
[ "$HUB_PORT" = "$port" ] || fail "the hub came back on $HUB_PORT, not $port"
wait_for 40 bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' '$url/healthz')\" = 200 ]" ||
    fail "/healthz not healthy again after the hub came back"
probe test.m --expect 1 --wait 10
[ "$PROBE_RC" = 0 ] || fail "no reply after the reconnect"
prom_check "$url/metrics" "$m"
v=$(metric "$m" ftrack_host_hub_reconnects_total)
python3 -c "import sys; sys.exit(0 if float('$v') >= 1 else 1)" || fail "reconnects_total is $v"
v=$(metric "$m" ftrack_host_hub_disconnects_total)
python3 -c "import sys; sys.exit(0 if float('$v') >= 1 else 1)" || fail "disconnects_total is $v"

# The status page: instances, and escaped recent errors.
http_get "$url/"
page=$BODY
[ "$HTTP_CODE" = 200 ] || fail "status page $HTTP_CODE"
grep -q '<td>echo</td>' <<<"$page" || fail "the page lacks the echo instance"
grep -qE 'topic=test\.m[^<]*\(priority -?[0-9]+\)' <<<"$page" ||
    fail "the page lacks the echo instance's subscription"
! grep -q '(not reported)' <<<"$page" || fail "the page says subscriptions are not reported"
grep -q '&lt;b&gt;bold.so' <<<"$page" || fail "the page lacks the escaped refusal"
! grep -q '<b>bold' <<<"$page" || fail "the page shows markup from a file name unescaped"
http_get "$url/nope"
[ "$HTTP_CODE" = 404 ] || fail "unknown path answered $HTTP_CODE"

kill -TERM "$HOST_PID"
wait_pid_exit "$HOST_PID" 20 || fail "the host did not stop"
[ "$WAIT_STATUS" = 0 ] || fail "exit status $WAIT_STATUS"
echo "PASS: health and metrics"
