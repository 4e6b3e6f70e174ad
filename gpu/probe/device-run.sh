#!/usr/bin/env bash
# Builds fleetsim-probe standalone and runs it on this machine's GPU: the quick grid (a smoke test),
# then the full grid. Run from the repository root; results go to $OUT (default ./probe-out):
#   nvidia-smi.txt   the GPU as found (nothing is changed: no clocks, power or mode settings)
#   build.log        cmake's output
#   probe-quick.csv, probe-quick.log   the quick grid
#   probe.csv, probe.log               the full grid (the log has a line per row and the seed)
# and prints a summary per op at the end: rows, best TFLOP/s, best GB/s.
# Environment: OUT, BUILD (default /tmp/fleetsim-probe-build), PROBE_ARGS (extra arguments for the
# full run, e.g. "--ops gemm,copy").
set -euo pipefail
OUT=${OUT:-$PWD/probe-out}
BUILD=${BUILD:-/tmp/fleetsim-probe-build}
mkdir -p "$OUT"
[ -f gpu/probe/CMakeLists.txt ] || { echo "device-run.sh: run me from the repository root" >&2; exit 2; }
export PATH=$PATH:/usr/local/cuda/bin

echo "== GPU"
if command -v nvidia-smi >/dev/null; then
  nvidia-smi -q >"$OUT/nvidia-smi.txt" 2>&1 || true
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm,clocks.mem,power.limit,temperature.gpu,persistence_mode,mig.mode.current \
    --format=csv 2>&1 || true
else
  echo "nvidia-smi not found" | tee "$OUT/nvidia-smi.txt"
fi

echo "== build ($BUILD)"
start=$(date +%s)
cmake -S gpu/probe -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DFLEETSIM_WERROR=ON >"$OUT/build.log" 2>&1 &&
  cmake --build "$BUILD" -j "$(nproc)" >>"$OUT/build.log" 2>&1 || { tail -n 40 "$OUT/build.log"; exit 1; }
echo "built in $(($(date +%s) - start)) s"
PROBE=$BUILD/fleetsim-probe

echo "== quick grid"
start=$(date +%s)
"$PROBE" --quick -o "$OUT/probe-quick.csv" 2>"$OUT/probe-quick.log" || { tail -n 20 "$OUT/probe-quick.log"; exit 1; }
echo "quick grid: $(($(wc -l <"$OUT/probe-quick.csv") - 1)) rows in $(($(date +%s) - start)) s"

echo "== full grid"
start=$(date +%s)
# shellcheck disable=SC2086
"$PROBE" ${PROBE_ARGS:-} -o "$OUT/probe.csv" 2>"$OUT/probe.log" || { tail -n 20 "$OUT/probe.log"; exit 1; }
echo "full grid: $(($(wc -l <"$OUT/probe.csv") - 1)) rows in $(($(date +%s) - start)) s"
head -n 1 "$OUT/probe.log"

echo "== summary (best over each op's rows; impl in brackets)"
awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
  { op = $col["op"]; n[op]++
    t = $col["tflops"] + 0; g = $col["gbps"] + 0
    if (t > bt[op]) { bt[op] = t; ti[op] = $col["impl"] }
    if (g > bg[op]) { bg[op] = g; gi[op] = $col["impl"] }
    if (!(op in order)) { order[op] = ++nops; name[nops] = op } }
  END { printf "%-13s %5s %18s %20s\n", "op", "rows", "best TFLOP/s", "best GB/s"
        for (i = 1; i <= nops; i++) { op = name[i]
          printf "%-13s %5d %9.1f %-8s %10.0f %-9s\n", op, n[op], bt[op], "[" ti[op] "]", bg[op], "[" gi[op] "]" } }' \
  "$OUT/probe.csv"
