# SPDX-License-Identifier: Apache-2.0
"""A classic ftrack action, written for ftrack's Python client: discover, then launch (a form
first, then the launch with the form's values)."""
import logging

IDENTIFIER = "test.classic_action"
logger = logging.getLogger("classic_action")


def register(session, **kw):
    def discover(event):
        return {"items": [{"label": "Classic echo", "actionIdentifier": IDENTIFIER}]}

    def launch(event):
        values = event["data"].get("values")
        if not values:
            return {"items": [{"type": "text", "label": "Note", "name": "note", "value": ""}]}
        selection = event["data"].get("selection", [])
        names = []
        for item in selection:
            entity = session.get("Task", item["entityId"])
            names.append(entity["name"] if entity else None)
        logger.info("launched with %s on %s", values, names)
        return {"success": True, "message": "classic: %s on %s" % (values["note"], names)}

    session.event_hub.subscribe("topic=ftrack.action.discover", discover)
    session.event_hub.subscribe(
        "topic=ftrack.action.launch and data.actionIdentifier=%s" % IDENTIFIER, launch
    )
