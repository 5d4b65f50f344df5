# SPDX-License-Identifier: Apache-2.0
"""An action built on ftrack-action-handler's BaseAction, as many studios write them."""
from ftrack_action_handler.action import BaseAction


class GreetAction(BaseAction):
    label = "Greet"
    identifier = "test.handler_action"
    description = "Greets the selected tasks"

    def discover(self, session, entities, event):
        # BaseAction names a task selection by the schema aliased to "Task" (TypedContext, as
        # on ftrack's servers); the entity itself says what it is.
        return bool(entities) and all(
            session.get(entity_type, entity_id).entity_type == "Task"
            for entity_type, entity_id in entities)

    def interface(self, session, entities, event):
        if event["data"].get("values"):
            return None
        return [{"type": "text", "label": "Greeting", "name": "greeting", "value": "hello"}]

    def launch(self, session, entities, event):
        names = [session.get(entity_type, entity_id)["name"] for entity_type, entity_id in entities]
        greeting = event["data"]["values"]["greeting"]
        return {"success": True, "message": "%s %s" % (greeting, ", ".join(names))}


def register(session, **kw):
    if not isinstance(session, __import__("ftrack_api").Session):
        return
    GreetAction(session).register()
