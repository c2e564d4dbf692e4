#!/bin/sh
# `sdlm train` from the outside: the recipe flags parse, refuse bad values in
# one line, and reach the checkpoint (which `sdlm infill --trace` describes).
cd "$(dirname "$0")/.." || exit 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sdlm_cmd=train
. tests/lib.sh
corpus=tests/data/tiny-corpus.txt
./sdlm tokenizer -d $corpus -o "$tmp/tok" --vocab 400 >/dev/null 2>&1
tiny="-d $corpus -spm $tmp/tok.model -edim 8 -mdim 32 -numl 1 -b 8 -cl 24 -ngen 0 --db="

check "--help exits 0" run 0 --help
for flag in "--recipe NAME" "--film KIND" "--shift S" "--time-warp" "--no-time-warp" "--fixed-norm" "--learned-norm" "--bucket K" "--masks KIND" "--ema DECAY"; do
    check "usage names $flag" grep -q -- "$flag" "$tmp/out"
done
check "bad --recipe: status 2" run 2 $tiny -ckpt "$tmp/x.safetensors" --recipe fast
check "bad --recipe: one line naming it" sh -c "lines() { [ \$(wc -l <\"\$1\") -eq \$2 ]; }; lines '$tmp/err' 1 && grep -q fast '$tmp/err'"
check "bad --film: status 2" run 2 $tiny -ckpt "$tmp/x.safetensors" --film half
check "bad --film: one line" lines "$tmp/err" 1
check "bad --masks: status 2" run 2 $tiny -ckpt "$tmp/x.safetensors" --masks holes
check "bad --bucket: status 2" run 2 $tiny -ckpt "$tmp/x.safetensors" --bucket 5000
check "bad --bucket: one line" lines "$tmp/err" 1
check "bad --shift: status 2" run 2 $tiny -ckpt "$tmp/x.safetensors" --shift 0
check "--time-warp with --no-time-warp: status 2" run 2 $tiny -ckpt "$tmp/x.safetensors" --time-warp --no-time-warp
check "--fixed-norm with --learned-norm: status 2" run 2 $tiny -ckpt "$tmp/x.safetensors" --fixed-norm --learned-norm
check "nothing written by refused flags" test ! -e "$tmp/x.safetensors"

check "sdlm recipe, 3 steps: status 0" run 0 $tiny -ckpt "$tmp/s.safetensors" --recipe sdlm --steps 3
check "sdlm recipe: finished" grep -q "finished at step 3" "$tmp/err"
./sdlm infill -ckpt "$tmp/s.safetensors" --trace --no-save --steps 2 --seed 1 "a {2} b" >"$tmp/trace" 2>&1
check "sdlm recipe: the model says FiLM 1+gamma and EMA" grep -q "EMA, FiLM 1+gamma" "$tmp/trace"
check "sdlm recipe: the model says its norm is fixed" grep -q "fixed norm" "$tmp/trace"
check "sdlm recipe with --learned-norm: status 0" run 0 $tiny -ckpt "$tmp/l.safetensors" --learned-norm --steps 2
./sdlm infill -ckpt "$tmp/l.safetensors" --trace --no-save --steps 2 --seed 1 "a {2} b" >"$tmp/trace" 2>&1
check "--learned-norm overrides the recipe" sh -c "grep -q 'FiLM 1+gamma' '$tmp/trace' && ! grep -q 'fixed norm' '$tmp/trace'"
check "seed recipe with --film one-plus: status 0" run 0 $tiny -ckpt "$tmp/f.safetensors" --recipe seed --film one-plus --ema 0.9 --steps 2
./sdlm infill -ckpt "$tmp/f.safetensors" --trace --no-save --steps 2 --seed 1 "a {2} b" >"$tmp/trace" 2>&1
check "a flag overrides its recipe" grep -q "EMA, FiLM 1+gamma" "$tmp/trace"
check "seed recipe, 2 steps: status 0" run 0 $tiny -ckpt "$tmp/p.safetensors" --recipe seed --steps 2
./sdlm infill -ckpt "$tmp/p.safetensors" --trace --no-save --steps 2 --seed 1 "a {2} b" >"$tmp/trace" 2>&1
check "the seed recipe: no FiLM 1+gamma, no EMA, no warp, learned norm" sh -c "! grep -q 'FiLM\|EMA\|warp\|fixed norm' '$tmp/trace'"
check "--export after a finished run: status 0" run 0 $tiny -ckpt "$tmp/s.safetensors" --steps 3 --export "$tmp/ship.safetensors"
check "--export: no step taken, exported" grep -q "finished at step 3; saved .*, exported .*ship.safetensors" "$tmp/err"
check "--export: under a third of the training checkpoint" \
    test $(($(wc -c <"$tmp/ship.safetensors") * 3)) -lt "$(wc -c <"$tmp/s.safetensors")"
check "--export: F16 weights, no optimiser state" sh -c "head -c 20000 '$tmp/ship.safetensors' | grep -q F16 && ! head -c 20000 '$tmp/ship.safetensors' | grep -q exp_avg"
./sdlm infill -ckpt "$tmp/ship.safetensors" --trace --no-save --steps 2 --seed 1 "a {2} b" >"$tmp/trace" 2>&1
check "--export: infill loads it, same network" grep -q "FiLM 1+gamma, time warp\|FiLM 1+gamma" "$tmp/trace"

# --recompute redoes the layers' products in the backward pass: the same run, bit for bit;
# --chunk splits each batch into passes: the same run within float rounding (dropout off, as
# its masks are drawn per pass)
close=${BUILD:-build}/tests/ckpt_close
check "--recompute: status 0" run 0 $tiny -ckpt "$tmp/rc.safetensors" --recipe sdlm --recompute --steps 4
run 0 $tiny -ckpt "$tmp/rk.safetensors" --recipe sdlm --steps 4
check "--recompute: the same weights, moments and EMA, bit for bit" $close "$tmp/rc.safetensors" "$tmp/rk.safetensors" 0 0
check "--chunk 3 (passes of 3, 3, 2): status 0" run 0 $tiny -ckpt "$tmp/c3.safetensors" --recipe sdlm -do 0 --chunk 3 --steps 4
run 0 $tiny -ckpt "$tmp/c8.safetensors" --recipe sdlm -do 0 --steps 4
check "--chunk 3: the whole batch's run within float rounding" $close "$tmp/c3.safetensors" "$tmp/c8.safetensors" 1e-6 1e-4
check "bad --chunk: status 2" run 2 $tiny -ckpt "$tmp/x.safetensors" --chunk 33

# --t-weight P: each sequence's gradient times (P + 1) t^P; kept in the checkpoint for a resume
# (a continuous-family option: the sdlm recipe's family is masked)
check "--t-weight 1: status 0" run 0 $tiny -ckpt "$tmp/tw.safetensors" --recipe sdlm --family continuous --t-weight 1 --steps 4
run 0 $tiny -ckpt "$tmp/tc.safetensors" --recipe sdlm --family continuous --steps 4
check "--t-weight: saved in the checkpoint" sh -c "head -c 20000 '$tmp/tw.safetensors' | grep -q '\"t_weight\":\"1\"'"
check "--t-weight 1: another run than the unweighted one" sh -c "! $close '$tmp/tw.safetensors' '$tmp/tc.safetensors' 1e-6 1e-4 >/dev/null"
check "bad --t-weight: status 2" run 2 $tiny -ckpt "$tmp/x.safetensors" --t-weight -1

# A resume keeps what the user set up: a mode-600 checkpoint stays 600, a symlinked one stays a
# link (its target is replaced), and size flags the checkpoint overrides are named.
run 0 $tiny -ckpt "$tmp/priv.safetensors" --steps 2
chmod 600 "$tmp/priv.safetensors"
check "resume of a mode-600 checkpoint: status 0" run 0 $tiny -ckpt "$tmp/priv.safetensors" --steps 4
check "resume: the checkpoint is still mode 600" test "$(stat -c %a "$tmp/priv.safetensors")" = 600
mkdir -p "$tmp/store"
mv "$tmp/priv.safetensors" "$tmp/store/real.safetensors"
ln -s store/real.safetensors "$tmp/link.safetensors"
check "resume through a symlink: status 0" run 0 $tiny -ckpt "$tmp/link.safetensors" --steps 6
check "resume through a symlink: still a symlink" test -L "$tmp/link.safetensors"
check "resume through a symlink: its target holds step 6" sh -c "head -c 20000 '$tmp/store/real.safetensors' | grep -q '\"step\":\"6\"'"
check "resume through a symlink: no file left beside the link" sh -c "! ls '$tmp' | grep -q 'link.safetensors\.'"
check "resume with other -mdim and -numl: status 0" run 0 $tiny -ckpt "$tmp/link.safetensors" --steps 7 -mdim 64 -numl 3
check "resume with other sizes: names the flags the checkpoint overrides" \
    grep -q "overrides -mdim 64 (it has 32), -numl 3 (it has 1)" "$tmp/err"
check "resume with the same sizes: no such note" sh -c "! ./sdlm train $tiny -ckpt '$tmp/link.safetensors' --steps 8 -mdim 32 2>&1 | grep -q overrides"
