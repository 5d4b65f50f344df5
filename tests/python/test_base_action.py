# SPDX-License-Identifier: Apache-2.0
"""Item 4: ftrack-action-handler's BaseAction, unmodified, against the hub. The selection an
ftrack web page sends names typed contexts "task" and projects "show"; BaseAction translates
them through the schemas' `alias_for` (TypedContext → "Task", Project → "Show") and fetches the
entities. Discover, then launch without values (a form), then launch with values (a result),
for Task, Shot, Project and AssetVersion selections, across two connected sessions."""
import threading

import ftrack_api
import pytest
from ftrack_action_handler.action import BaseAction

from conftest import ask, close_session


class DescribeAction(BaseAction):
    label = "Describe"
    identifier = "test.describe"

    def discover(self, session, entities, event):
        # Every selected entity must resolve: a None here means a failed translation.
        return bool(entities) and all(session.get(t, i) is not None for t, i in entities)

    def interface(self, session, entities, event):
        if not event["data"].get("values"):
            return [{"type": "text", "name": "prefix", "label": "Prefix", "value": ">"}]
        return None

    def launch(self, session, entities, event):
        found = [session.get(t, i) for t, i in entities]
        prefix = event["data"]["values"]["prefix"]
        return {"success": True,
                "message": prefix + ",".join("%s:%s" % (e.entity_type, e["id"]) for e in found)}


@pytest.fixture
def action(hub):
    """The action registered in its own connected session, handling events in a thread."""
    session = hub.session(auto_connect_event_hub=True)
    DescribeAction(session).register()
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            session.event_hub.wait(0.2)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        wait_until_served(hub)
        yield session
    finally:
        stop.set()
        thread.join(10)
        close_session(session)


def wait_until_served(hub):
    """The action's subscriptions reach the hub asynchronously: discover until it answers."""
    probe = hub.session(auto_connect_event_hub=True)
    try:
        project = probe.query('Project where name is "harbor"').one()
        ask(probe, "ftrack.action.discover",
            {"selection": [{"entityId": project["id"], "entityType": "show"}]})
    finally:
        close_session(probe)


def selections(session):
    task = session.query('Task where name is "animation" and parent.name is "sh010"').first()
    shot = session.query('Shot where name is "sh020" and parent.name is "sq010"').one()
    project = session.query('Project where name is "harbor"').one()
    version = session.query("AssetVersion where version is 2").one()
    return [("Task", task["id"], "task"), ("Shot", shot["id"], "task"),
            ("Project", project["id"], "show"), ("AssetVersion", version["id"], "assetversion")]


@pytest.mark.parametrize("index", range(4), ids=["task", "shot", "project", "assetversion"])
def test_discover_and_launch(action, connected, index):
    caller = connected
    real_type, entity_id, selection_type = selections(caller)[index]
    selection = [{"entityId": entity_id, "entityType": selection_type}]
    found = ask(caller, "ftrack.action.discover", {"selection": selection})
    assert found["items"][0]["actionIdentifier"] == "test.describe", found
    launch = {"actionIdentifier": "test.describe", "selection": selection}
    form = ask(caller, "ftrack.action.launch", launch)
    assert form["items"][0]["name"] == "prefix", form
    result = ask(caller, "ftrack.action.launch", dict(launch, values={"prefix": "#"}))
    assert result == {"success": True, "message": "#%s:%s" % (real_type, entity_id)}, result


def test_unknown_selection_type_gets_no_reply_items(action, connected):
    caller = connected
    # An entity type no schema names: BaseAction raises in its handler; the caller sees no
    # action offered (and the hub and both sessions stay up).
    replies = []
    caller.event_hub.publish(
        ftrack_api.event.base.Event(topic="ftrack.action.discover", data={
            "selection": [{"entityId": "x", "entityType": "nosuchtype"}]}),
        on_reply=lambda event: replies.append(event["data"]))
    # A known selection afterwards still gets its answer: the failure did not wedge anything.
    project = caller.query('Project where name is "harbor"').one()
    found = ask(caller, "ftrack.action.discover",
                {"selection": [{"entityId": project["id"], "entityType": "show"}]})
    assert found["items"][0]["label"] == "Describe"
    assert not any(r.get("items") for r in replies), replies
