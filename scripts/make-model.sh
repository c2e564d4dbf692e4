#!/bin/sh
# Builds the shipped default model from scratch: the corpus (short English
# lines from Debian's text packages, scripts/make-corpus.sh; their sources and
# licences in OUTDIR/SOURCES.md), a 2000-piece SentencePiece tokenizer,
# and a model trained with the sdlm recipe for a fixed budget of steps (8000:
# what 30 minutes buy with 2 threads on the 2-core machine it was made on; the
# same run as the sdlm row of scripts/ablation.sh),
# exported with F16 weights and no optimiser state; then measures it on the
# held-out lines and says how long it all took.
#
#   scripts/make-model.sh OUTDIR      (make model: OUTDIR = share)
#   STEPS=8000 SIZE="-edim 64 -mdim 256 -numl 4" SEED=1  (the defaults)
#
# Writes OUTDIR/corpus.txt, heldout.txt, SOURCES.md, tokenizer.model, sdlm-default.safetensors.
set -eu
out=${1:?usage: make-model.sh OUTDIR}
steps=${STEPS:-8000}
size=${SIZE:--edim 64 -mdim 256 -numl 4}
seed=${SEED:-1}
here=$(cd "$(dirname "$0")/.." && pwd)
sdlm=${SDLM:-$here/sdlm}
[ -x "$sdlm" ] || { echo "make-model.sh: $sdlm not built: run make" >&2; exit 1; }
start=$(date +%s)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

sh "$here/scripts/make-corpus.sh" "$out"
"$sdlm" tokenizer -d "$out/corpus.txt" -o "$work/tokenizer" --vocab 2000
cp "$work/tokenizer.model" "$out/tokenizer.model"
rm -f "$out/sdlm-default.safetensors"
# shellcheck disable=SC2086
"$sdlm" train -d "$out/corpus.txt" -spm "$out/tokenizer.model" -ckpt "$work/train.safetensors" \
    --recipe sdlm $size --seed "$seed" --steps "$steps" --db "" -ngen 0 --log-every 500 \
    --export "$out/sdlm-default.safetensors"
trained=$(date +%s)
"$sdlm" eval -d "$out/heldout.txt" -ckpt "$out/sdlm-default.safetensors" --lines 1000 --words "$out/corpus.txt"
end=$(date +%s)
echo "make-model.sh: $(du -k "$out/sdlm-default.safetensors" | cut -f1) KB model; $(du -sk "$out" | cut -f1) KB in $out;" \
     "built in $(( (trained - start) / 60 )) min $(( (trained - start) % 60 )) s, evaluated in $((end - trained)) s"
