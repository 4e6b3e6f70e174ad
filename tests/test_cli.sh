#!/usr/bin/env bash
# End-to-end tests through the fleetsim binary: exit codes, messages, the results database as
# the sqlite3 CLI reads it, transactions on failure and Ctrl-C.
set -u
FLEETSIM=$1
DATA=$2
source "$(dirname "$0")/cli_lib.sh"
command -v sqlite3 >/dev/null || { echo "sqlite3 CLI missing: install the sqlite3 package" >&2; exit 1; }

cat >"$T/s.json" <<JSON
{"name": "cli-test", "seed": 5, "duration": 20, "warmup": 2,
 "fleet": {"gpu": "L4", "count": 2},
 "deployments": [{"model": "embed", "replicas": 2, "service": {"dist": "exponential", "mean_ms": 20}}],
 "workload": {"arrival": "poisson", "rate": 50},
 "slo": {"e2e_ms": 100}}
JSON

# help and usage
expect_code 0 "--help" -- "$FLEETSIM" --help; contains "$T/out" "usage: fleetsim" "--help"
expect_code 0 "run --help" -- "$FLEETSIM" run --help; contains "$T/out" "--set PATH=VALUE" "run --help"
expect_code 2 "no command" -- "$FLEETSIM"
expect_code 2 "unknown command" -- "$FLEETSIM" frobnicate; contains "$T/err" "unknown command 'frobnicate'" "unknown command"
expect_code 2 "unknown option" -- "$FLEETSIM" run "$T/s.json" --frob; contains "$T/err" "unknown option '--frob'" "unknown option"
expect_code 2 "bad seed" -- "$FLEETSIM" run "$T/s.json" --seed -4; contains "$T/err" "--seed: expected a non-negative integer" "bad seed"
expect_code 2 "missing scenario" -- "$FLEETSIM" run; contains "$T/err" "run needs a scenario file" "missing scenario"
expect_code 0 "catalog" -- "$FLEETSIM" catalog; contains "$T/out" "H100-SXM" "catalog"

# a good run stores everything the summary prints
expect_code 0 "good run" -- "$FLEETSIM" run "$T/s.json" --db "$T/r.db"
contains "$T/err" "run 1 stored in" "good run"
cp "$T/out" "$T/summary1"
[[ $(sqlite3 "$T/r.db" "select status from runs where id = 1") == ok ]] && ok || bad "run 1 not ok"
[[ $(sqlite3 "$T/r.db" "pragma user_version") == 2 ]] && ok || bad "user_version"
[[ $(sqlite3 "$T/r.db" "select seed from runs") == 5 ]] && ok || bad "seed stored"
sqlite3 "$T/r.db" "select scenario_json from runs" | grep -q '"policy":"round_robin"' && ok || bad "resolved scenario stored with defaults"
(( $(sqlite3 "$T/r.db" "select count(*) from timeseries where run_id = 1") > 50 )) && ok || bad "timeseries rows"
[[ $(sqlite3 "$T/r.db" "select count(*) from requests") == 0 ]] && ok || bad "requests off by default"
# every number printed is a stored metric value (rounded as printed)
nums=$(grep -v 'latency (ms)' "$T/summary1" | grep -oE '[0-9]+\.[0-9]+' | sort -u)
missing=0
for n in $nums; do
  dec=${n#*.}; places=${#dec}
  hit=$(sqlite3 "$T/r.db" "select count(*) from metrics where run_id = 1 and printf('%.${places}f', value) = '$n'")
  [[ $hit -ge 1 ]] || { missing=$((missing + 1)); echo "  printed $n not in metrics" >&2; }
done
for n in $(grep '^  requests' "$T/summary1" | grep -oE '[0-9]+'); do # the counts
  hit=$(sqlite3 "$T/r.db" "select count(*) from metrics where run_id = 1 and printf('%.0f', value) = '$n'")
  [[ $hit -ge 1 ]] || { missing=$((missing + 1)); echo "  printed count $n not in metrics" >&2; }
done
[[ $missing == 0 && -n $nums ]] && ok || bad "summary figures missing from the DB"

# --json: vLLM key names, same values as the DB
expect_code 0 "json run" -- "$FLEETSIM" run "$T/s.json" --db "$T/r.db" --json --requests
for k in '"completed"' '"duration"' '"request_throughput"' '"mean_ttft_ms"' '"median_ttft_ms"' '"p99_ttft_ms"' '"mean_e2el_ms"' '"p99_e2el_ms"' '"request_goodput"'; do
  contains "$T/out" "$k" "json key $k"
done
comp=$(sqlite3 "$T/r.db" "select cast(value as int) from metrics where run_id = 2 and name = 'completed'")
contains "$T/out" "\"completed\": $comp," "json completed matches DB"
(( $(sqlite3 "$T/r.db" "select count(*) from requests where run_id = 2") > 800 )) && ok || bad "--requests stores rows"
[[ $(sqlite3 "$T/r.db" "select count(*) from requests where run_id = 2 and finished = 1 and measured = 1") == "$comp" ]] && ok || bad "finished measured rows = completed"

# determinism: same scenario and seed, byte-identical metric rows; another seed differs
"$FLEETSIM" run "$T/s.json" --db "$T/r.db" >/dev/null 2>&1
"$FLEETSIM" run "$T/s.json" --db "$T/r.db" --seed 6 >/dev/null 2>&1
m() { sqlite3 "$T/r.db" "select name, stat, quote(value), unit from metrics where run_id = $1 order by name, stat"; }
[[ "$(m 1)" == "$(m 3)" ]] && ok || bad "same seed, different metrics"
[[ "$(m 1)" != "$(m 4)" ]] && ok || bad "another seed, same metrics"
[[ $(sqlite3 "$T/r.db" "select seed from runs where id = 4") == 6 ]] && ok || bad "--seed stored"

# per-replica series on request
"$FLEETSIM" run "$T/s.json" --db "$T/pr.db" --set output.per_replica=true >/dev/null 2>&1
(( $(sqlite3 "$T/pr.db" "select count(*) from timeseries where name = 'replica[1].busy'") > 10 )) && ok || bad "per-replica series"

# --set overrides
expect_code 0 "--set" -- "$FLEETSIM" run "$T/s.json" --no-db --json --set workload.rate=10 --set 'deployments[0].replicas=1'
contains "$T/out" '"completed": ' "--set run"
expect_code 2 "--set unknown key" -- "$FLEETSIM" run "$T/s.json" --no-db --set workload.rat=10
contains "$T/err" "workload.rat: unknown key 'rat'; did you mean 'rate'?" "--set typo suggestion"

# a rejected scenario writes nothing (not even a new DB file)
before=$(sqlite3 "$T/r.db" "select count(*) from runs")
echo '{"name": "x", "fleet": {"gpu": "L4", "count": 1}, "deployments": [{"model": "m", "replicas": -2, "service": {"mean_ms": 1}}], "workload": {"rate": 1}, "duration": 1}' >"$T/bad.json"
expect_code 2 "bad scenario" -- "$FLEETSIM" run "$T/bad.json" --db "$T/r.db"
contains "$T/err" "deployments[0].replicas: expected an integer in 1..100000, got -2" "bad scenario message"
[[ $(sqlite3 "$T/r.db" "select count(*) from runs") == "$before" ]] && ok || bad "rejected scenario wrote a run"
expect_code 2 "bad scenario, new db" -- "$FLEETSIM" run "$T/bad.json" --db "$T/new.db"
[[ ! -e "$T/new.db" ]] && ok || bad "rejected scenario created a DB"
printf '{"name": "x",\n  "seed": 1,,\n}' >"$T/syntax.json"
expect_code 2 "syntax error" -- "$FLEETSIM" run "$T/syntax.json" --no-db
contains "$T/err" "syntax.json:2:" "syntax error names file:line"

# a trace with a bad row: the run is marked failed, its rows rolled back, earlier runs intact
cp "$DATA/azure_conv_head100.csv" "$T/trace.csv"
echo "2023-11-16 18:16:30.0000000,12,oops" >>"$T/trace.csv"
cat >"$T/t.json" <<JSON
{"name": "trace", "fleet": {"gpu": "L4", "count": 1},
 "deployments": [{"model": "m", "service": {"dist": "constant", "mean_ms": 5}}],
 "workload": {"arrival": "trace", "trace": {"path": "trace.csv"}}}
JSON
expect_code 2 "bad trace row" -- "$FLEETSIM" run "$T/t.json" --db "$T/r.db" --requests
contains "$T/err" "trace.csv:102:3: column GeneratedTokens: expected a token count, got 'oops'" "bad row message"
id=$(sqlite3 "$T/r.db" "select max(id) from runs")
[[ $(sqlite3 "$T/r.db" "select status from runs where id = $id") == failed ]] && ok || bad "failed run marked"
sqlite3 "$T/r.db" "select error from runs where id = $id" | grep -q "oops" && ok || bad "failed run error stored"
[[ $(sqlite3 "$T/r.db" "select count(*) from requests where run_id = $id") == 0 ]] && ok || bad "failed run rows rolled back"
[[ "$(m 1)" == "$(m 3)" ]] && ok || bad "earlier runs intact after a failure"
head -101 "$DATA/azure_conv_head100.csv" >"$T/trace.csv"
expect_code 0 "trace run" -- "$FLEETSIM" run "$T/t.json" --db "$T/r.db" --json
contains "$T/out" '"completed": 100,' "trace run completes all rows"

# Ctrl-C: the run is marked interrupted and earlier runs stay intact
cat >"$T/long.json" <<JSON
{"name": "long", "duration": 1e7, "fleet": {"gpu": "L4", "count": 64},
 "deployments": [{"model": "m", "replicas": 64, "service": {"mean_ms": 100}}],
 "workload": {"rate": 500}, "output": {"requests": true}}
JSON
"$FLEETSIM" run "$T/long.json" --db "$T/r.db" >"$T/out" 2>"$T/err" &
pid=$!
sleep 1.5
kill -INT $pid
wait $pid; code=$?
[[ $code == 130 ]] && ok || bad "interrupted exit code $code"
id=$(sqlite3 "$T/r.db" "select max(id) from runs")
[[ $(sqlite3 "$T/r.db" "select status from runs where id = $id") == interrupted ]] && ok || bad "interrupted run marked"
[[ $(sqlite3 "$T/r.db" "select count(*) from requests where run_id = $id") == 0 ]] && ok || bad "interrupted rows rolled back"
[[ "$(m 1)" == "$(m 3)" ]] && ok || bad "earlier runs intact after Ctrl-C"

# bad trace rows: exit 2 naming file:line:column and the value, earlier runs intact; or skipped
# and counted with --skip-bad-rows; rows out of order need --sort; gzip traces read as they are
{ head -5 "$DATA/azure_conv_head100.csv"; echo "2023-11-16 18:15:59.0000000,12x,5"; tail -n +6 "$DATA/azure_conv_head100.csv"; } >"$T/badrow.csv"
cat >"$T/tr.json" <<JSON
{"name": "trace-rows", "fleet": {"gpu": "L4", "count": 1},
 "deployments": [{"model": "embed", "replicas": 1, "service": {"mean_ms": 1}}],
 "workload": {"arrival": "trace", "trace": {"path": "badrow.csv"}}}
JSON
before=$(m 1)
expect_code 2 "bad trace row" -- "$FLEETSIM" run "$T/tr.json" --db "$T/r.db"
contains "$T/err" "badrow.csv:6:2: column ContextTokens: expected a token count, got '12x'" "bad row message"
id=$(sqlite3 "$T/r.db" "select max(id) from runs")
[[ $(sqlite3 "$T/r.db" "select status from runs where id = $id") == failed ]] && ok || bad "bad-row run marked failed"
[[ "$(m 1)" == "$before" ]] && ok || bad "earlier runs intact after a bad row"
expect_code 0 "--skip-bad-rows" -- "$FLEETSIM" run "$T/tr.json" --db "$T/r.db" --skip-bad-rows
contains "$T/out" "101 rows read; left out: 1 malformed (skipped)" "skipped rows in the summary"
id=$(sqlite3 "$T/r.db" "select max(id) from runs")
[[ $(sqlite3 "$T/r.db" "select value from metrics where run_id = $id and name = 'trace_rows' and stat = 'bad_skipped'") == 1.0 ]] \
  && ok || bad "skipped rows in the metrics table"
# two rows swapped by 0.4 s: an error without --sort, reordered with it
awk -F, 'NR == 3 { held = $0; next } NR == 4 { print; print held; next } { print }' "$DATA/azure_conv_head100.csv" >"$T/badrow.csv"
expect_code 2 "rows out of order" -- "$FLEETSIM" run "$T/tr.json" --no-db
contains "$T/err" "badrow.csv:4: time goes backwards" "out of order message"
contains "$T/err" "--sort SECONDS" "out of order hint"
expect_code 0 "--sort" -- "$FLEETSIM" run "$T/tr.json" --no-db --sort 5
contains "$T/out" "100 arrived, 100 completed" "--sort keeps every row"
expect_code 2 "--sort bad value" -- "$FLEETSIM" run "$T/tr.json" --no-db --sort abc
contains "$T/err" "--sort: expected a window in seconds" "--sort bad value message"
gzip -c "$DATA/azure_conv_head100.csv" >"$T/badrow.csv"
expect_code 0 "gzip trace" -- "$FLEETSIM" run "$T/tr.json" --no-db
contains "$T/out" "100 arrived, 100 completed" "gzip trace read whole"

# closed-loop users and multi-turn sessions through a scenario: the run ends by itself once the
# sources stop (after duration), sessions hit the prefix cache, and two runs agree to the byte
cat >"$T/closed.json" <<JSON
{"name": "closed", "seed": 3, "duration": 60,
 "fleet": {"gpu": "H100-SXM", "count": 2},
 "deployments": [{"model": "meta-llama/Llama-3.1-8B", "kind": "llm", "replicas": 2}],
 "workload": {"sources": [
   {"arrival": "closed", "users": 8, "think_time_s": {"dist": "exponential", "mean": 2},
    "input": {"dist": "lognormal", "mean": 800}, "output": {"dist": "lognormal", "mean": 200}},
   {"arrival": "poisson", "rate": 1, "session": {"turns": {"dist": "fixed", "value": 4}, "think_time_s": {"dist": "fixed", "value": 3}},
    "input": {"dist": "fixed", "value": 300}, "output": {"dist": "fixed", "value": 100}}]},
 "router": {"policy": "session_affinity"}}
JSON
expect_code 0 "closed loop and sessions" -- "$FLEETSIM" run "$T/closed.json" --no-db --json
cp "$T/out" "$T/closed1"
expect_code 0 "closed loop and sessions again" -- "$FLEETSIM" run "$T/closed.json" --no-db --json
cmp -s "$T/out" "$T/closed1" && ok || bad "closed-loop runs differ"
grep -qE '"prefix_cache_hit_rate": [1-9]' "$T/out" && ok || bad "sessions hit the prefix cache: $(cat "$T/out")"
grep -qE '"unfinished": 0,' "$T/out" && ok || bad "closed loop left requests unfinished"

# an unwritable database is an environment error (exit 1), not a crash
expect_code 1 "unwritable db" -- "$FLEETSIM" run "$T/s.json" --db /nonexistent/dir/r.db
contains "$T/err" "cannot open results database" "unwritable db message"

echo "$pass passed, $fail failed"
[[ $fail == 0 ]]
