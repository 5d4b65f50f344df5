#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A publisher with more publishes awaiting the hub's acknowledgement than the SDK's first ack
# table holds (1024) gets every acknowledgement: the table grows instead of forgetting the
# oldest records, whose acks then matched nothing and whose on_ack reported "no
# acknowledgement within N s" although the hub had acknowledged them (found by the journal's
# kill -9 test: about one burst of 1,200 in three lost 25-176 acks). Bursts of 5,000 to the
# embedded hub, three times; each must be acknowledged in full.
set -euo pipefail
. "$FTRACK_TEST_LIB"

start_hub
for round in 1 2 3; do
    rc=0
    out=$("$FTRACK_TEST_BIN_DIR/rel_publisher" test.acks --count 5000 --start $((round * 10000)) \
        --wait 30 2>&1) || rc=$?
    [ "$rc" -eq 0 ] && grep -q "^acked 5000 failed 0$" <<<"$out" ||
        fail "round $round: $(grep -E '^acked|not acknowledged' <<<"$out" | tr '\n' ' ')"
    echo "MEASURED: round $round: $(grep '^acked' <<<"$out")"
done
echo ok
