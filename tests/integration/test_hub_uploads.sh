#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# PUT /component/put on the embedded hub: the signed URL names one component and one size and
# stores one file; the hub's --max-upload bounds what it signs and accepts; a body without a
# Content-Length (chunked) is refused with 411 and stores nothing.
. "$FTRACK_TEST_LIB"

start_hub --store memory --max-upload 4K
python3 - <<'PYEOF' || fail "upload checks failed (see above)"
import http.client, json, os, urllib.parse
URL = os.environ["FTRACK_SERVER"]
HOST, PORT = "127.0.0.1", int(URL.rsplit(":", 1)[1])
AUTH = {"ftrack-user": os.environ["FTRACK_API_USER"], "ftrack-api-key": os.environ["FTRACK_API_KEY"]}

def request(method, path, body=None, headers=None):
    c = http.client.HTTPConnection(HOST, PORT, timeout=20)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()

def chunked_head(path):
    """A PUT announcing a chunked body; the answer is read before any chunk is sent."""
    c = http.client.HTTPConnection(HOST, PORT, timeout=20)
    try:
        c.putrequest("PUT", path)
        c.putheader("Transfer-Encoding", "chunked")
        c.endheaders()
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()

def call(ops):
    st, body = request("POST", "/api", json.dumps(ops).encode(), dict(AUTH, **{"content-type": "application/json"}))
    return json.loads(body)

def new_component():
    return call([{"action": "create", "entity_type": "FileComponent", "entity_data": {"name": "main", "system_type": "file"}}])[0]["data"]["id"]

def put_url(cid, size):
    meta = call([{"action": "get_upload_metadata", "component_id": cid, "file_name": "a.bin", "file_size": size}])
    assert isinstance(meta, list), meta
    u = urllib.parse.urlsplit(meta[0]["url"])
    return u.path + "?" + u.query

def download(cid):
    return request("GET", "/component/get?id=%s&username=%s&apiKey=%s" % (cid, AUTH["ftrack-user"], AUTH["ftrack-api-key"]))

def refused(status, body, want_status, words):
    assert status == want_status, (status, body)
    content = json.loads(body)["content"]
    assert words in content, content

# Sizes: get_upload_metadata needs file_size and refuses more than --max-upload (4 KiB).
a = new_component()
r = call([{"action": "get_upload_metadata", "component_id": a, "file_name": "a.bin"}])
assert r["exception"] == "ValidationError" and "file_size" in r["content"], r
r = call([{"action": "get_upload_metadata", "component_id": a, "file_name": "a.bin", "file_size": 5000}])
assert r["exception"] == "ValidationError" and "larger than this hub accepts (4096 bytes)" in r["content"], r
# A body declared larger than --max-upload is refused from its head.
path = put_url(a, 100)
st, body = request("PUT", path, b"x" * 5000)
refused(st, body, 413, "larger than this hub accepts")

# The URL is bound to its size: more or fewer bytes are refused; a changed size is not signed.
st, body = request("PUT", path, b"x" * 101)
refused(st, body, 400, "signed for 100")
st, body = request("PUT", path, b"x" * 99)
refused(st, body, 400, "signed for 100")
st, body = request("PUT", path.replace("size=100", "size=101"), b"x" * 101)
refused(st, body, 403, "not valid")
assert download(a)[0] == 404

# ... and to its component.
b = new_component()
st, body = request("PUT", path.replace("id=" + a, "id=" + b), b"x" * 100)
refused(st, body, 403, "not valid")

# Single use: the first upload stores the file, the same URL again is refused.
st, body = request("PUT", path, b"1" * 100)
assert st == 200, (st, body)
st, body = request("PUT", path, b"2" * 100)
refused(st, body, 403, "used already")
assert download(a) == (200, b"1" * 100)

# Chunked bodies (no Content-Length) are refused clearly and store nothing.
c = new_component()
st, body = chunked_head(put_url(c, 6))
refused(st, body, 411, "Content-Length")
assert download(c)[0] == 404
# The same URL still works with a Content-Length: only a stored file spends it.
path = put_url(c, 6)
st, body = chunked_head(path)
assert st == 411, st
st, body = request("PUT", path, b"abcdef")
assert st == 200, (st, body)
assert download(c) == (200, b"abcdef")
# An empty file is a file.
d = new_component()
st, body = request("PUT", put_url(d, 0), b"")
assert st == 200, (st, body)
assert download(d) == (200, b"")
PYEOF
stop_hub
echo "ok"
