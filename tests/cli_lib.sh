# Shared by the end-to-end test scripts (sourced after `set -u`): a scratch folder $T removed on
# exit, pass/fail counters, and the checks.
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*" >&2; fail=$((fail + 1)); }
expect_code() { # expect_code WANT DESCRIPTION -- command...
  local want=$1 what=$2; shift 3
  "$@" >"$T/out" 2>"$T/err"; local got=$?
  if [[ $got == "$want" ]]; then ok; else bad "$what: exit $got, wanted $want; stderr: $(cat "$T/err")"; fi
}
contains() { # contains FILE TEXT DESCRIPTION
  if grep -qF -- "$2" "$1"; then ok; else bad "$3: '$2' not in $(cat "$1")"; fi
}
