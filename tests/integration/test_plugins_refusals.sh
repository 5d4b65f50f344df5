#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Every refusal reason gets one clear line naming the file, and the host goes on with the
# others; `ftrack-host plugins` reports the same without connecting and exits 1.
set -euo pipefail
. "$FTRACK_TEST_LIB"
. "$(dirname "$0")/host_helpers.sh"

dir=$(plugin_dir echo noentry abi99 badsize noregister regfail)
cp "$FTRACK_TEST_PLUGIN_DIR/dup/test_plugin_dup.so" "$dir/zz_dup.so"
cp "$FTRACK_TEST_PLUGIN_DIR/echo/test_plugin_echo.so" "$dir/world.so"
chmod 666 "$dir/world.so"
mkdir -p "$dir/open/inner"
chmod 777 "$dir/open"
cp "$FTRACK_TEST_PLUGIN_DIR/echo/test_plugin_echo.so" "$dir/open/inner/hidden.so"
echo "not a shared object" >"$dir/broken.so"
echo "ignored" >"$dir/notes.txt"

# --- ftrack-host plugins ---------------------------------------------------------------------
rc=0
out=$("$FTRACK_HOST_BIN" plugins --plugin-path "$dir" 2>&1) || rc=$?
echo "$out"
[ "$rc" -eq 1 ] || fail "plugins should exit 1 when a file is refused, got $rc"
check() { # FILE REASON
    local n
    n=$(grep -cF "refused $dir/$1: " <<<"$out" || true)
    [ "$n" -eq 1 ] || fail "expected one refusal line for $1, got $n"
    grep -F "refused $dir/$1: " <<<"$out" | grep -qF -- "$2" || fail "refusal of $1 lacks '$2'"
}
check test_plugin_noentry.so "no entry point ftrack_plugin_register_v1"
check test_plugin_abi99.so "built for plugin ABI v99 only; this host knows ABI v1"
check test_plugin_badsize.so "wrong descriptor size 16"
check test_plugin_noregister.so "no register function"
check zz_dup.so "duplicate plugin name 'echo' (already loaded from $dir/test_plugin_echo.so)"
check world.so "the file is writable by everyone"
check open/inner/hidden.so "folder $dir/open is writable by everyone"
check broken.so "failed to load"
grep -q "notes.txt" <<<"$out" && fail "a file not named *.so was tried"
grep -qE "^plugin echo 1\.0\.0 \(ABI v1\) $dir/test_plugin_echo.so" <<<"$out" ||
    fail "echo is not listed as loadable"
grep -qE "^    count +int +optional +default 1 +an integer, echoed" <<<"$out" ||
    fail "echo's parameters are not listed with type, required, default and help"
grep -qE "^plugin regfail 1\.0\.0" <<<"$out" || fail "regfail loads (it fails only in register)"
grep -qF "8 files refused" <<<"$out" || fail "summary should count 8 refused files"

# Only good plugins: exit 0.
good=$(plugin_dir echo slow)
"$FTRACK_HOST_BIN" plugins --plugin-path "$good" >/dev/null || fail "plugins should exit 0"

# --- the host ----------------------------------------------------------------------------------
start_host --plugin-path "$dir"
for f in test_plugin_noentry.so test_plugin_abi99.so test_plugin_badsize.so \
    test_plugin_noregister.so zz_dup.so world.so open/inner/hidden.so broken.so; do
    n=$(count_lines "refused plugin file $dir/$f: ")
    [ "$n" -eq 1 ] || fail "expected one log line refusing $f, got $n"
done
expect_log "refused plugin instance 'regfail' \($dir/test_plugin_regfail.so\): its register function failed: regfail refuses to register on purpose"
expect_log "registered plugin instance 'echo'"
expect_log "ready: 1 plugin instance running"

probe test.echo --expect 1 --wait 10
[ "$PROBE_RC" -eq 0 ] || fail "echo did not reply: $PROBE_OUT"
grep -q '"instance":"echo"' <<<"$PROBE_OUT" || fail "unexpected reply: $PROBE_OUT"
# regfail subscribed before failing; the host removed that subscription.
probe test.regfail --expect 1 --wait 1.5
[ "$PROBE_RC" -eq 1 ] || fail "regfail's subscription survived its failed register: $PROBE_OUT"

stop_host TERM
[ "$HOST_EXIT" -eq 0 ] || { cat "$HOST_LOG" >&2; fail "exit code $HOST_EXIT after SIGTERM"; }
expect_log "stopped cleanly"
echo "ok"
