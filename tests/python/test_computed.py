# SPDX-License-Identifier: Apache-2.0
"""Item 7: computed attributes read through the official client: link, ancestors,
time_logged and thumbnail_url, and the thumbnail served at /component/thumbnail."""
import os
import tempfile

import arrow
import requests


def test_link_and_ancestors(session):
    task = session.query('select link, ancestors from Task where name is "animation" '
                         'and parent.name is "sh010" and parent.parent.name is "sq010"').one()
    assert [(l["name"], l["type"]) for l in task["link"]] == [
        ("harbor", "Project"), ("sq010", "TypedContext"), ("sh010", "TypedContext"),
        ("animation", "TypedContext")]
    assert [a["name"] for a in task["ancestors"]] == ["sq010", "sh010"]
    assert [a.entity_type for a in task["ancestors"]] == ["Sequence", "Shot"]
    version = session.query("select link from AssetVersion where version is 2").one()
    assert [l["type"] for l in version["link"]][-2:] == ["Asset", "AssetVersion"]
    assert version["link"][0]["name"] == "harbor"


def test_time_logged_sums_timelogs(hub, session):
    task = session.query('Task where name is "lighting" and parent.name is "sh010" '
                         'and parent.parent.name is "sq010"').one()
    user = session.query('User where username is "anna.lind"').one()
    for hours in (1.5, 2):
        session.create("Timelog", {"user": user, "context_id": task["id"],
                                   "start": arrow.get("2025-03-03T09:00:00Z"),
                                   "duration": hours * 3600})
    session.commit()
    other = hub.session()
    try:
        got = other.query('select time_logged from Task where id is "%s"' % task["id"]).one()
        assert got["time_logged"] == 3.5 * 3600
    finally:
        other.close()


def test_thumbnail_url_serves_the_thumbnail(hub, session):
    location = session.query('Location where name is "ftrack.server"').one()
    image = b"\xff\xd8\xff\xe0 not really a jpeg " + os.urandom(8)
    with tempfile.NamedTemporaryFile(suffix=".jpg", delete=False) as f:
        f.write(image)
    try:
        component = session.create_component(f.name, {"name": "thumbnail"}, location=location)
        session.commit()
    finally:
        os.unlink(f.name)
    version = session.query("AssetVersion where version is 2").one()
    version["thumbnail"] = component
    session.commit()
    other = hub.session()
    try:
        got = other.query('select thumbnail_url from AssetVersion where id is "%s"'
                          % version["id"]).one()["thumbnail_url"]
        assert got["url"] == "%s/component/thumbnail?id=%s" % (hub.url, component["id"])
        auth = {"ftrack-user": hub.user, "ftrack-api-key": hub.key}
        answer = requests.get(got["url"], headers=auth, timeout=10)
        assert answer.status_code == 200 and answer.content == image
        assert requests.get(got["url"], timeout=10).status_code == 401
        # The client's own helper gives a URL that works as it is.
        assert requests.get(location.get_thumbnail_url(component), timeout=10).content == image
    finally:
        other.close()
