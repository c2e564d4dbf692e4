#!/bin/sh
# The recipe ablation behind README's table: each row trains the small size
# (E=64, D=256, 4 layers, batch 32) on share/corpus.txt for the same budget and
# measures it with the same `sdlm eval` on share/heldout.txt.
#
#   scripts/ablation.sh OUTDIR [ROW ...]     (no ROW: every row, in order)
#   STEPS=4800 LINES=200 THREADS=1 (the defaults)
#
# The budget is a step count, not a clock, so that a row gives the same
# figures on any machine and under any load: 4800 steps is what 30 minutes buy
# with 2 threads here (0.37 s per step for both recipes, measured side by side).
# Rows run with THREADS BLAS threads each, so two rows can share the 2 cores.
# A row resumes its checkpoint, and a resumed run continues exactly as an
# uninterrupted one, so STEPS=2400 then STEPS=4800 on the same OUTDIR gives
# both budgets for the price of the longer one.
# Writes OUTDIR/ROW.safetensors, ROW.train.log and ROW-STEPS.eval.json; prints
# one line per row.
set -eu
out=${1:?usage: ablation.sh OUTDIR [ROW ...]}
shift
here=$(cd "$(dirname "$0")/.." && pwd)
sdlm=${SDLM:-$here/sdlm}
steps=${STEPS:-4800}
lines=${LINES:-200}
export OPENBLAS_NUM_THREADS=${THREADS:-1}
mkdir -p "$out"

# name|flags: one row per recipe option, each against the sdlm recipe (seed: the issue's baseline)
rows='seed|--recipe seed -b 32 -lr 3e-4 -wup 100
sdlm|--recipe sdlm
film-gamma|--recipe sdlm --film gamma
no-warp|--recipe sdlm --no-time-warp
masks-seed|--recipe sdlm --masks seed
no-ema|--recipe sdlm --ema 0
shift-0.5|--recipe sdlm --shift 0.5
lr-3e-4|--recipe sdlm -lr 3e-4
t-weight-1|--recipe sdlm --t-weight 1
fixed-norm|--recipe sdlm --fixed-norm
dropout-0|--recipe sdlm -do 0'

[ $# -gt 0 ] || set -- $(echo "$rows" | cut -d'|' -f1)
for row in "$@"; do
    flags=$(echo "$rows" | awk -F'|' -v r="$row" '$1 == r { print $2 }')
    [ -n "$flags" ] || { echo "ablation.sh: no row named $row" >&2; exit 2; }
    ck="$out/$row.safetensors"
    # shellcheck disable=SC2086
    "$sdlm" train -d "$here/share/corpus.txt" -spm "$here/share/tokenizer.model" -ckpt "$ck" $flags \
        -edim 64 -mdim 256 -numl 4 --seed 1 --steps "$steps" --db "" -ngen 0 --log-every 500 \
        >>"$out/$row.train.log" 2>&1
    "$sdlm" eval -d "$here/share/heldout.txt" -ckpt "$ck" --lines "$lines" --words "$here/share/corpus.txt" \
        --json >"$out/$row-$steps.eval.json"
    echo "$row $steps: $(cat "$out/$row-$steps.eval.json")"
done
