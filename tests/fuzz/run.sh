#!/bin/sh
# Builds tests/fuzz/fuzz_corpus.c with clang's libFuzzer, ASan and UBSan, and
# runs it for FUZZ_SECONDS (default 60; FUZZ_MAX_LEN caps input size, default
# 40000 so lines pass the 16 KB cap) on the committed seeds in
# tests/fuzz/corpus/corpus/ (new interesting inputs go to build/fuzz/corpus/,
# not into the tree). A crash leaves crash-* in build/fuzz/: add the input to
# tests/fuzz/corpus/corpus/ (test_corpus replays every seed) and fix the bug.
set -e
cd "$(dirname "$0")/../.."
CLANG=${CLANG:-clang}
mkdir -p build/fuzz/corpus
$CLANG -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -D_GNU_SOURCE \
    -Isrc -Itrain -Itests -o build/fuzz/fuzz_corpus tests/fuzz/fuzz_corpus.c train/corpus.c src/err.c
cd build/fuzz
./fuzz_corpus -max_total_time="${FUZZ_SECONDS:-60}" -max_len="${FUZZ_MAX_LEN:-40000}" -print_final_stats=1 \
    corpus ../../tests/fuzz/corpus/corpus
