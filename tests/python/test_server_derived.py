# SPDX-License-Identifier: Apache-2.0
"""Item 2: what a create derives on the server (project, bid, sort, default priority, a
component's system type), what it refuses (missing required attributes, duplicate sibling
names) and what a delete takes with it, all through the official client."""
import pytest

import ftrack_api


def refused_commit(session):
    """Commit, which must fail; roll back; return the server's message."""
    with pytest.raises(ftrack_api.exception.ServerError) as error:
        session.commit()
    session.rollback()
    return str(error.value)


def harbor(session):
    return session.query('Project where name is "harbor"').one()


def test_new_sequence_and_shot_are_found_by_project(hub, session):
    project = harbor(session)
    seq = session.create("Sequence", {"name": "sq900", "parent": project})
    shot = session.create("Shot", {"name": "sh900", "parent": seq})
    session.commit()
    other = hub.session()
    try:
        got = other.query('select project_id, bid, sort, priority.name from Shot '
                          'where project.name is "harbor" and name is "sh900"').one()
        assert got["id"] == shot["id"]
        assert got["project_id"] == project["id"]
        assert got["bid"] == 0 and got["sort"] == 0
        assert got["priority"] is not None, "a project with a workflow schema gives a priority"
        assert other.get("Sequence", seq["id"])["project_id"] == project["id"]
        # The project itself is reachable through the new entities' project relation.
        assert got["project"]["name"] == "harbor"
    finally:
        other.close()


def test_required_attribute_refused_and_nothing_written(hub, session):
    asset_type = session.query("AssetType").first()
    session.create("Asset", {"name": "orphan", "type": asset_type})
    assert "Asset.context_id is required" in refused_commit(session)
    assert session.query('Asset where name is "orphan"').all() == []


def test_duplicate_sibling_names_refused(session):
    seq = session.query('select name from Sequence where name is "sq010"').one()
    session.create("Shot", {"name": "SH010", "parent": seq})
    assert "already used" in refused_commit(session)
    # The same name under another parent is fine.
    other_seq = session.create("Sequence", {"name": "sq901", "parent": harbor(session)})
    session.create("Shot", {"name": "sh010", "parent": other_seq})
    session.commit()
    renamed = session.query('Shot where name is "sh020" and parent.name is "sq010"').one()
    renamed["name"] = "sh030"
    assert "already used" in refused_commit(session)


def test_deleting_a_sequence_deletes_its_shots_tasks_and_notes(hub, session):
    seq = session.query('select name from Sequence where name is "sq020"').one()
    shot_ids = [s["id"] for s in session.query('Shot where parent.name is "sq020"')]
    assert len(shot_ids) == 3
    task_ids = [t["id"] for t in session.query(
        "Task where parent_id in (%s)" % ", ".join(shot_ids))]
    assert task_ids
    session.delete(seq)
    session.commit()
    other = hub.session()
    try:
        assert other.query('Sequence where name is "sq020"').all() == []
        assert other.query("Context where id in (%s)" % ", ".join(shot_ids + task_ids)).all() == []
        # Siblings elsewhere are untouched.
        assert len(other.query('Shot where parent.name is "sq010"').all()) == 3
    finally:
        other.close()


def test_component_gets_its_system_type(session):
    version = session.query("AssetVersion").first()
    component = session.create("FileComponent", {"name": "plain", "version": version, "size": 1})
    session.commit()
    assert session.query('select system_type from FileComponent where id is "%s"'
                         % component["id"]).one()["system_type"] == "file"
