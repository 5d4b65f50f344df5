# SPDX-License-Identifier: Apache-2.0
"""ftrack's official Python client as a test peer (test_py_*.sh), credentials from the
environment (FTRACK_SERVER, FTRACK_API_USER, FTRACK_API_KEY).

    python_client.py publish TOPIC DATA_JSON [EXPECT [SECONDS]]
        publish one event with on_reply; print "REPLY <reply event as JSON>" per reply until
        EXPECT replies came (default 1) or SECONDS passed (default 30); exit 1 when fewer came.
"""
import json
import sys
import time

import ftrack_api
import ftrack_api.event.base


def connected_session():
    """A session whose hub has filed its reply subscriber: ftrack's hub reports `connected`
    before it sends that subscription, and a reply that comes first is dropped by the hub."""
    session = ftrack_api.Session(auto_connect_event_hub=True)
    hub = session.event_hub
    until = time.time() + 15
    while not (hub.connected and hub.get_subscriber_by_identifier(hub.id)):
        if time.time() > until:
            sys.exit("the event hub did not connect")
        time.sleep(0.02)
    # Frames are filed in order: once an echo of our own came back, so did what went before.
    echo = "test.py.echo." + hub.id
    seen = []
    hub.subscribe("topic=" + echo, seen.append)
    while not seen:
        if time.time() > until:
            sys.exit("the event hub did not echo")
        hub.publish(ftrack_api.event.base.Event(topic=echo))
        hub.wait(0.1)
    return session


def publish(topic, data, expect=1, seconds=30.0):
    session = connected_session()
    replies = []

    def on_reply(event):
        replies.append(event)
        print("REPLY " + json.dumps(dict(event), sort_keys=True), flush=True)

    session.event_hub.publish(
        ftrack_api.event.base.Event(topic=topic, data=json.loads(data)), on_reply=on_reply
    )
    until = time.time() + seconds
    while len(replies) < expect and time.time() < until:
        session.event_hub.wait(0.2)
    session.close()
    return 0 if len(replies) >= expect else 1


if __name__ == "__main__":
    if len(sys.argv) < 4 or sys.argv[1] != "publish":
        sys.exit(__doc__)
    args = sys.argv[2:]
    sys.exit(publish(args[0], args[1], int(args[2]) if len(args) > 2 else 1,
                     float(args[3]) if len(args) > 3 else 30.0))
