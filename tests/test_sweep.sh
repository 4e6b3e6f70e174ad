#!/usr/bin/env bash
# fleetsim sweep, merge and export end to end: a 2 x 2 grid with 2 seeds on a tiny scenario.
# - the same sweep with -j 1, with -j 2, and as shards 1/2 + 2/2 merged (in either order) stores
#   the same rows: every column of every table but runs.started_at and runs.ended_at, compared
#   exactly (SQL EXCEPT both ways, run ids included), and in the same physical order;
# - replication k of every point runs with the scenario's seed + k;
# - the 95% half-widths are t(0.975, n-1) * sd / sqrt(n) of the stored values (n = 2 and 3);
# - exports parse (python3's json and csv modules) and hold what the database holds;
# - bad input exits 2 with a message; a failed point exits 1 naming it; Ctrl-C exits 130.
set -u
FLEETSIM=$1
DATA=$2
source "$(dirname "$0")/cli_lib.sh"
command -v sqlite3 >/dev/null || { echo "sqlite3 CLI missing: install the sqlite3 package" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 missing" >&2; exit 1; }
S=$DATA/sweep/tiny.json

# same_rows A B: every table's rows equal but the run timestamps
same_rows() {
  local q
  q="ATTACH '$2' AS b;
     SELECT 'runs', count(*) FROM (SELECT id, name, scenario_json, seed, version, git_commit, status, error FROM main.runs
       EXCEPT SELECT id, name, scenario_json, seed, version, git_commit, status, error FROM b.runs);
     SELECT 'runs', count(*) FROM (SELECT id, name, scenario_json, seed, version, git_commit, status, error FROM b.runs
       EXCEPT SELECT id, name, scenario_json, seed, version, git_commit, status, error FROM main.runs);"
  for t in metrics requests timeseries points; do
    q="$q SELECT '$t', count(*) FROM (SELECT * FROM main.$t EXCEPT SELECT * FROM b.$t);
          SELECT '$t', count(*) FROM (SELECT * FROM b.$t EXCEPT SELECT * FROM main.$t);
          SELECT '$t', (SELECT count(*) FROM main.$t) - (SELECT count(*) FROM b.$t);"
  done
  local diff
  diff=$(sqlite3 "$1" "$q" | grep -v '|0$')
  [[ -z $diff ]] || { echo "  rows differ between $1 and $2: $diff" >&2; return 1; }
  # and in the same order, as read without ORDER BY
  for t in metrics requests timeseries; do
    cmp -s <(sqlite3 "$1" "select * from $t") <(sqlite3 "$2" "select * from $t") ||
      { echo "  $t in another order" >&2; return 1; }
  done
}

# help
expect_code 0 "sweep --help" -- "$FLEETSIM" sweep --help; contains "$T/out" "--shard I/N" "sweep --help"
expect_code 0 "merge --help" -- "$FLEETSIM" merge --help; contains "$T/out" "usage: fleetsim merge" "merge --help"
expect_code 0 "export --help" -- "$FLEETSIM" export --help; contains "$T/out" "customSmallerIsBetter" "export --help"
expect_code 0 "--list" -- "$FLEETSIM" sweep "$S" --list
[[ $(grep -c '^[0-9]' "$T/out") == 4 ]] && ok || bad "--list: 4 points: $(cat "$T/out")"
contains "$T/out" '3	{"router.policy":"least_outstanding","workload.rate":70}' "--list: last point, first axis slowest"
expect_code 0 "--list --shard" -- "$FLEETSIM" sweep "$S" --list --shard 2/2
[[ $(grep '^[0-9]' "$T/out" | cut -f1 | tr '\n' ' ') == "1 3 " ]] && ok || bad "--shard 2/2 runs points 1 and 3: $(cat "$T/out")"

# the sweep, -j 1 and -j 2
expect_code 0 "sweep -j 1" -- "$FLEETSIM" sweep "$S" -j 1 --requests --db "$T/j1.db"
cp "$T/out" "$T/table"
cp "$T/err" "$T/progress"
expect_code 0 "sweep -j 2" -- "$FLEETSIM" sweep "$S" -j 2 --requests --db "$T/j2.db"
cmp -s "$T/out" "$T/table" && ok || bad "-j 2 prints another table"
[[ $(sqlite3 "$T/j1.db" "select count(*) from runs where status = 'ok'") == 8 ]] && ok || bad "8 runs"
[[ $(sqlite3 "$T/j1.db" "select group_concat(point || ':' || seed_index || ':' || seed, ' ') from
     (select p.point, p.seed_index, r.seed from points p join runs r on r.id = p.run_id order by r.id)") == \
   "0:0:11 0:1:12 1:0:11 1:1:12 2:0:11 2:1:12 3:0:11 3:1:12" ]] && ok || bad "runs in point order, seed = 11 + seed_index"
[[ $(sqlite3 "$T/j1.db" "select count(distinct sweep) from points") == 1 ]] && ok || bad "one sweep name"
[[ $(sqlite3 "$T/j1.db" "select params from points where point = 2 limit 1") == '{"router.policy":"least_outstanding","workload.rate":40}' ]] \
  && ok || bad "params of point 2"
sqlite3 "$T/j1.db" "select scenario_json from runs r join points p on p.run_id = r.id where p.point = 1" |
  grep -q '"policy":"random"' && ok || bad "point 1 ran with router.policy=random"
(( $(sqlite3 "$T/j1.db" "select count(*) from requests") > 1000 )) && ok || bad "--requests stored rows"
same_rows "$T/j1.db" "$T/j2.db" && ok || bad "-j 2 stores other rows than -j 1"
[[ $(wc -l <"$T/table") == 6 ]] && ok || bad "table: a title, a header and 4 points: $(cat "$T/table")"
contains "$T/table" "least_outstanding" "table names the values"
contains "$T/table" "±" "table shows intervals"
grep -q $'\r' "$T/progress" && bad "a progress bar outside a terminal" || ok
contains "$T/progress" "run 8/8" "one line per run outside a terminal"
ls -a "$T" | grep -q fleetsim-sweep && bad "temporary folder left behind" || ok

# shards, merged in either order, equal the whole sweep
expect_code 0 "shard 1/2" -- "$FLEETSIM" sweep "$S" --shard 1/2 --requests --db "$T/s1.db"
expect_code 0 "shard 2/2" -- "$FLEETSIM" sweep "$S" --shard 2/2 --requests --db "$T/s2.db"
[[ $(sqlite3 "$T/s2.db" "select group_concat(distinct point) from points") == "1,3" ]] && ok || bad "shard 2/2 ran points 1 and 3"
expect_code 0 "merge" -- "$FLEETSIM" merge "$T/m.db" "$T/s1.db" "$T/s2.db"
contains "$T/err" "merged 8 runs" "merge message"
same_rows "$T/j1.db" "$T/m.db" && ok || bad "merged shards differ from the whole sweep"
expect_code 0 "merge reversed" -- "$FLEETSIM" merge "$T/m2.db" "$T/s2.db" "$T/s1.db"
same_rows "$T/j1.db" "$T/m2.db" && ok || bad "merged shards (reversed) differ from the whole sweep"
expect_code 2 "merge a shard twice" -- "$FLEETSIM" merge "$T/m.db" "$T/s1.db"
contains "$T/err" "is already in" "duplicate replication named"
[[ $(sqlite3 "$T/m.db" "select count(*) from runs") == 8 ]] && ok || bad "refused merge wrote nothing"

# the point table: mean and t-interval from the stored values, by hand
expect_code 0 "export json" -- "$FLEETSIM" export "$T/j1.db" --format json -o "$T/e.json"
python3 -m json.tool "$T/e.json" >/dev/null && ok || bad "export json does not parse"
python3 - "$T/e.json" "$T/j1.db" <<'PY' && ok || bad "half-widths (n = 2) differ from t * sd / sqrt(n)"
import json, math, sqlite3, sys
e = json.load(open(sys.argv[1])); db = sqlite3.connect(sys.argv[2])
assert len(e["runs"]) == 8 and len(e["points"]) == 4, (len(e["runs"]), len(e["points"]))
T1 = 12.706204736174707  # t(0.975, 1)
for p in e["points"]:
    assert p["runs"] == sorted(p["runs"]) and len(p["runs"]) == 2
    for m in p["metrics"]:
        xs = [v for (v,) in db.execute("select value from metrics where run_id in (?, ?) and name = ? and stat = ?",
                                       (*p["runs"], m["name"], m["stat"])) if v is not None]
        if len(xs) < 2: continue
        mean = sum(xs) / 2; sd = abs(xs[0] - xs[1]) / math.sqrt(2); hw = T1 * sd / math.sqrt(2)
        assert m["n"] == 2
        assert math.isclose(m["mean"], mean, rel_tol=1e-12, abs_tol=1e-12), (m, mean)
        assert math.isclose(m["half_width"], hw, rel_tol=1e-9, abs_tol=1e-12), (m, hw)
r = e["runs"][0]
assert r["point"]["seed_index"] == 0 and r["point"]["params"]["workload.rate"] == 40 and r["scenario"]["seed"] == 11
assert any(m["name"] == "ttft" and m["stat"] == "p99" for m in r["metrics"])
PY
expect_code 0 "three seeds" -- "$FLEETSIM" sweep "$S" --grid workload.rate=55 --seeds 3 --json --db "$T/n3.db"
python3 - "$T/out" "$T/n3.db" <<'PY' && ok || bad "half-width (n = 3) differs from t * sd / sqrt(n)"
import json, math, sqlite3, statistics, sys
o = json.load(open(sys.argv[1])); db = sqlite3.connect(sys.argv[2])
assert len(o["points"]) == 1 and o["points"][0]["params"] == {"workload.rate": 55}
m = o["points"][0]["metrics"]["request_throughput"]
xs = [v for (v,) in db.execute("select value from metrics where name = 'request_throughput' order by run_id")]
assert len(xs) == 3 and m["n"] == 3
hw = 4.302652729749464 * statistics.stdev(xs) / math.sqrt(3)  # t(0.975, 2)
assert math.isclose(m["mean"], statistics.fmean(xs), rel_tol=1e-12), (m, xs)
assert math.isclose(m["half_width"], hw, rel_tol=1e-9), (m, hw)
PY

# csv and bench exports
expect_code 0 "export csv" -- "$FLEETSIM" export "$T/j1.db" --format csv --run 1 --run 2 -o "$T/e.csv"
python3 - "$T/e.csv" "$(sqlite3 "$T/j1.db" "select count(*) from metrics where run_id in (1, 2)")" <<'PY' && ok || bad "export csv"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
assert len(rows) == int(sys.argv[2]), (len(rows), sys.argv[2])
assert {r["run_id"] for r in rows} == {"1", "2"}
r = next(r for r in rows if r["name"] == "completed")
assert r["sweep"].startswith("sweep-tiny-") and r["point"] == "0" and r["params"].startswith("{") and float(r["value"]) > 0
PY
expect_code 0 "export bench" -- "$FLEETSIM" export "$T/j1.db" --format bench
python3 - "$T/out" <<'PY' && ok || bad "export bench"
import json, sys
b = json.load(open(sys.argv[1]))
assert isinstance(b, list) and b and all(set(x) == {"name", "unit", "value"} for x in b)
names = [x["name"] for x in b]
assert len(names) == len(set(names)), "names repeat"
assert "tiny [router.policy=random, workload.rate=40] seed_index=0/p99_ttft_ms" in names, names[:5]
assert any(n.endswith("/cost_per_1k_requests") for n in names)
assert not any("throughput" in n or "goodput" in n or "slo" in n for n in names), "bigger-is-better metric exported"
PY
expect_code 2 "export: no such run" -- "$FLEETSIM" export "$T/j1.db" --format json --run 99
contains "$T/err" "no run 99" "export: no such run"
expect_code 2 "export: bad format" -- "$FLEETSIM" export "$T/j1.db" --format xml
expect_code 2 "export: not a database" -- "$FLEETSIM" export "$S" --format csv

# bad input
expect_code 2 "unknown grid key" -- "$FLEETSIM" sweep "$S" --grid router.polcy=a,b --db "$T/x.db"
contains "$T/err" "tiny.json: router.polcy: unknown key 'polcy'; did you mean 'policy'?" "unknown grid key: the scenario's message"
contains "$T/err" "sweep point 0" "unknown grid key: the point"
expect_code 2 "bad grid value" -- "$FLEETSIM" sweep "$S" --grid workload.rate=10,-1 --db "$T/x.db"
contains "$T/err" "workload.rate" "bad grid value: its path"
for spec in 0/2 3/2 a/b 1/0 2 /2; do
  expect_code 2 "--shard $spec" -- "$FLEETSIM" sweep "$S" --shard "$spec" --db "$T/x.db"
  contains "$T/err" "--shard: expected I/N" "--shard $spec message"
done
expect_code 2 "-j 0" -- "$FLEETSIM" sweep "$S" -j 0 --db "$T/x.db"; contains "$T/err" "-j: expected" "-j 0 message"
expect_code 2 "--seeds 0" -- "$FLEETSIM" sweep "$S" --seeds 0 --db "$T/x.db"
expect_code 2 "empty grid value" -- "$FLEETSIM" sweep "$S" --grid workload.rate=1,,2 --db "$T/x.db"
expect_code 2 "grid key twice" -- "$FLEETSIM" sweep "$S" --grid seed=1 --grid seed=2 --db "$T/x.db"
[[ -e "$T/x.db" ]] && bad "nothing stored for rejected sweeps" || ok
printf '{"name": "s", "sweep": {"grid": {"workload.rate": 5}}}' >"$T/badsec.json"
expect_code 2 "bad sweep section" -- "$FLEETSIM" sweep "$T/badsec.json" --db "$T/x.db"
contains "$T/err" "sweep.grid.workload.rate: expected a non-empty array of values, got 5" "bad sweep section message"
printf '{"name": "s", "sweep": {"seed": 3}}' >"$T/badsec.json"
expect_code 2 "unknown sweep key" -- "$FLEETSIM" sweep "$T/badsec.json" --db "$T/x.db"
contains "$T/err" "unknown key 'seed'; did you mean 'seeds'?" "unknown sweep key message"
expect_code 2 "sweep again" -- "$FLEETSIM" sweep "$S" --db "$T/j1.db"
contains "$T/err" "--resume" "sweep again points at --resume"

# merge refusals
echo "not a database" >"$T/text.db"
expect_code 2 "merge a text file" -- "$FLEETSIM" merge "$T/o.db" "$T/text.db"
contains "$T/err" "not a results database" "merge a text file"
sqlite3 "$T/other.db" "create table t(x)"
expect_code 2 "merge another database" -- "$FLEETSIM" merge "$T/o.db" "$T/other.db"
contains "$T/err" "no table 'runs'" "merge another database"
sqlite3 "$T/conflict.db" "pragma user_version = 2; create table runs(id integer primary key, name text);
  create table metrics(run_id, name, stat, value, unit); create table requests(run_id); create table timeseries(run_id);"
expect_code 2 "merge a conflicting schema" -- "$FLEETSIM" merge "$T/o.db" "$T/s1.db" "$T/conflict.db"
contains "$T/err" "conflicting schema: table 'runs' has columns (id, name)" "conflicting schema"
expect_code 2 "merge into an input" -- "$FLEETSIM" merge "$T/s1.db" "$T/s1.db"
expect_code 2 "merge an input twice" -- "$FLEETSIM" merge "$T/o.db" "$T/s1.db" "$T/s1.db"
expect_code 2 "merge a missing file" -- "$FLEETSIM" merge "$T/o.db" "$T/nope.db"
expect_code 2 "merge into another database" -- "$FLEETSIM" merge "$T/other.db" "$T/s1.db"
[[ -e "$T/o.db" ]] && bad "refused merges left the new output behind" || ok
expect_code 2 "merge usage" -- "$FLEETSIM" merge "$T/o.db"

# --resume: a shard first, then the rest
expect_code 0 "resume: shard" -- "$FLEETSIM" sweep "$S" --shard 1/2 --db "$T/r.db"
expect_code 0 "resume: the rest" -- "$FLEETSIM" sweep "$S" --resume --db "$T/r.db"
contains "$T/err" "4 of 8 runs already in" "--resume skips stored runs"
[[ $(sqlite3 "$T/r.db" "select count(*) from points p join runs r on r.id = p.run_id where r.status = 'ok'") == 8 ]] \
  && ok || bad "--resume completes the sweep"

# a failing point: exit 1, named; the others stored
head -5 "$DATA/azure_conv_head100.csv" >"$T/good.csv"
{ cat "$T/good.csv"; echo "2023-11-16 18:15:59.0000000,12x,5"; } >"$T/badrow.csv"
cat >"$T/tr.json" <<JSON
{"name": "trace-rows", "fleet": {"gpu": "L4", "count": 1},
 "deployments": [{"model": "embed", "replicas": 1, "service": {"mean_ms": 1}}],
 "workload": {"arrival": "trace", "trace": {"path": "good.csv"}}}
JSON
expect_code 1 "failing point" -- "$FLEETSIM" sweep "$T/tr.json" --grid workload.trace.path=good.csv,badrow.csv --db "$T/f.db"
contains "$T/err" "1 of 2 runs failed" "failing point counted"
contains "$T/err" "point 1 seed_index 0 [workload.trace.path=badrow.csv]: " "failing point named"
contains "$T/err" "badrow.csv:6:2: column ContextTokens" "failing point's reason"
[[ $(sqlite3 "$T/f.db" "select group_concat(p.point || ':' || r.status, ' ') from points p join runs r on r.id = p.run_id") == \
   "0:ok 1:failed" ]] && ok || bad "failed run stored with its point"

# Ctrl-C: children stopped, finished work stored, exit 130
cat >"$T/long.json" <<JSON
{"name": "long", "duration": 1e7, "fleet": {"gpu": "L4", "count": 8},
 "deployments": [{"model": "m", "replicas": 8, "service": {"mean_ms": 100}}],
 "workload": {"rate": 50}}
JSON
"$FLEETSIM" sweep "$T/long.json" --grid workload.rate=50,60 -j 2 --db "$T/c.db" >"$T/out" 2>"$T/err" &
pid=$!
sleep 1.5
kill -INT $pid
wait $pid; code=$?
[[ $code == 130 ]] && ok || bad "interrupted sweep exit $code: $(cat "$T/err")"
[[ $(sqlite3 "$T/c.db" "select group_concat(r.status) from points p join runs r on r.id = p.run_id") == "interrupted,interrupted" ]] \
  && ok || bad "interrupted runs stored as such"
pgrep -f "$T/long.json" >/dev/null 2>&1 && bad "children left running" || ok
ls -a "$T" | grep -q fleetsim-sweep && bad "temporary folder left after Ctrl-C" || ok

echo "test_sweep: $pass passed, $fail failed"
[[ $fail == 0 ]]
