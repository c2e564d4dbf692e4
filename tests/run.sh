#!/bin/sh
# Runs every test program (build/tests/test_*) and every shell test (tests/t_*.sh).
# Each prints "ok - NAME" or "not ok - NAME: why" per check and exits non-zero on
# failure; a program that dies without saying so counts as one failure.
# Set TESTS="pattern" to run only the matching ones. Last line: "N passed, N failed".
BUILD=${BUILD:-build}
cd "$(dirname "$0")/.." || exit 2
passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for t in "$BUILD"/tests/test_* tests/t_*.sh; do
    [ -x "$t" ] || [ "${t%.sh}" != "$t" ] || continue
    [ -f "$t" ] || continue
    case "$t" in *.o|*.d) continue ;; esac
    if [ -n "$TESTS" ]; then case "$t" in *$TESTS*) ;; *) continue ;; esac; fi
    start=$(date +%s)
    case "$t" in
        *.sh) sh "$t" >"$log" 2>&1 ;;
        *) "$t" >"$log" 2>&1 ;;
    esac
    rc=$?
    p=$(grep -c '^ok - ' "$log")
    f=$(grep -c '^not ok - ' "$log")
    if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "not ok - $t: exited with status $rc" >>"$log"
        f=1
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    echo "# $t: $p passed, $f failed ($(($(date +%s) - start)) s)"
    if [ "$f" -ne 0 ] || [ -n "$VERBOSE" ]; then sed 's/^/    /' "$log"; fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
