#!/bin/sh
# t_vector.sh: every SDLM_KERNEL function (src/*.c) vectorises for AVX2, not
# only for AVX-512. GCC compiles each one three times (ops.h: x86-64-v4, v3
# and baseline); a select the v3 clone cannot if-convert leaves that clone
# scalar, and an AVX-512 host never notices, for it runs the v4 one. So this
# reads `objdump -d` of the engine's objects and fails, naming the clone, when
# a kernel's x86-64-v3 clone uses no ymm register, or its baseline clone no
# packed (SSE) arithmetic. Under `make SDLM_ARCH=x86-64-v3` (one version, no
# clones) the plain function must use ymm registers.
#
# Skipped off x86-64, without objdump, and for builds that do not optimise
# the engine (make asan: -O1 and sanitizers).
cd "$(dirname "$0")/.." || exit 2
BUILD=${BUILD:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

skip() { echo "ok - vectorisation check skipped: $1"; exit 0; }
[ "$(uname -m)" = x86_64 ] || skip "not an x86-64 machine ($(uname -m))"
command -v objdump >/dev/null 2>&1 || skip "no objdump (Debian: binutils)"

# The kernels: the function name on each line that starts with SDLM_KERNEL (or ops.c's KERNEL).
grep -H -E '^(SDLM_KERNEL|KERNEL) ' src/*.c |
    sed -E 's/^([^:]*)\.c:[^(]* \**([A-Za-z_][A-Za-z0-9_]*)\(.*/\1 \2/' >"$tmp/kernels"
[ -s "$tmp/kernels" ] || { echo "not ok - no SDLM_KERNEL function found in src/*.c"; exit 1; }

# instruction lines per function: "<name>\t<instruction>"
for obj in $(cut -d' ' -f1 "$tmp/kernels" | sort -u); do
    [ -f "$BUILD/$obj.o" ] || { echo "not ok - $BUILD/$obj.o is missing: build first (make)"; exit 1; }
    objdump -d --no-show-raw-insn "$BUILD/$obj.o" |
        awk '/^[0-9a-f]+ <.*>:$/ { name = substr($2, 2, length($2) - 3); next }
             /^ +[0-9a-f]+:\t/ && name != "" { sub(/^ +[0-9a-f]+:\t/, ""); print name "\t" $0 }' >>"$tmp/insns"
done
obj=$BUILD/src/ops.o
nm "$obj" 2>/dev/null | grep -q -E '__(asan|ubsan)_' && skip "$BUILD is a sanitizer build"
# the last -O of the compiler's command line, when it was built with -g
opt=$(objdump --dwarf=info "$obj" 2>/dev/null | grep -m1 DW_AT_producer | grep -o -E ' -O[0-9a-z]*' | tail -1)
case "$opt" in " -O0" | " -O1" | " -Og" | " -Os" | " -Oz" | " -O") skip "$obj is built with$opt (the engine's default: -O3)" ;; esac

# count NAME REGEX: instructions of function NAME matching REGEX
count() { awk -F '\t' -v f="$1" -v re="$2" '$1 == f && $2 ~ re { n++ } END { print n + 0 }' "$tmp/insns"; }
has() { awk -F '\t' -v f="$1" '$1 == f { found = 1 } END { exit !found }' "$tmp/insns"; }
# A v3 clone with a scalar loop beside a vector one (a max that vectorises, an
# exp that does not) still uses ymm: so it must also hold at least half as many
# ymm instructions as its v4 clone holds zmm ones (they are within 20% when
# both vectorise the same loops).
# packed single or double arithmetic on xmm (SSE2): not the moves and logic scalar code uses too
SSE_PACKED='^(add|sub|mul|div|max|min|sqrt)p[sd] |^cmp[a-z]*p[sd] |^p(add|sub|mul)[a-z]* |^cvt[a-z]*dq2p|^cvt[a-z]*p[sd]2dq|^p(and|andn|or|cmp[a-z]+) '

while read -r obj fn; do
    if has "$fn.arch_x86_64_v3"; then
        n=$(count "$fn.arch_x86_64_v3" '%ymm')
        z=$(count "$fn.arch_x86_64_v4" '%zmm')
        if [ "$n" -eq 0 ]; then echo "not ok - $fn.arch_x86_64_v3 ($obj.c) is scalar: no ymm register"
        elif [ $((2 * n)) -lt "$z" ]; then
            echo "not ok - $fn.arch_x86_64_v3 ($obj.c) is partly scalar: $n ymm instructions, $z zmm in the v4 clone"
        else echo "ok - $fn: the x86-64-v3 clone uses ymm ($n instructions; the v4 clone $z zmm)"; fi
        n=$(count "$fn.default" "$SSE_PACKED")
        if [ "$n" -gt 0 ]; then echo "ok - $fn: the baseline clone uses packed SSE ($n instructions)"
        else echo "not ok - $fn.default ($obj.c) is scalar: no packed SSE arithmetic"; fi
    elif has "$fn" && [ "$(count "$fn" '%ymm')" -gt 0 ]; then
        echo "ok - $fn: one version, with ymm (an SDLM_ARCH build)"
    elif has "$fn"; then
        if grep -q -E 'arch_x86_64_v[34]' "$tmp/insns"; then
            echo "not ok - $fn ($obj.c) has no x86-64-v3 clone"
        elif [ "$(awk -F '\t' '$2 ~ /%ymm/' "$tmp/insns" | wc -l)" -eq 0 ]; then
            skip "no clones and no AVX in $BUILD (clang, SDLM_NO_CLONES or an old -march)"
        else echo "not ok - $fn ($obj.c) is scalar in an AVX build: no ymm register"; fi
    else
        echo "not ok - $fn ($obj.c) is not in $BUILD/$obj.o"
    fi
done <"$tmp/kernels"
