#!/usr/bin/env bash
# `fleetsim place` end to end: usage and input errors (exit 2, file:line:column on stderr), every
# policy over the hand-made openb lists, the table and the JSON, same seed -> same bytes.
set -u
FLEETSIM=$1
DATA=$2
source "$(dirname "$0")/cli_lib.sh"
N=$DATA/nodes.csv
P=$DATA/pods.csv

# usage
expect_code 0 "--help" -- "$FLEETSIM" place --help; contains "$T/out" "gpu_memory_best_fit" "--help"
expect_code 0 "main help" -- "$FLEETSIM" --help; contains "$T/out" "place NODES PODS" "main help"
expect_code 2 "no lists" -- "$FLEETSIM" place; contains "$T/err" "place needs a node list and a pod list" "no lists"
expect_code 2 "no policy" -- "$FLEETSIM" place "$N" "$P"; contains "$T/err" "place needs --policy" "no policy"
expect_code 2 "bad policy" -- "$FLEETSIM" place "$N" "$P" --policy worst_fit
contains "$T/err" "--policy: expected first_fit, best_fit, bin_pack, spread, gpu_memory_best_fit, random or fgd, got 'worst_fit'" "bad policy"
expect_code 2 "bad seeds" -- "$FLEETSIM" place "$N" "$P" --policy fgd --seeds 0; contains "$T/err" "--seeds: expected an integer" "bad seeds"
expect_code 2 "bad seed" -- "$FLEETSIM" place "$N" "$P" --policy fgd --seed x; contains "$T/err" "--seed: expected a non-negative integer" "bad seed"
expect_code 2 "extra argument" -- "$FLEETSIM" place "$N" "$P" "$P" --policy fgd; contains "$T/err" "unexpected argument" "extra argument"

# bad input: file:line:column, the value, exit 2, nothing on stdout
sed '6s/,1,250,/,1,2500,/' "$P" >"$T/bad_pods.csv"
expect_code 2 "bad gpu_milli" -- "$FLEETSIM" place "$N" "$T/bad_pods.csv" --policy fgd
contains "$T/err" "$T/bad_pods.csv:6:5: column 'gpu_milli': expected an integer 0..1000, got '2500'" "bad gpu_milli"
[[ -s $T/out ]] && bad "bad input printed on stdout" || ok
printf 'sn,cpu_milli,memory_mib,gpu,model\nn1,8000,16000,two,T4\n' >"$T/bad_nodes.csv"
expect_code 2 "bad gpu count" -- "$FLEETSIM" place "$T/bad_nodes.csv" "$P" --policy best_fit
contains "$T/err" "$T/bad_nodes.csv:2:4: column 'gpu': expected an integer 0..64, got 'two'" "bad gpu count"
expect_code 2 "missing file" -- "$FLEETSIM" place "$T/none.csv" "$P" --policy fgd; contains "$T/err" "cannot open" "missing file"

# every policy runs; the table has the 13 points and the final figures
for p in first_fit best_fit bin_pack spread gpu_memory_best_fit random fgd; do
  expect_code 0 "policy $p" -- "$FLEETSIM" place "$N" "$P" --policy "$p" --seeds 3
  contains "$T/out" "policy $p: 6 nodes, 23 GPUs; 16 pods" "table head ($p)"
  contains "$T/out" "      130 " "table point 130 ($p)"
  contains "$T/out" "final" "table final ($p)"
done

# JSON: the keys README.md lists; same seed, same bytes; another seed, other figures
expect_code 0 "json" -- "$FLEETSIM" place "$N" "$P" --policy fgd --seed 3 --seeds 2 --json
cp "$T/out" "$T/a.json"
for k in '"points": [{"arrived_pct": 10' '"gpu_alloc_pct":' '"unallocated_gpus":' '"frag_gpus":' \
         '"final": {"arrived_pct":' '"policy": "fgd"' '"seeds": 2' '"first_seed": 3' '"failed_pods":'; do
  contains "$T/a.json" "$k" "json key $k"
done
expect_code 0 "json again" -- "$FLEETSIM" place "$N" "$P" --policy fgd --seed 3 --seeds 2 --json
cmp -s "$T/a.json" "$T/out" && ok || bad "same seed gave different bytes"
expect_code 0 "other seed" -- "$FLEETSIM" place "$N" "$P" --policy fgd --seed 4 --seeds 2 --json
cmp -s "$T/a.json" "$T/out" && bad "another seed gave the same bytes" || ok

echo "$pass passed, $fail failed"
[[ $fail == 0 ]]
