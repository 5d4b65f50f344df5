#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `ftrack-host check-config FILE` (or `--config FILE`, as the host takes it) reports every
# kind of mistake, each with its key path and line, and exits 2; a good file exits 0.
. "$FTRACK_TEST_LIB"
. "$(dirname "$0")/host_helpers.sh"

dir=$(plugin_dir echo)
check() { # FILE [ARGS...]: run check-config, output in OUT, status in RC
    RC=0
    OUT=$("$FTRACK_HOST_BIN" check-config --plugin-path "$dir" "$@" 2>&1) || RC=$?
}
has() {
    grep -qF -- "$1" <<<"$OUT" || { echo "$OUT" >&2; fail "check-config output lacks: $1"; }
}

f=$FTRACK_TEST_TMP/bad.json
cat >"$f" <<'JSON'
{
  "queue_capacity": 0,
  "log_levle": "info",
  "drain_timeout": "soon",
  "log_format": "xml",
  "health_listen": "everywhere",
  "plugins": {
    "Bad Name": {},
    "echo-a": {"plugin": "echo", "enabeld": true, "queue_capacity": -1},
    "hook": {"plugin": "echo", "arguments": {"tag": {"file": "/nonexistent/secret"}}}
  }
}
JSON
check "$f"
[ "$RC" = 2 ] || fail "exit $RC for a bad file"
has "$f:2: queue_capacity: \"queue_capacity\" must be an integer from 1 to"
has "$f:3: log_levle: unknown key \"log_levle\""
has "$f:4: drain_timeout:"
has "$f:5: log_format: \"log_format\" must be text or json"
has "$f:6: health_listen:"
has "$f:8: plugins.Bad Name: plugins: \"Bad Name\" is not a valid instance name"
has "$f:9: plugins.echo-a.enabeld: plugins.echo-a: unknown key \"enabeld\""
has "$f:9: plugins.echo-a.queue_capacity:"
has "$f:10: plugins.hook.arguments:"
has "/nonexistent/secret"
has "$f: 9 problems"

# Plugin-level mistakes: wrong argument type, unknown own argument, missing plugin.
g=$FTRACK_TEST_TMP/plugins.json
cat >"$g" <<'JSON'
{
  "plugins": {
    "echo-a": {"plugin": "echo", "arguments": {"count": "five"}},
    "echo-b": {"plugin": "echo", "arguments": {"colour": "red"}},
    "ghost": {"plugin": "nosuch"}
  }
}
JSON
check "$g"
[ "$RC" = 2 ] || fail "exit $RC for plugin-level mistakes"
has "$g:3: plugins.echo-a: plugin instance 'echo-a' would be refused:"
has "$g:4: plugins.echo-b: plugin instance 'echo-b' would be refused:"
has "colour"
has "instance 'ghost' names plugin 'nosuch', which is not loaded"

# Invalid JSON: the line of the syntax error.
h=$FTRACK_TEST_TMP/syntax.json
printf '{\n  "plugins": {\n    "a": {,\n  }\n}\n' >"$h"
check "$h"
[ "$RC" = 2 ] || fail "exit $RC for invalid JSON"
has "not valid JSON (line 3"

# Missing file, no file.
check "$FTRACK_TEST_TMP/missing.json"
[ "$RC" = 2 ] || fail "exit $RC for a missing file"
has "cannot read"
RC=0
"$FTRACK_HOST_BIN" check-config >/dev/null 2>&1 || RC=$?
[ "$RC" = 2 ] || fail "exit $RC without a file"

# A good file (with a secret from a file) passes, and the secret is not printed.
printf 'sekrit-value-123\n' >"$FTRACK_TEST_TMP/tag"
ok=$FTRACK_TEST_TMP/good.json
cat >"$ok" <<JSON
{
  "log_format": "json",
  "health_listen": "127.0.0.1:0",
  "plugins": {"echo-a": {"plugin": "echo", "arguments": {"tag": {"file": "$FTRACK_TEST_TMP/tag"}}}}
}
JSON
check "$ok"
[ "$RC" = 0 ] || { echo "$OUT" >&2; fail "exit $RC for a good file"; }
has "ok (1 plugin instance would run"
! grep -q sekrit <<<"$OUT" || fail "check-config printed a secret"

# --config FILE and --config=FILE check the same file the same way, every problem included.
for form in "--config" "--config="; do
    if [ "$form" = "--config" ]; then check --config "$f"; else check "--config=$f"; fi
    [ "$RC" = 2 ] || fail "exit $RC for a bad file given as $form"
    has "$f:3: log_levle: unknown key \"log_levle\""
    has "$f: 9 problems"
    if [ "$form" = "--config" ]; then check --config "$ok"; else check "--config=$ok"; fi
    [ "$RC" = 0 ] || { echo "$OUT" >&2; fail "exit $RC for a good file given as $form"; }
    has "ok (1 plugin instance would run"
done
check --no-plugins --config "$ok"
[ "$RC" = 0 ] || fail "exit $RC for --no-plugins --config"
has "$ok: ok"
# Two files, or --config without one, are a usage error.
check --config "$ok" "$f"
[ "$RC" = 2 ] || fail "exit $RC for two files"
has "give one FILE"
check --config
[ "$RC" = 2 ] || fail "exit $RC for --config without a file"

"$FTRACK_HOST_BIN" check-config --help | grep -q 'KEY.PATH' || fail "check-config --help"
echo "PASS: check-config"
