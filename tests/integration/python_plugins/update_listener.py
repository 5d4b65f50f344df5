# SPDX-License-Identifier: Apache-2.0
"""An ftrack.update listener that reads and writes through its own session: when a task is
renamed, it queries the task and records the new name in its description."""
import logging

logger = logging.getLogger("update_listener")


def register(session, **kw):
    def on_update(event):
        for entity in event["data"].get("entities", []):
            if entity.get("entityType") != "task" or "name" not in entity.get("keys", []):
                continue
            task = session.query(
                'select name, description from Task where id is "%s"' % entity["entityId"]
            ).one()
            task["description"] = "renamed to %s (seen by update_listener)" % task["name"]
            session.commit()
            logger.info("described task %s", task["name"])

    session.event_hub.subscribe("topic=ftrack.update", on_update)
