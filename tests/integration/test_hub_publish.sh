#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `ftrack-host publish` against the embedded hub, with the official JavaScript client as the
# subscriber that replies.
. "$FTRACK_TEST_LIB"

FTRACK_TEST_API_USER=interop-user
FTRACK_TEST_API_KEY=interop-key-5f0c2e
PEER="$FTRACK_SOURCE_DIR/tests/interop/hub_js_peer.mjs"
[ -f "$PEER" ] || fail "missing $PEER"
command -v node >/dev/null || fail "node is required"
[ -d "$FTRACK_SOURCE_DIR/tests/interop/node_modules/@ftrack/api" ] ||
    fail "run npm install in tests/interop first"

start_hub

pub() {
    PUB_OUT="$FTRACK_TEST_TMP/pub.out"
    PUB_ERR="$FTRACK_TEST_TMP/pub.err"
    PUB_RC=0
    timeout 60 "$FTRACK_HOST_BIN" publish "$@" >"$PUB_OUT" 2>"$PUB_ERR" || PUB_RC=$?
}

# Acknowledged, no reply wanted.
pub test.publish --data '{"n": 1}'
[ "$PUB_RC" = 0 ] || fail "plain publish: exit $PUB_RC: $(cat "$PUB_ERR")"
[ ! -s "$PUB_OUT" ] || fail "plain publish printed: $(cat "$PUB_OUT")"

# A JavaScript subscriber (role=a) replies {"answer": "<subscriber id>"}.
peer_out="$FTRACK_TEST_TMP/peer.out"
node "$PEER" subscribe "$FTRACK_SERVER" test.publish js-sub role=a >"$peer_out" 2>"$FTRACK_TEST_TMP/peer.err" &
track_child $!
wait_for 30 grep -q READY "$peer_out" || fail "JS subscriber not ready: $(cat "$FTRACK_TEST_TMP/peer.err")"

# Its subscription is live once a published event reaches it.
for i in $(seq 40); do
    pub test.publish --data '{"probe": true}'
    grep -q '"probe":true' "$peer_out" && break
    sleep 0.25
done
grep -q '"probe":true' "$peer_out" || fail "the JS subscriber never received an event"

pub test.publish --data '{"n": 2}' --source '{"applicationId": "cli-test"}' --wait-reply 3
[ "$PUB_RC" = 0 ] || fail "publish --wait-reply: exit $PUB_RC: $(cat "$PUB_ERR")"
[ "$(wc -l <"$PUB_OUT")" = 1 ] || fail "expected one reply line, got: $(cat "$PUB_OUT")"
python3 - "$PUB_OUT" <<'PY' || fail "reply line: $(cat "$PUB_OUT")"
import json, sys
r = json.loads(open(sys.argv[1]).readline())
assert r["topic"] == "ftrack.meta.reply", r
assert r["data"] == {"answer": "js-sub"}, r
assert r["inReplyToEvent"], r
assert set(r) == {"id", "topic", "data", "source", "target", "sent", "inReplyToEvent"}, r
PY
grep -q '"applicationId":"cli-test"' "$peer_out" || fail "--source did not reach the subscriber"

# A target no subscriber matches: acknowledged, but no reply → 1.
pub test.publish --target 'role=b' --wait-reply 1
[ "$PUB_RC" = 1 ] || fail "unmatched target: exit $PUB_RC (want 1)"
[ ! -s "$PUB_OUT" ] || fail "unmatched target printed a reply"

# A topic nobody listens to, waiting for a reply → 1.
pub nobody.listens --wait-reply 1
[ "$PUB_RC" = 1 ] || fail "no subscriber: exit $PUB_RC (want 1)"

# Usage, configuration and credential errors → 2.
pub
[ "$PUB_RC" = 2 ] || fail "no topic: exit $PUB_RC"
pub a.topic --data '{not json'
[ "$PUB_RC" = 2 ] || fail "bad --data: exit $PUB_RC"
pub a.topic --source '[1]'
[ "$PUB_RC" = 2 ] || fail "non-object --source: exit $PUB_RC"
pub a.topic --target 'role=('
[ "$PUB_RC" = 2 ] || fail "bad --target: exit $PUB_RC"
pub a.topic --wait-reply abc
[ "$PUB_RC" = 2 ] || fail "bad --wait-reply: exit $PUB_RC"
FTRACK_API_KEY=wrong-key-Zq9 pub a.topic
[ "$PUB_RC" = 2 ] || fail "wrong key: exit $PUB_RC"
grep -q 'wrong-key-Zq9' "$PUB_ERR" && fail "the key appeared in an error message"
(unset FTRACK_SERVER; pub a.topic; [ "$PUB_RC" = 2 ]) || fail "no FTRACK_SERVER: not exit 2"
FTRACK_SERVER="http://127.0.0.1:$(free_port)" pub a.topic
[ "$PUB_RC" = 2 ] || fail "nothing listening: exit $PUB_RC"

stop_hub
[ "$HUB_EXIT" = 0 ] || fail "hub exit $HUB_EXIT"
echo "ok"
