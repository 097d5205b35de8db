#!/usr/bin/env bash
# lessons/check_stub_fails.sh LESSON_TEST_BINARY
#
# CI's proof that a lesson's tests have teeth: built from the untouched exercise stubs, EVERY test
# case of the lesson must fail. Passes (exit 0) only when doctest's summary says at least one test
# case ran and none passed. A crash (no summary line) also fails this check: a student must see a
# failed test with a message, not a segfault.
set -uo pipefail
binary="$1"
output="$("$binary" --reporters=console --no-colors=true 2>&1)"
status=$?
summary="$(printf '%s\n' "$output" | grep -E '^\[doctest\] test cases:' | tail -n 1)"
if [[ -z "$summary" ]]; then
  printf '%s\n' "$output" | tail -n 20
  echo "check_stub_fails: $binary printed no doctest summary (exit $status): did it crash?" >&2
  exit 1
fi
total="$(sed -E 's/.*test cases: *([0-9]+).*/\1/' <<<"$summary")"
passed="$(sed -E 's/.*\| *([0-9]+) passed.*/\1/' <<<"$summary")"
echo "$summary"
if [[ "$total" -eq 0 ]]; then
  echo "check_stub_fails: no test cases ran" >&2
  exit 1
fi
if [[ "$passed" -ne 0 ]]; then
  printf '%s\n' "$output" | grep -E '^\[doctest\]|TEST CASE' >&2
  echo "check_stub_fails: $passed test case(s) PASS on the stubs: a broken lesson (a test that cannot fail)" >&2
  exit 1
fi
echo "check_stub_fails: all $total test cases fail on the stubs, as they must"
