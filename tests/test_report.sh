#!/usr/bin/env bash
# `fleetsim report` and `fleetsim run --report` end to end: what the page holds (the scenario in
# words, the headline table, a <svg> in every plot section, notes where data is absent), that it
# references nothing outside itself, that text from the database is escaped, that the same
# database gives the same bytes, overlays of several runs, and bad input (exit 2, a message, no
# file). Skipped (77) without gnuplot; test_report_render.sh opens the page in a browser.
set -u
FLEETSIM=$1
source "$(dirname "$0")/cli_lib.sh"
command -v sqlite3 >/dev/null || { echo "sqlite3 CLI missing: install the sqlite3 package" >&2; exit 1; }
command -v gnuplot >/dev/null || { echo "SKIP: gnuplot not found (Debian: gnuplot-nox; .ci/setup installs it)" >&2; exit 77; }
lacks() { # lacks FILE TEXT DESCRIPTION
  if grep -qF -- "$2" "$1"; then bad "$3: '$2' found in $1"; else ok; fi
}
no_file() { # no_file PATH DESCRIPTION: neither PATH nor PATH.tmp exists
  if [[ -e $1 || -e $1.tmp ]]; then bad "$2: $1 or its .tmp left behind"; else ok; fi
}
# the page references nothing outside itself
self_contained() { # self_contained FILE
  local f=$1 refs
  refs=$(grep -oiE "(src|href|action|poster|data)[[:space:]]*=[[:space:]]*(\"[^\"]*\"|'[^']*'|[^[:space:]>]+)" "$f" |
    grep -iE 'http:|https:|//|file:|data:' || true)
  [[ -z $refs ]] && ok || bad "$f: external references: $refs"
  for t in '<script' '<link' '<iframe' '<img' '<object' '<embed' '@import'; do lacks "$f" "$t" "$f: no $t"; done
  if grep -oE 'url\([^)#]' "$f" >/dev/null; then bad "$f: a url() that is not a fragment"; else ok; fi
}
# every plot section holds one inline SVG; prints the ids of the drawn and the skipped sections
sections() { # sections FILE -> "drawn: a b c / skipped: d"
  awk 'BEGIN { RS = "</section>" }
       /<section class="plot"/ { match($0, /<section class="plot" id="[^"]*"/); id = substr($0, RSTART + 26, RLENGTH - 27)
                                 drawn = drawn " " id; if ($0 !~ /<svg/) nosvg = nosvg " " id }
       /<section class="plot-skipped"/ { match($0, /<section class="plot-skipped" id="[^"]*"/)
                                 skipped = skipped " " substr($0, RSTART + 34, RLENGTH - 35) }
       END { print "drawn:" drawn " / skipped:" skipped " / without svg:" nosvg }' "$1"
}

cat >"$T/fixed.json" <<'JSON'
{"name": "embed <b>&\"quoted\"</b>", "description": "Embeddings on L4s <script>alert(1)</script> & more",
 "seed": 7, "duration": 40, "warmup": 5,
 "fleet": {"gpu": "L4", "count": 3},
 "deployments": [{"name": "embed", "model": "BAAI/bge-large-en-v1.5", "replicas": 3,
                  "service": {"dist": "exponential", "mean_ms": 40}}],
 "workload": {"arrival": "poisson", "rate": 50, "input": {"dist": "uniform", "min": 10, "max": 500}},
 "router": {"policy": "least_outstanding"},
 "slo": {"ttft_ms": 150, "e2e_ms": 150}}
JSON
cat >"$T/llm.json" <<'JSON'
{"name": "chat-h100", "description": "Llama-3.1-8B on one H100, Poisson chat traffic.",
 "seed": 3, "duration": 30, "warmup": 5,
 "fleet": [{"gpu": "H100-SXM", "count": 1, "name": "h100-pool", "region": "eu-west"}],
 "deployments": [{"name": "chat", "model": "llama-3.1-8b", "kind": "llm", "engine": {"max_model_len": 8192}}],
 "workload": {"arrival": "poisson", "rate": 8, "input": {"dist": "lognormal", "mean": 800, "cv": 1, "max": 4000},
              "output": {"dist": "lognormal", "mean": 200, "cv": 1, "max": 1000}},
 "slo": {"ttft_ms": 300, "tpot_ms": 40}}
JSON

# run --report: the run is stored with its request rows and the report written, nothing else left
expect_code 0 "run --report" -- "$FLEETSIM" run "$T/fixed.json" --db "$T/r.db" --report "$T/a.html"
contains "$T/err" "report of run 1 written to $T/a.html" "run --report message"
[[ -s $T/a.html && ! -e $T/a.html.tmp ]] && ok || bad "run --report wrote the file (and no .tmp)"
(($(sqlite3 "$T/r.db" "select count(*) from requests where run_id = 1") > 1000)) && ok || bad "--report stores request rows"
head -c 15 "$T/a.html" | grep -q '<!DOCTYPE html>' && ok || bad "starts with the doctype"
[[ $(tail -c 8 "$T/a.html") == '</html>' ]] && ok || bad "ends with </html>"
self_contained "$T/a.html"
s=$(sections "$T/a.html")
[[ $s == "drawn: cdf-ttft cdf-e2e time-ttft time-e2e load queue replicas cost / skipped: cdf-tpot / without svg:" ]] &&
  ok || bad "fixed run sections: $s"
contains "$T/a.html" "no LLM deployment" "TPOT skipped with the reason"
# the scenario in words, from the runs table
for text in "Embeddings on L4s &lt;script&gt;alert(1)&lt;/script&gt; &amp; more" "embed &lt;b&gt;&amp;&quot;quoted&quot;&lt;/b&gt;" \
  "<dt>Seed</dt><dd>7</dd>" "fleetsim 0.1.0" "<td>L4</td>" "least_outstanding" "poisson arrivals at 50 req/s" \
  "uniform (max 500, min 10)" "TTFT ≤ 150 ms, E2E ≤ 150 ms" "arrivals for 40 s; the first 5 s are warm-up" \
  "a service time per request, exponential (mean_ms 40)" "Requests completed" "Cost per 1k requests (USD)" "p99.9" "SLO 150 ms"; do
  contains "$T/a.html" "$text" "summary holds"
done
commit=$(sqlite3 "$T/r.db" "select git_commit from runs where id = 1")
[[ -z $commit ]] || contains "$T/a.html" "(commit $commit)" "git commit shown"
lacks "$T/a.html" "<b>&" "run name escaped"
completed=$(sqlite3 "$T/r.db" "select printf('%,d', cast(value as int)) from metrics where run_id = 1 and name = 'completed'")
contains "$T/a.html" "<td class=\"n\">$completed</td>" "completed count in the headline table"
p99=$(sqlite3 "$T/r.db" "select printf('%.1f', value) from metrics where run_id = 1 and name = 'ttft' and stat = 'p99'")
contains "$T/a.html" ">$p99</td>" "p99 TTFT in the latency table"
grep -q "id='p1-gpPt0'" "$T/a.html" && ! grep -q "id='gpPt0'" "$T/a.html" && ok || bad "SVG ids prefixed per plot"

# the same database gives the same bytes, whether written by run --report or by report
expect_code 0 "report --run 1" -- "$FLEETSIM" report "$T/r.db" --run 1 -o "$T/b.html"
cmp -s "$T/a.html" "$T/b.html" && ok || bad "run --report and report give the same file"
expect_code 0 "report again" -- "$FLEETSIM" report "$T/r.db" -o "$T/c.html"
cmp -s "$T/b.html" "$T/c.html" && ok || bad "same database, same bytes (default run = the last ok run)"

# a run without request rows: the request plots give way to a note, the rest is drawn
expect_code 0 "run without rows" -- "$FLEETSIM" run "$T/fixed.json" --db "$T/r.db" --set name=norows
expect_code 0 "report without rows" -- "$FLEETSIM" report "$T/r.db" -o "$T/n.html"
contains "$T/err" "report of run 2 written" "default run is the last ok run"
s=$(sections "$T/n.html")
[[ $s == "drawn: load queue replicas cost / skipped: cdf-ttft cdf-tpot cdf-e2e time-ttft time-e2e / without svg:" ]] &&
  ok || bad "no-rows sections: $s"
contains "$T/n.html" "stored without request rows; run it with --requests or --report" "no-rows note"
self_contained "$T/n.html"

# a run without time series: those plots give way to a note naming the series
expect_code 0 "run without series" -- "$FLEETSIM" run "$T/fixed.json" --db "$T/s.db" --set output.timeseries_interval=0 --report "$T/s.html"
s=$(sections "$T/s.html")
[[ $s == "drawn: cdf-ttft cdf-e2e time-ttft time-e2e / skipped: cdf-tpot load queue replicas cost / without svg:" ]] &&
  ok || bad "no-series sections: $s"
contains "$T/s.html" "the time series arrival_rate, completion_rate were not stored (output.timeseries_interval 0" "no-series note"

# an LLM run: TPOT, KV-cache use, power
expect_code 0 "llm run" -- "$FLEETSIM" run "$T/llm.json" --db "$T/r.db" --requests
expect_code 0 "llm report" -- "$FLEETSIM" report "$T/r.db" --run 3 -o "$T/l.html"
s=$(sections "$T/l.html")
[[ $s == "drawn: cdf-ttft cdf-tpot cdf-e2e time-ttft time-e2e load queue replicas cost / skipped: / without svg:" ]] &&
  ok || bad "llm sections: $s"
for text in "KV-cache use (%)" "power (kW)" "vLLM-like engine: max_num_seqs" "h100-pool" "eu-west" \
  "TPOT: time per output token" "Cost per 1M output tokens (USD)" "Energy (kWh)" "SLO 40 ms"; do
  contains "$T/l.html" "$text" "llm report holds"
done

# several runs: one line per run, labelled; cost against p99 latency with the SLO and the front
expect_code 0 "three runs" -- "$FLEETSIM" report "$T/r.db" --run 1 --run 3 --run 2 -o "$T/m.html"
contains "$T/err" "report of 3 runs written" "several runs message"
self_contained "$T/m.html"
s=$(sections "$T/m.html")
[[ $s == "drawn: cdf-ttft cdf-tpot cdf-e2e time-ttft time-e2e load queue replicas cost tradeoff / skipped: / without svg:" ]] &&
  ok || bad "several-run sections: $s"
for text in "3 runs compared" "<th>run 1: embed &lt;b&gt;" "<th>run 3: chat-h100</th>" "<th>run 2: norows</th>" \
  "<text>run 3: chat-h100</text>" "<text>completions</text>" "Runs without request rows (not shown): 2." \
  "Pareto front" "run 3: chat-h100</text>" "SLO TTFT 150 ms" "SLO TTFT 300 ms" "cost per 1k requests (USD)"; do
  contains "$T/m.html" "$text" "several runs hold"
done
expect_code 0 "three runs again" -- "$FLEETSIM" report "$T/r.db" --run 1 --run 3 --run 2 -o "$T/m2.html"
cmp -s "$T/m.html" "$T/m2.html" && ok || bad "several runs: same bytes"

# bad input: exit 2, a message that says what, no file (and an existing file left alone)
cp "$T/b.html" "$T/keep.html"
expect_code 2 "missing db" -- "$FLEETSIM" report "$T/nope.db" -o "$T/x.html"
contains "$T/err" "nope.db: cannot read the results database: No such file or directory" "missing db message"
no_file "$T/x.html" "missing db"
echo "not a database" >"$T/text.db"
expect_code 2 "text file" -- "$FLEETSIM" report "$T/text.db" -o "$T/x.html"
contains "$T/err" "not a results database" "text file message"
sqlite3 "$T/other.db" "create table t(x); insert into t values (1)"
expect_code 2 "other sqlite" -- "$FLEETSIM" report "$T/other.db" -o "$T/x.html"
contains "$T/err" "not a results database: a SQLite file without fleetsim's tables" "other sqlite message"
no_file "$T/x.html" "not a results db"
expect_code 2 "unknown run" -- "$FLEETSIM" report "$T/r.db" --run 99 -o "$T/keep.html"
contains "$T/err" "no run 99 (its runs are numbered 1 to 3)" "unknown run message"
cmp -s "$T/b.html" "$T/keep.html" && ok || bad "an existing report is left as it was"
sqlite3 "$T/r.db" "insert into runs (name, scenario_json, seed, version, started_at, status, error) values
  ('broken', '{}', 1, '0.1.0', '2025-01-01T00:00:00Z', 'failed', 'trace.csv:12:3: bad row')"
expect_code 2 "failed run" -- "$FLEETSIM" report "$T/r.db" --run 4 -o "$T/x.html"
contains "$T/err" "run 4 ('broken') failed (trace.csv:12:3: bad row): only a run with status 'ok'" "failed run message"
no_file "$T/x.html" "failed run"
expect_code 2 "failed run among others" -- "$FLEETSIM" report "$T/r.db" --run 1 --run 4 -o "$T/x.html"
no_file "$T/x.html" "failed run among others"
expect_code 0 "default skips the failed run" -- "$FLEETSIM" report "$T/r.db" -o "$T/x.html"
contains "$T/err" "report of run 3 written" "default: the last run with status ok"
rm -f "$T/x.html"
expect_code 2 "missing folder" -- "$FLEETSIM" report "$T/r.db" -o "$T/no/such/dir/r.html"
contains "$T/err" "cannot write the report: folder '$T/no/such/dir': No such file or directory" "missing folder message"
[[ ! -e $T/no ]] && ok || bad "missing folder: nothing created"
expect_code 2 "output is a folder" -- "$FLEETSIM" report "$T/r.db" -o "$T"
expect_code 2 "run twice" -- "$FLEETSIM" report "$T/r.db" --run 1 --run 1 -o "$T/x.html"
contains "$T/err" "run 1 given twice" "run twice message"
expect_code 2 "bad run id" -- "$FLEETSIM" report "$T/r.db" --run abc -o "$T/x.html"
contains "$T/err" "--run: expected a run id (a positive integer), got 'abc'" "bad run id message"
expect_code 2 "no db argument" -- "$FLEETSIM" report
contains "$T/err" "report needs a results database" "no db message"
expect_code 2 "unknown option" -- "$FLEETSIM" report "$T/r.db" --frob
expect_code 0 "report --help" -- "$FLEETSIM" report --help
contains "$T/out" "usage: fleetsim report DB" "report --help"
no_file "$T/x.html" "usage errors"

# gnuplot missing or failing: exit 2, the reason, no file; run --report checks before running
expect_code 2 "no gnuplot" -- env PATH="$T/empty" "$FLEETSIM" report "$T/r.db" -o "$T/x.html"
contains "$T/err" "gnuplot not found on PATH ($T/empty): the HTML report draws its plots with gnuplot (Debian: apt-get install gnuplot-nox)" "no gnuplot message"
no_file "$T/x.html" "no gnuplot"
mkdir -p "$T/bin"
printf '#!/bin/sh\ncat >/dev/null\necho "line 3: undefined variable: boom" >&2\nexit 3\n' >"$T/bin/gnuplot"
chmod +x "$T/bin/gnuplot"
expect_code 2 "gnuplot fails" -- env PATH="$T/bin:$PATH" "$FLEETSIM" report "$T/r.db" -o "$T/x.html"
contains "$T/err" "gnuplot failed (exit status 3): line 3: undefined variable: boom" "gnuplot failure message"
no_file "$T/x.html" "gnuplot fails"
printf '#!/bin/sh\ncat >/dev/null\nexit 0\n' >"$T/bin/gnuplot"
expect_code 2 "gnuplot prints nothing" -- env PATH="$T/bin:$PATH" "$FLEETSIM" report "$T/r.db" -o "$T/x.html"
contains "$T/err" "gnuplot printed no <svg> element" "gnuplot without output"
no_file "$T/x.html" "gnuplot prints nothing"
printf '#!/bin/sh\nexit 0\n' >"$T/bin/gnuplot"
expect_code 2 "gnuplot reads nothing" -- env PATH="$T/bin:$PATH" "$FLEETSIM" report "$T/r.db" -o "$T/x.html"
# (a script that fits the pipe's buffer may be written before gnuplot exits: either message)
grep -qE "gnuplot stopped reading its script after|gnuplot printed no <svg> element" "$T/err" && ok ||
  bad "gnuplot that reads nothing: $(cat "$T/err")"
no_file "$T/x.html" "gnuplot reads nothing"
runs_before=$(sqlite3 "$T/r.db" "select count(*) from runs")
expect_code 2 "run --report without gnuplot" -- env PATH="$T/empty" "$FLEETSIM" run "$T/fixed.json" --db "$T/r.db" --report "$T/x.html"
expect_code 2 "run --report into a missing folder" -- "$FLEETSIM" run "$T/fixed.json" --db "$T/r.db" --report "$T/no/r.html"
[[ $(sqlite3 "$T/r.db" "select count(*) from runs") == "$runs_before" ]] && ok || bad "run --report checks before running"
expect_code 2 "run --report --no-db" -- "$FLEETSIM" run "$T/fixed.json" --no-db --report "$T/x.html"
contains "$T/err" "--report reads the run back from the results database: drop --no-db, or give --db FILE" "--no-db message"
no_file "$T/x.html" "run --report failures"

echo "test_report: $pass passed, $fail failed"
((fail == 0))
