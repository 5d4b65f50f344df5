# SPDX-License-Identifier: Apache-2.0
"""Answers test.py.ask with publish_reply (and returns nothing, so there is one reply)."""


def register(session):
    def ask(event):
        session.event_hub.publish_reply(
            event, data={"answer": event["data"]["n"] + 1, "via": "publish_reply"}
        )

    session.event_hub.subscribe("topic=test.py.ask", ask)
