# SPDX-License-Identifier: Apache-2.0
"""ftrack's EventHub semantics a plugin relies on, under ftrack-host:
- event.stop() in a higher-priority subscriber keeps lower-priority ones from the event;
- publish(..., synchronous=True) runs the local subscribers and returns their results;
- publish(..., on_reply=...) gets the replies to the published event (wait(duration) inside
  the handler only waits: the reply comes after it returned).
On test.py.chain it asks test.py.ask (answered by answerer.py) and publishes what came back as
test.py.report."""
from ftrack_api.event.base import Event


def register(session):
    hub = session.event_hub

    def first(event):
        event.stop()
        return {"who": "first"}

    hub.subscribe("topic=test.py.stop", lambda event: {"who": "second"}, priority=20)
    hub.subscribe("topic=test.py.stop", first, priority=10)
    hub.subscribe("topic=test.py.local", lambda event: {"doubled": event["data"]["n"] * 2})

    def chain(event):
        n = event["data"]["n"]
        local = hub.publish(Event("test.py.local", data={"n": n}), synchronous=True)
        asked = Event("test.py.ask", data={"n": n})

        def on_reply(reply):
            hub.publish(Event("test.py.report", data={
                "reply": reply["data"], "local": local,
                "in_reply_to_asked": reply["in_reply_to_event"] == asked["id"]}))

        hub.publish(asked, on_reply=on_reply)
        hub.wait(0.1)  # receives nothing under ftrack-host: the reply comes after we return

    hub.subscribe("topic=test.py.chain", chain)
