# SPDX-License-Identifier: Apache-2.0
"""Records every test.py.rec event it handles, one JSON line each: its number, id and how the
host delivered it (event.redelivery, event.attempt). The event whose number is `hold` waits
(at most 60 s) until the file `release` exists, so a test can kill the host while it is in
flight."""
import json
import os
import time


def register(session, record=None, hold="-1", release=None):
    def handle(event):
        i = event["data"]["i"]
        line = {"i": i, "id": event["id"], "redelivery": event.redelivery,
                "attempt": event.attempt}
        if i == int(hold):
            with open(record + ".held", "a") as held:
                held.write(json.dumps(line) + "\n")
            until = time.time() + 60
            while not os.path.exists(release) and time.time() < until:
                time.sleep(0.02)
        with open(record, "a") as out:
            out.write(json.dumps(line) + "\n")

    session.event_hub.subscribe("topic=test.py.rec", handle)
