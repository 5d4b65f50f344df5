#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""An isolated plugin (child protocol on fd 3) that misbehaves on its first start only, for
test_rel_isolated_hostile.sh:

  isolated_hostile_child.py MODE RECORD MARKER

MODE "deaf": after registering it never reads again (the host's write of a large event
cannot complete). MODE "garbage": on its first event it writes 2,000 log lines and 5,000 lines
that are not protocol messages, then stops answering. On a later start (MARKER exists)
it handles test.hostile events normally, appending each event's data "i" to RECORD.
"""
import json
import os
import socket
import sys
import time

mode, record, marker = sys.argv[1:4]
sock = socket.socket(fileno=3)
reader = sock.makefile("rb")


def send(message):
    sock.sendall(json.dumps(message).encode() + b"\n")


first = not os.path.exists(marker)
open(marker, "a").close()
init = json.loads(reader.readline())
sid = mode + "-" + str(os.getpid())
send({"type": "subscribe", "id": sid, "expression": "topic=test.hostile", "subscriber": {"id": sid}})
send({"type": "ready"})
if first and mode == "deaf":
    time.sleep(3600)
while True:
    line = reader.readline()
    if not line:
        break
    message = json.loads(line)
    if message.get("type") == "stop":
        break
    if message.get("type") != "event":
        continue
    if first and mode == "garbage":
        for n in range(2000):
            send({"type": "log", "level": "info", "message": "flood %d" % n})
        sock.sendall(b"this is not json\n" * 5000)
        time.sleep(3600)
    with open(record, "a") as f:
        f.write("%d\n" % message["event"]["data"]["i"])
    send({"type": "result", "seq": message["seq"], "ok": True, "reply": None})
