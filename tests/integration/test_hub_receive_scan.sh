#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The client's receive path (sdk/src/hub/receive.c) parses only the top-level members routing
# reads (topic, target, id, reply ids, source for ignore_own_user, and what the subscriptions'
# expressions name) and queues the received bytes; consumers parse their copy. A scripted
# socket.io server (fake_sio_hub.py) sends bytes a real hub would not pass on:
#  1. three SDK clients, subscribed on data.x, source.user.username and a topic prefix, get
#     exactly the events their expression matches, including brackets and quotes inside
#     strings, an escaped key (the whole-parse fallback) and duplicate keys (last one wins);
#  2. an event whose data is not valid JSON, routed on its topic alone, is dropped by the
#     consumer that parses it: logged once by ftrack-host's reliable delivery, never retried or
#     dead-lettered, and the next event is delivered.
set -euo pipefail
. "$FTRACK_TEST_LIB"
. "$(dirname "$0")/host_helpers.sh"

frames="$FTRACK_TEST_TMP/frames"
mkdir -p "$frames"
python3 "$(dirname "$0")/fake_sio_hub.py" "$frames" >"$FTRACK_TEST_TMP/fake.out" 2>&1 &
track_child $!
wait_for 10 grep -q '^url ' "$FTRACK_TEST_TMP/fake.out" || fail "the fake hub did not start"
url=$(awk '/^url /{print $2}' "$FTRACK_TEST_TMP/fake.out")

# send FRAME...: one batch, sent to every connected client in order
n_batch=0
send() {
    n_batch=$((n_batch + 1))
    printf '%s\n' "$@" >"$frames/batch.tmp"
    mv "$frames/batch.tmp" "$frames/$(printf '%04d' $n_batch).txt"
}
ev() { printf '5:::{"name":"ftrack.event","args":[%s]}' "$1"; }

probe_on() { # NAME EXPR
    "$FTRACK_TEST_BIN_DIR/hub_client_probe" --server "$url" --subscribe "$2" --time 30 \
        >"$FTRACK_TEST_TMP/$1.out" 2>"$FTRACK_TEST_TMP/$1.err" &
    track_child $!
}
probe_on data "data.x=1"
probe_on user "source.user.username=bob"
probe_on prefix "topic=a.*"

rec="$FTRACK_TEST_TMP/record.jsonl"
HOST_LOG="$FTRACK_TEST_TMP/host.log"
FTRACK_SERVER="$url" "$FTRACK_HOST_BIN" --plugin-path "$(plugin_dir recorder)" \
    --plugin-arg record="$rec" --data-dir "$FTRACK_TEST_TMP/host-data" 2>"$HOST_LOG" &
HOST_PID=$!
track_child "$HOST_PID"
wait_for 30 grep -q 'ready:.*connected' "$HOST_LOG" || { cat "$HOST_LOG" >&2; fail "host not ready"; }
for p in data user prefix; do
    wait_for 10 grep -q '"connected":true' "$FTRACK_TEST_TMP/$p.out" || fail "probe $p did not connect"
done

bob='"source":{"user":{"username":"bob"}}'
send "$(ev '{"topic":"a.b","id":"e1","data":{"x":"1"},'"$bob"'}')" \
    "$(ev '{"topic":"z","id":"e2","data":{"x":"2"},'"$bob"'}')" \
    "$(ev '{ "topic" : "a.c" ,"id":"e3", "data":{"big":["]}",{"n":"\"{[\\"}],"x":"1"},"source":{"user":{"username":"al}]ice"}} }')" \
    "$(ev '{"topic":"z","id":"e4","d\u0061ta":{"x":"1"}}')" \
    "$(ev '{"topic":"q","id":"e5","data":{"x":"2"},"topic":"a.dup","data":{"x":"1"}}')" \
    "$(ev '{"topic":"a.bad","id":"e6","data":{"x":tru},"source":{}}')" \
    "$(ev '{"topic":"test.rel","id":"bad-1","data":{"i":1,"x":tru},"source":{"id":"fake"}}')" \
    "$(ev '{"topic":"test.rel","id":"good-2","data":{"i":2},"source":{"id":"fake"}}')" \
    "$(ev '{"topic":"a.end","id":"end","data":{"x":"1"},'"$bob"'}')"

for p in data user prefix; do
    wait_for 10 grep -q '"id":"end"' "$FTRACK_TEST_TMP/$p.out" ||
        { cat "$FTRACK_TEST_TMP/$p.out" "$FTRACK_TEST_TMP/$p.err" >&2; fail "probe $p missed the last event"; }
done
ids() {
    python3 -c 'import json,sys
print(" ".join(json.loads(l)["event"]["id"] for l in open(sys.argv[1]) if "\"event\"" in l))' \
        "$FTRACK_TEST_TMP/$1.out"
}
check() { [ "$(ids "$1")" = "$2" ] || fail "probe $1 got '$(ids "$1")', expected '$2'"; }
check data "e1 e3 e4 e5 end"
check user "e1 e2 end"
check prefix "e1 e3 e5 end"
grep -q '"id":"e5","data":{"x":"1"},"topic":"a.dup"' "$FTRACK_TEST_TMP/prefix.out" ||
    fail "the duplicate keys' last values were not what was delivered"
# e6 reached the prefix probe's queue on its topic; its consumer could not parse it
[ "$(grep -c 'unreadable event' "$FTRACK_TEST_TMP/prefix.err")" -eq 1 ] ||
    { cat "$FTRACK_TEST_TMP/prefix.err" >&2; fail "the prefix probe did not log e6 once"; }
# the data probe reads data: the network thread's parse of it failed, so the whole-parse
# fallback dropped e6 and bad-1 there
[ "$(grep -c 'not valid JSON' "$FTRACK_TEST_TMP/data.err")" -eq 2 ] ||
    { cat "$FTRACK_TEST_TMP/data.err" >&2; fail "the data probe did not drop e6 and bad-1"; }

wait_for 10 grep -q '"id":"good-2"' "$rec" 2>/dev/null || { cat "$HOST_LOG" >&2; fail "good-2 not delivered"; }
sleep 1.5 # a retry would come after 1 s
[ "$(count_lines 'dropped an event that is not valid JSON' "$HOST_LOG")" -eq 1 ] ||
    { cat "$HOST_LOG" >&2; fail "the host did not log the unreadable event once"; }
! grep -q 'bad-1' "$rec" || fail "the unreadable event reached the plugin"
! grep -Eq 'failed on event|dead-letter file' "$HOST_LOG" || { cat "$HOST_LOG" >&2; fail "retried or dead-lettered"; }
[ ! -s "$FTRACK_TEST_TMP/host-data/dead-letter.jsonl" ] || fail "dead letters written"
stop_host
[ "$HOST_EXIT" -eq 0 ] || fail "host exit $HOST_EXIT"
echo ok
