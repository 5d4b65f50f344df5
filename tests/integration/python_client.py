"""ftrack's official Python client as a test peer (test_py_*.sh), credentials from the
environment (FTRACK_SERVER, FTRACK_API_USER, FTRACK_API_KEY).

    python_client.py publish TOPIC DATA_JSON [EXPECT [SECONDS]]
        publish one event with on_reply; print "REPLY <reply event as JSON>" per reply until
        EXPECT replies came (default 1) or SECONDS passed (default 15); exit 1 when fewer came.
"""
import json
import sys
import time

import ftrack_api
import ftrack_api.event.base


def connected_session():
    session = ftrack_api.Session(auto_connect_event_hub=True)
    until = time.time() + 15
    while not session.event_hub.connected:
        if time.time() > until:
            sys.exit("the event hub did not connect")
        time.sleep(0.02)
    return session


def publish(topic, data, expect=1, seconds=15.0):
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
                     float(args[3]) if len(args) > 3 else 15.0))
