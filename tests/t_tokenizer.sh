#!/bin/sh
# `sdlm tokenizer` from the outside: exit codes, one-line messages, outputs.
cd "$(dirname "$0")/.." || exit 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sdlm_cmd=tokenizer
. tests/lib.sh

check "--help exits 0 and prints usage" run 0 --help
check "usage names the options" grep -q -- "--vocab N" "$tmp/out"
check "no arguments: status 2" run 2
check "no arguments: one line on stderr" lines "$tmp/err" 1
check "bad --vocab: status 2" run 2 -d tests/data/tiny-corpus.txt -o "$tmp/t" --vocab 12x
check "unknown option: status 2" run 2 --frobnicate
check "missing corpus: status 2" run 2 -d "$tmp/none.txt" -o "$tmp/t"
check "missing corpus: one line" lines "$tmp/err" 1
check "missing corpus: names the file" grep -q none.txt "$tmp/err"
check "directory as corpus: status 2" run 2 -d tests -o "$tmp/t"
check "vocab too small: status 2" run 2 -d tests/data/tiny-corpus.txt -o "$tmp/t" --vocab 100
check "vocab too small: says how large" grep -q "needs at least" "$tmp/err"
check "training: status 0" run 0 -d tests/data/tiny-corpus.txt -o "$tmp/tok" --vocab=800
check "training: nothing on stderr" lines "$tmp/err" 0
check "training: corpus summary then one result line" lines "$tmp/out" 2
check "training: result names pieces and time" grep -Eq "tok.model, 800 pieces, trained on 315 of 315 lines in [0-9.]+ s" "$tmp/out"
check "training: model and vocab written" test -s "$tmp/tok.model" -a -s "$tmp/tok.vocab"
check "training: no temp files left" sh -c "! ls '$tmp' | grep -q tmp"
