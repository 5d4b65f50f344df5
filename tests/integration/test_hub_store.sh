#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The embedded hub's entity store through POST /api: the sample seed, queries (projections,
# where, relations, order, limit/offset paging), create/update/delete, a failing batch rolled
# back whole, upload + download of a component's file, restart persistence, a memory store.
. "$FTRACK_TEST_LIB"

SEED="$FTRACK_SOURCE_DIR/host/hub/seed-sample.json"
[ -f "$SEED" ] || fail "no sample seed at $SEED"
export FTRACK_TEST_API_USER=anna.lind
start_hub --seed "$SEED"
grep -q 'seed .*seed-sample.json: 103 new entities' "$HUB_LOG" || fail "the seed was not loaded"

# Every check below is Python with `call(ops)` (POST /api, returns the parsed body) and
# `raw(method, url, body, headers)` (returns status, headers, body).
py() {
    python3 - "$@" <<EOF || fail "python check failed (see above)"
import base64, hashlib, json, os, sys, urllib.request, urllib.error
URL = os.environ["FTRACK_SERVER"]
AUTH = {"ftrack-user": os.environ["FTRACK_API_USER"], "ftrack-api-key": os.environ["FTRACK_API_KEY"]}
def raw(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()
def call(ops, strict=False):
    h = dict(AUTH, **{"content-type": "application/json"})
    if strict: h["ftrack-strict-api"] = "true"
    status, _, body = raw("POST", URL + "/api", json.dumps(ops).encode(), h)
    return json.loads(body)
def q(expr):
    r = call([{"action": "query", "expression": expr}])
    assert isinstance(r, list), r
    return r[0]
$(cat)
EOF
}

note "queries on the seeded studio"
py <<'EOF'
r = q('select name, parent.name, status.name, type.name from Task where parent.parent.name is "sq010" and type.name in ("Animation", "Lighting") order by parent.name descending, name limit 4')
assert r["action"] == "query" and r["metadata"] == {"next": {"offset": 4}}, r["metadata"]
d = r["data"]
assert [(t["parent"]["name"], t["name"]) for t in d] == [("sh030", "animation"), ("sh030", "lighting"), ("sh020", "animation"), ("sh020", "lighting")], d
assert all(t["__entity_type__"] == "Task" and t["parent"]["__entity_type__"] == "Shot" for t in d)
assert d[0]["status"]["name"] == "In progress" and d[0]["type"]["name"] == "Animation"
# Paging as the clients do it: offset/limit appended, until next.offset is null.
seen, offset, pages = [], 0, 0
while offset is not None:
    r = q('select name from Task where parent.parent.name is "sq010" order by parent.name, name offset %d limit 4' % offset)
    seen += [t["id"] for t in r["data"]]
    offset = r["metadata"]["next"]["offset"]
    pages += 1
    assert pages < 10
assert pages == 3 and len(seen) == 9 == len(set(seen)), (pages, len(seen))
# Queries without select use the schema's default projections.
r = q('Project where name is "harbor"')
assert r["data"][0].keys() >= {"__entity_type__", "id", "full_name", "name", "context_type"}, r
assert r["data"][0]["full_name"] == "Harbor Lights"
# Relations of relations, like, collections, subqueries, polymorphic types.
r = q('select version, asset.name, asset.parent.name, task.name, status.name from AssetVersion where asset.name like "%anim" order by version descending')
assert [v["version"] for v in r["data"]] == [2, 1] and r["data"][0]["asset"]["parent"]["name"] == "sh010"
r = q('select name, children.name from Sequence where children any (name is "sh020") offset 1 limit 1')
assert len(r["data"]) == 1 and r["metadata"]["next"]["offset"] is None
assert [c["name"] for c in r["data"][0]["children"]] == ["sh010", "sh020", "sh030"]
r = q('select name from Shot where id in (select parent_id from Task where status.name is "In progress") and not name is "sh030"')
assert sorted(s["name"] for s in r["data"]) == ["sh010", "sh020"], r  # sq010 animation only
r = q('select name from Context where name is "harbor" or name is "boat"')
assert sorted((c["__entity_type__"], c["name"]) for c in r["data"]) == [("Folder", "boat"), ("Project", "harbor")]
r = q('select username from User where username is "anna.lind"')
assert len(r["data"]) == 1  # the hub user is the seeded one, not a second
r = q('select start_date from Project')
assert r["data"][0]["start_date"] == {"__type__": "datetime", "value": "2024-03-04T09:00:00"}
# Errors in ftrack's shape.
r = call([{"action": "query", "expression": "select nope from Task"}])
assert r["exception"] == "ValidationError" and "nope" in r["content"] and r["error_code"] is None, r
r = call([{"action": "query", "expression": "Task where"}])
assert r["exception"] == "ValidationError" and "parse" in r["content"], r
EOF

note "create, update, delete; a failing batch is rolled back whole"
py <<'EOF'
shot = q('select id from Shot where name is "sh010" and parent.name is "sq020"')["data"][0]["id"]
status = q('select id from Status where name is "Approved"')["data"][0]["id"]
r = call([{"action": "create", "entity_type": "Task", "entity_data": {"__entity_type__": "Task", "name": "roto", "parent": {"__entity_type__": "Shot", "id": shot}}},
          {"action": "query", "expression": 'select name, parent.id from Task where name is "roto"'}])
assert r[0]["action"] == "create" and r[0]["data"]["__entity_type__"] == "Task", r
tid = r[0]["data"]["id"]
assert r[0]["data"]["parent_id"] == shot and r[0]["data"]["context_type"] == "task"
assert r[1]["data"][0]["id"] == tid  # a later operation of the batch sees the create
r = call([{"action": "update", "entity_type": "Task", "entity_key": [tid], "entity_data": {"__entity_type__": "Task", "status_id": status, "description": "Roto the boat"}}])
assert r[0]["action"] == "update" and r[0]["data"]["status_id"] == status and r[0]["data"]["name"] == "roto", r
assert q('select status.name from Task where id is "%s"' % tid)["data"][0]["status"]["name"] == "Approved"
# One bad operation: everything before it in the batch is undone.
r = call([{"action": "create", "entity_type": "Task", "entity_data": {"name": "doomed", "parent_id": shot}},
          {"action": "update", "entity_type": "Task", "entity_key": [tid], "entity_data": {"description": "changed"}},
          {"action": "create", "entity_type": "Task", "entity_data": {"name": "bad", "no_such_attribute": 1}}])
assert r["exception"] == "ValidationError" and "no_such_attribute" in r["content"], r
assert q('select id from Task where name is "doomed"')["data"] == []
assert q('select description from Task where id is "%s"' % tid)["data"][0]["description"] == "Roto the boat"
# Strict mode: same error object, HTTP 400.
status_code, _, body = raw("POST", URL + "/api", json.dumps([{"action": "delete", "entity_type": "Task", "entity_key": ["nope"]}]).encode(), dict(AUTH, **{"ftrack-strict-api": "true"}))
assert status_code == 400 and json.loads(body)["exception"] == "NotFoundError", (status_code, body)
r = call([{"action": "create", "entity_type": "Task", "entity_data": {"name": "x", "parent_id": "no-such-parent"}}])
assert r["exception"] == "ValidationError" and "no-such-parent" in r["content"], r
r = call([{"action": "create", "entity_type": "Nope", "entity_data": {}}])
assert r["exception"] == "ValidationError", r
r = call([{"action": "delete", "entity_type": "Task", "entity_key": [tid]}])
assert r == [{"action": "delete", "data": True}], r
assert q('select id from Task where id is "%s"' % tid)["data"] == []
# What remains for the restart check.
r = call([{"action": "create", "entity_type": "Note", "entity_data": {"content": "kept across restarts", "parent_id": shot, "parent_type": "Shot"}}])
open(os.environ["FTRACK_TEST_TMP"] + "/note-id", "w").write(r[0]["data"]["id"])
EOF

note "upload through get_upload_metadata, download with credentials as query parameters"
py <<'EOF'
version = q('select id from AssetVersion where version is 2')["data"][0]["id"]
r = call([{"action": "create", "entity_type": "FileComponent", "entity_data": {"name": "main", "file_type": ".bin", "version_id": version, "system_type": "file"}}])
cid = r[0]["data"]["id"]
payload = os.urandom(300000) + b"end"
md5 = base64.b64encode(hashlib.md5(payload).digest()).decode()
meta = call([{"action": "get_upload_metadata", "component_id": cid, "file_name": "main.bin", "file_size": len(payload), "checksum": md5}])[0]
assert meta["component_id"] == cid and meta["url"].startswith(URL + "/component/put?"), meta
assert meta["headers"]["Content-MD5"] == md5, meta
# Not before the upload.
st, _, body = raw("GET", URL + "/component/get?id=%s&username=%s&apiKey=%s" % (cid, AUTH["ftrack-user"], AUTH["ftrack-api-key"]))
assert st == 404, st
# A tampered URL, a wrong checksum: refused, nothing stored.
st, _, body = raw("PUT", meta["url"].replace("signature=", "signature=0"), payload, meta["headers"])
assert st == 403 and json.loads(body)["exception"] == "PermissionError", (st, body)
st, _, body = raw("PUT", meta["url"], payload + b"x", meta["headers"])
assert st == 400 and "Content-MD5" in json.loads(body)["content"], (st, body)
st, _, body = raw("PUT", meta["url"], payload, meta["headers"])
assert st == 200, (st, body)
st, h, body = raw("GET", URL + "/component/get?id=%s&username=%s&apiKey=%s" % (cid, AUTH["ftrack-user"], AUTH["ftrack-api-key"]))
assert st == 200 and body == payload, (st, len(body))
st, _, body = raw("GET", URL + "/component/get?id=%s&username=%s&apiKey=wrong" % (cid, AUTH["ftrack-user"]))
assert st == 401 and json.loads(body)["exception"] == "InvalidCredentialsError", st
assert AUTH["ftrack-api-key"].encode() not in body
st, _, _ = raw("GET", URL + "/component/get?id=../../etc/passwd&username=%s&apiKey=%s" % (AUTH["ftrack-user"], AUTH["ftrack-api-key"]))
assert st == 404, st
open(os.environ["FTRACK_TEST_TMP"] + "/component-id", "w").write(cid)
open(os.environ["FTRACK_TEST_TMP"] + "/payload", "wb").write(payload)
EOF
if grep -q "$FTRACK_TEST_API_KEY" "$HUB_LOG"; then fail "the API key appears in the hub log"; fi

note "restart: entities and files persist; the seed again adds nothing"
stop_hub
[ "$HUB_EXIT" = 0 ] || fail "hub exit $HUB_EXIT"
[ -f "$HUB_DATA_DIR/hub.sqlite" ] || fail "no $HUB_DATA_DIR/hub.sqlite"
start_hub --seed "$SEED"
grep -q 'seed .*: 0 new entities' "$HUB_LOG" || fail "the seed added entities a second time"
py <<'EOF'
tmp = os.environ["FTRACK_TEST_TMP"]
note_id = open(tmp + "/note-id").read()
r = q('select content from Note where id is "%s"' % note_id)
assert r["data"][0]["content"] == "kept across restarts", r
assert len(q('select id from Project')["data"]) == 1
assert len(q('select id from User where username is "anna.lind"')["data"]) == 1
cid = open(tmp + "/component-id").read()
st, _, body = raw("GET", URL + "/component/get?id=%s&username=%s&apiKey=%s" % (cid, AUTH["ftrack-user"], AUTH["ftrack-api-key"]))
assert st == 200 and body == open(tmp + "/payload", "rb").read(), st
EOF
stop_hub

note "--store memory: nothing written to hub.sqlite, nothing kept"
HUB_DATA_DIR="$FTRACK_TEST_TMP/memory-hub"
start_hub --store memory
py <<'EOF'
r = call([{"action": "create", "entity_type": "Project", "entity_data": {"name": "ephemeral"}}])
assert r[0]["data"]["name"] == "ephemeral", r
EOF
[ ! -e "$HUB_DATA_DIR/hub.sqlite" ] || fail "--store memory wrote hub.sqlite"
stop_hub
start_hub --store memory
py <<'EOF'
assert q('select id from Project where name is "ephemeral"')["data"] == []
EOF
stop_hub

note "a bad seed stops the hub with a message naming the entity"
echo '[{"__entity_type__": "Project", "name": "ok"}, {"__entity_type__": "Shot", "colour": "red"}]' >"$FTRACK_TEST_TMP/bad-seed.json"
HUB_DATA_DIR="$FTRACK_TEST_TMP/bad-seed-hub"
if FTRACK_API_USER=x FTRACK_API_KEY=y timeout 20 "$FTRACK_HOST_BIN" hub --listen 127.0.0.1:0 \
    --data-dir "$HUB_DATA_DIR" --seed "$FTRACK_TEST_TMP/bad-seed.json" 2>"$FTRACK_TEST_TMP/bad.log"; then
    fail "the hub started with a bad seed"
fi
grep -q 'entity #2' "$FTRACK_TEST_TMP/bad.log" && grep -q 'colour' "$FTRACK_TEST_TMP/bad.log" ||
    fail "bad seed message: $(cat "$FTRACK_TEST_TMP/bad.log")"
echo "ok"
