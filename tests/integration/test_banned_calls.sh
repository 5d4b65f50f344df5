#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The project's short list of banned calls (docs/internals/code-style.md: written rules,
# enforced by tools): sprintf, strcpy, strcat, atoi, strtok, gets, rand, srand. Use snprintf,
# fti_strlcpy, strtol, strtok_r, and sdk/src/common/random.c for anything random. Fails
# naming every use in the C sources.
set -euo pipefail
cd "$FTRACK_SOURCE_DIR"
mapfile -t files < <(find sdk host plugins examples tests bench -name node_modules -prune -o \
    -type f \( -name '*.c' -o -name '*.h' \) -print | sort)
[ "${#files[@]}" -gt 50 ] || { echo "found only ${#files[@]} C files: wrong folder?" >&2; exit 1; }
hits=$(grep -nE '(^|[^_[:alnum:]])(sprintf|strcpy|strcat|atoi|strtok|gets|s?rand)[[:space:]]*\(' "${files[@]}" || true)
if [ -n "$hits" ]; then
    echo "banned calls:" >&2
    echo "$hits" >&2
    exit 1
fi
echo "ok: no banned calls in ${#files[@]} files"
