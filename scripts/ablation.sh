#!/bin/sh
# The recipe ablation behind README's table: each row trains the small size
# (E=64, D=256, 4 layers, batch 32) on share/corpus.txt for the same time and
# measures it with the same `sdlm eval` on share/heldout.txt.
#
#   scripts/ablation.sh OUTDIR [ROW ...]     (no ROW: every row, in order)
#   MINUTES=30 LINES=200 THREADS=1 (the defaults)
#
# The budget is a step count per row, not a clock, so that a row gives the
# same figures on any machine and under any load: each row says how many
# steps 30 minutes buy with 2 threads here, and runs MINUTES/30 of that.
# Random-length batches pad to about twice their mean length and cost 0.37-0.41
# s per step, so 4800 steps; the sdlm recipe's length buckets (--bucket 8)
# cost 0.21-0.25 s, 1.67 times fewer (four pairs timed side by side), so 8000.
# Rows run with THREADS BLAS threads each, so two rows can share the 2 cores.
# A row resumes its checkpoint, and a resumed run continues exactly as an
# uninterrupted one, so MINUTES=15 then MINUTES=30 on the same OUTDIR gives
# both budgets for the price of the longer one.
# Writes OUTDIR/ROW.safetensors, ROW.train.log and ROW-STEPS.eval.json; prints
# one line per row.
set -eu
out=${1:?usage: ablation.sh OUTDIR [ROW ...]}
shift
here=$(cd "$(dirname "$0")/.." && pwd)
sdlm=${SDLM:-$here/sdlm}
minutes=${MINUTES:-30}
lines=${LINES:-200}
export OPENBLAS_NUM_THREADS=${THREADS:-1}
mkdir -p "$out"

# name|steps in 30 minutes|flags. seed: the issue's baseline; sdlm: the recipe;
# before: the sdlm recipe as it was before length buckets and the fixed norm,
# and the rows after it are that recipe plus one flag (how they were measured).
before='--recipe sdlm --learned-norm --bucket 0'
rows="seed|4800|--recipe seed -b 32 -lr 3e-4 -wup 100
sdlm|8000|--recipe sdlm
before|4800|$before
film-gamma|4800|$before --film gamma
no-warp|4800|$before --no-time-warp
masks-seed|4800|$before --masks seed
no-ema|4800|$before --ema 0
shift-0.5|4800|$before --shift 0.5
t-weight-1|4800|$before --t-weight 1
fixed-norm|4800|$before --fixed-norm
fixed-norm-do-0|4800|$before --fixed-norm -do 0
fixed-norm-lr-2e-3|4800|$before --fixed-norm -lr 2e-3"

[ $# -gt 0 ] || set -- $(echo "$rows" | cut -d'|' -f1)
for row in "$@"; do
    full=$(echo "$rows" | awk -F'|' -v r="$row" '$1 == r { print $2 }')
    flags=$(echo "$rows" | awk -F'|' -v r="$row" '$1 == r { print $3 }')
    [ -n "$flags" ] || { echo "ablation.sh: no row named $row" >&2; exit 2; }
    steps=$(awk -v s="$full" -v m="$minutes" 'BEGIN { printf "%d", s * m / 30 + 0.5 }')
    ck="$out/$row.safetensors"
    # shellcheck disable=SC2086
    "$sdlm" train -d "$here/share/corpus.txt" -spm "$here/share/tokenizer.model" -ckpt "$ck" $flags \
        -edim 64 -mdim 256 -numl 4 --seed 1 --steps "$steps" --db "" -ngen 0 --log-every 500 \
        >>"$out/$row.train.log" 2>&1
    "$sdlm" eval -d "$here/share/heldout.txt" -ckpt "$ck" --lines "$lines" --words "$here/share/corpus.txt" \
        --json >"$out/$row-$steps.eval.json"
    echo "$row $steps: $(cat "$out/$row-$steps.eval.json")"
done
