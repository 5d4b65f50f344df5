#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# packaging/add-spdx.sh on a copy of the repository: afterwards every source file passes
# --check, a second run changes nothing, shebangs stay on line 1, each changed file gained
# exactly one line, and the shell, Python and JavaScript files still parse.
. "$FTRACK_TEST_LIB"

src=$FTRACK_SOURCE_DIR
copy=$FTRACK_TEST_TMP/copy
mkdir -p "$copy"
(cd "$src" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf -) |
    tar -xf - -C "$copy" || fail "cannot copy the repository"
rm -rf "$copy/.git"
# The tree carries its identifiers already: take them out of the copy, so the script has the
# work it had on the tree before the license (a line that is only the identifier comment).
grep -rlZ --exclude-dir=node_modules 'SPDX-License-Identifier: Apache-2.0' "$copy" |
    xargs -0 -r sed -i -E '/^(\/\*|#|\/\/) SPDX-License-Identifier: Apache-2.0( \*\/)?$/d'
"$src/packaging/add-spdx.sh" --check "$copy" >/dev/null 2>&1 && fail "the copy still has its identifiers"
find "$copy" -type f ! -path '*/node_modules/*' -print0 | sort -z | xargs -0 wc -l >"$FTRACK_TEST_TMP/before"

"$src/packaging/add-spdx.sh" "$copy" 2>"$FTRACK_TEST_TMP/add.log" || fail "add-spdx.sh failed: $(cat "$FTRACK_TEST_TMP/add.log")"
"$src/packaging/add-spdx.sh" --check "$copy" >"$FTRACK_TEST_TMP/check" 2>&1 ||
    fail "still missing after add-spdx.sh: $(head "$FTRACK_TEST_TMP/check")"
snap() { find "$copy" -type f -print0 | sort -z | xargs -0 md5sum; }
snap >"$FTRACK_TEST_TMP/sum1"
"$src/packaging/add-spdx.sh" "$copy" 2>"$FTRACK_TEST_TMP/add2.log"
snap >"$FTRACK_TEST_TMP/sum2"
cmp -s "$FTRACK_TEST_TMP/sum1" "$FTRACK_TEST_TMP/sum2" || fail "a second run changed files"
grep -q "to 0 file" "$FTRACK_TEST_TMP/add2.log" || fail "second run: $(cat "$FTRACK_TEST_TMP/add2.log")"

# Each file grew by at most one line; shebangs are still first.
find "$copy" -type f ! -path '*/node_modules/*' -print0 | sort -z | xargs -0 wc -l >"$FTRACK_TEST_TMP/after"
python3 - "$FTRACK_TEST_TMP/before" "$FTRACK_TEST_TMP/after" <<'PY' || fail "line counts"
import sys
def read(p):
    d = {}
    for line in open(p):
        n, name = line.split(None, 1)
        d[name.strip()] = int(n)
    return d
b, a = read(sys.argv[1]), read(sys.argv[2])
grown = [k for k in a if k != "total" and a[k] - b.get(k, a[k]) not in (0, 1)]
assert not grown, grown[:5]
assert sum(a[k] - b[k] for k in a if k in b and k != "total") > 100
PY
for f in "$copy/build.sh" "$copy/.ci/run" "$copy/packaging/debian/postinst.in"; do
    [ -f "$f" ] || continue
    head -c 2 "$f" | grep -q '^#!' || fail "$f lost its shebang"
    sed -n 2p "$f" | grep -q '^# SPDX-License-Identifier: Apache-2.0$' || fail "$f: identifier not on line 2"
done
head -n 1 "$copy/sdk/include/ftrack/ftrack.h" | grep -qx '/\* SPDX-License-Identifier: Apache-2.0 \*/' ||
    fail "ftrack.h: $(head -n 1 "$copy/sdk/include/ftrack/ftrack.h")"
while IFS= read -r -d '' f; do bash -n "$f" || fail "$f no longer parses"; done < <(find "$copy" -name '*.sh' -print0)
# Every Python file that parses in the tree still parses (a fixture that is broken on purpose,
# such as a plugin with a syntax error, stays broken the same way).
parses() { python3 -c 'import ast,sys; ast.parse(open(sys.argv[1]).read())' "$1" 2>/dev/null; }
while IFS= read -r -d '' f; do
    if parses "$FTRACK_SOURCE_DIR/${f#"$copy"/}"; then
        parses "$f" || fail "$f no longer parses"
    fi
done < <(find "$copy" -name '*.py' ! -path '*/node_modules/*' -print0)
if command -v node >/dev/null; then
    while IFS= read -r -d '' f; do node --check "$f" || fail "$f no longer parses"; done \
        < <(find "$copy" -name '*.mjs' ! -path '*/node_modules/*' -print0)
fi
echo "PASS: add-spdx"
