#!/bin/sh
# OpenBLAS's kernels: sdlm does not run on the Prescott (SSE3) fallback on a CPU
# with AVX2 and FMA when the user chose no core, and keeps a core the user chose.
cd "$(dirname "$0")/.." || exit 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sdlm_cmd=bench
. tests/lib.sh

core() { sed -n 's/.*"blas_core":"\([^"]*\)".*/\1/p' "$tmp/out"; }
# shellcheck disable=SC2086
bench() { env "$@" ./sdlm bench --what sample --V 50 --E 8 --D 16 --layers 1 --L 8 --steps 2 --json >"$tmp/out" 2>"$tmp/err"; }
check "bench runs with no core chosen" bench -u OPENBLAS_CORETYPE
echo "# chosen: $(core)"
if grep -q ' avx2' /proc/cpuinfo && grep -q ' fma' /proc/cpuinfo; then
    check "an AVX2 CPU does not run the Prescott kernels ($(core))" [ -n "$(core)" -a "$(core)" != Prescott ]
else
    echo "ok - no AVX2 here: whatever OpenBLAS chose ($(core)) is kept"
fi
check "a core the user chose is kept" bench OPENBLAS_CORETYPE=Prescott
check "... it is Prescott, as asked ($(core))" [ "$(core)" = Prescott ]
