#!/usr/bin/env bash
# The regression gate, as the nightly CI job runs it (.github/workflows/nightly.yml):
#   1. run every CI scenario (scenarios/ci/ci-*.json) as a sweep of SEEDS replications into a
#      fresh results database, OUT/ci.db;
#   2. fleetsim compare the committed baseline (scenarios/ci/baseline.json) with it, every
#      scenario (OUT/ci.db:all), under the default thresholds: the verdict on stdout and in
#      OUT/compare.txt, also OUT/compare.md (added to $GITHUB_STEP_SUMMARY when set) and
#      OUT/compare.json;
#   3. fleetsim report of each scenario's first replication into OUT/report-SCENARIO.html
#      (needs gnuplot and the sqlite3 CLI; without them, or with a fleetsim that has no report
#      command, a warning and no report: the report is an artifact, not part of the verdict).
# Exit status: that of fleetsim compare: 0 pass, 1 regression, 2 bad input; 2 too when a
# scenario fails to run.
#
# usage: scenarios/ci/gate.sh [--fleetsim BIN] [--baseline FILE] [--out DIR] [--seeds N]
#                             [-- COMPARE-OPTIONS...]
#   --fleetsim BIN   the fleetsim to test (default: build/fleetsim of this checkout)
#   --baseline FILE  what to compare with (default: scenarios/ci/baseline.json)
#   --out DIR        where the results go (default: a new folder under $TMPDIR, printed)
#   --seeds N        replications per scenario (default 5; the baseline's count is best: then
#                    compare pairs the runs seed by seed)
#   after --, options for fleetsim compare (--threshold METRIC:CHANGE, --all, ...)
# After a change that moves the results on purpose, rebuild the baseline with
# scenarios/ci/regenerate-baseline.sh and commit it.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
fleetsim=$root/build/fleetsim
baseline=$here/baseline.json
out=
seeds=5
compare_opts=()
die() { echo "gate: $*" >&2; exit 2; }
while (($#)); do
  case $1 in
    --fleetsim) fleetsim=${2:?--fleetsim needs a path}; shift 2 ;;
    --baseline) baseline=${2:?--baseline needs a file}; shift 2 ;;
    --out) out=${2:?--out needs a folder}; shift 2 ;;
    --seeds) seeds=${2:?--seeds needs a count}; shift 2 ;;
    --) shift; compare_opts=("$@"); break ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[[ -x $fleetsim ]] || die "no fleetsim at '$fleetsim' (build it: bash .ci/setup, or pass --fleetsim)"
[[ -f $baseline ]] || die "no baseline at '$baseline'"
[[ $seeds =~ ^[1-9][0-9]*$ ]] || die "--seeds: expected a positive integer, got '$seeds'"
if [[ -z $out ]]; then
  out=$(mktemp -d "${TMPDIR:-/tmp}/fleetsim-gate.XXXXXX") || die "cannot make a temporary folder"
fi
mkdir -p "$out" || die "cannot make '$out'"
db=$out/ci.db
rm -f "$db" "$db-journal" "$db-wal"

shopt -s nullglob
scenarios=("$here"/ci-*.json)
((${#scenarios[@]})) || die "no scenarios (ci-*.json) in $here"
for s in "${scenarios[@]}"; do
  name=$(basename "$s" .json)
  start=$SECONDS
  if ! "$fleetsim" sweep "$s" --seeds "$seeds" --requests --db "$db" -q >"$out/$name.txt" 2>"$out/$name.log"; then
    cat "$out/$name.log" >&2
    die "scenario $name failed (its output: $out/$name.txt, $out/$name.log)"
  fi
  echo "gate: $name: $seeds runs in $((SECONDS - start)) s" >&2
done

"$fleetsim" compare "$baseline" "$db:all" "${compare_opts[@]}" | tee "$out/compare.txt"
code=${PIPESTATUS[0]}
if ((code == 0 || code == 1)); then
  "$fleetsim" compare "$baseline" "$db:all" "${compare_opts[@]}" --format md >"$out/compare.md"
  "$fleetsim" compare "$baseline" "$db:all" "${compare_opts[@]}" --format json >"$out/compare.json"
  if [[ -n ${GITHUB_STEP_SUMMARY:-} ]]; then cat "$out/compare.md" >>"$GITHUB_STEP_SUMMARY"; fi
fi

if ! "$fleetsim" report --help >/dev/null 2>&1; then
  echo "gate: warning: this fleetsim has no report command: no HTML report" >&2
elif ! command -v sqlite3 >/dev/null; then
  echo "gate: warning: no sqlite3 CLI to find the runs: no HTML report" >&2
else
  while IFS='|' read -r name id; do
    if ! "$fleetsim" report "$db" --run "$id" -o "$out/report-$name.html" 2>>"$out/report.log"; then
      echo "gate: warning: fleetsim report of $name (run $id) failed: $(tail -n 1 "$out/report.log")" >&2
    fi
  done < <(sqlite3 -batch "$db" "SELECT name, min(id) FROM runs WHERE status = 'ok' GROUP BY name ORDER BY min(id)")
fi

case $code in
  0) verdict=pass ;;
  1) verdict=REGRESSION ;;
  *) verdict="error (exit $code)" ;;
esac
echo "gate: $verdict; results in $out" >&2
exit "$code"
