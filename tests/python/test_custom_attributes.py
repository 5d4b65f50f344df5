# SPDX-License-Identifier: Apache-2.0
"""Item 5: custom attributes. Configurations made through the API apply to the entities they
match (shots by object type, the project, hierarchical ones everywhere); each such entity shows
every configured key in `custom_attributes` (the default until set), and setting one is kept."""
import pytest


def configure(session):
    shot_type = session.query('ObjectType where name is "Shot"').one()
    session.create("CustomAttributeConfiguration", {
        "key": "fstart", "label": "Frame start", "entity_type": "task",
        "object_type_id": shot_type["id"], "default": 1001})
    session.create("CustomAttributeConfiguration", {
        "key": "fps", "label": "Frame rate", "entity_type": "show", "default": 24.0})
    session.create("CustomAttributeConfiguration", {
        "key": "client_code", "label": "Client code", "entity_type": "task",
        "is_hierarchical": True, "default": "HL"})
    session.commit()


def shot_sh010(session):
    return session.query('Shot where name is "sh010" and parent.name is "sq010"').one()


def test_configured_keys_appear_with_defaults(hub, session):
    configure(session)
    # The client reads the configurations once per session: read them in a new one.
    reader = hub.session()
    try:
        shot = shot_sh010(reader)
        values = dict(shot["custom_attributes"])
        assert values == {"fstart": 1001, "client_code": "HL"}, values
        project = reader.query('Project where name is "harbor"').one()
        assert dict(project["custom_attributes"]) == {"fps": 24.0, "client_code": "HL"}
        with pytest.raises(KeyError):
            shot["custom_attributes"]["no_such_key"]
        # A task is not a shot: only the hierarchical one applies.
        task = reader.query('Task where parent.name is "sh010"').first()
        assert dict(task["custom_attributes"]) == {"client_code": "HL"}
    finally:
        reader.close()


def test_setting_a_custom_attribute_is_kept(hub, session):
    configure(session)
    writer = hub.session()
    try:
        shot = shot_sh010(writer)
        shot["custom_attributes"]["fstart"] = 1009
        writer.commit()
    finally:
        writer.close()
    reader = hub.session()
    try:
        assert shot_sh010(reader)["custom_attributes"]["fstart"] == 1009
        got = reader.query('select value from ContextCustomAttributeValue where key is "fstart" '
                           'and entity_id is "%s"' % shot["id"]).one()
        assert got["value"] == 1009
        # Filtering by a custom attribute value, as pipeline scripts do.
        found = reader.query('Shot where custom_attributes any (key is "fstart" and value is 1009)')
        assert [s["id"] for s in found] == [shot["id"]]
    finally:
        reader.close()


def test_new_entities_get_the_configured_keys(hub, session):
    configure(session)
    writer = hub.session()
    try:
        seq = writer.query('Sequence where name is "sq010"').one()
        shot = writer.create("Shot", {"name": "sh777", "parent": seq})
        writer.commit()
        fresh = hub.session()
        try:
            assert dict(fresh.get("Shot", shot["id"])["custom_attributes"]) == {
                "fstart": 1001, "client_code": "HL"}
        finally:
            fresh.close()
    finally:
        writer.close()
