#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Reliability 5: 10,000 malformed or hostile HTTP requests and websocket frames against the
# embedded hub (hand-written cases plus mutations of the fuzz corpus in tests/fuzz/seeds;
# tests/integration/hub_fuzz.py, seeded: FTRACK_FUZZ_SEED reproduces a run). The hub stays
# up and serves a correct client afterwards: a subscriber receives a publish, and the
# publisher gets its acknowledgement.
set -euo pipefail
. "$FTRACK_TEST_LIB"

start_hub
python3 "$(dirname "$0")/hub_fuzz.py" "$FTRACK_SERVER" "$FTRACK_API_USER" "$FTRACK_API_KEY" \
    "$FTRACK_SOURCE_DIR/tests/fuzz/seeds" --count 10000 || fail "the fuzzer could not go on"
kill -0 "$HUB_PID" || fail "the hub died under the fuzzer"

# A correct client afterwards: subscribe, publish, receive.
out="$FTRACK_TEST_TMP/probe.out"
"$FTRACK_TEST_BIN_DIR/hub_client_probe" --subscribe "topic=after.fuzz" --time 10 \
    --exit-after 3 --settle >"$out" 2>&1 &
probe=$!
track_child "$probe"
wait_for 10 grep -q '"connected":true' "$out" || { cat "$out" >&2; fail "a correct client cannot connect"; }
"$FTRACK_TEST_BIN_DIR/rel_publisher" after.fuzz --count 3 --wait 10 ||
    fail "publishes were not acknowledged after the fuzzing"
wait_for 10 grep -q '"topic":"after.fuzz"' "$out" || { cat "$out" >&2; fail "no event delivered after the fuzzing"; }
stop_hub
[ "$HUB_EXIT" -eq 0 ] || fail "hub exit $HUB_EXIT after SIGTERM"
echo ok
