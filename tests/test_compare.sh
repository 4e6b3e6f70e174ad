#!/usr/bin/env bash
# fleetsim compare end to end, and the CI regression gate:
#   - exit 0 on a pass (a run against itself, a rerun, run ids, the three formats);
#   - exit 1 on a regression: a rise in latency, a fall in goodput (the SLO tightened: the
#     same latencies, fewer good requests), thresholds both ways (+N fails a rise, -N a fall),
#     absolute thresholds;
#   - exit 2 on bad input: a missing file, a file that is no database, an unknown run id, a
#     malformed threshold, an unknown metric in a threshold, malformed JSON, bad usage;
#   - replications (fleetsim sweep --seeds): other seeds of the same scenario are noise and
#     pass; a large change fails;
#   - scenarios/ci/gate.sh passes against the committed baseline and fails against a doctored
#     one (every p99 TTFT of the baseline lowered by 30%, then every goodput raised by 20%).
# usage: test_compare.sh FLEETSIM SOURCE_DIR
set -u
F=$1
SRC=$2
. "$(dirname "$0")/cli_lib.sh"
Q=$SRC/scenarios/ci/ci-queue.json

run() { # run DB [--set ...]: ci-queue into DB
  local db=$1
  shift
  "$F" run "$Q" --db "$db" "$@" >"$T/run.out" 2>"$T/run.err" || bad "fleetsim run $Q $*: $(cat "$T/run.err")"
}
run "$T/base.db"
run "$T/same.db"
run "$T/hot.db" --set workload.rate=88                             # 88% busy: latencies up
run "$T/cool.db" --set workload.rate=70                            # latencies down
run "$T/tight.db" --set slo.ttft_ms=100 --set slo.e2e_ms=100       # same latencies, fewer good

# ---- passes
expect_code 0 "a run against itself" -- "$F" compare "$T/base.db" "$T/base.db"
contains "$T/out" "result: PASS" "pass line"
expect_code 0 "a rerun with the same seed" -- "$F" compare "$T/base.db" "$T/same.db"
expect_code 0 "run ids" -- "$F" compare "$T/base.db:1" "$T/same.db:1"
expect_code 0 "json" -- "$F" compare "$T/base.db" "$T/same.db" --format json
contains "$T/out" '"result": "pass"' "json result"
expect_code 0 "markdown" -- "$F" compare "$T/base.db" "$T/same.db" --format md
contains "$T/out" "## fleetsim compare: PASS" "markdown title"
expect_code 0 "--all" -- "$F" compare "$T/base.db" "$T/same.db" --all
contains "$T/out" "replica_utilization" "--all lists every metric"
expect_code 0 "--help" -- "$F" compare --help
contains "$T/out" "usage: fleetsim compare BASE CAND" "help text"

# ---- regressions
expect_code 1 "latency rise under the defaults" -- "$F" compare "$T/base.db" "$T/hot.db"
grep -E '^  p99_ttft_ms .* \+10% +REGRESSION$' "$T/out" >/dev/null && ok || bad "p99_ttft_ms REGRESSION row: $(cat "$T/out")"
contains "$T/out" "result: REGRESSION" "regression line"
expect_code 1 "latency rise, +10% alone" -- "$F" compare "$T/base.db" "$T/hot.db" --no-default-thresholds \
  --threshold p99_ttft_ms:+10%
expect_code 0 "latency rise within +1000%" -- "$F" compare "$T/base.db" "$T/hot.db" --no-default-thresholds \
  --threshold p99_ttft_ms:+1000%
expect_code 1 "absolute: +5ms" -- "$F" compare "$T/base.db" "$T/hot.db" --no-default-thresholds \
  --threshold ttft:p99:+5ms
expect_code 1 "goodput fall under the defaults" -- "$F" compare "$T/base.db" "$T/tight.db"
grep -E '^  request_goodput .* -5% +REGRESSION$' "$T/out" >/dev/null && ok || bad "goodput REGRESSION row: $(cat "$T/out")"
grep -E '^  p99_ttft_ms .* ok$' "$T/out" >/dev/null && ok || bad "p99_ttft_ms ok with the SLO tightened: $(cat "$T/out")"
grep -E '^  slo_attainment .* -1pt +REGRESSION$' "$T/out" >/dev/null && ok || bad "slo_attainment row: $(cat "$T/out")"
expect_code 1 "goodput fall, -5% alone" -- "$F" compare "$T/base.db" "$T/tight.db" --no-default-thresholds \
  --threshold request_goodput:-5%
expect_code 0 "goodput fall, a rise threshold" -- "$F" compare "$T/base.db" "$T/tight.db" --no-default-thresholds \
  --threshold request_goodput:+5%
expect_code 1 "goodput rise, a rise threshold" -- "$F" compare "$T/tight.db" "$T/base.db" --no-default-thresholds \
  --threshold request_goodput:+5%
expect_code 1 "latency fall, a fall threshold" -- "$F" compare "$T/base.db" "$T/cool.db" --no-default-thresholds \
  --threshold p99_ttft_ms:-5%
expect_code 0 "latency fall, a rise threshold: better" -- "$F" compare "$T/base.db" "$T/cool.db" \
  --no-default-thresholds --threshold p99_ttft_ms:+10%
grep -E '^  p99_ttft_ms .* better$' "$T/out" >/dev/null && ok || bad "p99_ttft_ms better: $(cat "$T/out")"
expect_code 1 "json regression" -- "$F" compare "$T/base.db" "$T/hot.db" --format json
contains "$T/out" '"result": "regression"' "json regression result"

# ---- bad input
echo "not a database" >"$T/text.db"
printf '{"runs": [\n  {"id": 1, "name": "x",, }\n]}\n' >"$T/bad.json"
expect_code 2 "missing file" -- "$F" compare "$T/none.db" "$T/base.db"
contains "$T/err" "none.db: cannot open" "missing file message"
expect_code 2 "not a database" -- "$F" compare "$T/base.db" "$T/text.db"
contains "$T/err" "expected a results database (SQLite) or an export" "not a database message"
expect_code 2 "unknown run id" -- "$F" compare "$T/base.db:99" "$T/same.db"
contains "$T/err" "no run with id 99" "unknown run message"
expect_code 2 "bad run selector" -- "$F" compare "$T/base.db:first" "$T/same.db"
expect_code 2 "malformed threshold (no sign)" -- "$F" compare "$T/base.db" "$T/same.db" --threshold p99_ttft_ms:10%
contains "$T/err" "expected a sign" "no-sign message"
expect_code 2 "malformed threshold (no change)" -- "$F" compare "$T/base.db" "$T/same.db" --threshold p99_ttft_ms
expect_code 2 "malformed threshold (amount)" -- "$F" compare "$T/base.db" "$T/same.db" --threshold p99_ttft_ms:+x%
expect_code 2 "threshold without value" -- "$F" compare "$T/base.db" "$T/same.db" --threshold
expect_code 2 "unknown metric" -- "$F" compare "$T/base.db" "$T/same.db" --threshold p99_ttfx_ms:+5%
contains "$T/err" "no metric 'p99_ttfx_ms' in BASE or CAND" "unknown metric message"
expect_code 2 "unit that does not fit" -- "$F" compare "$T/base.db" "$T/same.db" --threshold request_goodput:+5ms
expect_code 2 "malformed JSON" -- "$F" compare "$T/bad.json" "$T/base.db"
contains "$T/err" "bad.json:2:" "JSON error with its line"
expect_code 2 "one side only" -- "$F" compare "$T/base.db"
expect_code 2 "three sides" -- "$F" compare "$T/base.db" "$T/base.db" "$T/base.db"
expect_code 2 "unknown option" -- "$F" compare "$T/base.db" "$T/same.db" --frobnicate
expect_code 2 "bad format" -- "$F" compare "$T/base.db" "$T/same.db" --format xml
[[ ! -s "$T/out" ]] && ok || bad "an input error printed on stdout: $(cat "$T/out")"

# ---- replications (sweeps of 5 seeds)
if "$F" sweep --help >/dev/null 2>&1; then
  sweep() { # sweep DB [options]
    local db=$1
    shift
    "$F" sweep "$Q" --seeds 5 --db "$db" -q "$@" >/dev/null 2>"$T/sweep.err" || bad "sweep $*: $(cat "$T/sweep.err")"
  }
  sweep "$T/sw-base.db"
  sweep "$T/sw-same.db"
  sweep "$T/sw-other.db" --seed 1000                   # the same scenario under other seeds
  sweep "$T/sw-hot.db" --seed 1000 --set workload.rate=90
  expect_code 0 "replications, the same seeds" -- "$F" compare "$T/sw-base.db" "$T/sw-same.db"
  contains "$T/out" "BASE runs 1-5 (5 replications), CAND runs 1-5 (5 replications)" "replications found"
  contains "$T/out" "paired t-test" "paired by seed"
  # any rise of p99 TTFT is beyond +0%; between two sets of seeds it is noise (Welch, 95%)
  expect_code 0 "replications, other seeds: noise passes" -- "$F" compare "$T/sw-base.db" "$T/sw-other.db" \
    --no-default-thresholds --threshold p99_ttft_ms:+0%
  contains "$T/out" "Welch's t-test" "Welch for other seeds"
  grep -E '^  p99_ttft_ms .* (noise|better)$' "$T/out" >/dev/null && ok || bad "seed noise: $(cat "$T/out")"
  expect_code 1 "replications, a large change fails" -- "$F" compare "$T/sw-base.db" "$T/sw-hot.db"
  grep -E '^  p99_ttft_ms .* REGRESSION$' "$T/out" >/dev/null && ok || bad "replicated p99_ttft_ms: $(cat "$T/out")"
else
  echo "note: this fleetsim has no sweep command; replication checks skipped" >&2
fi

# ---- the gate
GATE=$SRC/scenarios/ci/gate.sh
BASELINE=$SRC/scenarios/ci/baseline.json
doctor() { # doctor NAME STAT FACTOR OUT: every NAME/STAT value of the baseline times FACTOR
  sqlite3 -batch :memory: >/dev/null <<SQL || bad "doctoring the baseline with sqlite3"
WITH RECURSIVE
  src(doc) AS (SELECT CAST(readfile('$BASELINE') AS TEXT)),
  keys(i, k) AS (SELECT row_number() OVER (), t.fullkey FROM src, json_tree(src.doc) t
                 WHERE t.type = 'object' AND json_extract(t.value, '\$.name') = '$1'
                   AND json_extract(t.value, '\$.stat') = '$2'),
  edit(i, doc) AS (SELECT 0, doc FROM src
                   UNION ALL
                   SELECT edit.i + 1, json_set(edit.doc, keys.k || '.value',
                                               json_extract(edit.doc, keys.k || '.value') * $3)
                   FROM edit JOIN keys ON keys.i = edit.i + 1)
SELECT writefile('$4', doc) FROM edit ORDER BY i DESC LIMIT 1;
SQL
}
if [[ -f $BASELINE ]]; then
  expect_code 0 "gate against the committed baseline" -- bash "$GATE" --fleetsim "$F" --out "$T/gate"
  contains "$T/out" "result: PASS" "gate pass line"
  [[ -s $T/gate/compare.md && -s $T/gate/compare.json && -s $T/gate/ci.db ]] && ok || bad "gate outputs missing: $(ls "$T/gate")"
  doctor ttft p99 0.7 "$T/doctored-ttft.json"
  expect_code 1 "gate against a baseline with p99 TTFT 30% lower" -- bash "$GATE" --fleetsim "$F" \
    --baseline "$T/doctored-ttft.json" --out "$T/gate2"
  grep -E '^  p99_ttft_ms .* REGRESSION$' "$T/out" >/dev/null && ok || bad "doctored p99_ttft_ms: $(cat "$T/out")"
  contains "$T/err" "gate: REGRESSION" "gate verdict on stderr"
  doctor request_goodput value 1.2 "$T/doctored-goodput.json"
  expect_code 1 "gate against a baseline with goodput 20% higher" -- bash "$GATE" --fleetsim "$F" \
    --baseline "$T/doctored-goodput.json" --out "$T/gate3"
  grep -E '^  request_goodput .* REGRESSION$' "$T/out" >/dev/null && ok || bad "doctored goodput: $(cat "$T/out")"
  expect_code 2 "gate with a missing baseline" -- bash "$GATE" --fleetsim "$F" --baseline "$T/none.json" --out "$T/gate4"
else
  bad "no committed baseline at $BASELINE"
fi

echo "$pass passed, $fail failed"
((fail == 0))
