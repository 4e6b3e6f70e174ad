#!/usr/bin/env bash
# The measured vLLM run (RTX 4090, Llama-3.1-8B, 300 requests) replayed through the CLI. The
# simulator's errors must stay within the targets with default, uncalibrated GPU parameters:
# mean TPOT and E2E within 10%, mean TTFT within 15%. Also: the JSON shape, the stored run, and
# clear errors for a bad run folder.
set -u
FLEETSIM=$1
DATA=$2
RUN="$DATA/replays/vllm-rtx4090-llama3.1-8b"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*" >&2; fail=$((fail + 1)); }

"$FLEETSIM" replay "$RUN" --db "$T/r.db" >"$T/out" 2>"$T/err" && ok || bad "replay failed: $(cat "$T/err")"
cat "$T/out"
err() { sqlite3 "$T/r.db" "select abs(value) from metrics where run_id = ${2:-1} and name = 'replay_$1' and stat = 'mean_err'"; }
within() { awk -v e="$1" -v lim="$2" 'BEGIN { exit !(e != "" && e <= lim) }'; }
within "$(err ttft)" 15 && ok || bad "mean TTFT error $(err ttft)% > 15%"
within "$(err tpot)" 10 && ok || bad "mean TPOT error $(err tpot)% > 10%"
within "$(err e2el)" 10 && ok || bad "mean E2E error $(err e2el)% > 10%"
[[ $(sqlite3 "$T/r.db" "select status from runs where id = 1") == ok ]] && ok || bad "replay run not stored as ok"
[[ $(sqlite3 "$T/r.db" "select count(*) from requests where run_id = 1 and finished = 1") == 300 ]] && ok || bad "300 requests stored"
(( $(sqlite3 "$T/r.db" "select count(*) from timeseries where run_id = 1 and name = 'kv_usage'") > 100 )) && ok || bad "kv series stored"

# JSON: {"mean_ttft_ms": {"measured": .., "simulated": .., "error_pct": ..}, ...}
"$FLEETSIM" replay "$RUN" --no-db --json >"$T/json" 2>"$T/err" && ok || bad "replay --json failed"
for k in mean_ttft_ms median_tpot_ms p99_e2el_ms mean_sched_to_first_token_ms; do
  grep -q "\"$k\": {\"measured\": [0-9.e+]*, \"simulated\": [0-9.e+]*, \"error_pct\": " "$T/json" && ok || bad "json key $k"
done

# same inputs, same results
"$FLEETSIM" replay "$RUN" --db "$T/r.db" >/dev/null 2>&1
m() { sqlite3 "$T/r.db" "select name, stat, quote(value) from metrics where run_id = $1 order by name, stat"; }
[[ "$(m 1)" == "$(m 2)" ]] && ok || bad "replay not deterministic"

# bad run folders
"$FLEETSIM" replay "$T/nowhere" --no-db >/dev/null 2>"$T/err"; code=$?
[[ $code == 2 ]] && grep -q "nowhere/vllm/meta.json" "$T/err" && ok || bad "missing folder: exit $code, $(cat "$T/err")"
mkdir -p "$T/run/vllm"
sed 's/"hardware"/"hw"/' "$RUN/vllm/meta.json" >"$T/run/vllm/meta.json"
cp "$RUN/vllm/requests.jsonl" "$T/run/vllm/"
"$FLEETSIM" replay "$T/run" --no-db >/dev/null 2>"$T/err"; code=$?
[[ $code == 2 ]] && grep -q "name the GPU with --gpu" "$T/err" && ok || bad "no hardware: exit $code, $(cat "$T/err")"
"$FLEETSIM" replay "$T/run" --no-db --gpu rtx4090 >/dev/null 2>"$T/err" && ok || bad "--gpu: $(cat "$T/err")"
"$FLEETSIM" replay "$T/run" --no-db --gpu tpu-v9 >/dev/null 2>"$T/err"; code=$?
[[ $code == 2 ]] && grep -q "expected a known GPU" "$T/err" && ok || bad "unknown --gpu: exit $code, $(cat "$T/err")"
sed '5s/"output_toks": [0-9]*/"output_toks": "many"/' "$RUN/vllm/requests.jsonl" >"$T/run/vllm/requests.jsonl"
"$FLEETSIM" replay "$T/run" --no-db --gpu rtx4090 >/dev/null 2>"$T/err"; code=$?
[[ $code == 2 ]] && grep -q "requests.jsonl:5" "$T/err" && ok || bad "bad request row: exit $code, $(cat "$T/err")"
printf '{"model": "meta-llama/Llama-3.1-8B",\n "engine_kwargs": {,}}' >"$T/run/vllm/meta.json"
"$FLEETSIM" replay "$T/run" --no-db >/dev/null 2>"$T/err"; code=$?
[[ $code == 2 ]] && grep -q "meta.json:2:" "$T/err" && ok || bad "bad meta.json: exit $code, $(cat "$T/err")"

echo "$pass passed, $fail failed"
[[ $fail == 0 ]]
