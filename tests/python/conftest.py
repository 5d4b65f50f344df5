# SPDX-License-Identifier: Apache-2.0
"""Fixtures for the tests that drive ftrack's official Python client (ftrack_api) against a
fresh embedded hub: `ftrack-host hub` on an ephemeral port, seeded with the sample studio and
kept in memory. Every wait has a time limit; the hub's log is checked for sanitizer reports."""
import os
import re
import secrets
import signal
import subprocess
import tempfile
import threading
import time

import pytest

SOURCE_DIR = os.environ.get(
    "FTRACK_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
SEED = os.path.join(SOURCE_DIR, "host", "hub", "seed-sample.json")
USER = "anna.lind"
SANITIZER_REPORT = re.compile(r"ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:")


def host_bin():
    path = os.environ.get("FTRACK_HOST_BIN")
    if not path:
        raise RuntimeError("FTRACK_HOST_BIN is not set (run through ctest)")
    return path


def wait_for(fn, seconds, what):
    """Poll fn until it returns something truthy; fail after `seconds`."""
    end = time.monotonic() + seconds
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError("timed out after %ss waiting for %s" % (seconds, what))
        time.sleep(0.02)


class Hub(object):
    """A running `ftrack-host hub`; its stderr is collected line by line in `lines`."""

    def __init__(self, extra_args=(), user=USER, seed=SEED):
        self.dir = tempfile.mkdtemp(prefix="ftrack-pyhub-")
        self.user = user
        self.key = "py-" + secrets.token_hex(16)
        args = [host_bin(), "hub", "--listen", "127.0.0.1:0", "--data-dir", self.dir,
                "--store", "memory"]
        if seed:
            args += ["--seed", seed]
        env = dict(os.environ, FTRACK_API_USER=user, FTRACK_API_KEY=self.key)
        env.pop("FTRACK_SERVER", None)
        self.proc = subprocess.Popen(list(args) + list(extra_args), env=env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, universal_newlines=True)
        self.lines = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.url = wait_for(self._url, 30, "the hub's URL line")

    def _read(self):
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def _url(self):
        if self.proc.poll() is not None:
            raise AssertionError("the hub exited (%s):\n%s" % (self.proc.returncode, self.log()))
        for line in list(self.lines):
            m = re.search(r"http://127\.0\.0\.1:\d+", line)
            if m:
                return m.group(0)
        return None

    def log(self):
        return "\n".join(self.lines)

    def wait_log(self, pattern, seconds=10):
        """The first log line matching `pattern` (a regular expression)."""
        rx = re.compile(pattern)
        return wait_for(lambda: next((l for l in list(self.lines) if rx.search(l)), None),
                        seconds, "a hub log line matching %r" % pattern)

    def session(self, user=None, key=None, **kwargs):
        import ftrack_api
        kwargs.setdefault("auto_connect_event_hub", False)
        kwargs.setdefault("plugin_paths", [])
        kwargs.setdefault("schema_cache_path", False)
        return ftrack_api.Session(server_url=self.url, api_user=user or self.user,
                                  api_key=key or self.key, **kwargs)

    def stop(self):
        """SIGTERM, then SIGKILL after 15 s; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self._reader.join(5)
        subprocess.run(["rm", "-rf", self.dir], check=False)
        return self.proc.returncode


def close_session(session):
    """Close a session, its event hub connection included, within a time limit."""
    done = threading.Event()

    def close():
        try:
            session.close()
        finally:
            done.set()

    threading.Thread(target=close, daemon=True).start()
    assert done.wait(20), "session.close() did not return within 20 s"


def finish(h):
    """Stop a hub; fail on a sanitizer report or a non-zero exit."""
    status = h.stop()
    reports = [l for l in h.lines if SANITIZER_REPORT.search(l)]
    assert not reports, "sanitizer report in the hub's log:\n" + h.log()
    assert status == 0, "the hub exited with %s:\n%s" % (status, h.log())


@pytest.fixture
def hub():
    h = Hub()
    try:
        yield h
    finally:
        finish(h)


@pytest.fixture
def start_hub():
    """start_hub(extra_args): hubs with more options, all stopped at the end."""
    hubs = []

    def start(extra_args=()):
        hubs.append(Hub(extra_args))
        return hubs[-1]

    try:
        yield start
    finally:
        for h in hubs:
            finish(h)


def until(session, done, seconds, what, again=None):
    """Wait for done() while `session` handles its events; call again() each second meanwhile:
    subscriptions (a session's own reply subscription too) reach the hub asynchronously, so
    an event published early may find no subscriber yet."""
    end = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < end, "timed out after %ss waiting for %s" % (seconds, what)
        if again:
            again()
        stop = time.monotonic() + 1
        while not done() and time.monotonic() < stop:
            session.event_hub.wait(0.1)


def ask(session, topic, data, seconds=20):
    """Publish until a reply comes (the handlers asked answer the same every time); return
    the data of the first reply."""
    import ftrack_api
    replies = []

    def publish():
        session.event_hub.publish(ftrack_api.event.base.Event(topic=topic, data=data),
                                  on_reply=lambda event: replies.append(event["data"]))

    until(session, lambda: replies, seconds, "a reply to " + topic, again=publish)
    return replies[0]


@pytest.fixture
def connected(hub):
    """A session as anna.lind connected to the hub's events."""
    s = hub.session(auto_connect_event_hub=True)
    try:
        yield s
    finally:
        close_session(s)


@pytest.fixture
def session(hub):
    """A connected ftrack_api.Session as anna.lind (no event hub connection)."""
    s = hub.session()
    try:
        yield s
    finally:
        close_session(s)
