#!/bin/sh
# Builds the shipped default model from scratch: the corpus (five Debian text
# packages, scripts/make-corpus.sh), a 2000-piece SentencePiece tokenizer, and
# a model trained with the sdlm recipe at 4 layers x 256 (lr 1e-3) for a
# fixed budget of steps (41000: about 100 minutes on one core of the 2-core
# machine it was made on, the other core busy), exported with F16 weights and no optimiser
# state; then measures it on the held-out lines beside the trigram anchor and
# says how long it all took.
#
#   scripts/make-model.sh OUTDIR      (make model: OUTDIR = share)
#   STEPS=41000 SIZE="-edim 64 -mdim 256 -numl 4 -lr 1e-3" SEED=1 WORK=build/model  (the defaults)
#
# The training checkpoint lives in WORK and is resumed when it is there, so a
# budget that outlasts a session continues exactly where it stopped (run it
# again with the same STEPS); the tokenizer is kept beside it for the same
# reason. Writes OUTDIR/corpus.txt, heldout.txt, SOURCES.md, tokenizer.model,
# sdlm-default.safetensors.
set -eu
out=${1:?usage: make-model.sh OUTDIR}
steps=${STEPS:-41000}
size=${SIZE:--edim 64 -mdim 256 -numl 4 -lr 1e-3}
seed=${SEED:-1}
here=$(cd "$(dirname "$0")/.." && pwd)
work=${WORK:-$here/build/model}
sdlm=${SDLM:-$here/sdlm}
[ -x "$sdlm" ] || { echo "make-model.sh: $sdlm not built: run make" >&2; exit 1; }
start=$(date +%s)
mkdir -p "$work"

sh "$here/scripts/make-corpus.sh" "$out"
[ -f "$work/tokenizer.model" ] || "$sdlm" tokenizer -d "$out/corpus.txt" -o "$work/tokenizer" --vocab 2000
cp "$work/tokenizer.model" "$out/tokenizer.model"
rm -f "$out/sdlm-default.safetensors"
# one core, as the shipped model was made (the other core was training the model it was measured against)
# shellcheck disable=SC2086
OPENBLAS_NUM_THREADS=1 SDLM_THREADS=1 "$sdlm" train -d "$out/corpus.txt" -spm "$work/tokenizer.model" \
    -ckpt "$work/train.safetensors" --recipe sdlm $size --seed "$seed" --steps "$steps" --save-every 5000 \
    --db "" -ngen 0 --log-every 1000 --export "$out/sdlm-default.safetensors"
trained=$(date +%s)
"$sdlm" eval -d "$out/heldout.txt" -ckpt "$out/sdlm-default.safetensors" --lines 1000 --train "$out/corpus.txt" \
    --words "$out/corpus.txt" --no-save
end=$(date +%s)
echo "make-model.sh: $(du -k "$out/sdlm-default.safetensors" | cut -f1) KB model; $(du -sk "$out" | cut -f1) KB in $out;" \
     "built in $(( (trained - start) / 60 )) min $(( (trained - start) % 60 )) s, evaluated in $((end - trained)) s"
