#!/usr/bin/env bash
# The HTML report rendered by a real browser: headless Chromium opens a report of two runs (one
# with request rows, one LLM run) from a file:// URL and writes a screenshot, which must not be a
# single colour. The PNG is decoded here with python3's zlib (no imaging library). Skipped (77)
# without chromium (.ci/run installs it) or gnuplot.
set -u
FLEETSIM=$1
source "$(dirname "$0")/cli_lib.sh"
browser=
for b in chromium chromium-browser google-chrome; do command -v "$b" >/dev/null && { browser=$b; break; }; done
[[ -n $browser ]] || { echo "SKIP: chromium not found (Debian: chromium; .ci/run installs it)" >&2; exit 77; }
command -v gnuplot >/dev/null || { echo "SKIP: gnuplot not found (Debian: gnuplot-nox)" >&2; exit 77; }
command -v python3 >/dev/null || { echo "python3 missing: the screenshot check decodes the PNG with it" >&2; exit 1; }

cat >"$T/fixed.json" <<'JSON'
{"name": "embed", "seed": 1, "duration": 30, "warmup": 5, "fleet": {"gpu": "L4", "count": 2},
 "deployments": [{"model": "bge", "replicas": 2, "service": {"dist": "exponential", "mean_ms": 30}}],
 "workload": {"arrival": "poisson", "rate": 40}, "slo": {"e2e_ms": 100}}
JSON
cat >"$T/llm.json" <<'JSON'
{"name": "chat", "seed": 1, "duration": 20, "fleet": [{"gpu": "H100-SXM", "count": 1}],
 "deployments": [{"model": "llama-3.1-8b", "kind": "llm", "engine": {"max_model_len": 8192}}],
 "workload": {"arrival": "poisson", "rate": 5, "output": {"dist": "fixed", "value": 100}},
 "slo": {"ttft_ms": 300}}
JSON
expect_code 0 "fixed run" -- "$FLEETSIM" run "$T/fixed.json" --db "$T/r.db" --requests
expect_code 0 "llm run" -- "$FLEETSIM" run "$T/llm.json" --db "$T/r.db" --requests
expect_code 0 "report" -- "$FLEETSIM" report "$T/r.db" --run 1 --run 2 -o "$T/report.html"

# --user-data-dir keeps the profile in the scratch folder (parallel tests, no writes to $HOME)
timeout 120 "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$T/profile" \
  --screenshot="$T/shot.png" --window-size=1200,3000 "file://$T/report.html" >"$T/browser.log" 2>&1
code=$?
[[ $code == 0 && -s $T/shot.png ]] && ok || bad "$browser: exit $code, no screenshot; $(tail -5 "$T/browser.log")"

# Decode the PNG (8-bit RGB or RGBA, not interlaced: what Chromium writes), undo the row filters,
# count the distinct colours and the share of pixels that differ from the most common one.
if [[ -s $T/shot.png ]]; then
  verdict=$(python3 - "$T/shot.png" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
if data[:8] != b"\x89PNG\r\n\x1a\n":
    sys.exit("not a PNG")
pos, idat, hdr = 8, b"", None
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        hdr = struct.unpack(">IIBBBBB", body)
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
w, h, depth, ctype, _, _, interlace = hdr
if depth != 8 or ctype not in (2, 6) or interlace:
    sys.exit("unexpected PNG format: depth %d, colour type %d, interlace %d" % (depth, ctype, interlace))
bpp = 3 if ctype == 2 else 4
raw, stride = zlib.decompress(idat), w * bpp
prev, counts = bytearray(stride), {}
for y in range(h):
    f, row = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = row[i - bpp] if i >= bpp else 0
        b, c = prev[i], prev[i - bpp] if i >= bpp else 0
        if f == 1: row[i] = (row[i] + a) & 255
        elif f == 2: row[i] = (row[i] + b) & 255
        elif f == 3: row[i] = (row[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            row[i] = (row[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    for i in range(0, stride, bpp * 4):  # every 4th pixel is plenty
        px = bytes(row[i:i + 3])
        counts[px] = counts.get(px, 0) + 1
    prev = row
total, top = sum(counts.values()), max(counts.values())
print("%dx%d colours=%d other=%.4f" % (w, h, len(counts), 1 - top / total))
PY
)
  echo "screenshot: $verdict"
  colours=$(sed -n 's/.*colours=\([0-9]*\).*/\1/p' <<<"$verdict")
  other=$(sed -n 's/.*other=\([0-9.]*\).*/\1/p' <<<"$verdict")
  [[ -n $colours ]] && ((colours > 16)) && ok || bad "screenshot is (nearly) one colour: $verdict"
  [[ -n $other ]] && awk -v o="$other" 'BEGIN { exit !(o > 0.02) }' && ok || bad "screenshot is nearly blank: $verdict"
fi

echo "test_report_render: $pass passed, $fail failed"
((fail == 0))
