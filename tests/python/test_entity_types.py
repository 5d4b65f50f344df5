# SPDX-License-Identifier: Apache-2.0
"""Item 3 (in part): entity types plugins touch beyond the first set: the documented "create a
project" example (its project_schema relation), timers (`user.start_timer`/`stop_timer`),
groups and memberships."""
import ftrack_api
import pytest


def test_create_a_project_as_documented(hub, session):
    project_schema = session.query("ProjectSchema").first()
    project = session.create("Project", {"name": "my_project", "full_name": "My Project",
                                         "project_schema": project_schema})
    sequence = session.create("Sequence", {"name": "seq_001", "parent": project})
    session.commit()
    other = hub.session()
    try:
        got = other.query('select project_schema.name from Project where name is "my_project"').one()
        assert got["project_schema"]["name"] == project_schema["name"]
        assert other.get("Sequence", sequence["id"])["project_id"] == project["id"]
    finally:
        other.close()


def test_timer_start_stop_makes_a_timelog(hub, session):
    user = session.query('User where username is "anna.lind"').one()
    task = session.query('Task where name is "compositing" and parent.name is "sh010" '
                         'and parent.parent.name is "sq010"').one()
    timer = user.start_timer(task, comment="comp pass", name="comp")
    assert timer["start"] is not None
    with pytest.raises(ftrack_api.exception.NotUniqueError):
        user.start_timer(task)
    session.rollback()
    timelog = user.stop_timer()
    assert timelog["comment"] == "comp pass"
    other = hub.session()
    try:
        assert other.query('Timer where user.username is "anna.lind"').all() == []
        logs = other.query('select comment, duration, context_id from Timelog '
                           'where user.username is "anna.lind"').all()
        assert [(l["comment"], l["context_id"]) for l in logs] == [("comp pass", task["id"])]
        assert logs[0]["duration"] >= 0
    finally:
        other.close()
    # force=True stops a running timer first.
    user.start_timer(task)
    user.start_timer(task, force=True)
    assert len(session.query('Timelog where user.username is "anna.lind"').all()) == 2


def test_groups_and_memberships(hub, session):
    ben = session.query('User where username is "ben.okafor"').one()
    chloe = session.query('User where username is "chloe.martin"').one()
    lighting = session.create("Group", {"name": "Lighting"})
    leads = session.create("Group", {"name": "Leads", "parent": lighting})
    session.create("Membership", {"group": lighting, "user": ben})
    session.create("Membership", {"group": leads, "user": chloe})
    session.commit()
    other = hub.session()
    try:
        names = sorted(u["username"] for u in other.query(
            'User where memberships any (group.name is "Lighting" or group.parent.name is '
            '"Lighting")'))
        assert names == ["ben.okafor", "chloe.martin"]
        group = other.query('select children.name, memberships.user.username from Group '
                            'where name is "Lighting"').one()
        assert [c["name"] for c in group["children"]] == ["Leads"]
        assert [m["user"]["username"] for m in group["memberships"]] == ["ben.okafor"]
    finally:
        other.close()
    session.delete(lighting)
    session.commit()
    assert session.query("Membership").all() == []
    assert session.query("Group").all() == []
