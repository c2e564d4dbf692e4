#!/bin/sh
# The masked family from the outside: `sdlm train --family masked` trains,
# resumes and exports a checkpoint that says masked; infill, sample, eval,
# candidates, the history and its trajectories take it; a sampler of the
# other family is refused in one line; the continuous family is unchanged.
cd "$(dirname "$0")/.." || exit 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sdlm_cmd=train
. tests/lib.sh
corpus=tests/data/tiny-corpus.txt
./sdlm tokenizer -d $corpus -o "$tmp/tok" --vocab 400 >/dev/null 2>&1
tiny="-d $corpus -spm $tmp/tok.model -edim 8 -mdim 32 -numl 1 -b 8 -cl 24 -ngen 0"
db="$tmp/h.db"
m="$tmp/m.safetensors"

check "usage names --family and --mask-loss" sh -c "./sdlm train --help | grep -q -- '--family NAME' && ./sdlm train --help | grep -q -- '--mask-loss KIND'"
check "bad --family: status 2" run 2 $tiny -ckpt "$m" --family discrete
check "bad --family: one line naming it" sh -c "[ \$(wc -l <'$tmp/err') -eq 1 ] && grep -q discrete '$tmp/err'"
check "bad --mask-loss: status 2" run 2 $tiny -ckpt "$m" --family masked --mask-loss sum
check "masked, 6 steps: status 0" run 0 $tiny -ckpt "$m" --family masked --steps 6 --save-every 3 --db "$db"
check "masked: the run is recorded" sh -c "./sdlm runs --db '$db' | grep -q finished"
check "masked: resumes to 9 steps" run 0 $tiny -ckpt "$m" --steps 9 --db "$db"
check "masked: the resumed run finished at step 9" grep -q 'finished at step 9' "$tmp/err"
check "masked with the mean loss and --decay-to-end: status 0" run 0 $tiny -ckpt "$tmp/mean.safetensors" --family masked --mask-loss mean --decay-to-end --steps 3 --db=

sdlm_cmd=infill
check "infill: status 0" run 0 -ckpt "$m" --no-save --trace --seed 3 "the {3} of the {2}."
check "infill: the model says it is masked and samples with reveal" grep -q "masked.*reveal" "$tmp/out"
check "infill: 9 steps trained, 5 passes for the 5 hidden slots" sh -c "grep -q '9 steps, masked' '$tmp/out' && grep -q 'step   5/5' '$tmp/out' && ! grep -q 'step   6' '$tmp/out'"
check "infill: the known words are kept" sh -c "tail -1 '$tmp/out' | grep -q '^the .* of the '"
check "infill --sampler mdlm: status 0" run 0 -ckpt "$m" --no-save --sampler mdlm --seed 3 "the {3} of the {2}."
check "infill -n 3 --scores: three scored candidates" sh -c "./sdlm infill -ckpt '$m' --no-save -n 3 --scores --seed 1 'a {4} b' >'$tmp/c' && [ \$(grep -c '^[0-9.]*	a ' '$tmp/c') -eq 3 ]"
check "infill --sampler difflm on a masked model: status 2" run 2 -ckpt "$m" --no-save --sampler difflm "a {2} b"
check "infill --sampler difflm: one line naming the fitting ones" sh -c "[ \$(wc -l <'$tmp/err') -eq 1 ] && grep -q 'reveal or mdlm' '$tmp/err'"
check "infill saved to the history" run 0 -ckpt "$m" --db "$db" --seed 4 "one {2} three"
sdlm_cmd=samples
check "the history lists the masked fill" sh -c "./sdlm samples --db '$db' | grep -q 'reveal .*one .* three'"
check "its trajectory keeps both passes" sh -c "./sdlm samples --db '$db' --show 1 --trace | grep -q 'trace: 2 steps'"

sdlm_cmd=sample
check "sample: status 0" run 0 -ckpt "$m" --no-save --length 10 -n 2 --seed 5
check "sample: two lines" lines "$tmp/out" 2

sdlm_cmd=eval
check "eval --json: status 0" run 0 -d $corpus -ckpt "$m" --lines 8 --steps 4 --json
check "eval: reveal, and a t-curve" sh -c "grep -q '\"sampler\":\"reveal\"' '$tmp/out' && grep -q '\"t_curve\"' '$tmp/out'"
check "eval --sampler ddim on a masked model: status 2" run 2 -d $corpus -ckpt "$m" --lines 4 --sampler ddim

sdlm_cmd=train
check "--export of a masked run: status 0" run 0 $tiny -ckpt "$m" --steps 10 --db= --export "$tmp/x.safetensors"
check "the export infills as masked" sh -c "./sdlm infill -ckpt '$tmp/x.safetensors' --no-save --trace 'a {2} b' | grep -q masked"
check "a continuous run is not masked" run 0 $tiny -ckpt "$tmp/c.safetensors" --family continuous --steps 2 --db=
check "its infill says nothing of masked and uses difflm" sh -c "./sdlm infill -ckpt '$tmp/c.safetensors' --no-save --trace --steps 2 'a {2} b' >'$tmp/t' && ! grep -q masked '$tmp/t' && grep -q difflm '$tmp/t'"
