#!/bin/sh
# t_isa.sh: the instruction set the kernels run on. `sdlm bench` names the
# clone this CPU picks ("isa"); and the AVX2 path, which an AVX-512 host never
# runs from ./sdlm, is built alone (make SDLM_ARCH=x86-64-v3, into a scratch
# directory: about 20 s on 2 cores) and must pass the kernel and model tests
# and every parity fixture, as ./sdlm does.
#
# The build is skipped off x86-64, on a CPU without AVX2, and in `make asan`
# (the plain suite runs it).
cd "$(dirname "$0")/.." || exit 2
BUILD=${BUILD:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sdlm_cmd=bench
. tests/lib.sh

isa() { sed -n 's/.*"isa":"\([^"]*\)".*/\1/p' "$tmp/out"; }
tiny="--what sample --V 50 --E 8 --D 16 --layers 1 --L 8 --steps 2 --json"
quiet() { "$@" >/dev/null 2>&1; }
has_flags() { for f in "$@"; do grep -qw "$f" /proc/cpuinfo || return 1; done; }

# shellcheck disable=SC2086 # a word list
check "sdlm bench runs" run 0 $tiny
if [ "$(uname -m)" != x86_64 ]; then
    check "off x86-64 the kernels are the compiler's ($(isa))" [ -n "$(isa)" ]
    echo "ok - the AVX2 build skipped: not an x86-64 machine"
    exit 0
fi
if has_flags avx512f avx512bw avx512dq avx512vl; then want=x86-64-v4
elif has_flags avx2 fma bmi2 movbe; then want=x86-64-v3
else want=x86-64; fi
check "bench reports the clone this CPU runs: $want ($(isa))" [ "$(isa)" = "$want" ]

case "$BUILD" in *asan*) echo "ok - the AVX2 build skipped under the sanitizers (the plain suite builds it)"; exit 0 ;; esac
if ! has_flags avx2 fma; then
    echo "ok - the AVX2 build skipped: this CPU has no AVX2"
    exit 0
fi
b=$tmp/b
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
if ! make -s -j2 BUILD="$b" SDLM_ARCH=x86-64-v3 "$b/sdlm" "$b/tests/test_ops" "$b/tests/test_model" \
    >"$tmp/build.log" 2>&1; then
    echo "not ok - make SDLM_ARCH=x86-64-v3 failed:"
    tail -5 "$tmp/build.log"
    exit 1
fi
echo "ok - make SDLM_ARCH=x86-64-v3 builds"
"$b/sdlm" bench $tiny >"$tmp/out" 2>"$tmp/err"
check "the AVX2 build reports x86-64-v3 ($(isa))" [ "$(isa)" = x86-64-v3 ]
for t in test_ops test_model; do
    "$b/tests/$t" >"$tmp/$t.log" 2>&1
    rc=$?
    n=$(grep -c '^ok - ' "$tmp/$t.log")
    if [ $rc -eq 0 ] && ! grep -q '^not ok' "$tmp/$t.log"; then echo "ok - AVX2 build: $t ($n checks)"
    else
        echo "not ok - AVX2 build: $t failed:"
        grep '^not ok' "$tmp/$t.log" | head -5
    fi
done
for f in tests/fixtures/parity-*.safetensors ../shared/fixtures/seed-parity-l2.safetensors; do
    [ -f "$f" ] || continue
    check "AVX2 build: parity with $(basename "$f")" quiet "$b/sdlm" parity "$f"
done
