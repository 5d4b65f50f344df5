# SPDX-License-Identifier: Apache-2.0
"""Item 3: the entity types plugins touch beyond contexts, assets and notes: asset builds,
dependencies (TypedContextLink), note labels, task templates, review sessions, lists and the
per-object-type workflows behind `project_schema.get_statuses()`/`get_types()`. Each is used as
plugins use it: create, query, follow relations, delete (and what it owns goes with it)."""
import ftrack_api
import pytest

ASSET_BUILD_TYPE = "ab77c654-df17-11e2-b2f3-20c9d0831e59"


def _project(session):
    return session.query('Project where name is "harbor"').one()


def _shot(session, name="sh010"):
    return session.query('Shot where name is "%s" and parent.name is "sq010"' % name).one()


def test_asset_build_is_a_typed_context(hub, session):
    project = _project(session)
    folder = session.create("Folder", {"name": "builds", "parent": project})
    build = session.create("AssetBuild", {"name": "lighthouse", "parent": folder})
    task = session.create("Task", {"name": "modeling", "parent": build})
    session.commit()
    other = hub.session()
    try:
        got = other.query('AssetBuild where name is "lighthouse" and project.name is "harbor"').one()
        assert got["object_type_id"] == got["object_type"]["id"] == ASSET_BUILD_TYPE
        assert got["parent"]["name"] == "builds"
        assert [c["name"] for c in got["children"]] == ["modeling"]
        assert [l["name"] for l in other.get("Task", task["id"])["link"]] == [
            "harbor", "builds", "lighthouse", "modeling"]
        # It is a TypedContext: found by the base type, with the Task alias in its schema.
        assert other.query('TypedContext where id is "%s"' % build["id"]).one().entity_type \
            == "AssetBuild"
        schema = next(s for s in other.schemas if s["id"] == "AssetBuild")
        assert schema["alias_for"]["id"] == "Task"
    finally:
        other.close()
    session.delete(build)
    session.commit()
    assert session.query('Task where id is "%s"' % task["id"]).first() is None


def test_dependencies_between_contexts(hub, session):
    sh010, sh020 = _shot(session, "sh010"), _shot(session, "sh020")
    link = session.create("TypedContextLink", {"from": sh010, "to": sh020})
    session.commit()
    other = hub.session()
    try:
        shot = other.get("Shot", sh020["id"])
        assert [l["from"]["name"] for l in shot["incoming_links"]] == ["sh010"]
        assert [l["to"]["name"] for l in other.get("Shot", sh010["id"])["outgoing_links"]] == [
            "sh020"]
        assert len(other.query('TypedContextLink where to.name is "sh020" and '
                               'from.name is "sh010"').all()) == 1
    finally:
        other.close()
    session.delete(link)
    session.commit()
    assert session.query("TypedContextLink").all() == []


def test_note_labels_through_create_note(hub, session):
    label = session.create("NoteLabel", {"name": "Client feedback", "color": "#ff0000"})
    session.commit()
    shot = _shot(session)
    user = session.query('User where username is "anna.lind"').one()
    note = shot.create_note("more fog", author=user, labels=[label])
    session.commit()
    other = hub.session()
    try:
        got = other.query('select note_label_links.label.name from Note where id is "%s"'
                          % note["id"]).one()
        assert [l["label"]["name"] for l in got["note_label_links"]] == ["Client feedback"]
        assert len(other.query('Note where note_label_links any (label.name is "Client feedback")')
                   .all()) == 1
    finally:
        other.close()
    session.delete(note)
    session.commit()
    assert session.query("NoteLabelLink").all() == []
    assert session.query('NoteLabel where name is "Client feedback"').one()


def test_task_templates(hub, session):
    schema = _project(session)["project_schema"]
    types = session.query("Type").all()[:2]
    assert len(types) == 2, "the seed has task types"
    template = session.create("TaskTemplate", {"name": "Shot setup", "project_schema": schema})
    for t in types:
        session.create("TaskTemplateItem", {"template": template, "task_type": t})
    session.commit()
    other = hub.session()
    try:
        got = other.query('select items.task_type.name from TaskTemplate where '
                          'project_schema.id is "%s"' % schema["id"]).one()
        assert sorted(i["task_type"]["name"] for i in got["items"]) == sorted(
            t["name"] for t in types)
        assert [t["name"] for t in other.get("ProjectSchema", schema["id"])["task_templates"]] == [
            "Shot setup"]
    finally:
        other.close()
    session.delete(template)
    session.commit()
    assert session.query("TaskTemplateItem").all() == []
    # An item must name its template.
    with pytest.raises(ftrack_api.exception.ServerError):
        session.create("TaskTemplateItem", {"task_type": types[0]})
        session.commit()
    session.rollback()


def test_review_session_with_versions(hub, session):
    project = _project(session)
    versions = session.query("AssetVersion").all()[:2]
    assert versions, "the seed has versions"
    review = session.create("ReviewSession", {"name": "dailies", "project": project,
                                              "description": "Monday"})
    for n, v in enumerate(versions):
        session.create("ReviewSessionObject", {"review_session": review, "asset_version": v,
                                               "name": v["asset"]["name"],
                                               "version": "v%d" % v["version"],
                                               "sort_order": n})
    session.commit()
    other = hub.session()
    try:
        got = other.query('select review_session_objects.asset_version.id, created_at, '
                          'created_by.username from ReviewSession where project.name is "harbor"'
                          ).one()
        assert [o["asset_version"]["id"] for o in sorted(
            got["review_session_objects"], key=lambda o: o["sort_order"])] == [
                v["id"] for v in versions]
        assert got["created_at"] is not None
        assert got["created_by"]["username"] == "anna.lind"
        assert len(other.query('ReviewSessionObject where review_session.name is "dailies" and '
                               'asset_version.asset.name is "%s"' % versions[0]["asset"]["name"])
                   .all()) >= 1
    finally:
        other.close()
    session.delete(review)
    session.commit()
    assert session.query("ReviewSessionObject").all() == []


def test_lists_of_versions_and_contexts(hub, session):
    project = _project(session)
    user = session.query('User where username is "anna.lind"').one()
    category = session.create("ListCategory", {"name": "Client"})
    versions = session.create("AssetVersionList", {"name": "to client", "project": project,
                                                    "category": category, "owner": user})
    shots = session.create("TypedContextList", {"name": "hero shots", "project": project,
                                                 "category": category, "owner": user})
    version = session.query("AssetVersion").first()
    session.create("ListObject", {"list": versions, "entity_id": version["id"]})
    session.create("ListObject", {"list": shots, "entity_id": _shot(session)["id"]})
    session.commit()
    other = hub.session()
    try:
        lists = other.query('List where project.name is "harbor" and category.name is "Client"'
                            ).all()
        assert sorted((l.entity_type, l["name"]) for l in lists) == [
            ("AssetVersionList", "to client"), ("TypedContextList", "hero shots")]
        got = other.query('AssetVersionList where name is "to client"').one()
        assert [o["entity_id"] for o in got["list_objects"]] == [version["id"]]
        assert got["owner"]["username"] == "anna.lind" and got["is_open"] is True
        assert len(other.query('ListCategory where name is "Client"').one()["lists"]) == 2
    finally:
        other.close()
    session.delete(versions)
    session.commit()
    assert [o["list_id"] for o in session.query("ListObject").all()] == [shots["id"]]


def test_workflow_statuses_and_types_per_object_type(hub, session):
    project = _project(session)
    project_schema = project["project_schema"]
    shot_type = session.query('ObjectType where name is "Shot"').one()
    statuses = session.query("Status").all()[:2]
    types = session.query("Type").all()[:1]
    assert len(statuses) == 2 and types
    schema = session.create("Schema", {"project_schema": project_schema,
                                       "type_id": shot_type["id"]})
    for n, st in enumerate(statuses):
        session.create("SchemaStatus", {"schema": schema, "task_status": st, "sort": n})
    session.create("SchemaType", {"schema": schema, "task_type": types[0]})
    session.commit()
    other = hub.session()
    try:
        ps = other.get("ProjectSchema", project_schema["id"])
        assert sorted(s["id"] for s in ps.get_statuses("Shot")) == sorted(
            s["id"] for s in statuses)
        assert [t["id"] for t in ps.get_types("Shot")] == [types[0]["id"]]
        with pytest.raises(ValueError):
            ps.get_statuses("Sequence")  # no workflow for sequences in this schema
    finally:
        other.close()
    session.delete(schema)
    session.commit()
    assert session.query("SchemaStatus").all() == [] and session.query("SchemaType").all() == []


def test_list_items_as_plugins_append_them(hub, session):
    project = _project(session)
    category = session.create("ListCategory", {"name": "Dailies"})
    versions = session.query("AssetVersion").all()[:2]
    assert len(versions) == 2, "the seed has versions"
    lst = session.create("AssetVersionList", {"name": "monday", "project": project,
                                              "category": category})
    lst["items"].append(versions[0])
    session.commit()
    lst["items"].append(versions[1])
    session.commit()
    shots = session.create("TypedContextList", {"name": "hero", "project": project,
                                                "category": category})
    shots["items"].append(_shot(session))
    session.commit()
    other = hub.session()
    try:
        got = other.query('select items.version, items.asset.name from AssetVersionList '
                          'where name is "monday"').one()
        assert [v["id"] for v in got["items"]] == [v["id"] for v in versions]
        assert [o["entity_id"] for o in got["list_objects"]] == [v["id"] for v in versions]
        hero = other.query('TypedContextList where name is "hero"').one()
        assert [(c.entity_type, c["name"]) for c in hero["items"]] == [("Shot", "sh010")]
    finally:
        other.close()
    # Removing an item drops its link and nothing else; a bad entry changes nothing.
    lst["items"].remove(versions[0])
    session.commit()
    assert [o["entity_id"] for o in session.query(
        'ListObject where list_id is "%s"' % lst["id"]).all()] == [versions[1]["id"]]
    assert session.get("AssetVersion", versions[0]["id"]) is not None
    with pytest.raises(ftrack_api.exception.ServerError):
        session.call([{"action": "update", "entity_type": "AssetVersionList",
                       "entity_key": [lst["id"]],
                       "entity_data": {"items": [{"__entity_type__": "AssetVersion",
                                                  "id": "no-such-version"}]}}])
    check = hub.session()
    try:
        assert [v["id"] for v in check.get("AssetVersionList", lst["id"])["items"]] == [
            versions[1]["id"]]
    finally:
        check.close()
