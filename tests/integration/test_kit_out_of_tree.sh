#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# examples/out-of-tree against the INSTALLED SDK: the build is installed into a staging root
# (DESTDIR, as the packages are made), the example is configured with only that root on
# CMAKE_PREFIX_PATH, builds, and passes its own CTest (ftrack_add_plugin_test running the
# staged ftrack-host test-plugin); nothing of the build tree is used. A changed expected
# output makes that CTest fail.
. "$FTRACK_TEST_LIB"

T=$FTRACK_TEST_TMP
build=$(cd "$(dirname "$FTRACK_HOST_BIN")/.." && pwd)
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
[ -n "$prefix" ] || fail "no CMAKE_INSTALL_PREFIX in $build/CMakeCache.txt"
stage=$T/stage
DESTDIR=$stage timeout 120 cmake --install "$build" >"$T/install.log" 2>&1 ||
    { cat "$T/install.log" >&2; fail "cmake --install failed"; }
p=$stage$prefix
config=$(find "$p" -name ftrackConfig.cmake | head -n 1)
[ -n "$config" ] || fail "no ftrackConfig.cmake installed under $p"
for f in ftrackConfigVersion.cmake ftrackTargets.cmake ftrackPlugin.cmake; do
    [ -f "$(dirname "$config")/$f" ] || fail "no $f beside ftrackConfig.cmake"
done
[ -x "$p/bin/ftrack-host" ] || fail "no staged ftrack-host"

cp -r "$FTRACK_SOURCE_DIR/examples/out-of-tree" "$T/src"
rm -rf "$T/src/build"
oot() { # oot NAME: configure, build and test the example copy in $T/NAME
    local dir=$T/$1
    timeout 120 cmake -S "$T/src" -B "$dir" -DCMAKE_PREFIX_PATH="$p" \
        -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF >"$dir.configure.log" 2>&1 ||
        { cat "$dir.configure.log" >&2; fail "$1: configure failed"; }
    timeout 120 cmake --build "$dir" >"$dir.build.log" 2>&1 ||
        { cat "$dir.build.log" >&2; fail "$1: build failed"; }
    OOT_RC=0
    (cd "$dir" && timeout 120 ctest --output-on-failure) >"$dir.ctest.log" 2>&1 || OOT_RC=$?
}

oot good
[ "$OOT_RC" = 0 ] || { cat "$T/good.ctest.log" >&2; fail "the example's CTest failed"; }
grep -q '100% tests passed, 0 tests failed out of 1' "$T/good.ctest.log" ||
    fail "the example ran no test: $(cat "$T/good.ctest.log")"
grep -qx "ftrack_DIR:PATH=$(dirname "$config")" "$T/good/CMakeCache.txt" ||
    fail "find_package(ftrack) did not find the staged SDK: $(grep ftrack_DIR "$T/good/CMakeCache.txt")"
grep -qx "FTRACK_HOST_EXECUTABLE:FILEPATH=$p/bin/ftrack-host" "$T/good/CMakeCache.txt" ||
    fail "not the staged ftrack-host: $(grep FTRACK_HOST_EXECUTABLE "$T/good/CMakeCache.txt")"
if grep -rqF "$build" "$T/good/CMakeCache.txt" "$T/good/CTestTestfile.cmake" "$T/good/CMakeFiles"; then
    fail "the example's build refers to the build tree $build"
fi

# The plugin's reply changes against the saved expectation: its CTest fails, naming the place.
sed -i 's/3 selected: 2 task, 1 assetversion/3 selected: 3 task/' "$T/src/tests/expected.jsonl"
oot changed
[ "$OOT_RC" != 0 ] || fail "a changed expectation still passed"
grep -q 'at replies\[0\].message: differs' "$T/changed.ctest.log" ||
    fail "no readable difference: $(cat "$T/changed.ctest.log")"
echo "PASS: out-of-tree"
