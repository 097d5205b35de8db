# Sourced by the CLI tests: expect_error, and the counter `failures` it raises.
# Needs $work (a scratch directory) set by the caller.
failures=0

# expect_error NAME SUBSTRING -- COMMAND...: COMMAND exits non-zero, stderr is one line containing SUBSTRING.
expect_error() {
  local name=$1 want=$2
  shift 3
  "$@" >"$work/out" 2>"$work/err" </dev/null
  local rc=$?
  local lines
  lines=$(wc -l <"$work/err")
  if [ "$rc" -eq 0 ] || [ "$rc" -ge 128 ]; then
    echo "FAIL $name: exit code $rc (want a clean non-zero exit)"; failures=$((failures + 1))
  elif ! grep -q -- "$want" "$work/err"; then
    echo "FAIL $name: stderr lacks '$want':"; sed 's/^/    /' "$work/err"; failures=$((failures + 1))
  elif [ "$lines" -gt 2 ]; then
    echo "FAIL $name: $lines lines on stderr (want one clear line):"; sed 's/^/    /' "$work/err"; failures=$((failures + 1))
  else
    echo "ok   $name: $(head -n 1 "$work/err")"
  fi
}

# fail MESSAGE: count a failed check that is not an expect_error.
fail() {
  echo "FAIL $*"; failures=$((failures + 1))
}
