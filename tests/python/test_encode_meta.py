# SPDX-License-Identifier: Apache-2.0
"""Item 7, encoded outputs: `session.encode_media(path)` ends with an mp4 and a jpeg in the
server location, each carrying `ftr_meta` in its metadata as ftrack's server writes it (a JSON
object in a string) so review tools can play and frame it. The numbers are measured from the
outputs, so a known source movie gives known values."""
import json
import shutil
import subprocess
import time

import pytest

WIDTH, HEIGHT, RATE, FRAMES = 320, 240, 24, 30


def _movie(path):
    ffmpeg = shutil.which("ffmpeg")
    if not ffmpeg:
        pytest.fail("ffmpeg is not installed (packaging/apt-packages.txt lists it)")
    subprocess.run([ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
                    "-i", "testsrc=size=%dx%d:rate=%d" % (WIDTH, HEIGHT, RATE),
                    "-frames:v", str(FRAMES), "-c:v", "mpeg4", "-f", "mov", str(path)],
                   check=True, timeout=60)


def _wait_job(hub, job_id):
    other = hub.session()
    try:
        deadline = time.monotonic() + 120
        while True:
            job = other.query('select status, data from Job where id is "%s"' % job_id).one()
            if job["status"] in ("done", "failed"):
                return job["status"], json.loads(job["data"])
            assert time.monotonic() < deadline, "encode job still %s after 120 s" % job["status"]
            other.cache.clear()
            time.sleep(0.2)
    finally:
        other.close()


def test_encode_media_outputs_carry_ftr_meta(hub, session, tmp_path):
    source = tmp_path / "plate.mov"
    _movie(source)
    version = session.query("AssetVersion").first()
    assert version is not None, "the seed has a version"
    job = session.encode_media(str(source), version_id=version["id"])
    status, data = _wait_job(hub, job["id"])
    assert status == "done", data
    formats = {o["format"]: o["component_id"] for o in data["output"]}
    assert set(formats) == {"video/mp4", "image/jpeg"}, data

    reader = hub.session()
    try:
        mp4 = reader.get("FileComponent", formats["video/mp4"])
        assert mp4["name"] == "ftrackreview-mp4"
        meta = mp4["metadata"]["ftr_meta"]
        assert isinstance(meta, str), "ftr_meta is a JSON string, as ftrack's server writes it"
        meta = json.loads(meta)
        assert meta == {"frameIn": 0, "frameOut": FRAMES, "frameRate": RATE,
                        "width": WIDTH, "height": HEIGHT}, meta

        image = reader.get("FileComponent", formats["image/jpeg"])
        assert image["name"] == "ftrackreview-image"
        assert json.loads(image["metadata"]["ftr_meta"]) == {
            "format": "image", "width": WIDTH, "height": HEIGHT}
        # The version's thumbnail is the image output, and the query language finds the key.
        assert reader.get("AssetVersion", version["id"])["thumbnail_id"] == image["id"]
        found = reader.query('Metadata where key is "ftr_meta" and parent_id is "%s"'
                             % mp4["id"]).all()
        assert len(found) == 1
    finally:
        reader.close()


def test_encode_failure_writes_no_outputs(hub, session, tmp_path):
    source = tmp_path / "plate.txt"
    source.write_text("not a movie")
    job = session.encode_media(str(source))
    status, data = _wait_job(hub, job["id"])
    assert status == "failed" and data["output"] == [] and data["error"], data
    reader = hub.session()
    try:
        assert reader.query('Metadata where key is "ftr_meta"').all() == []
    finally:
        reader.close()
