#!/bin/sh
# The recipe ablation behind docs/quality.md: each row trains on a corpus for
# the same wall-clock time on one core and is measured by the same `sdlm eval`
# on held-out lines, with the trigram anchor fitted on the same training lines
# and the fused sampler beside it.
#
#   scripts/ablation.sh OUTDIR [ROW ...]     (no ROW: every row, in order)
#   MINUTES=10 LINES=300 CORPUS=share VOCAB=2000 FUSE=1 (the defaults)
#   TOK=path.model: a tokenizer to use instead of training one (the data-size
#   rows keep the full corpus's tokenizer, so only the lines change)
#
# CORPUS is a folder with corpus.txt and heldout.txt (share, or build/corpus2
# from `make corpus2` for text nobody tuned on). The tokenizer (VOCAB pieces)
# is trained once per folder into OUTDIR. Each row runs with one BLAS thread
# and one kernel thread, so two rows can share the 2 cores side by side
# (run the script twice, each with its rows, and nothing else): that is how
# the published rows were made. Rows are by time, not steps, because equal
# time is the question; each row's log says how many steps its time bought.
# Writes OUTDIR/ROW.safetensors, ROW.train.log and ROW.eval.json; prints one line per row.
set -eu
out=${1:?usage: ablation.sh OUTDIR [ROW ...]}
shift
here=$(cd "$(dirname "$0")/.." && pwd)
sdlm=${SDLM:-$here/sdlm}
minutes=${MINUTES:-10}
lines=${LINES:-300}
vocab=${VOCAB:-2000}
fuse=${FUSE:-1}
data=${CORPUS:-$here/share}
export OPENBLAS_NUM_THREADS=1 SDLM_THREADS=1
mkdir -p "$out"
tok="$out/tok-$(basename "$data")-$vocab"
[ -z "${TOK:-}" ] || tok=${TOK%.model}
[ -f "$tok.model" ] || "$sdlm" tokenizer -d "$data/corpus.txt" -o "$tok" --vocab "$vocab" >/dev/null

# name|flags. sdlm: the recipe (masked family, 2 x 128, lr 2e-3, --mask-t-power 2, --decay-to-end, the mean loss);
# the others change one or two things of it.
rows="sdlm|--recipe sdlm
t-uniform|--recipe sdlm --mask-t-power 1
dropout-0|--recipe sdlm -do 0
dropout-0-t-uniform|--recipe sdlm -do 0 --mask-t-power 1
elbo-loss|--recipe sdlm --mask-loss elbo
no-decay|--recipe sdlm --decay-by-decs
masked-4x256|--recipe sdlm -mdim 256 -numl 4 -lr 1e-3 --mask-t-power 1
continuous-4x256|--recipe sdlm --family continuous -mdim 256 -numl 4 -lr 1e-3 --decay-by-decs
continuous-2x128|--recipe sdlm --family continuous --decay-by-decs
seed-2x128|--recipe seed -mdim 128 -numl 2 -b 32 -lr 3e-4 -wup 100"

[ $# -gt 0 ] || set -- $(echo "$rows" | cut -d'|' -f1)
for row in "$@"; do
    flags=$(echo "$rows" | awk -F'|' -v r="$row" '$1 == r { print $2 }')
    [ -n "$flags" ] || { echo "ablation.sh: no row named $row" >&2; exit 2; }
    ck="$out/$row.safetensors"
    # shellcheck disable=SC2086
    "$sdlm" train -d "$data/corpus.txt" -spm "$tok.model" -ckpt "$ck" $flags --seed 1 --minutes "$minutes" \
        --db "" -ngen 0 --log-every 1000 >>"$out/$row.train.log" 2>&1
    "$sdlm" eval -d "$data/heldout.txt" -ckpt "$ck" --lines "$lines" --train "$data/corpus.txt" \
        --words "$data/corpus.txt" --fuse "$fuse" --json >"$out/$row.eval.json"
    echo "$row $(grep -o 'finished at step [0-9]*' "$out/$row.train.log" | tail -1): $(cat "$out/$row.eval.json")"
done
