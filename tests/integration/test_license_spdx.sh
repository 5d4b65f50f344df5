#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Every source file of the repository carries `SPDX-License-Identifier: Apache-2.0` in its
# first lines (packaging/add-spdx.sh --check lists those that do not), and LICENSE holds the
# Apache License 2.0.
. "$FTRACK_TEST_LIB"

src=$FTRACK_SOURCE_DIR
[ -f "$src/LICENSE" ] || fail "no LICENSE"
grep -q '^ *Apache License$' "$src/LICENSE" && grep -q 'Version 2.0, January 2004' "$src/LICENSE" ||
    fail "LICENSE is not the Apache License 2.0"
grep -q 'END OF TERMS AND CONDITIONS' "$src/LICENSE" || fail "LICENSE is not the full text"
out=$FTRACK_TEST_TMP/missing
"$src/packaging/add-spdx.sh" --check "$src" >"$out" 2>&1 ||
    fail "source files without an SPDX identifier (run packaging/add-spdx.sh):
$(head -n 20 "$out")"
echo "PASS: license"
