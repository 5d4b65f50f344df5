#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""An isolated ftrack-host plugin in Python, standard library only.

ftrack-host runs it as a child process (configuration: "command": ["python3", "plugin.py"])
and talks to it over file descriptor 3 in JSON lines: the child protocol of
docs/reliability.md. The host keeps the event hub connection, the journal, deduplication and
the failure policy; this program only handles the events it subscribed to.

It answers `example.python.ping` events with {"pong": <their data>, "server_version": ...}
(the version comes from an /api call made with the credentials the host passed), and raises
on events whose data has "fail": true, to show what a failure looks like (the host retries,
then dead-letters it).
"""
import json
import os
import socket
import sys
import traceback
import urllib.request
import uuid


class Host:
    """The host end of the child protocol."""

    def __init__(self, fd=3):
        self.sock = socket.socket(fileno=fd)
        self.reader = self.sock.makefile("rb")
        self.handlers = {}

    def send(self, message):
        self.sock.sendall(json.dumps(message, separators=(",", ":")).encode() + b"\n")

    def receive(self):
        line = self.reader.readline()
        return json.loads(line) if line else None

    def log(self, level, message):
        self.send({"type": "log", "level": level, "message": message})

    def publish(self, topic, data):
        self.send({"type": "publish", "event": {"topic": topic, "data": data}})

    def subscribe(self, expression, handler, priority=100):
        sid = uuid.uuid4().hex
        self.handlers[sid] = handler
        self.send({"type": "subscribe", "id": sid, "expression": expression,
                   "priority": priority, "subscriber": {"id": sid}})

    def serve(self):
        self.send({"type": "ready"})
        while True:
            message = self.receive()
            if message is None or message.get("type") == "stop":
                return
            if message.get("type") != "event":
                continue
            result = {"type": "result", "seq": message["seq"], "ok": True, "reply": None}
            handler = self.handlers.get(message.get("subscriber"))
            try:
                if handler is None:
                    raise LookupError("no such subscriber")
                result["reply"] = handler(message["event"], message)
            except Exception:  # report it: the host retries and dead-letters by its policy
                result["ok"] = False
                result["error"] = traceback.format_exc(limit=3).strip().splitlines()[-1]
            self.send(result)


def api(init, operations):
    """One /api call with the credentials the host passed in its init message."""
    request = urllib.request.Request(
        init["server_url"] + "/api", data=json.dumps(operations).encode(), method="POST",
        headers={"Content-Type": "application/json", "ftrack-user": init["api_user"],
                 "ftrack-api-key": init["api_key"]})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def main():
    host = Host()
    init = host.receive()
    if not init or init.get("type") != "init":
        host.send({"type": "error", "message": "expected an init message"})
        return 1
    arguments = init.get("arguments", {})
    try:
        info = api(init, [{"action": "query_server_information"}])[0]
    except Exception as error:
        host.send({"type": "error", "message": "cannot reach the server: %s" % error})
        return 1
    version = info.get("version")

    def on_ping(event, delivery):
        if event["data"].get("fail"):
            raise RuntimeError("asked to fail (attempt %d)" % delivery["attempt"])
        return {"pong": event["data"], "server_version": version,
                "greeting": arguments.get("greeting", "hello"),
                "redelivery": delivery["redelivery"], "pid": os.getpid()}

    host.subscribe("topic=example.python.ping", on_ping)
    host.log("info", "python plugin ready (server %s)" % version)
    host.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
