# SPDX-License-Identifier: Apache-2.0
"""Bad input through the official client: wrong types, unknown attributes and broken
references get ftrack's error shape, and nothing of the failed commit is written."""
import ftrack_api
import pytest


def server_error(session, operations):
    with pytest.raises(ftrack_api.exception.ServerError) as error:
        session.call(operations)
    return str(error.value)


def test_wrong_type_refused_and_nothing_changed(hub, session):
    shot = session.query('Shot where name is "sh010" and parent.name is "sq010"').one()
    shot["bid"] = "a lot"
    with pytest.raises(ftrack_api.exception.ServerError) as error:
        session.commit()
    assert "ValidationError" in str(error.value) and "Shot.bid must be a number" in str(error.value)
    session.rollback()
    other = hub.session()
    try:
        assert other.get("Shot", shot["id"])["bid"] != "a lot"
    finally:
        other.close()


def test_unknown_attribute_and_type(session):
    text = server_error(session, [{"action": "create", "entity_type": "Shot",
                                   "entity_data": {"name": "x", "nosuch": 1}}])
    assert 'ValidationError("nosuch" is not an attribute of Shot.)' in text
    text = server_error(session, [{"action": "create", "entity_type": "NoSuchType",
                                   "entity_data": {}}])
    assert "is not an entity type" in text


def test_broken_reference_undoes_the_whole_commit(hub, session):
    seq = session.query('Sequence where name is "sq010"').one()
    session.create("Shot", {"name": "sh_ok", "parent": seq})
    session.create("Task", {"name": "orphan", "parent_id": "00000000-0000-0000-0000-00000000dead"})
    with pytest.raises(ftrack_api.exception.ServerError) as error:
        session.commit()
    assert "no Context with id" in str(error.value)
    session.rollback()
    other = hub.session()
    try:
        assert other.query('Shot where name is "sh_ok"').all() == []
        assert other.query('Task where name is "orphan"').all() == []
    finally:
        other.close()
