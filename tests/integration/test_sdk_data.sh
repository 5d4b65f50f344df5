#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The SDK's data layer against the embedded hub: create/commit/query with paging/update/delete/
# rollback/auto-populate (sdk_data_probe crud), then encode_media of a local file: upload via
# get_upload_metadata + PUT, the Job reaching done with ffmpeg, its outputs queryable and
# downloadable through /component/get.
. "$FTRACK_TEST_LIB"

PROBE="$FTRACK_TEST_BIN_DIR/sdk_data_probe"
[ -x "$PROBE" ] || fail "sdk_data_probe is not built"

start_hub

out=$(timeout 120 "$PROBE" crud 2>&1) || fail "crud probe failed: $out"
for step in "commit" "7 statuses in pages of 3" "update reached the server" \
    "auto-populate off: not loaded" "auto-populate on: fetched" "rolled back entity absent" \
    "deleted project absent"; do
    grep -qxF "ok: $step" <<<"$out" || fail "crud probe lacks '$step': $out"
done

command -v ffmpeg >/dev/null || fail "ffmpeg is not installed (build.sh installs it)"
CLIP="$FTRACK_TEST_TMP/clip.mov"
ffmpeg -v error -y -f lavfi -i testsrc=duration=1:size=160x120:rate=10 -pix_fmt yuv420p "$CLIP" ||
    fail "ffmpeg could not make a test clip"

out=$(timeout 150 "$PROBE" encode "$CLIP" 120 2>&1) || fail "encode probe failed: $out"
grep -Eq '^job [0-9a-f-]+ done$' <<<"$out" || fail "job did not reach done: $out"
grep -Eq '^output [0-9a-f-]+ video/mp4$' <<<"$out" || fail "no mp4 output: $out"
grep -Eq '^output [0-9a-f-]+ image/jpeg$' <<<"$out" || fail "no jpeg output: $out"
[ "$(grep -c '^queryable ' <<<"$out")" -ge 2 ] || fail "outputs not queryable: $out"

# The mp4 output downloads (credentials as query parameters, protocol §2) and is an mp4.
mp4=$(awk '$1 == "output" && $3 == "video/mp4" {print $2}' <<<"$out")
curl -s --max-time 20 -o "$FTRACK_TEST_TMP/out.mp4" \
    "$FTRACK_SERVER/component/get?id=$mp4&username=$FTRACK_TEST_API_USER&apiKey=$FTRACK_TEST_API_KEY" ||
    fail "download of $mp4 failed"
head -c 12 "$FTRACK_TEST_TMP/out.mp4" | grep -q ftyp || fail "the mp4 output is not an mp4"

# A job that does not exist is a clear not-found, not a hang.
out=$(timeout 30 "$PROBE" wait-job 00000000-0000-4000-8000-000000000000 5 2>&1) &&
    fail "waiting for a missing job succeeded: $out"
grep -q "FAIL: job done" <<<"$out" || fail "unexpected output for a missing job: $out"

stop_hub
echo "PASS"
