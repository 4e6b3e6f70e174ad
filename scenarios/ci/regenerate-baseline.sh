#!/usr/bin/env bash
# Rebuild the regression gate's baseline, scenarios/ci/baseline.json: run every CI scenario
# (scenarios/ci/ci-*.json) as a sweep of SEEDS replications with this checkout's fleetsim, export
# the runs as JSON (fleetsim export --format json) and check that the gate passes against it.
# Run it after a change that moves the results on purpose, review the diff, commit it.
#
# usage: scenarios/ci/regenerate-baseline.sh [--fleetsim BIN] [--seeds N] [--out FILE]
#   --fleetsim BIN   default: build/fleetsim of this checkout
#   --seeds N        replications per scenario (default 5, as gate.sh runs them)
#   --out FILE       default: scenarios/ci/baseline.json
#
# A fleetsim without the export command gets the same JSON shape from the sqlite3 CLI:
#   {"runs": [{"id", "name", "seed", "scenario": {...}, "point": {"sweep", "point",
#    "seed_index", "params"} or null, "metrics": [{"name", "stat", "value", "unit"}, ...]}]}
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
fleetsim=$root/build/fleetsim
seeds=5
dest=$here/baseline.json
while (($#)); do
  case $1 in
    --fleetsim) fleetsim=$2; shift 2 ;;
    --seeds) seeds=$2; shift 2 ;;
    --out) dest=$2; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "regenerate-baseline: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[[ -x $fleetsim ]] || { echo "regenerate-baseline: no fleetsim at '$fleetsim'" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
db=$tmp/ci.db
for s in "$here"/ci-*.json; do
  "$fleetsim" sweep "$s" --seeds "$seeds" --db "$db" -q >/dev/null
done

if "$fleetsim" export --help >/dev/null 2>&1; then
  "$fleetsim" export "$db" --format json >"$tmp/baseline.json"
else
  echo "regenerate-baseline: this fleetsim has no export command; exporting with sqlite3" >&2
  sqlite3 -batch -noheader -list "$db" >"$tmp/baseline.json" <<'SQL'
SELECT '{"runs": [' || char(10) || group_concat(run, ',' || char(10)) || char(10) || ']}'
FROM (
  SELECT '{"id": ' || r.id || ', "name": ' || json_quote(r.name) || ', "seed": ' || r.seed ||
         ', "scenario": ' || json(r.scenario_json) ||
         ', "point": ' || coalesce((SELECT json_object('sweep', p.sweep, 'point', p.point,
                                                       'seed_index', p.seed_index, 'params', json(p.params))
                                    FROM points p WHERE p.run_id = r.id), 'null') ||
         ', "metrics": [' || char(10) ||
         (SELECT group_concat('  ' || json_object('name', m.name, 'stat', m.stat, 'value', m.value,
                                                   'unit', m.unit), ',' || char(10))
          FROM (SELECT * FROM metrics WHERE run_id = r.id ORDER BY rowid) m) ||
         ']}' AS run
  FROM runs r WHERE r.status = 'ok' ORDER BY r.id
);
SQL
fi

# the new baseline must pass against the runs it came from
if ! "$fleetsim" compare "$tmp/baseline.json" "$db:all" >"$tmp/check.txt"; then
  cat "$tmp/check.txt" >&2
  echo "regenerate-baseline: the new baseline does not pass against its own runs" >&2
  exit 1
fi
cp "$tmp/baseline.json" "$dest"
echo "regenerate-baseline: wrote $dest ($seeds seeds per scenario)" >&2
