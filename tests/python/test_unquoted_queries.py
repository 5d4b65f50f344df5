# SPDX-License-Identifier: Apache-2.0
"""Item 1: the official client writes ids without quotes (`select x from T where id is 6586...`,
`... where id in (a,b)`) whenever it loads lazily, populates, follows relations or looks up
where a component lives. Every everyday call below depends on the hub reading those."""
import os
import tempfile
import time

import requests

SERVER_LOCATION = "ftrack.server"


def test_lazy_attribute_and_relation_traversal(session):
    shot = session.query('select name from Shot where name is "sh010" and parent.name is "sq010"').first()
    assert shot is not None, "the seed has shot sh010"
    # Neither parent nor description was selected: both load with `where id is <id>`.
    assert shot["parent"]["parent"]["name"] == "harbor"
    assert "description" in shot.keys()
    shot["description"]  # loads without error
    task = session.query("select name from Task").first()
    assert isinstance(task["bid"], (int, float))


def test_populate_many_uses_in_list(hub, session):
    shots = session.query('select id from Shot where project.name is "harbor"').all()
    assert len(shots) >= 2
    session.populate(shots, "name, parent_id")
    with session.auto_populating(False):
        names = [s["name"] for s in shots]
    assert all(isinstance(n, str) and n for n in names), names
    direct = hub.session()
    try:
        got = sorted(s["name"] for s in direct.query(
            'select name from Shot where id in (%s)' % ",".join(s["id"] for s in shots)))
        assert got == sorted(names)
    finally:
        direct.close()


def test_create_note_is_linked_to_its_parent(hub, session):
    shot = session.query('select name from Shot where name is "sh010" and parent.name is "sq010"').one()
    author = session.query('User where username is "anna.lind"').one()
    note = shot.create_note("Timing is off by two frames.", author=author)
    session.commit()
    other = hub.session()
    try:
        fresh = other.get("Shot", shot["id"])
        contents = [n["content"] for n in fresh["notes"]]
        assert "Timing is off by two frames." in contents
        got = other.get("Note", note["id"])
        assert got["parent_id"] == shot["id"]
        assert got["author"]["username"] == "anna.lind"
    finally:
        other.close()


def test_metadata_set_and_read_back(hub, session):
    shot = session.query('select name from Shot where name is "sh020" and parent.name is "sq010"').one()
    shot["metadata"]["frame_range"] = "1001-1100"
    session.commit()
    assert shot["metadata"]["frame_range"] == "1001-1100"
    shot["metadata"]["frame_range"] = "1001-1120"
    session.commit()
    other = hub.session()
    try:
        assert dict(other.get("Shot", shot["id"])["metadata"]) == {"frame_range": "1001-1120"}
    finally:
        other.close()


def _version(session):
    return session.query("AssetVersion").first()


def test_component_in_server_location(hub, session):
    location = session.query('Location where name is "%s"' % SERVER_LOCATION).one()
    payload = b"plate bytes " + os.urandom(16).hex().encode()
    with tempfile.NamedTemporaryFile(suffix=".txt", delete=False) as f:
        f.write(payload)
    try:
        component = _version(session).create_component(
            f.name, data={"name": "notes-file"}, location=location)
        session.commit()
    finally:
        os.unlink(f.name)
    availability = session.get_component_availability(component)
    assert availability[location["id"]] == 100.0
    url = location.get_url(component)
    assert url.startswith(hub.url)
    got = requests.get(url, timeout=10)
    assert got.status_code == 200 and got.content == payload
    thumb = location.get_thumbnail_url(component, size=300)
    assert thumb.startswith(hub.url + "/component/thumbnail?id=" + component["id"])


def test_encode_media_makes_a_job(hub, session, tmp_path):
    source = tmp_path / "plate.txt"
    source.write_text("not a movie")
    job = session.encode_media(str(source))
    assert job.entity_type == "Job"
    # The job exists on the hub and ends (a text file cannot be encoded: it fails cleanly).
    other = hub.session()
    try:
        deadline = time.monotonic() + 60
        while True:
            status = other.query('select status from Job where id is "%s"' % job["id"]).one()["status"]
            if status in ("done", "failed"):
                break
            assert time.monotonic() < deadline, "encode job still %s after 60 s" % status
            other.cache.clear()
            time.sleep(0.2)
    finally:
        other.close()
