#!/usr/bin/env bash
# `fleetsim inspect` against an independent computation (awk and sort over the same files): counts,
# duration, rates per minute, burstiness, length percentiles, prefix reuse; the --json object as
# the sqlite3 CLI parses it; gzip input; format guessing; bad input and usage (exit 2 with the
# file:line or the option named).
set -u
FLEETSIM=$1
DATA=$2
source "$(dirname "$0")/cli_lib.sh"
command -v sqlite3 >/dev/null || { echo "sqlite3 CLI missing: install the sqlite3 package" >&2; exit 1; }
jget() { sqlite3 :memory: "select json_extract(readfile('$1'), '$2')"; } # jget FILE PATH (null: empty)
near() { # near GOT WANT RELTOL DESCRIPTION: |got - want| <= reltol |want|
  if awk -v g="$1" -v w="$2" -v t="$3" 'BEGIN { d = g - w; if (d < 0) d = -d; a = w < 0 ? -w : w
                                               exit !(g != "" && d <= t * a + 1e-9) }'; then ok
  else bad "$4: got '$1', wanted $2 (relative tolerance $3)"; fi
}

# ---- the independent computation ----
# ref_stats reads "arrival_ns input output" lines (arrivals ascending, integers exact in doubles)
# and prints "JSON-path value tolerance" lines: what inspect --json must say.
ref_stats() {
  awk '{ t = $1; if (NR == 1) t0 = t; r = t - t0
         if (NR > 1) { g = (r - prev) / 1e9; sg += g; sg2 += g * g }
         prev = r; m = int(r / 6e10); c[m]++ }
       END {
         n = NR; d = prev / 1e9; full = m; last = c[m]
         for (k = 0; k < full; k++) { x = (k in c) ? c[k] : 0; if (k == 0 || x < lo) lo = x; if (x > hi) hi = x }
         printf "$.requests %d 0\n$.duration_s %.9f 1e-9\n", n, d
         if (d > 0) printf "$.rate_rps %.12g 1e-9\n", n / d
         printf "$.per_minute.full_minutes %d 0\n$.per_minute.last_minute_requests %d 0\n", full, last
         printf "$.per_minute.last_minute_s %.9f 1e-9\n", (prev - full * 6e10) / 1e9
         if (full > 0) printf "$.per_minute.min_rps %.12g 1e-9\n$.per_minute.max_rps %.12g 1e-9\n" \
                              "$.per_minute.mean_rps %.12g 1e-9\n", lo / 60, hi / 60, (n - last) / full / 60
         k = n - 1; mean = sg / k
         printf "$.interarrival_mean_s %.12g 1e-9\n", mean
         if (k > 1) printf "$.interarrival_cv %.12g 1e-6\n", sqrt((sg2 - sg * sg / k) / (k - 1)) / mean
       }' "$1"
}
# ref_lengths FILE COLUMN KEY: mean, min, max and total exact; percentiles (numpy's linear rule
# over the sorted values) within the histogram's 0.2%.
ref_lengths() {
  awk -v c="$2" '{ print $c }' "$1" | sort -n | awk -v k="$3" '
    { v[NR] = $1; s += $1 }
    function q(f,   p, i) { p = (NR - 1) * f + 1; i = int(p); return i >= NR ? v[NR] : v[i] + (v[i + 1] - v[i]) * (p - i) }
    END { printf "$.%s.total %d 0\n$.%s.mean %.12g 1e-9\n$.%s.min %d 0\n$.%s.max %d 0\n", k, s, k, s / NR, k, v[1], k, v[NR]
          printf "$.%s.p50 %.12g 0.002\n$.%s.p90 %.12g 0.002\n$.%s.p99 %.12g 0.002\n", k, q(0.5), k, q(0.9), k, q(0.99) }'
}
# check_json JSON REF WHAT: every line of REF against the JSON object
check_json() {
  local path want tol
  while read -r path want tol; do near "$(jget "$1" "$path")" "$want" "$tol" "$3 $path"; done <"$2"
}
# ref_mooncake JSONL ROWS: writes ROWS ("ns input output") and prints the prefix_reuse lines. A
# chain hash stands for the ids up to it, so a block is a prefix of ids; only the first
# ceil(input_length / 512) ids name prompt tokens.
ref_mooncake() {
  awk '{ match($0, /"timestamp": [0-9]+/); ts = substr($0, RSTART + 13, RLENGTH - 13)
         match($0, /"input_length": [0-9]+/); il = substr($0, RSTART + 16, RLENGTH - 16) + 0
         match($0, /"output_length": [0-9]+/); out = substr($0, RSTART + 17, RLENGTH - 17) + 0
         printf "%.0f %d %d\n", ts * 1e6, (il < 1 ? 1 : il), (out < 1 ? 1 : out) > rows
         match($0, /\[[0-9, ]*\]/); n = split(substr($0, RSTART + 1, RLENGTH - 2), id, ", ")
         if (n > int((il + 511) / 512)) n = int((il + 511) / 512)
         hit = 0; p = ""
         for (j = 1; j <= n; j++) { p = p " " id[j]; if (p in seen) { if (hit == j - 1) hit++ } else distinct++; seen[p] = 1 }
         blocks += n; reused += hit; tok += (hit * 512 < il ? hit * 512 : il); alltok += il }
       END { printf "$.prefix_reuse.blocks %d 0\n$.prefix_reuse.reused_blocks %d 0\n", blocks, reused
             printf "$.prefix_reuse.distinct_blocks %d 0\n$.prefix_reuse.reused_prompt_tokens %d 0\n", distinct, tok
             printf "$.prefix_reuse.reused_prompt_token_share %.12g 1e-9\n", tok / alltok }' rows="$2" "$1"
}
reference() { # reference ROWS: ref_stats and both length distributions of "ns input output" rows
  ref_stats "$1"; ref_lengths "$1" 2 input_tokens; ref_lengths "$1" 3 output_tokens
}

# ---- Azure (2023 conversation head): arrivals "YYYY-MM-DD HH:MM:SS.fffffff", one day ----
AZ=$DATA/azure_conv_head100.csv
awk -F, 'NR > 1 { split($1, dt, " "); split(dt[2], hms, ":"); split(hms[3], sf, ".")
                  printf "%.0f %d %d\n", (hms[1] * 3600 + hms[2] * 60 + sf[1]) * 1e9 + substr(sf[2] "000000000", 1, 9),
                         ($2 < 1 ? 1 : $2), ($3 < 1 ? 1 : $3) }' "$AZ" >"$T/az.rows"
reference "$T/az.rows" >"$T/az.ref"
expect_code 0 "azure json" -- "$FLEETSIM" inspect "$AZ" --json
cp "$T/out" "$T/az.json"
check_json "$T/az.json" "$T/az.ref" "azure"
[[ $(jget "$T/az.json" '$.format') == azure && $(jget "$T/az.json" '$.format_guessed') == 1 ]] && ok || bad "azure guessed"
[[ $(jget "$T/az.json" '$.rows.read') == 100 && $(jget "$T/az.json" '$.rows.bad_skipped') == 0 ]] && ok || bad "azure rows"
[[ $(jget "$T/az.json" '$.prefix_reuse') == "" && $(jget "$T/az.json" "\$.per_minute.min_rps") == "" ]] && ok ||
  bad "azure: no chains, no full minute (null)"
[[ $(sqlite3 :memory: "select json_valid(readfile('$T/az.json'))") == 1 && $(wc -l <"$T/az.json") == 1 ]] && ok ||
  bad "--json is one valid JSON line"
expect_code 0 "azure text" -- "$FLEETSIM" inspect "$AZ"
contains "$T/out" "requests      100" "text count"
contains "$T/out" "$(printf 'duration      %.3f s' "$(jget "$T/az.json" '$.duration_s')")" "text duration"
contains "$T/out" "(azure, guessed from the first line)" "text format"
contains "$T/out" "spans less than one full minute" "text short trace"
grep -qE "^input +$(printf '%.1f' "$(jget "$T/az.json" '$.input_tokens.mean')") " "$T/out" && ok || bad "text input mean"

# gzip: the same figures
gzip -c "$AZ" >"$T/az.csv.gz"
expect_code 0 "gzip" -- "$FLEETSIM" inspect "$T/az.csv.gz" --json
sed 's/"trace": "[^"]*"//' "$T/out" >"$T/gz.cmp"
sed 's/"trace": "[^"]*"//' "$T/az.json" >"$T/az.cmp"
cmp -s "$T/gz.cmp" "$T/az.cmp" && ok || bad "gzip: $(cat "$T/out")"

# a day in Azure 2024 form (UTC offsets), with empty minutes and a partial last minute; made here
awk 'BEGIN { srand(7); t = 0
             for (i = 0; i < 3000; i++) {
               t += int(-log(1 - rand()) * (i % 700 < 600 ? 400000 : 20000000)) + 1 # us: bursts, lulls
               h = int(t / 3600e6); m = int((t % 3600e6) / 60e6); s = int((t % 60e6) / 1e6); us = t % 1e6
               printf "2024-05-10 %02d:%02d:%02d.%06d+00:00,%d,%d\n", h, m, s, us, 1 + int(rand() * 9000), int(rand() * 600)
             } }' >"$T/day.body"
{ echo "TIMESTAMP,ContextTokens,GeneratedTokens"; cat "$T/day.body"; } >"$T/day.csv"
awk -F, '{ split($1, dt, " "); split(dt[2], hms, ":"); split(hms[3], sf, ".")
           printf "%.0f %d %d\n", (hms[1] * 3600 + hms[2] * 60 + sf[1]) * 1e9 + substr(sf[2], 1, 6) * 1000,
                  ($2 < 1 ? 1 : $2), ($3 < 1 ? 1 : $3) }' "$T/day.body" >"$T/day.rows"
reference "$T/day.rows" >"$T/day.ref"
expect_code 0 "azure 2024 day" -- "$FLEETSIM" inspect "$T/day.csv" --json
cp "$T/out" "$T/day.json"
check_json "$T/day.json" "$T/day.ref" "day"
[[ $(jget "$T/day.json" '$.per_minute.min_rps') == 0.0 ]] && ok || bad "day: an empty minute gives min 0"
awk -v x="$(jget "$T/day.json" '$.interarrival_cv')" 'BEGIN { exit !(x > 1.5) }' && ok || bad "day: bursty CV"

# ---- vLLM measured run: engine clock queued_ts (s) ----
VL=$DATA/replays/vllm-rtx4090-llama3.1-8b/vllm/requests.jsonl
awk 'function num(k,   s) { if (!match($0, "\"" k "\": *[0-9.]+")) { print "no " k > "/dev/stderr"; exit 1 }
                           s = substr($0, RSTART, RLENGTH); sub(/.*: */, "", s); return s }
     { split(num("queued_ts"), sf, "."); i = num("input_toks"); o = num("output_toks")
       printf "%.0f %d %d\n", sf[1] * 1e9 + substr(sf[2] "000000000", 1, 9), (i < 1 ? 1 : i), (o < 1 ? 1 : o) }' \
  "$VL" | sort -n -k1,1 -s >"$T/vl.rows"
reference "$T/vl.rows" | sed 's/ 1e-9$/ 1e-6/' >"$T/vl.ref" # queued_ts goes through a double
expect_code 0 "vllm json" -- "$FLEETSIM" inspect "$VL" --json
cp "$T/out" "$T/vl.json"
check_json "$T/vl.json" "$T/vl.ref" "vllm"
[[ $(jget "$T/vl.json" '$.format') == vllm ]] && ok || bad "vllm guessed"

# ---- Mooncake: prefix reuse ----
# Hand-made, 512-token blocks: request 4 has seen ids (1, 2) only after an unseen first one, so
# they are other content (a chain hash covers the whole prefix) and no cache could hit them: 6 of
# 14 blocks reused, 8 distinct prefixes, 1024 + 300 + 1536 of 6136 prompt tokens.
cat >"$T/mc.jsonl" <<'EOF'
{"timestamp": 0, "input_length": 1200, "output_length": 10, "hash_ids": [0, 1, 2]}
{"timestamp": 500, "input_length": 1100, "output_length": 5, "hash_ids": [0, 1, 3]}
{"timestamp": 1000, "input_length": 300, "output_length": 7, "hash_ids": [0]}
{"timestamp": 61000, "input_length": 2000, "output_length": 1, "hash_ids": [4, 1, 2, 5]}
{"timestamp": 62000, "input_length": 1536, "output_length": 3, "hash_ids": [0, 1, 2]}
EOF
expect_code 0 "mooncake small" -- "$FLEETSIM" inspect "$T/mc.jsonl" --json
cp "$T/out" "$T/mc.json"
[[ $(jget "$T/mc.json" '$.format') == mooncake ]] && ok || bad "mooncake guessed"
for kv in "requests 5" "block_tokens 512" "blocks 14" "distinct_blocks 8" "reused_blocks 6" "reused_prompt_tokens 2860"; do
  [[ $(jget "$T/mc.json" "\$.prefix_reuse.${kv% *}") == "${kv#* }" ]] && ok || bad "mooncake small: ${kv% *} $(cat "$T/mc.json")"
done
near "$(jget "$T/mc.json" '$.prefix_reuse.reused_prompt_token_share')" "$(awk 'BEGIN { print 2860 / 6136 }')" 1e-6 "token share"
near "$(jget "$T/mc.json" '$.prefix_reuse.reused_block_share')" "$(awk 'BEGIN { print 6 / 14 }')" 1e-6 "block share"
expect_code 0 "mooncake text" -- "$FLEETSIM" inspect "$T/mc.jsonl"
contains "$T/out" "42.9% of 14 chain blocks seen earlier (512 tokens each, 8 distinct)" "mooncake text"
contains "$T/out" "(2860 of 6136)" "mooncake text tokens"

# Generated, Mooncake-shaped (documents shared by prefix, then the request's own blocks; more
# distinct blocks than the set's first table holds), reuse counted again in awk over the id
# prefixes that the chain hashes stand for.
awk 'BEGIN { srand(11); t = 0; u = 100000
             for (i = 0; i < 4000; i++) {
               t += int(-log(1 - rand()) * 250); d = int(rand() * 40); nd = int(rand() * 12); nu = int(rand() * 6)
               n = nd + nu; if (n == 0) n = 1
               s = ""; for (j = 0; j < n; j++) s = s (j ? ", " : "") (j < nd ? d * 1000 + j : u++)
               printf "{\"timestamp\": %d, \"input_length\": %d, \"output_length\": %d, \"hash_ids\": [%s]}\n",
                      t, (n - 1) * 512 + 1 + int(rand() * 512), 1 + int(rand() * 300), s } }' >"$T/mc2.jsonl"
expect_code 0 "mooncake generated" -- "$FLEETSIM" inspect "$T/mc2.jsonl" --json
cp "$T/out" "$T/mc2.json"
ref_mooncake "$T/mc2.jsonl" "$T/mc2.rows" >"$T/mc2.ref"
reference "$T/mc2.rows" >>"$T/mc2.ref"
check_json "$T/mc2.json" "$T/mc2.ref" "mooncake generated"

# The head of Mooncake's synthetic trace
MC=$DATA/traces/mooncake_synthetic_head62.jsonl
expect_code 0 "mooncake head" -- "$FLEETSIM" inspect "$MC" --json
cp "$T/out" "$T/mc3.json"
ref_mooncake "$MC" "$T/mc3.rows" >"$T/mc3.ref"
reference "$T/mc3.rows" >>"$T/mc3.ref"
check_json "$T/mc3.json" "$T/mc3.ref" "mooncake head"
awk -v x="$(jget "$T/mc3.json" '$.prefix_reuse.reused_blocks')" 'BEGIN { exit !(x > 0) }' && ok || bad "mooncake head: reuse"

# ---- the generic formats and BurstGPT ----
awk '{ printf "%.6f,%d,%d\n", $1 / 1e9, $2, $3 }' "$T/vl.rows" | sed '1i at,prompt,gen' >"$T/g.csv"
expect_code 0 "csv" -- "$FLEETSIM" inspect "$T/g.csv" --format csv --column arrival=at --column input=prompt \
  --column output=gen --json
[[ $(jget "$T/out" '$.format') == csv && $(jget "$T/out" '$.requests') == 300 ]] && ok || bad "csv: $(cat "$T/out")"
[[ $(jget "$T/out" '$.input_tokens.total') == $(jget "$T/vl.json" '$.input_tokens.total') ]] && ok || bad "csv lengths"
expect_code 0 "csv guessed from --column" -- "$FLEETSIM" inspect "$T/g.csv" --column arrival=at --column input=prompt \
  --column output=gen --json
[[ $(jget "$T/out" '$.format') == csv ]] && ok || bad "--column without --format: csv"
awk '{ printf "{\"t_ms\": %.3f, \"p\": %d, \"g\": %d}\n", $1 / 1e6, $2, $3 }' "$T/vl.rows" >"$T/g.jsonl"
expect_code 0 "jsonl" -- "$FLEETSIM" inspect "$T/g.jsonl" --column arrival=t_ms --arrival-unit ms --column input=p \
  --column output=g --json
[[ $(jget "$T/out" '$.format') == jsonl && $(jget "$T/out" '$.requests') == 300 ]] && ok || bad "jsonl: $(cat "$T/out")"
near "$(jget "$T/out" '$.duration_s')" "$(jget "$T/vl.json" '$.duration_s')" 1e-6 "jsonl duration in ms"

cat >"$T/bg.csv" <<'EOF'
Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type
5,ChatGPT,472,18,490,Conversation log
45,ChatGPT,1087,0,1087,Conversation log
118,GPT-4,417,276,693,Conversation log
131,ChatGPT,1360,344,1704,API log
300,ChatGPT,20,52,72,Conversation log
EOF
expect_code 0 "burstgpt" -- "$FLEETSIM" inspect "$T/bg.csv" --json
[[ $(jget "$T/out" '$.format') == burstgpt && $(jget "$T/out" '$.requests') == 4 &&
   $(jget "$T/out" '$.rows.failed_dropped') == 1 ]] && ok || bad "burstgpt: $(cat "$T/out")"
expect_code 0 "burstgpt filters" -- "$FLEETSIM" inspect "$T/bg.csv" --model ChatGPT --log-type "Conversation log" \
  --keep-failed --json
[[ $(jget "$T/out" '$.requests') == 3 && $(jget "$T/out" '$.rows.filtered') == 2 &&
   $(jget "$T/out" '$.rows.read') == 5 && $(jget "$T/out" '$.output_tokens.min') == 1 ]] && ok ||
  bad "burstgpt filters: $(cat "$T/out")"

expect_code 0 "burstgpt v1.2" -- "$FLEETSIM" inspect "$DATA/traces/burstgpt_v12_sample.csv" --json
[[ $(jget "$T/out" '$.format') == burstgpt && $(jget "$T/out" '$.rows.read') == 5 ]] && ok || bad "burstgpt v1.2: $(cat "$T/out")"

# an empty trace is no error: no requests, figures null
echo "TIMESTAMP,ContextTokens,GeneratedTokens" >"$T/empty.csv"
expect_code 0 "empty trace" -- "$FLEETSIM" inspect "$T/empty.csv" --json
[[ $(jget "$T/out" '$.requests') == 0 && $(jget "$T/out" '$.duration_s') == "" ]] && ok || bad "empty: $(cat "$T/out")"

# ---- bad input and usage: exit 2, the file:line or the option named ----
expect_code 0 "--help" -- "$FLEETSIM" inspect --help; contains "$T/out" "usage: fleetsim inspect TRACE" "--help"
expect_code 0 "top-level help" -- "$FLEETSIM" --help; contains "$T/out" "inspect TRACE" "top-level help lists inspect"
expect_code 2 "no trace" -- "$FLEETSIM" inspect; contains "$T/err" "inspect needs a trace file" "no trace"
expect_code 2 "two traces" -- "$FLEETSIM" inspect "$AZ" "$AZ"; contains "$T/err" "unexpected argument" "two traces"
expect_code 2 "unknown option" -- "$FLEETSIM" inspect "$AZ" --frob; contains "$T/err" "unknown option '--frob'" "unknown option"
expect_code 2 "missing value" -- "$FLEETSIM" inspect "$AZ" --format; contains "$T/err" "option --format needs a value" "missing value"
expect_code 2 "bad format" -- "$FLEETSIM" inspect "$AZ" --format parquet; contains "$T/err" "--format: expected azure" "bad format"
expect_code 2 "bad column" -- "$FLEETSIM" inspect "$AZ" --column when=t; contains "$T/err" "--column: expected KEY=NAME" "bad column"
expect_code 2 "bad unit" -- "$FLEETSIM" inspect "$AZ" --arrival-unit h; contains "$T/err" "--arrival-unit: expected s, ms" "bad unit"
expect_code 2 "bad sort" -- "$FLEETSIM" inspect "$AZ" --sort -3; contains "$T/err" "--sort: expected a window" "bad sort"
expect_code 2 "--column on azure" -- "$FLEETSIM" inspect "$AZ" --format azure --column arrival=t
contains "$T/err" "--column and --arrival-unit apply to --format csv or jsonl, not to azure" "--column on azure"
expect_code 2 "csv without columns" -- "$FLEETSIM" inspect "$T/g.csv" --format csv --column arrival=at
contains "$T/err" "--format csv needs --column arrival=NAME, --column input=NAME and --column output=NAME" "csv columns"
expect_code 2 "--model on azure" -- "$FLEETSIM" inspect "$AZ" --model GPT-4
contains "$T/err" "apply to burstgpt traces, not to azure (guessed from the first line)" "--model on azure"
expect_code 2 "missing file" -- "$FLEETSIM" inspect "$T/nope.csv"; contains "$T/err" "$T/nope.csv: cannot open trace" "missing file"
printf 'a,b,c\n1,2,3\n' >"$T/unknown.csv"
expect_code 2 "unguessable csv" -- "$FLEETSIM" inspect "$T/unknown.csv"
contains "$T/err" "unknown.csv:1: cannot guess the format from the first line 'a,b,c': give --format" "unguessable csv"
echo '{"ts": 1, "n": 2}' >"$T/unknown.jsonl"
expect_code 2 "unguessable json" -- "$FLEETSIM" inspect "$T/unknown.jsonl"; contains "$T/err" "--format jsonl --column" "unguessable json"
sed '3s/,396,/,39x6,/' "$AZ" >"$T/badrow.csv"
expect_code 2 "bad row" -- "$FLEETSIM" inspect "$T/badrow.csv"; contains "$T/err" "badrow.csv:3:2:" "bad row names file:line:col"
contains "$T/err" "39x6" "bad row shows the value"
expect_code 0 "bad row skipped" -- "$FLEETSIM" inspect "$T/badrow.csv" --skip-bad-rows --json
[[ $(jget "$T/out" '$.rows.bad_skipped') == 1 && $(jget "$T/out" '$.requests') == 99 ]] && ok || bad "skip: $(cat "$T/out")"
sed '3s/"input_toks": [0-9]*/"input_toks": "many"/' "$VL" >"$T/badrow.jsonl"
expect_code 2 "bad json row" -- "$FLEETSIM" inspect "$T/badrow.jsonl"; contains "$T/err" "badrow.jsonl:3:" "bad json row"
{ head -n 30 "$AZ"; sed -n 2,3p "$AZ"; } >"$T/unordered.csv"
expect_code 2 "out of order" -- "$FLEETSIM" inspect "$T/unordered.csv"; contains "$T/err" "unordered.csv:31:" "out of order"
expect_code 0 "--sort reorders" -- "$FLEETSIM" inspect "$T/unordered.csv" --sort 60 --json
[[ $(jget "$T/out" '$.requests') == 31 ]] && ok || bad "--sort: $(cat "$T/out")"
head -c 600 "$T/az.csv.gz" >"$T/cut.csv.gz"
expect_code 2 "truncated gzip" -- "$FLEETSIM" inspect "$T/cut.csv.gz"; contains "$T/err" "cut.csv.gz" "truncated gzip"

echo "test_inspect: $pass passed, $fail failed"
[[ $fail == 0 ]]
