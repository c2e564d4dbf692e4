#!/bin/sh
# Runs the libFuzzer harnesses (clang, ASan, UBSan) from their committed seeds:
#   tests/fuzz/run.sh              every harness, FUZZ_TIME seconds each (300)
#   FUZZ_TIME=30 tests/fuzz/run.sh the same, shorter
# It is `make fuzz`; see tests/fuzz/fuzz.mk for where crashes go.
cd "$(dirname "$0")/../.." || exit 2
exec make --no-print-directory fuzz FUZZ_TIME="${FUZZ_TIME:-${FUZZ_SECONDS:-300}}"
