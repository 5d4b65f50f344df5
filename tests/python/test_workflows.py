# SPDX-License-Identifier: Apache-2.0
"""Item 3: the task and version workflows and the task type schema of a ProjectSchema, which
ftrack's Python client reads for `get_statuses('Task')` (with a task type's override),
`get_statuses('AssetVersion')` and `get_types('Task')`. The seeded schema gets them from the
seed's statuses and types; a schema created without them gets them the same way; one created
with its own keeps its own."""
import json

from conftest import SEED


def _seeded(entity_type):
    """The ids of the seed's `entity_type` entities, lowest sort first."""
    with open(SEED) as f:
        entities = json.load(f)["entities"]
    rows = [e for e in entities if e["__entity_type__"] == entity_type]
    return [e["id"] for e in sorted(rows, key=lambda e: e["sort"])]


def _project_schema(session):
    return session.query('Project where name is "harbor"').one()["project_schema"]


def test_task_and_version_workflows_and_task_types_of_the_seeded_schema(hub, session):
    statuses, types = _seeded("Status"), _seeded("Type")
    assert len(statuses) == 8 and len(types) == 9
    ps = _project_schema(session)
    assert [s["id"] for s in ps.get_statuses("Task")] == statuses
    assert [s["id"] for s in ps.get_statuses("AssetVersion")] == statuses
    assert [t["id"] for t in ps.get_types("Task")] == types
    assert all(s.entity_type == "Status" for s in ps.get_statuses("Task"))
    assert all(t.entity_type == "Type" for t in ps.get_types("Task"))
    # No override for this task type: the task workflow.
    assert [s["id"] for s in ps.get_statuses("Task", types[0])] == statuses
    # The workflows are entities of their own, queryable as the web interface lists them.
    assert ps["_task_workflow"]["name"] == "VFX Scheme (tasks)"
    assert len(session.query("WorkflowSchemaStatus").all()) == 2 * len(statuses)
    assert len(session.query("TaskTypeSchemaType").all()) == len(types)


def test_a_task_type_override(hub, session):
    statuses, types = _seeded("Status"), _seeded("Type")
    ps = _project_schema(session)
    short = [session.get("Status", i) for i in (statuses[0], statuses[-1])]
    workflow = session.create("WorkflowSchema", {"name": "Animation only", "statuses": short})
    override = session.create("ProjectSchemaOverride", {
        "project_schema": ps, "type_id": types[0], "workflow_schema": workflow})
    session.commit()
    other = hub.session()
    try:
        ps2 = other.get("ProjectSchema", ps["id"])
        assert [s["id"] for s in ps2.get_statuses("Task", types[0])] == [statuses[0],
                                                                         statuses[-1]]
        assert [s["id"] for s in ps2.get_statuses("Task", types[1])] == statuses
        assert [s["id"] for s in ps2.get_statuses("Task")] == statuses
    finally:
        other.close()
    assert len(session.query("WorkflowSchemaStatus").all()) == 2 * len(statuses) + 2
    session.delete(override)
    session.delete(workflow)
    session.commit()
    # The workflow's link rows go with it; the statuses stay.
    assert len(session.query("WorkflowSchemaStatus").all()) == 2 * len(statuses)
    assert len(session.query("Status").all()) == len(statuses)
    assert session.query("ProjectSchemaOverride").all() == []


def test_per_object_type_workflow_still_served(hub, session):
    statuses = _seeded("Status")
    ps = _project_schema(session)
    shot_type = session.query('ObjectType where name is "Shot"').one()
    schema = session.create("Schema", {"project_schema": ps, "type_id": shot_type["id"]})
    session.create("SchemaStatus", {"schema": schema, "task_status_id": statuses[2]})
    session.commit()
    assert [s["id"] for s in ps.get_statuses("Shot")] == [statuses[2]]
    assert [s["id"] for s in ps.get_statuses("Task")] == statuses


def test_a_new_schema_gets_workflows_unless_given(hub, session):
    statuses, types = _seeded("Status"), _seeded("Type")
    derived = session.create("ProjectSchema", {"name": "Commercials"})
    session.commit()
    own = session.create("WorkflowSchema", {"name": "Short",
                                            "statuses": [session.get("Status", statuses[1])]})
    given = session.create("ProjectSchema", {"name": "Games", "_task_workflow": own})
    session.commit()
    other = hub.session()
    try:
        d = other.get("ProjectSchema", derived["id"])
        assert [s["id"] for s in d.get_statuses("Task")] == statuses
        assert [t["id"] for t in d.get_types("Task")] == types
        g = other.get("ProjectSchema", given["id"])
        assert [s["id"] for s in g.get_statuses("Task")] == [statuses[1]]
        assert [s["id"] for s in g.get_statuses("AssetVersion")] == statuses
        assert g["_task_workflow"]["id"] == own["id"]
    finally:
        other.close()
