# SPDX-License-Identifier: Apache-2.0
"""Items 8 and 9: every seeded user has its own API key (`ftrack-host hub --user-keys FILE`
writes them, never the log), a second user's changes and events carry that user, and a failed
/api request leaves one line in the hub's log (user, action, error)."""
import json
import os
import stat
import time

import ftrack_api
import pytest

from conftest import close_session


@pytest.fixture
def keyed_hub(start_hub, tmp_path):
    path = tmp_path / "user-keys.json"
    h = start_hub(["--user-keys", str(path)])
    h.user_keys = json.loads(path.read_text())
    h.user_keys_mode = stat.S_IMODE(os.stat(path).st_mode)
    return h


def test_keys_written_for_seeded_users_only_to_the_file(keyed_hub):
    keys = keyed_hub.user_keys
    assert sorted(keys) == ["ben.okafor", "chloe.martin", "diego.ruiz", "emi.sato"]
    assert keyed_hub.user_keys_mode == 0o600
    assert len(set(keys.values())) == 4, "each user has a key of its own"
    for key in list(keys.values()) + [keyed_hub.key]:
        assert key not in keyed_hub.log()


def test_second_user_authenticates_and_is_the_author(keyed_hub):
    ben = keyed_hub.session(user="ben.okafor", key=keyed_hub.user_keys["ben.okafor"])
    anna = keyed_hub.session(auto_connect_event_hub=True)
    try:
        seen = []
        anna.event_hub.subscribe("topic=ftrack.update", lambda event: seen.append(event))
        shot = ben.query('Shot where name is "sh030" and parent.name is "sq010"').one()
        me = ben.query('User where username is "ben.okafor"').one()
        # anna's subscription reaches the hub asynchronously: ben writes a note each second
        # until anna sees an ftrack.update from him.
        end = time.monotonic() + 20
        while not any(e["source"]["user"]["username"] == "ben.okafor" for e in seen):
            assert time.monotonic() < end, "no ftrack.update from ben.okafor: %r" % seen
            note = ben.create("Note", {"content": "from ben", "parent_id": shot["id"],
                                       "parent_type": "Shot"})
            ben.commit()
            until = time.monotonic() + 1
            while not seen and time.monotonic() < until:
                anna.event_hub.wait(0.1)
        stored = anna.query('select author.username from Note where id is "%s"'
                            % note["id"]).one()
        assert stored["author"]["username"] == "ben.okafor"
        assert stored["author"]["id"] == me["id"]
    finally:
        close_session(ben)
        close_session(anna)


def test_events_of_a_second_user_carry_that_user(keyed_hub):
    ben = keyed_hub.session(user="ben.okafor", key=keyed_hub.user_keys["ben.okafor"],
                            auto_connect_event_hub=True)
    anna = keyed_hub.session(auto_connect_event_hub=True)
    try:
        got = []
        anna.event_hub.subscribe("topic=test.who and source.user.username=ben.okafor",
                                 lambda event: got.append(event))
        # Wait until the subscription is filed: publish until one arrives.
        end = time.monotonic() + 10
        while not got:
            assert time.monotonic() < end, "ben's event never reached anna"
            ben.event_hub.publish(ftrack_api.event.base.Event(topic="test.who", data={"n": 1}))
            anna.event_hub.wait(0.2)
        assert got[0]["source"]["user"]["username"] == "ben.okafor"
        # ignore_own_user-style filtering: anna's own event does not match the subscription.
        before = len(got)
        anna.event_hub.publish(ftrack_api.event.base.Event(topic="test.who", data={"n": 2}))
        ben.event_hub.publish(ftrack_api.event.base.Event(topic="test.who", data={"n": 3}))
        end = time.monotonic() + 10
        while not any(e["data"].get("n") == 3 for e in got):
            assert time.monotonic() < end
            anna.event_hub.wait(0.1)
        assert all(e["data"]["n"] != 2 for e in got[before:])
    finally:
        close_session(ben)
        close_session(anna)


def test_wrong_key_refused_and_logged(keyed_hub):
    with pytest.raises(ftrack_api.exception.ServerError) as error:
        keyed_hub.session(user="ben.okafor", key=keyed_hub.user_keys["chloe.martin"])
    assert "API key" in str(error.value)
    keyed_hub.wait_log(r"api: request by ben\.okafor failed: authentication: "
                              r"InvalidCredentialsError")
    assert keyed_hub.user_keys["chloe.martin"] not in keyed_hub.log()


def test_failed_request_logs_one_line(keyed_hub):
    chloe = keyed_hub.session(user="chloe.martin", key=keyed_hub.user_keys["chloe.martin"])
    with pytest.raises(ftrack_api.exception.ServerError):
        chloe.query("Shot where nosuch is 1").all()
    keyed_hub.wait_log(r"api: request by chloe\.martin failed")
    lines = [l for l in keyed_hub.lines if "api: request by chloe.martin failed" in l]
    assert len(lines) == 1, lines
    assert "failed: query: " in lines[0] and "nosuch" in lines[0], lines[0]
    before = len(keyed_hub.lines)
    asset_type = chloe.query("AssetType").first()
    chloe.create("Asset", {"name": "orphan", "type": asset_type})
    with pytest.raises(ftrack_api.exception.ServerError):
        chloe.commit()
    chloe.rollback()
    line = keyed_hub.wait_log(r"api: request by chloe\.martin failed: commit: ValidationError: "
                              r"Asset\.context_id is required")
    assert keyed_hub.lines.index(line) >= before
    close_session(chloe)
