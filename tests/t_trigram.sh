#!/bin/sh
# t_trigram.sh: the trigram anchor and fusion through the real ./sdlm: eval
# reports the trigram and the fused sampler beside the model (text and JSON,
# fitted on the corpus the checkpoint records), --fuse 0 skips the fused run,
# an unreadable recorded corpus leaves them null with one warning, a bad
# --train is refused; infill and sample say when fusion is on.
cd "$(dirname "$0")/.." || exit 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM HUP # so the EXIT trap cleans up
export XDG_DATA_HOME="$tmp/xdg" TZ=UTC
. tests/lib.sh

# a tiny model trained on a copy of the test corpus, so the path it records can vanish later
cp tests/data/tiny-corpus.txt "$tmp/corpus.txt"
head -6 tests/data/tiny-corpus.txt >"$tmp/heldout.txt"
./sdlm tokenizer -d "$tmp/corpus.txt" -o "$tmp/tok" --vocab 400 >/dev/null 2>"$tmp/err" &&
    ./sdlm train -d "$tmp/corpus.txt" -spm "$tmp/tok.model" -ckpt "$tmp/m.safetensors" -edim 8 -mdim 16 -numl 1 \
        -b 8 -cl 16 --steps 4 --save-every 4 -ngen 0 --db "" >/dev/null 2>>"$tmp/err"
if [ ! -s "$tmp/m.safetensors" ]; then
    echo "not ok - a tiny model: $(head -3 "$tmp/err")"
    exit 1
fi

check "eval: fitted on the corpus the checkpoint records" sh -c \
    "./sdlm eval -d '$tmp/heldout.txt' -ckpt '$tmp/m.safetensors' --steps 2 >'$tmp/out' 2>'$tmp/err' &&
     grep -q 'trigram over .* pieces of [0-9]* lines' '$tmp/err' && grep -q '$tmp/corpus.txt' '$tmp/err'"
check "eval: the text table has trigram and fused columns" grep -Eq "^gap +masked +accuracy +trigram +fused +baseline" "$tmp/out"
check "eval: a number in every column of the mean row" grep -Eq "^mean( +[0-9.]+%){4}" "$tmp/out"
./sdlm eval -d "$tmp/heldout.txt" -ckpt "$tmp/m.safetensors" --steps 2 --json >"$tmp/json" 2>"$tmp/err"
check "eval --json: trigram and fused beside the model's accuracy" \
    grep -Eq '"masked_token_accuracy":[0-9.]+,"trigram_accuracy":[0-9.]+,"fused_accuracy":[0-9.]+,"fuse":1.0000' "$tmp/json"
check "eval --json: by gap too" grep -Eq '"50%":\{"masked":[0-9]+,"accuracy":[0-9.]+,"trigram":[0-9.]+,"fused":[0-9.]+' "$tmp/json"
check "eval --json: no nan or inf" sh -c "! grep -Eqi 'nan|inf' '$tmp/json'"
./sdlm eval -d "$tmp/heldout.txt" -ckpt "$tmp/m.safetensors" --steps 2 --json --fuse 0 >"$tmp/json0" 2>"$tmp/err"
check "eval --fuse 0: no fused run (null), the trigram still there" \
    grep -Eq '"trigram_accuracy":[0-9.]+,"fused_accuracy":null' "$tmp/json0"
check "eval --train FILE: fitted on it instead" sh -c \
    "./sdlm eval -d '$tmp/heldout.txt' -ckpt '$tmp/m.safetensors' --steps 2 --fuse 0 --train '$tmp/heldout.txt' \
     >/dev/null 2>'$tmp/err' && grep -q 'trigram over .* of 6 lines' '$tmp/err'"
check "eval --train missing: exit 2, one line" sh -c \
    "./sdlm eval -d '$tmp/heldout.txt' -ckpt '$tmp/m.safetensors' --train '$tmp/none.txt' >/dev/null 2>'$tmp/err';
     [ \$? -eq 2 ] && [ \$(wc -l <'$tmp/err') -eq 1 ] && grep -q '^sdlm eval: .*none.txt' '$tmp/err'"

check "infill --fuse: says fusion is on, fills" sh -c \
    "./sdlm infill -ckpt '$tmp/m.safetensors' --steps 3 --seed 1 --no-save --fuse 0.5 'The {2} sat.' >'$tmp/out' 2>'$tmp/err' &&
     grep -q 'fusion on: lambda 0.5' '$tmp/err' && [ \$(wc -l <'$tmp/out') -eq 1 ]"
check "sample --fuse: says fusion is on, samples" sh -c \
    "./sdlm sample -ckpt '$tmp/m.safetensors' --steps 3 --seed 1 --no-save --fuse 2 -n 2 --length 8 >'$tmp/out' 2>'$tmp/err' &&
     grep -q 'fusion on: lambda 2' '$tmp/err' && [ \$(wc -l <'$tmp/out') -eq 2 ]"
check "infill without --fuse: silent about fusion" sh -c \
    "./sdlm infill -ckpt '$tmp/m.safetensors' --steps 3 --seed 1 --no-save 'The {2} sat.' >'$tmp/default' 2>'$tmp/err' &&
     ! grep -q fusion '$tmp/err'"
./sdlm infill -ckpt "$tmp/m.safetensors" --steps 3 --seed 1 --no-save --fuse 1 'The {2} sat.' >"$tmp/fused" 2>/dev/null
check "infill without --fuse fuses at 1, as the editor does" cmp -s "$tmp/default" "$tmp/fused"

# the recorded corpus is gone: eval warns once and reports no trigram; --fuse cannot run
rm "$tmp/corpus.txt"
./sdlm eval -d "$tmp/heldout.txt" -ckpt "$tmp/m.safetensors" --steps 2 --json >"$tmp/json" 2>"$tmp/err"
rc=$?
check "eval, recorded corpus gone: still runs" test $rc -eq 0
check "eval, recorded corpus gone: says so on stderr, once" sh -c \
    "grep -q 'no trigram anchor: .*corpus.txt' '$tmp/err' && [ \$(wc -l <'$tmp/err') -eq 1 ]"
check "eval, recorded corpus gone: trigram and fused are null" \
    grep -Eq '"trigram_accuracy":null,"fused_accuracy":null' "$tmp/json"
check "infill --fuse, no corpus: exit 2, one line" sh -c \
    "./sdlm infill -ckpt '$tmp/m.safetensors' --steps 3 --no-save --fuse 1 'The {2} sat.' >/dev/null 2>'$tmp/err';
     [ \$? -eq 2 ] && [ \$(wc -l <'$tmp/err') -eq 1 ] && grep -q '^sdlm infill: --fuse' '$tmp/err'"
./sdlm infill -ckpt "$tmp/m.safetensors" --steps 3 --seed 1 --no-save 'The {2} sat.' >"$tmp/default" 2>"$tmp/err"
rc=$?
./sdlm infill -ckpt "$tmp/m.safetensors" --steps 3 --seed 1 --no-save --fuse 0 'The {2} sat.' >"$tmp/alone" 2>/dev/null
check "infill, no corpus and no --fuse: the model alone, silently, as the editor" \
    sh -c "[ $rc -eq 0 ] && cmp -s '$tmp/default' '$tmp/alone' && ! grep -q fusion '$tmp/err'"
