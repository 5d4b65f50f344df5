# SPDX-License-Identifier: Apache-2.0
"""ftrack-host's runner for Python event plugins written for ftrack's own client.

`ftrack-host --python-plugins` starts one runner per plugin file (docs/python-plugins.md). The
runner speaks the host's isolated-plugin protocol (JSON lines over file descriptor 3, described
in docs/reliability.md) and gives the plugin what ftrack's client would: a real
`ftrack_api.Session` (its `/api` calls go to the server directly, with the credentials the host
sent in its init message) and a `register(session, **kw)` call with the plugin arguments
reduced to what the function's signature accepts.

Only the session's event hub is different: `HostEventHub` is ftrack_api's `EventHub` with its
server connection replaced by the host. Subscriptions (expression, priority, subscriber
metadata) are announced to the host, which journals the matching events and sends them here one
at a time; a callback's return value goes back as its reply, `event.stop()` as the stop flag and
an exception as a failed attempt (retried, then dead-lettered by the host's failure policy).
`publish` and `publish_reply` go out through the host; replies to a publish come back as events
to the hub's own reply subscriber, which calls `on_reply` as ftrack's hub does;
`synchronous=True` runs the local subscribers, as with ftrack's hub.
"""

import inspect
import json
import logging
import os
import platform
import socket
import sys
import threading
import time
import traceback
import uuid

import importlib.machinery
import importlib.util

try:
    import ftrack_api
    import ftrack_api.event.base
    import ftrack_api.event.hub
    import ftrack_api.exception
except ImportError as error:  # the host checks this before it starts runners; say it anyway
    sys.stderr.write("ftrack-host python runner: cannot import ftrack_api: %s\n" % error)
    sys.exit(2)

EVENT_KEYS = ("topic", "id", "data", "sent", "source", "target", "in_reply_to_event")
CULL_WARNING = "Culling passed arguments to match register function signature."


class Link:
    """The host's end of the socket: one JSON object per line each way."""

    def __init__(self, fd=3):
        self.sock = socket.socket(fileno=fd)
        self.reader = self.sock.makefile("rb")
        # Plugin threads publish and log too; a line must never interleave with another.
        self.lock = threading.Lock()

    def send_text(self, text):
        data = text.encode("utf-8") + b"\n"
        with self.lock:
            self.sock.sendall(data)

    def send(self, message, default=None):
        self.send_text(json.dumps(message, separators=(",", ":"), ensure_ascii=False,
                                  default=default))

    def receive(self, object_hook=None):
        line = self.reader.readline()
        if not line:
            return None
        return json.loads(line, object_hook=object_hook)

    def log(self, level, message):
        try:
            self.send({"type": "log", "level": level, "message": message})
        except OSError:
            pass  # the host is gone: nobody to tell


class LinkHandler(logging.Handler):
    """Python logging records, as lines in the host's log tagged with the instance."""

    LEVELS = ((logging.ERROR, "error"), (logging.WARNING, "warning"), (logging.INFO, "info"))

    def __init__(self, link):
        super().__init__()
        self.link = link

    def emit(self, record):
        level = "debug"
        for number, name in self.LEVELS:
            if record.levelno >= number:
                level = name
                break
        try:
            self.link.log(level, self.format(record))
        except Exception:
            self.handleError(record)


class HostEventHub(ftrack_api.event.hub.EventHub):
    """ftrack_api's EventHub whose connection is the host instead of the server.

    What ftrack's hub does locally (the subscriber list, priorities, `synchronous=True`,
    reply callbacks, event preparation and encoding) is inherited unchanged; only the methods
    that talk to the server are replaced.
    """

    def __init__(self, link, hub_id, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Stable across restarts of this runner, so replies to its publishes still reach the
        # subscriber the host announced for the first one.
        self.id = hub_id
        self._link = link
        self._warned_wait = False

    @property
    def connected(self):
        return self._connection is not None

    def connect(self):
        """Join the host: announce the hub's reply subscriber, then every subscriber so far."""
        if self.connected:
            return  # the runner connects before register; a plugin that connects again is fine
        self._connection_initialised = True
        self._connection = self._link
        try:
            self._add_subscriber(
                "topic=ftrack.meta.reply", self._handle_reply, subscriber=dict(id=self.id)
            )
        except ftrack_api.exception.NotUniqueError:
            pass
        for subscriber in self._subscribers[:]:
            self._notify_server_about_subscriber(subscriber)

    def disconnect(self, unsubscribe=True, reconnect=False):
        if not self.connected:
            raise ftrack_api.exception.EventHubConnectionError("Not currently connected.")
        self._connection = None
        self._connection_initialised = reconnect

    def reconnect(self, attempts=10, delay=5):
        if not self.connected:
            self.connect()

    def _notify_server_about_subscriber(self, subscriber):
        if not self.connected:
            raise ftrack_api.exception.EventHubConnectionError("Not connected to the host.")
        self._link.send(
            {
                "type": "subscribe",
                "id": subscriber.metadata["id"],
                "expression": str(subscriber.subscription),
                "priority": subscriber.priority,
                "subscriber": subscriber.metadata,
            },
            default=self._encode_object_hook,
        )

    def _emit_event_packet(self, namespace, event, callback):
        """Hand a published event to the host, which publishes it on the hub."""
        if event["topic"] == "ftrack.meta.unsubscribe":
            # The host keeps its proxy; events for it find no local subscriber and are
            # answered with nothing, as ftrack's hub would not call a removed callback.
            if callback:
                callback({"success": True})
            return
        try:
            self._link.send_text('{"type":"publish","event":%s}' % self._encode(event))
        except OSError as error:
            raise ftrack_api.exception.EventHubConnectionError(
                "Failed to send the event to ftrack-host: {0}".format(error)
            )
        if callback:
            # The host took the event; its hub connection acknowledges it to the server.
            callback({"success": True})

    def wait(self, duration=None):
        """The runner receives the events; a handler waiting here receives none.

        The host sends the next event (a reply included) once the current handler returned,
        so a handler that waits for a reply waits out `duration` as if none came, and its
        on_reply callback runs afterwards. Waiting for ever would hang until the deadline."""
        if duration is None:
            raise ftrack_api.exception.EventHubConnectionError(
                "Under ftrack-host the runner receives the events: wait() without a duration "
                "would never return."
            )
        if not self._warned_wait:
            self._warned_wait = True
            self.logger.warning(
                "event_hub.wait() receives nothing under ftrack-host: replies and events "
                "arrive after the handler returns."
            )
        time.sleep(duration)

    def _decode_event(self, payload):
        return ftrack_api.event.base.Event(**{k: payload[k] for k in EVENT_KEYS if k in payload})

    def handle_message(self, message):
        """One `event` message of the host: the outcome as a `result` message (text)."""
        result = {"type": "result", "seq": message.get("seq"), "ok": True, "reply": None}
        subscriber = self.get_subscriber_by_identifier(message.get("subscriber"))
        if subscriber is None:
            return self._result_text(result)  # unsubscribed since: nothing to call
        try:
            event = self._decode_event(message["event"])
        except Exception as error:
            result.update(ok=False, error="not an event: {0}".format(error))
            return self._result_text(result)
        # Where the plugin reads the host's delivery: a redelivery after a crash of the host,
        # and the attempt (1 for the first). The event's own keys stay as published.
        event.redelivery = bool(message.get("redelivery", False))
        event.attempt = int(message.get("attempt", 1))
        try:
            response = subscriber.callback(event)
        except Exception as error:
            self._link.log(
                "error",
                "Error calling subscriber {0} for event {1}.\n{2}".format(
                    subscriber, event, traceback.format_exc().rstrip()
                ),
            )
            result.update(ok=False, error=_last_line(error), reply=None)
            result["stop"] = event.is_stopped()
            return self._result_text(result)
        result["stop"] = event.is_stopped()
        if response is not None:
            try:
                result["reply"] = response
                return self._result_text(result)
            except Exception:
                self._link.log(
                    "error",
                    "Error publishing response {0} from subscriber {1} for event {2}.\n{3}".format(
                        response, subscriber, event, traceback.format_exc().rstrip()
                    ),
                )
                result["reply"] = None
        return self._result_text(result)

    def _result_text(self, result):
        return json.dumps(result, separators=(",", ":"), ensure_ascii=False,
                          default=self._encode_object_hook)


def _last_line(error):
    return "{0}: {1}".format(type(error).__name__, error) if str(error) else type(error).__name__


def load_source(path):
    """Import a plugin file under a unique module name, as ftrack_api.plugin does."""
    name = uuid.uuid4().hex
    loader = importlib.machinery.SourceFileLoader(name, path)
    module = importlib.util.module_from_spec(
        importlib.util.spec_from_file_location(name, path, loader=loader)
    )
    loader.exec_module(module)
    return module


def select_arguments(register, positional, keywords):
    """ftrack_api.plugin.discover's reduction of the arguments to `register`'s signature.

    Returns (positional, keywords, dropped names or None when nothing was culled)."""
    spec = inspect.getfullargspec(register)
    if not spec.varargs and len(positional) > len(spec.args):
        return positional[len(spec.args):], {}, sorted(keywords)
    if spec.varkw:
        return positional, keywords, None
    remainder = spec.args[len(positional):]
    defined = spec.args[-len(spec.defaults):] if spec.defaults else []
    accepted = {name for name in defined if name in remainder}
    if set(keywords).issubset(accepted):
        return positional, keywords, None
    kept = {key: value for key, value in keywords.items() if key in accepted}
    return positional, kept, sorted(key for key in keywords if key not in accepted)


class PluginError(Exception):
    """A plugin that cannot be registered: the message is the one line the host logs."""


class HostSession(ftrack_api.Session):
    """A real ftrack_api.Session whose plugin discovery loads the one file the host names.

    ftrack's Session discovers plugins while it is constructed, right after making its event
    hub: that is where the hub is swapped for the host's and `register` is called, so a plugin
    sees the same order of things (schemas not loaded yet, the session's synchronous events to
    come) as under ftrack's own client."""

    def __init__(self, runner, **kwargs):
        self._runner = runner
        super().__init__(plugin_paths=[], auto_connect_event_hub=False, **kwargs)

    def _discover_plugins(self, plugin_arguments=None):
        runner = self._runner
        hub = HostEventHub(
            runner.link, runner.hub_id, self._server_url, self._api_user, self._api_key,
            headers=self._event_hub._headers, cookies=self._event_hub._cookies,
        )
        self._event_hub = hub
        hub.connect()
        runner.register(self)


class Runner:
    def __init__(self, link, init):
        self.link = link
        self.init = init
        self.path = init.get("plugin", "")
        self.instance = init.get("instance", "python")
        # The same for every runner the host starts for this instance (restarts included), so
        # replies to a publish reach the reply subscriber the host announced for the first.
        self.hub_id = init.get("instance_id") or uuid.uuid5(
            uuid.NAMESPACE_URL, "ftrack-host:{0}:{1}:{2}".format(
                platform.node(), os.getppid(), self.instance)).hex

    def register(self, session):
        try:
            module = load_source(self.path)
        except BaseException as error:
            self.link.log("debug", traceback.format_exc().rstrip())
            raise PluginError(
                'Failed to load plugin from "{0}": {1}'.format(self.path, _last_line(error))
            )
        register = getattr(module, "register", None)
        if register is None:
            raise PluginError(
                'Failed to load plugin that did not define a "register" function at the '
                "module level: {0}".format(self.path)
            )
        arguments = self.init.get("arguments") or {}
        positional, keywords, dropped = select_arguments(register, [session], arguments)
        if dropped is not None:
            # ftrack's own warning, naming what it leaves out.
            self.link.log("warning", "{0} Not passed: {1}.".format(
                CULL_WARNING, ", ".join(dropped) if dropped else "(none)"))
        try:
            register(*positional, **keywords)
        except Exception as error:
            self.link.log("error", "register of {0} raised:\n{1}".format(
                self.path, traceback.format_exc().rstrip()))
            raise PluginError('register of "{0}" failed: {1}'.format(self.path, _last_line(error)))

    def open_session(self):
        ca_file = self.init.get("ca_file")
        if ca_file:
            # The host's --ca-file: requests, under ftrack_api's session, trusts this bundle
            # for the server's certificate (this process's environment only).
            os.environ["REQUESTS_CA_BUNDLE"] = ca_file
        return HostSession(
            self,
            server_url=self.init.get("server_url"),
            api_user=self.init.get("api_user"),
            api_key=self.init.get("api_key"),
        )

    def serve(self, session):
        hub = session.event_hub
        while True:
            message = self.link.receive(object_hook=hub._decode_object_hook)
            if message is None:
                return 0  # the host is gone
            kind = message.get("type")
            if kind == "stop":
                return 0
            if kind == "event":
                self.link.send_text(hub.handle_message(message))


def main():
    link = Link()
    init = link.receive()
    if not init or init.get("type") != "init":
        link.send({"type": "error", "message": "expected an init message"})
        return 1
    root = logging.getLogger()
    root.addHandler(LinkHandler(link))
    root.setLevel(logging.INFO)
    logging.getLogger("ftrack_api").setLevel(logging.WARNING)
    runner = Runner(link, init)
    try:
        session = runner.open_session()
    except PluginError as error:
        link.send({"type": "error", "message": str(error)})
        return 1
    except Exception as error:
        link.send({"type": "error",
                   "message": "cannot open an ftrack_api session: " + _last_line(error)})
        return 1
    link.send({"type": "ready"})
    try:
        return runner.serve(session)
    finally:
        try:
            session.close()
        except Exception:
            pass


if __name__ == "__main__":
    sys.exit(main())
