#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Python plugins 6: the event hub a plugin sees behaves as ftrack's own: event.stop() ends the
# event for lower-priority subscribers, synchronous=True runs the local subscribers and returns
# their results, publish with on_reply gets the reply another plugin sent with publish_reply.
set -euo pipefail
. "$FTRACK_TEST_LIB"
. "$(dirname "$0")/host_helpers.sh"
. "$(dirname "$0")/python_helpers.sh"

start_hub
dir=$(py_plugins hub_semantics answerer)
start_py_host --plugin-path "$dir"
expect_log "ready: 2 plugin instances running"

note "event.stop()"
py_client publish test.py.stop '{}' 2 8
[ "$PY_RC" -eq 1 ] || fail "a second reply came: $PY_OUT"
[ "$(grep -c '^REPLY ' <<<"$PY_OUT")" -eq 1 ] && grep -q '"data": {"who": "first"}' <<<"$PY_OUT" ||
    fail "not exactly the first subscriber's reply: $PY_OUT"

note "synchronous=True, publish with on_reply, publish_reply"
"$PY" - <<'PY' || fail "no report"
import json, time
import ftrack_api
from ftrack_api.event.base import Event
session = ftrack_api.Session(auto_connect_event_hub=True)
until = time.time() + 15
while not session.event_hub.connected and time.time() < until:
    time.sleep(0.02)
reports = []
session.event_hub.subscribe("topic=test.py.report", lambda event: reports.append(event["data"]))
# Our own report comes back once the hub has filed the subscription.
until = time.time() + 15
while not reports and time.time() < until:
    session.event_hub.publish(Event("test.py.report", data={"probe": True}))
    session.event_hub.wait(0.2)
assert reports, "the subscription never took effect"
session.event_hub.publish(Event("test.py.chain", data={"n": 20}))
chained = lambda: [r for r in reports if "probe" not in r]
until = time.time() + 20
while not chained() and time.time() < until:
    session.event_hub.wait(0.2)
session.event_hub.wait(0.5)  # a second report would be a bug: give it a chance to show
print(json.dumps(chained()))
assert chained() == [{"reply": {"answer": 21, "via": "publish_reply"}, "local": [{"doubled": 40}],
                    "in_reply_to_asked": True}], chained()
PY
expect_log "hub_semantics: event_hub.wait\(\) receives nothing under ftrack-host"
stop_py_host
[ "$HOST_EXIT" -eq 0 ] || fail "exit $HOST_EXIT"
echo ok
