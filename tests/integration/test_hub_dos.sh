#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The embedded hub against clients without the key and slow or greedy clients: POST /api bodies
# without credentials are refused from their head (memory stays flat while an authenticated
# client is served throughout), connections are capped, and requests whose head or body is too
# slow are closed after --client-timeout.
. "$FTRACK_TEST_LIB"

FLOOD="$(dirname "$0")/hub_flood.py"
# Under AddressSanitizer freed memory waits in a quarantine (256 MB by default) before it is
# reused, so the hub's resident size would measure the sanitizer, not the hub: keep that one
# small for this hub (use-after-free is still caught for recent frees).
if [ -n "${ASAN_OPTIONS:-}" ]; then
    export ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=4:thread_local_quarantine_size_kb=256"
fi
start_hub --store memory --max-connections 40 --client-timeout 3

# 30 connections without credentials post 8 MB bodies at 640 KB/s each for 8 s (about 150 MB
# if the hub kept them) while an authenticated client asks every 0.2 s.
out=$(python3 "$FLOOD" bodies "$HUB_PORT" "$HUB_PID" 8 30 "$FTRACK_TEST_API_USER" "$FTRACK_TEST_API_KEY") ||
    fail "an authenticated request failed during the flood: $out"
note "flood: $out"
growth=$(sed -n 's/.*growth_kib=\([0-9-]*\).*/\1/p' <<<"$out")
served=$(sed -n 's/.*served=\([0-9]*\).*/\1/p' <<<"$out")
refused=$(sed -n 's/.*refused=\([0-9]*\).*/\1/p' <<<"$out")
[ "$growth" -lt 30720 ] || fail "the hub's resident memory grew by $growth KiB under the flood"
[ "$served" -ge 10 ] || fail "only $served authenticated requests were answered in 8 s"
[ "$refused" -ge 30 ] || fail "the hub closed only $refused unauthenticated uploads"

# Without the key, small bodies still get the usual answer (and the connection is closed).
code=$(curl -s --max-time 10 -o "$FTRACK_TEST_TMP/unauth.json" -w '%{http_code}' -X POST \
    --data-binary '[{"action":"query_server_information"}]' "$FTRACK_SERVER/api")
[ "$code" = 200 ] && grep -q InvalidCredentialsError "$FTRACK_TEST_TMP/unauth.json" ||
    fail "unauthenticated small body: HTTP $code $(cat "$FTRACK_TEST_TMP/unauth.json")"

# /api takes credentials from headers only: a key in its query string is not accepted.
code=$(curl -s --max-time 10 -o "$FTRACK_TEST_TMP/query.json" -w '%{http_code}' -X POST \
    -H 'ftrack-strict-api: true' --data-binary '[{"action":"query_server_information"}]' \
    "$FTRACK_SERVER/api?api_user=$FTRACK_TEST_API_USER&api_key=$FTRACK_TEST_API_KEY")
[ "$code" = 401 ] || fail "/api accepted a key in its query string: HTTP $code $(cat "$FTRACK_TEST_TMP/query.json")"

# A declared body over the limit is refused from the head, even with the key.
code=$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' -X POST \
    -H "ftrack-user: $FTRACK_TEST_API_USER" -H "ftrack-api-key: $FTRACK_TEST_API_KEY" \
    -H 'Content-Length: 900000000' --data-binary 'x' "$FTRACK_SERVER/api")
[ "$code" = 413 ] || fail "declared oversized body: HTTP $code (want 413)"

# Slow clients are closed after about 3 s, whether their head or their body is slow.
for kind in head body; do
    out=$(python3 "$FLOOD" slow "$HUB_PORT" "$kind" 20 "$FTRACK_TEST_API_USER" "$FTRACK_TEST_API_KEY")
    note "slow $kind: $out"
    after=$(sed -n 's/closed_after=\([0-9]*\).*/\1/p' <<<"$out")
    [ -n "$after" ] && [ "$after" -le 10 ] || fail "a client sending its $kind slowly was kept: $out"
done

# 80 idle connections: the hub takes in at most its 40, the rest wait in the backlog.
out=$(python3 "$FLOOD" hold "$HUB_PORT" 80 2 "$HUB_PID")
note "hold: $out"
accepted=${out#accepted=}
[ "$accepted" -le 40 ] || fail "the hub accepted $accepted connections with --max-connections 40"
# Once they are gone the hub serves again.
wait_for 15 curl -sf --max-time 2 -X POST -H "ftrack-user: $FTRACK_TEST_API_USER" \
    -H "ftrack-api-key: $FTRACK_TEST_API_KEY" --data-binary '[]' "$FTRACK_SERVER/api" ||
    fail "the hub does not serve after the idle connections closed"

# A flood of handshakes that never upgrade (more than the 4096 pending sids kept) pushes out
# its own oldest sids, not a real client's newer one.
out=$(python3 "$FLOOD" sids "$HUB_PORT" 4200 "$FTRACK_TEST_API_USER" "$FTRACK_TEST_API_KEY")
note "handshake flood: $out"
grep -q '^upgrade=HTTP/1.1 101' <<<"$out" || fail "a real client's upgrade failed under a handshake flood: $out"

# A 64 KiB query of many short strings costs about its own size, not its size per string.
out=$(python3 "$FLOOD" query "$HUB_PORT" "$HUB_PID" "$FTRACK_TEST_API_USER" "$FTRACK_TEST_API_KEY")
note "long query: $out"
grep -q 'status=200' <<<"$out" || fail "the long query was not answered: $out"
peak=$(sed -n 's/.*peak_growth_kib=\([0-9-]*\).*/\1/p' <<<"$out")
[ "$peak" -lt 8192 ] || fail "a 64 KiB query raised the hub's peak memory by $peak KiB"

# Bad option values are usage errors.
"$FTRACK_HOST_BIN" hub --max-connections 0 2>/dev/null && fail "--max-connections 0 accepted"
[ $? -eq 2 ] || fail "--max-connections 0: exit $? (want 2)"
"$FTRACK_HOST_BIN" hub --max-upload 12X 2>/dev/null
[ $? -eq 2 ] || fail "--max-upload 12X: exit $? (want 2)"

stop_hub
echo "ok"
