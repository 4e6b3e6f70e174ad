#!/usr/bin/env bash
# Build the libFuzzer targets (clang, in build-fuzz/) and run each for RUNS executions over a copy
# of its seed corpus; see tests/fuzz/README.md.
#
#   tests/fuzz/run.sh [RUNS] [TARGET...]
#
# RUNS: executions per target (default 1000000; 0 runs each seed once and stops, as CI does).
# TARGET: fuzz_azure, fuzz_burstgpt, fuzz_mooncake, fuzz_vllm, fuzz_csv, fuzz_jsonl, fuzz_wl_json,
# fuzz_scenario, fuzz_profile, with or without the fuzz_ prefix (default: all). FUZZ_ARGS adds libFuzzer
# options (e.g. FUZZ_ARGS=-max_total_time=600).
#
# Each target works in build-fuzz/fuzz-work/TARGET/: corpus/ (the seeds and what the run added),
# log, and the reproducers it saved (crash-*, leak-*, timeout-*, oom-*). One line per target
# tells executions, exec/s, coverage (cov: edges, ft: features) and what was found. The exit
# status is 1 when any target found something.
set -euo pipefail
cd "$(dirname "$0")/../.."

runs=1000000
if (($#)) && [[ $1 =~ ^[0-9]+$ ]]; then
  runs=$1
  shift
fi
all=(fuzz_azure fuzz_burstgpt fuzz_mooncake fuzz_vllm fuzz_csv fuzz_jsonl fuzz_wl_json fuzz_scenario fuzz_profile)
targets=()
for t in "$@"; do
  t=fuzz_${t#fuzz_}
  [[ -d tests/fuzz/corpus/$t ]] || { echo "run.sh: unknown target '$t' (known: ${all[*]})" >&2; exit 2; }
  targets+=("$t")
done
((${#targets[@]})) || targets=("${all[@]}")

command -v clang >/dev/null || { echo "run.sh: clang not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 2; }
# Warnings are errors as in the GCC builds when FLEETSIM_WERROR=ON (CI sets it).
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFLEETSIM_FUZZ=ON \
  -DFLEETSIM_WERROR="${FLEETSIM_WERROR:-OFF}" >/dev/null
cmake --build build-fuzz --target "${targets[@]}" -j"$(nproc)" >/dev/null

export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
found=0
for t in "${targets[@]}"; do
  work=build-fuzz/fuzz-work/$t
  rm -rf "$work"
  mkdir -p "$work/corpus"
  cp tests/fuzz/corpus/"$t"/* "$work/corpus/"
  # stdin from /dev/null: nothing a scenario names (a catalog, a trace) can wait on the terminal
  rc=0
  # shellcheck disable=SC2086 # FUZZ_ARGS is a list of options
  build-fuzz/fuzz/"$t" -runs="$runs" -timeout=10 -print_final_stats=1 -artifact_prefix="$work/" \
    ${FUZZ_ARGS:-} "$work/corpus" </dev/null >"$work/log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log" | tail -1)
  cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$work/log" | tail -1)
  artifacts=$(find "$work" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
    -o -name 'oom-*' \) | sort)
  if ((rc)) || [[ -n $artifacts ]]; then
    found=1
    what="FOUND (exit $rc): ${artifacts:-no reproducer saved} (see $work/log)"
  else
    what="nothing found"
  fi
  printf '%-14s %s execs, %s exec/s, %s, corpus %s files: %s\n' "$t" "${execs:-?}" "${rate:-?}" \
    "${cov:-cov: ?}" "$(find "$work/corpus" -type f | wc -l)" "$what"
done
exit "$found"
