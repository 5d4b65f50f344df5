#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# POST /api on the embedded hub: server information, schemas, credentials (strict and not),
# unsupported actions, malformed bodies and the body size limit.
. "$FTRACK_TEST_LIB"

start_hub

# api [curl args...] BODY: POST BODY; prints the body, then the HTTP status on its own line.
api() {
    local body=${*: -1}
    curl -s --max-time 20 -w '\n%{http_code}' -X POST -H 'content-type: application/json' \
        "${@:1:$#-1}" --data-binary "$body" "$FTRACK_SERVER/api"
}
AUTH=(-H "ftrack-user: $FTRACK_TEST_API_USER" -H "ftrack-api-key: $FTRACK_TEST_API_KEY")

# check OUTPUT STATUS PYTHON-EXPR: the body parsed as `r` must satisfy the expression.
check() {
    local out=$1 want=$2 expr=$3
    local code=${out##*$'\n'} body=${out%$'\n'*}
    [ "$code" = "$want" ] || fail "HTTP $code (want $want) for body: ${body:0:300}"
    python3 -c "import json,sys; r=json.loads(sys.argv[1]); sys.exit(0 if ($expr) else 1)" "$body" ||
        fail "check '$expr' failed on: ${body:0:300}"
}

out=$(api "${AUTH[@]}" '[{"action": "query_server_information"}, {"action": "query_schemas"}]')
check "$out" 200 'isinstance(r, list) and len(r) == 2'
check "$out" 200 'r[0]["version"] == "dev" and len(r[0]["schema_hash"]) == 32'
# The hash is what ftrack's clients compute over their cached copy: the MD5 of Python's
# json.dumps(schemas, sort_keys=True) (protocol §1.3).
check "$out" 200 '__import__("hashlib").md5(json.dumps(r[1], sort_keys=True).encode()).hexdigest() == r[0]["schema_hash"]'
check "$out" 200 'r[0]["storage_scenario"] == {"scenario": "ftrack.automatic", "data": {}}'
check "$out" 200 'r[0]["is_timezone_support_enabled"] is True'
check "$out" 200 'all(k in {s["id"] for s in r[1]} for k in ["Project", "Task", "AssetVersion", "Asset", "Component", "FileComponent", "Job", "User", "Note", "Status", "Location", "TypedContext", "Context", "ObjectType"])'
check "$out" 200 'all(set(["id", "type", "properties", "primary_key", "required", "immutable", "default_projections", "computed", "system_projections"]) <= set(s) for s in r[1])'
# Every reference in the shipped set resolves to a type in the set.
check "$out" 200 'all((p.get("$ref") or p.get("items", {}).get("$ref") or r[1][0]["id"]) in {s["id"] for s in r[1]} for s in r[1] for p in s["properties"].values())'
hash1=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1].rsplit("\n",1)[0])[0]["schema_hash"])' "$out")

# The hash is stable across restarts.
stop_hub
start_hub
out=$(api "${AUTH[@]}" '[{"action":"query_server_information","values":["version"]}]')
check "$out" 200 "r[0]['schema_hash'] == '$hash1'"

# Wrong credentials: 401 when strict, 200 otherwise; always the InvalidCredentialsError object.
bad=(-H "ftrack-user: $FTRACK_TEST_API_USER" -H "ftrack-api-key: wrong")
out=$(api "${bad[@]}" -H 'ftrack-strict-api: true' '[{"action":"query_server_information"}]')
check "$out" 401 'r == {"exception": "InvalidCredentialsError", "content": "The supplied API key is not valid.", "error_code": None}'
out=$(api "${bad[@]}" -H 'ftrack-strict-api: false' '[{"action":"query_server_information"}]')
check "$out" 200 'r["exception"] == "InvalidCredentialsError"'
out=$(api '[{"action":"query_server_information"}]')
check "$out" 200 'r["exception"] == "InvalidCredentialsError"'

# Unsupported actions: one error object for the batch, in the wording the Python client reads.
out=$(api "${AUTH[@]}" '[{"action":"query_server_information"},{"action":"get_widget_url","name":"info"}]')
check "$out" 200 "r['exception'] and \"Invalid action u'get_widget_url'\" in r['content'] and 'error_code' in r"

# Malformed bodies.
for body in '{"action":"query_schemas"}' '[{"action":' 'not json' '' '[1]' '[{"no_action":1}]'; do
    out=$(api "${AUTH[@]}" "$body")
    check "$out" 200 'isinstance(r, dict) and "exception" in r and "content" in r'
done
out=$(api "${AUTH[@]}" -H 'ftrack-strict-api: true' '[{"action":')
check "$out" 400 '"exception" in r'
deep=$(python3 -c 'print("[" * 500 + "]" * 500)')
out=$(api "${AUTH[@]}" "$deep")
check "$out" 200 '"exception" in r'

# Body size limit (8 MiB by default): refused, and the hub carries on.
big="$FTRACK_TEST_TMP/big.json"
python3 -c 'import sys; sys.stdout.write("[" + ",".join(["{\"action\":\"query_server_information\"}"] * 300000) + "]")' >"$big"
code=$(curl -s --max-time 30 -o /dev/null -w '%{http_code}' -X POST "${AUTH[@]}" --data-binary "@$big" \
    "$FTRACK_SERVER/api")
[ "$code" = 413 ] || fail "oversized body: HTTP $code (want 413)"
out=$(api "${AUTH[@]}" '[{"action":"query_server_information"}]')
check "$out" 200 'r[0]["version"] == "dev"'

# Unknown paths and methods.
code=$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' "$FTRACK_SERVER/nothing")
[ "$code" = 404 ] || fail "unknown path: HTTP $code"
code=$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' "${AUTH[@]}" "$FTRACK_SERVER/api")
[ "$code" = 405 ] || fail "GET /api: HTTP $code"

stop_hub
[ "$HUB_EXIT" = 0 ] || fail "hub exit $HUB_EXIT"
echo "ok"
