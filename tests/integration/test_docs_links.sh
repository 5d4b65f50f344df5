#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The repository explains itself: every `protocol §N` (and `protocol Appendix X`) a comment,
# test or doc cites is a section of docs/internals/protocol.md, every docs/... path cited
# exists, every file the internals pages name exists, and nothing points at a document
# outside the repository.
set -euo pipefail
cd "$FTRACK_SOURCE_DIR"
python3 - <<'PY'
import os, re, sys

roots = [d for d in ("sdk", "host", "hub", "plugins", "examples", "tests", "bench", "docs",
                     "packaging", "cmake") if os.path.isdir(d)]
files = [f for f in ("README.md", "CMakeLists.txt", "build.sh") if os.path.isfile(f)]
for root in roots:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in ("node_modules", ".git")]
        for name in filenames:
            if name.endswith((".c", ".h", ".sh", ".mjs", ".py", ".md", ".txt", ".cmake", ".S",
                              ".json", ".1", ".service", ".in")):
                files.append(os.path.join(dirpath, name))
if len(files) < 100:
    sys.exit("found only %d files: wrong folder?" % len(files))

sections = set()
for line in open("docs/internals/protocol.md", encoding="utf-8"):
    m = re.match(r"#{2,3} (\d+(?:\.\d+)?)\.? ", line) or re.match(r"## (Appendix [A-Z])\. ", line)
    if m:
        sections.add(m.group(1))
rules = {}
in_b = False
for line in open("docs/internals/protocol.md", encoding="utf-8"):
    if line.startswith("## "):
        in_b = line.startswith("## Appendix B.")
    m = re.match(r"(\d+)\. ", line)
    if in_b and m:
        rules[m.group(1)] = True

problems = []
# Pointing outside: a machine-local absolute path, a relative path that climbs above the
# repository, or a Markdown document that no folder of the repository holds.
local_path = re.compile(r"(?<![\w.])/(?:work|home|root|tmp/shared)/[\w.-]")
climb = re.compile(r"((?:\.\./)+)[\w.-]")
md_name = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w.-]+\.md)\b")
md_names = set()
for dirpath, dirnames, filenames in os.walk("."):
    dirnames[:] = [d for d in dirnames if d not in ("node_modules", ".git") and
                   not d.startswith("build")]
    md_names.update(n for n in filenames if n.endswith(".md"))
md_names.update({"latest.md", "scaleout-latest.md"})  # tables the benchmarks write

def outside(path, line):
    if local_path.search(line):
        return True
    depth = path.count("/")
    if any(m.group(1).count("../") > depth for m in climb.finditer(line)):
        return True
    return any(os.path.basename(m.group(1)) not in md_names for m in md_name.finditer(line))
cite = re.compile(r"protocol((?:[ ,-]*(?:§\d+(?:\.\d+)?(?:'s)?|Appendi(?:x|ces) [A-Z](?:-[A-Z])?"
                  r"(?: rules? \d+(?:-\d+)?)?|step \d+|uploads|and))+)")
count = 0
for path in files:
    if path == "tests/integration/test_docs_links.sh":
        continue
    try:
        text = open(path, encoding="utf-8").read()
    except UnicodeDecodeError:
        continue
    for n, line in enumerate(text.splitlines(), 1):
        if outside(path, line):
            problems.append("%s:%d: points outside the repository: %s" % (path, n, line.strip()))
        for m in cite.finditer(line):
            count += 1
            for sec in re.findall(r"§(\d+(?:\.\d+)?)", m.group(1)):
                if sec not in sections:
                    problems.append("%s:%d: protocol §%s is no section of "
                                    "docs/internals/protocol.md" % (path, n, sec))
            for a in re.findall(r"Appendi(?:x|ces) ([A-Z](?:-[A-Z])?)", m.group(1)):
                for letter in a.split("-"):
                    if "Appendix " + letter not in sections:
                        problems.append("%s:%d: no Appendix %s" % (path, n, letter))
            for r in re.findall(r"rules? (\d+)(?:-(\d+))?", m.group(1)):
                for k in r:
                    if k and k not in rules:
                        problems.append("%s:%d: no Appendix B rule %s" % (path, n, k))
        for doc in re.findall(r"\b(docs/[A-Za-z0-9_/.-]+\.md)", line):
            if not os.path.isfile(doc):
                problems.append("%s:%d: %s does not exist" % (path, n, doc))
# The internals pages name files: each named path must exist, so a move updates them.
for page in sorted(os.listdir("docs/internals")):
    text = open(os.path.join("docs/internals", page), encoding="utf-8").read()
    for path in re.findall(r"`((?:sdk|host|tests|cmake|plugins|docs|bench|packaging|examples)/"
                           r"[A-Za-z0-9_./-]+)`", text):
        if not os.path.exists(path.rstrip("/")):
            problems.append("docs/internals/%s: names %s, which does not exist" % (page, path))
if count < 50:
    problems.append("found only %d protocol citations: the pattern is broken" % count)
if problems:
    print("\n".join(problems), file=sys.stderr)
    sys.exit(1)
print("ok: %d protocol citations in %d files resolve; nothing points outside" % (count, len(files)))
PY
