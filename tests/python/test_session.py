# SPDX-License-Identifier: Apache-2.0
"""The official client's everyday start against the embedded hub: a session, the schemas, the
query language and a create/commit that another session reads back."""
import ftrack_api


def test_session_reads_seeded_project(session):
    assert session.server_url.startswith("http://127.0.0.1:")
    project = session.query('Project where name is "harbor"').one()
    assert project["full_name"] == "Harbor Lights"
    names = sorted(s["name"] for s in session.query(
        'Sequence where project.name is "harbor"'))
    assert names, "the seed has sequences"


def test_schemas_list_the_everyday_types(session):
    for name in ("Project", "Sequence", "Shot", "Task", "AssetVersion", "Component", "User",
                 "Note", "Status"):
        assert name in session.types, name


def test_created_entity_is_read_by_another_session(hub, session):
    project = session.query('Project where name is "harbor"').one()
    user = session.query('User where username is "anna.lind"').one()
    note = session.create("Note", {"content": "from python", "parent_id": project["id"],
                                   "parent_type": "Show", "user_id": user["id"]})
    session.commit()
    other = hub.session()
    try:
        got = other.query('select content from Note where id is "%s"' % note["id"]).one()
        assert got["content"] == "from python"
    finally:
        other.close()


def test_bad_query_is_a_server_error(session):
    try:
        session.query("Shot where nosuchattribute is 1").all()
    except ftrack_api.exception.ServerError as error:
        assert "nosuchattribute" in str(error)
    else:
        raise AssertionError("an unknown attribute in a query was accepted")
