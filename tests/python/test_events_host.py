# SPDX-License-Identifier: Apache-2.0
"""Events across languages: ftrack's Python client and our host's C plugins on one hub. A
Python publisher gets the reply of the host's echo plugin; the host's relay plugin publishes
and a Python subscriber with a compound expression receives it; a Python `register(session)`
style discover handler is found by `ftrack-host publish`."""
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time

import ftrack_api
import pytest

from conftest import ask, host_bin, until, wait_for


@pytest.fixture
def host(hub):
    """ftrack-host with the echo and relay test plugins, connected to the hub."""
    plugin_dir = tempfile.mkdtemp(prefix="ftrack-pyplugins-")
    data_dir = tempfile.mkdtemp(prefix="ftrack-pyhost-")
    built = os.environ["FTRACK_TEST_PLUGIN_DIR"]
    for name in ("echo", "relay"):
        shutil.copy(os.path.join(built, name, "test_plugin_%s.so" % name), plugin_dir)
    env = dict(os.environ, FTRACK_SERVER=hub.url, FTRACK_API_USER=hub.user,
               FTRACK_API_KEY=hub.key)
    env.pop("FTRACK_EVENT_PLUGIN_PATH", None)
    log_path = os.path.join(data_dir, "host.log")
    log = open(log_path, "w")
    proc = subprocess.Popen([host_bin(), "--plugin-path", plugin_dir, "--data-dir", data_dir],
                            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=log)
    try:
        wait_for(lambda: "ready:" in open(log_path).read() or proc.poll() is not None, 30,
                 "ftrack-host to get ready")
        assert proc.poll() is None, open(log_path).read()
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()
        text = open(log_path).read()
        shutil.rmtree(plugin_dir, ignore_errors=True)
        shutil.rmtree(data_dir, ignore_errors=True)
        assert proc.returncode == 0, "ftrack-host exited %s:\n%s" % (proc.returncode, text)
        assert "Sanitizer" not in text and "runtime error:" not in text, text


def test_python_publisher_gets_the_host_plugins_reply(host, connected):
    reply = ask(connected, "test.echo", {"n": 5})
    assert reply["data"] == {"n": 5}
    assert reply["arguments"]["tag"] == "echo"


def test_python_subscriber_with_compound_expression_gets_the_plugins_event(host, connected):
    py = connected
    got = []
    # Event values are compared as text by the client, so the numbers are checked below.
    py.event_hub.subscribe("topic=test.relayed and (data.phase=callback or data.phase=never) "
                           "and not source.id=nobody", lambda event: got.append(event))

    def publish():
        for i in (6, 7):
            py.event_hub.publish(ftrack_api.event.base.Event(topic="test.rel", data={"i": i}))

    until(py, lambda: any(e["data"]["i"] == 7 for e in got), 20, "the relay plugin's event",
          again=publish)
    assert all(e["data"]["phase"] == "callback" for e in got), got


def test_synchronous_publish_runs_local_handlers(connected):
    py = connected
    py.event_hub.subscribe("topic=test.sync", lambda event: {"double": event["data"]["n"] * 2})
    results = py.event_hub.publish(
        ftrack_api.event.base.Event(topic="test.sync", data={"n": 21}), synchronous=True)
    assert results == [{"double": 42}]


def test_python_action_discovered_by_ftrack_host_publish(hub, connected):
    py = connected
    def discover(event):
        return {"items": [{"label": "From Python", "actionIdentifier": "py.action"}]}

    py.event_hub.subscribe("topic=ftrack.action.discover", discover)
    stop = threading.Event()
    thread = threading.Thread(target=lambda: [py.event_hub.wait(0.2) for _ in iter(stop.is_set, True)],
                              daemon=True)
    thread.start()
    env = dict(os.environ, FTRACK_SERVER=hub.url, FTRACK_API_USER=hub.user,
               FTRACK_API_KEY=hub.key)
    try:
        end = time.monotonic() + 30
        while True:
            run = subprocess.run([host_bin(), "publish", "ftrack.action.discover",
                                  "--data", json.dumps({"selection": []}), "--wait-reply", "2"],
                                 env=env, capture_output=True, text=True, timeout=60)
            if run.returncode == 0:
                break
            assert time.monotonic() < end, run.stderr
        replies = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
        items = [i for r in replies for i in r.get("data", r).get("items", [])]
        assert {"label": "From Python", "actionIdentifier": "py.action"} in items, replies
    finally:
        stop.set()
        thread.join(10)
