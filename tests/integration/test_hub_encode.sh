#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# encode_media on the embedded hub (protocol §4): a 1 s test video uploaded through
# get_upload_metadata is encoded by ffmpeg into an mp4 and a jpeg; the Job goes queued →
# running → done with its outputs linked; the failures (no file, undecodable input, no ffmpeg,
# the time limit) end in a failed Job with a clear message.
. "$FTRACK_TEST_LIB"

command -v ffmpeg >/dev/null || fail "ffmpeg is required for this test (build.sh installs it)"
VIDEO="$FTRACK_TEST_TMP/test.mov"
ffmpeg -nostdin -hide_banner -loglevel error -f lavfi -i testsrc=duration=1:size=320x240:rate=24 \
    -f lavfi -i sine=frequency=440:duration=1 -c:v mpeg4 -c:a aac -shortest -y "$VIDEO" ||
    fail "cannot generate the test video"
export VIDEO

py() {
    python3 - "$@" <<EOF || fail "python check failed (see above)"
import base64, hashlib, json, os, sys, time, urllib.request, urllib.error
URL = os.environ["FTRACK_SERVER"]
AUTH = {"ftrack-user": os.environ["FTRACK_API_USER"], "ftrack-api-key": os.environ["FTRACK_API_KEY"]}
def raw(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
def call(ops):
    st, body = raw("POST", URL + "/api", json.dumps(ops).encode(), dict(AUTH, **{"content-type": "application/json"}))
    return json.loads(body)
def q(expr):
    r = call([{"action": "query", "expression": expr}])
    assert isinstance(r, list), r
    return r[0]["data"]
def component(data, version=None):
    """A FileComponent with data uploaded to the server location; returns its id."""
    cid = call([{"action": "create", "entity_type": "FileComponent", "entity_data": {"name": "main", "file_type": ".mov", "size": len(data), "system_type": "file", "version_id": version}}])[0]["data"]["id"]
    md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
    meta = call([{"action": "get_upload_metadata", "component_id": cid, "file_name": "main.mov", "file_size": len(data), "checksum": md5}])[0]
    st, body = raw("PUT", meta["url"], data, meta["headers"])
    assert st == 200, (st, body)
    return cid
def wait_job(job_id, seconds=60):
    end = time.time() + seconds
    seen = []
    while time.time() < end:
        job = q('select status, data, finished_at from Job where id is "%s"' % job_id)[0]
        if not seen or seen[-1] != job["status"]:
            seen.append(job["status"])
        if job["status"] in ("done", "failed"):
            return job, seen
        time.sleep(0.05)
    raise AssertionError("job %s still %s after %d s" % (job_id, seen, seconds))
$(cat)
EOF
}

start_hub
note "a version and an uploaded video, encoded"
py <<'EOF'
project = call([{"action": "create", "entity_type": "Project", "entity_data": {"name": "enc"}}])[0]["data"]["id"]
asset = call([{"action": "create", "entity_type": "Asset", "entity_data": {"name": "plate", "context_id": project}}])[0]["data"]["id"]
version = call([{"action": "create", "entity_type": "AssetVersion", "entity_data": {"asset_id": asset}}])[0]["data"]["id"]
src = component(open(os.environ["VIDEO"], "rb").read(), version)
r = call([{"action": "encode_media", "component_id": src, "keep_original": True, "version_id": version}])
assert isinstance(r, list) and set(r[0]) == {"job_id"}, r
job_id = r[0]["job_id"]
# The Job exists right away, queued or already further (as Session.encode_media reads it).
first = q('select id, type, status, data, created_at, finished_at, user.username from Job where id is "%s"' % job_id)[0]
assert first["type"] == "api_job" and first["status"] in ("queued", "running", "done"), first
assert first["user"]["username"] == AUTH["ftrack-user"], first
assert json.loads(first["data"])["source_component_id"] == src
job, seen = wait_job(job_id)
assert job["status"] == "done", job
assert seen[-1] == "done" and all(s in ("queued", "running", "done") for s in seen), seen
assert job["finished_at"]["__type__"] == "datetime"
data = json.loads(job["data"])  # a JSON string, as ftrack's
assert data["source_component_id"] == src and data["keep_original"] is True, data
formats = {o["format"]: o["component_id"] for o in data["output"]}
assert set(formats) == {"video/mp4", "image/jpeg"}, data
# Outputs: linked through job_components, in the server location, on the version.
links = q('select component.name, component.file_type, component.version_id from JobComponent where job_id is "%s"' % job_id)
assert sorted(l["component_id"] for l in links) == sorted(formats.values()), links
assert all(l["component"]["version_id"] == version for l in links), links
assert {l["component"]["file_type"] for l in links} == {".mp4", ".jpg"}, links
locs = q('select location.name from ComponentLocation where component_id in ("%s", "%s")' % tuple(formats.values()))
assert [l["location"]["name"] for l in locs] == ["ftrack.server"] * 2, locs
assert q('select thumbnail_id from AssetVersion where id is "%s"' % version)[0]["thumbnail_id"] == formats["image/jpeg"]
assert len(q('select components.name from AssetVersion where id is "%s"' % version)[0]["components"]) == 3
# The files are real: an mp4 (ftyp box) and a jpeg, downloadable like any component.
creds = "username=%s&apiKey=%s" % (AUTH["ftrack-user"], AUTH["ftrack-api-key"])
st, mp4 = raw("GET", URL + "/component/get?id=%s&%s" % (formats["video/mp4"], creds))
assert st == 200 and mp4[4:8] == b"ftyp" and len(mp4) > 1000, (st, mp4[:16])
st, jpg = raw("GET", URL + "/component/get?id=%s&%s" % (formats["image/jpeg"], creds))
assert st == 200 and jpg[:3] == b"\xff\xd8\xff", (st, jpg[:8])
size = q('select size from FileComponent where id is "%s"' % formats["video/mp4"])[0]["size"]
assert size == len(mp4), (size, len(mp4))
EOF

note "failures: no file uploaded, an undecodable file, an unknown component"
py <<'EOF'
cid = call([{"action": "create", "entity_type": "FileComponent", "entity_data": {"name": "main", "system_type": "file"}}])[0]["data"]["id"]
job, _ = wait_job(call([{"action": "encode_media", "component_id": cid, "keep_original": False, "version_id": None}])[0]["job_id"])
assert job["status"] == "failed" and "no file" in json.loads(job["data"])["error"], job
assert json.loads(job["data"])["keep_original"] is False
bad = component(b"this is not a video at all" * 100)
job, _ = wait_job(call([{"action": "encode_media", "component_id": bad, "keep_original": True, "version_id": None}])[0]["job_id"])
err = json.loads(job["data"])["error"]
assert job["status"] == "failed" and "ffmpeg failed" in err, job
assert job["finished_at"] is not None
assert q('select component_id from JobComponent where job_id is "%s"' % job["id"]) == []
r = call([{"action": "encode_media", "component_id": "no-such-component", "keep_original": True, "version_id": None}])
assert r["exception"] == "NotFoundError", r
EOF

export HUB_DATA_DIR
note "an uploaded HLS playlist naming another file on the hub's machine is refused"
OTHER="$FTRACK_TEST_TMP/other.ts"
ffmpeg -nostdin -hide_banner -loglevel error -f lavfi -i testsrc=duration=1:size=320x240:rate=24 \
    -c:v mpeg4 -f mpegts -y "$OTHER" || fail "cannot generate the other video"
export OTHER
py <<'EOF'
playlist = ("#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:1.0,\nfile://%s\n#EXT-X-ENDLIST\n" % os.environ["OTHER"]).encode()
files = os.path.join(os.environ["HUB_DATA_DIR"], "components")
before = set(os.listdir(files))
pl = component(playlist)
job, _ = wait_job(call([{"action": "encode_media", "component_id": pl, "keep_original": True, "version_id": None}])[0]["job_id"])
err = json.loads(job["data"])["error"]
assert job["status"] == "failed" and "not in a media format the hub encodes" in err, job
assert q('select component_id from JobComponent where job_id is "%s"' % job["id"]) == []
assert set(os.listdir(files)) - before == {pl}, set(os.listdir(files)) - before
EOF
stop_hub

note "no ffmpeg: the job fails and says so"
start_hub --ffmpeg "$FTRACK_TEST_TMP/no-such-ffmpeg"
py <<'EOF'
src = component(open(os.environ["VIDEO"], "rb").read())
job, _ = wait_job(call([{"action": "encode_media", "component_id": src, "keep_original": True, "version_id": None}])[0]["job_id"])
assert job["status"] == "failed" and "ffmpeg is not installed" in json.loads(job["data"])["error"], job
EOF
stop_hub

note "the time limit kills a hung ffmpeg"
SLOW="$FTRACK_TEST_TMP/slow-ffmpeg"
printf '#!/bin/sh\necho $$ >>"%s"\nenv >"%s"\nexec sleep 60\n' "$FTRACK_TEST_TMP/slow.pids" \
    "$FTRACK_TEST_TMP/ffmpeg.env" >"$SLOW"
chmod +x "$SLOW"
start_hub --ffmpeg "$SLOW" --encode-timeout 1
py <<'EOF'
src = component(b"anything")
t0 = time.time()
job, _ = wait_job(call([{"action": "encode_media", "component_id": src, "keep_original": True, "version_id": None}])[0]["job_id"], 20)
assert job["status"] == "failed" and "time limit" in json.loads(job["data"])["error"], job
assert time.time() - t0 < 10
EOF
# still_running: a fake ffmpeg started so far is alive.
still_running() {
    local pid
    for pid in $(cat "$FTRACK_TEST_TMP/slow.pids" 2>/dev/null); do
        kill -0 "$pid" 2>/dev/null && return 0
    done
    return 1
}
[ -s "$FTRACK_TEST_TMP/slow.pids" ] || fail "the fake ffmpeg never ran"
# ffmpeg runs without the hub's key in its environment.
grep -q '^PATH=' "$FTRACK_TEST_TMP/ffmpeg.env" || fail "the fake ffmpeg recorded no environment"
if grep -Eq '^FTRACK_API_?KEY=' "$FTRACK_TEST_TMP/ffmpeg.env"; then fail "ffmpeg inherited the API key"; fi
if still_running; then fail "the hung ffmpeg was not killed"; fi
# A job still running when the hub stops is failed at the next start.
py <<'EOF'
src = component(b"anything")
job_id = call([{"action": "encode_media", "component_id": src, "keep_original": True, "version_id": None}])[0]["job_id"]
open(os.environ["FTRACK_TEST_TMP"] + "/running-job", "w").write(job_id)
end = time.time() + 10
while q('select status from Job where id is "%s"' % job_id)[0]["status"] != "running":
    assert time.time() < end
    time.sleep(0.05)
EOF
stop_hub
[ "$HUB_EXIT" = 0 ] || fail "hub exit $HUB_EXIT while a job ran"
if still_running; then fail "ffmpeg outlived the hub"; fi
start_hub
py <<'EOF'
job = q('select status, data from Job where id is "%s"' % open(os.environ["FTRACK_TEST_TMP"] + "/running-job").read())[0]
assert job["status"] == "failed" and "stopped" in json.loads(job["data"])["error"], job
EOF
stop_hub
echo "ok"
