#!/usr/bin/env bash
# fleetsim-probe's tests.
#   test_probe.sh PROBE        runs the quick grid on the GPU and checks the CSV: the exact header,
#                              28 fields a row, numeric columns numeric, every op present, times and
#                              work positive, rel_err <= tol; then the JSON form of one op. Without a
#                              GPU the probe exits 77 and so does this script (ctest: skipped).
#   test_probe.sh --cli PROBE  --help and usage errors (exit 2, a message on stderr, nothing on
#                              stdout): these need no GPU, as the arguments are parsed first.
set -u
CLI=0
if [ "${1:-}" = --cli ]; then CLI=1; shift; fi
PROBE=$1
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fails=0
bad() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

if [ $CLI = 1 ]; then
  "$PROBE" --help >"$TMP/out" 2>"$TMP/err"; rc=$?
  [ $rc = 0 ] || bad "--help exited $rc, wanted 0"
  grep -q '^usage: fleetsim-probe' "$TMP/out" || bad "--help printed no usage line on stdout"
  for args in "--ops bogus" "--ops gemm,nope" "--ops ," "--repeats 0" "--repeats x" "--device -1" "--seed -3" \
              "--frobnicate" "-o" "--quick --ops"; do
    # shellcheck disable=SC2086
    "$PROBE" $args >"$TMP/out" 2>"$TMP/err"; rc=$?
    [ $rc = 2 ] || bad "'$args' exited $rc, wanted 2"
    [ -s "$TMP/out" ] && bad "'$args' wrote to stdout: $(head -c 200 "$TMP/out")"
    grep -q '^fleetsim-probe: ' "$TMP/err" || bad "'$args' printed no message on stderr"
  done
  [ $fails = 0 ] && echo "ok: --help and 10 usage errors"
  exit $((fails > 0))
fi

"$PROBE" --quick -o "$TMP/probe.csv" 2>"$TMP/log"; rc=$?
if [ $rc = 77 ]; then
  echo "SKIPPED: no CUDA device here; the probe said: $(tail -n 1 "$TMP/log")"
  exit 77
fi
if [ $rc != 0 ]; then
  echo "FAIL: fleetsim-probe --quick exited $rc; the end of its log:" >&2
  tail -n 20 "$TMP/log" >&2
  exit 1
fi

HEADER='device,cc,sm_count,sm_clock_mhz,mem_clock_mhz,driver,runtime,op,impl,dtype,batch,m,n,k,seq,ctx,heads,kv_heads,head_dim,block_size,bytes,time_us,flops,moved_bytes,tflops,gbps,rel_err,tol'
[ "$(head -n 1 "$TMP/probe.csv")" = "$HEADER" ] || bad "header differs: $(head -n 1 "$TMP/probe.csv")"

# Fields 3-5 and 11-28 numeric; time_us (22) > 0; moved_bytes (24) > 0; flops (23) > 0 except for
# copies; rel_err (27) <= tol (28); each op seen. awk prints one line per problem.
awk -F, -v ops="gemm attn_decode attn_prefill rmsnorm silu_mul rope copy" '
  function num(x) { return x ~ /^-?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?$/ }
  NR == 1 { next }
  {
    if (NF != 28) { print "line " NR ": " NF " fields, wanted 28"; next }
    for (i = 3; i <= 28; i++)
      if ((i <= 5 || i >= 11) && !num($i)) print "line " NR ": column " i " is not a number: \"" $i "\""
    if (!($22 > 0)) print "line " NR ": time_us " $22 " is not positive"
    if (!($24 > 0)) print "line " NR ": moved_bytes " $24 " is not positive"
    if ($8 != "copy" && !($23 > 0)) print "line " NR ": flops " $23 " is not positive"
    if (!($27 + 0 <= $28 + 0)) print "line " NR ": rel_err " $27 " over tol " $28
    seen[$8]++
  }
  END {
    n = split(ops, want, " ")
    for (i = 1; i <= n; i++) if (!seen[want[i]]) print "no row for op " want[i]
    if (NR < 2) print "no rows"
  }' "$TMP/probe.csv" >"$TMP/problems"
while IFS= read -r line; do bad "$line"; done <"$TMP/problems"

"$PROBE" --quick --ops rmsnorm --json -o "$TMP/probe.json" 2>"$TMP/log" || bad "--json run failed: $(tail -n 1 "$TMP/log")"
[ "$(head -n 1 "$TMP/probe.json")" = "[" ] && [ "$(tail -n 1 "$TMP/probe.json")" = "]" ] ||
  bad "--json output is not a bracketed array"
[ "$(grep -c '"op": "rmsnorm"' "$TMP/probe.json")" -ge 1 ] || bad "--json output has no rmsnorm object"

[ $fails = 0 ] && echo "ok: $(($(wc -l <"$TMP/probe.csv") - 1)) rows, every op present and checked"
exit $((fails > 0))
