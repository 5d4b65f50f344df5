# SPDX-License-Identifier: Apache-2.0
# Helpers for the operations tests (test_ops_*.sh). Source after $FTRACK_TEST_LIB and
# host_helpers.sh.
#
#   health_url [LOG]          print the health endpoint's URL from a host log
#   http_get URL              sets HTTP_CODE (000: no answer) and BODY (no subshell: call it
#                             directly, not in $(...))
#   prom_check URL OUTFILE    fetch /metrics, check it parses as Prometheus text, write the
#                             samples as "name{labels} value" lines to OUTFILE
#   metric OUTFILE PREFIX     print the value of the sample whose name{labels} is PREFIX

health_url() {
    grep -o 'health and metrics at http://[0-9.]*:[0-9]*' "${1:-$HOST_LOG}" | head -n 1 |
        sed 's/.* at //'
}

http_get() {
    local out
    out=$(python3 - "$1" <<'PY'
import sys, urllib.request, urllib.error
try:
    with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
        body, code = r.read().decode(), r.status
except urllib.error.HTTPError as e:
    body, code = e.read().decode(), e.code
except Exception as e:
    body, code = str(e), 0
sys.stdout.write("%03d\n%s" % (code, body))
PY
)
    HTTP_CODE=${out%%$'\n'*}
    BODY=${out#*$'\n'}
}

prom_check() {
    python3 - "$1" "$2" <<'PY' || fail "/metrics is not valid Prometheus text"
# A small parser for the text exposition format 0.0.4: HELP/TYPE comments, samples
# `name{label="value",...} value`, histogram buckets cumulative and ending at +Inf = _count.
import re, sys, urllib.request
text = urllib.request.urlopen(sys.argv[1], timeout=5).read().decode()
name_re = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
label_re = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
sample_re = re.compile(r'^(%s)(\{(?:%s(?:,%s)*)?\})? (\S+)$' % (name_re, label_re, label_re))
types, samples = {}, []
assert text.endswith("\n"), "no final newline"
for n, line in enumerate(text.split("\n")[:-1], 1):
    if line.startswith("# HELP "):
        assert re.match(r'^# HELP %s .*$' % name_re, line), "bad HELP line %d" % n
        continue
    if line.startswith("# TYPE "):
        m = re.match(r'^# TYPE (%s) (counter|gauge|histogram|summary|untyped)$' % name_re, line)
        assert m, "bad TYPE line %d: %s" % (n, line)
        assert m.group(1) not in types, "TYPE twice for %s" % m.group(1)
        types[m.group(1)] = m.group(2)
        continue
    assert not line.startswith("#"), "stray comment line %d" % n
    m = sample_re.match(line)
    assert m, "bad sample line %d: %r" % (n, line)
    value = float(m.group(3))  # raises on garbage; +Inf/NaN parse too
    name = m.group(1)
    base = re.sub(r'_(bucket|sum|count)$', '', name)
    assert name in types or base in types, "sample without TYPE line %d: %s" % (n, name)
    if types.get(name) == "counter" or name.endswith("_total"):
        assert value >= 0, "negative counter line %d" % n
    samples.append((name, m.group(2) or "", value))
# histograms: cumulative buckets, +Inf equal to _count
series = {}
for name, labels, value in samples:
    if name.endswith("_bucket"):
        key = (name[:-7], re.sub(r',?le="[^"]*"', '', labels))
        series.setdefault(key, []).append(value)
for (base, labels), values in series.items():
    assert values == sorted(values), "buckets of %s%s not cumulative" % (base, labels)
    count = [v for n, l, v in samples if n == base + "_count" and l == labels]
    assert count and count[0] == values[-1], "+Inf bucket != _count for %s%s" % (base, labels)
with open(sys.argv[2], "w") as out:
    for name, labels, value in samples:
        out.write("%s%s %s\n" % (name, labels, repr(value)))
PY
}

metric() {
    awk -v k="$2" '$1 == k { print $2; found = 1 } END { if (!found) print "missing" }' "$1"
}
