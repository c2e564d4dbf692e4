# tests/fuzz/fuzz.mk: libFuzzer harnesses, built with clang against the sources
# they exercise (not libsdlm.a, which is built without coverage).
#
#   make fuzz                 build every harness, run each for FUZZ_SECONDS (60)
#   make fuzz-build           build them only
#   make fuzz-corpus          regenerate the committed seed corpus of fuzz_ckpt
#
# Harness tests/fuzz/fuzz_NAME.c links FUZZ_SRC_NAME, starts from the committed
# seeds in tests/fuzz/corpus/NAME, uses tests/fuzz/NAME.dict when present, and
# keeps what it finds in $(BUILD)/fuzz/corpus/NAME. Crashes are written to
# $(BUILD)/fuzz/ as crash-*: turn each into a regression test.

FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS ?= -g -O1
FUZZ_SANITIZE := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_JANSSON := $(shell $(PKG_CONFIG) --cflags --libs jansson 2>/dev/null)

FUZZ_SRC_ckpt := src/safetensors.c src/safetensors_write.c src/ckpt.c src/params.c src/err.c src/rng.c

FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN := $(FUZZ_NAMES:%=$(BUILD)/fuzz/fuzz_%)

.SECONDEXPANSION:
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $$(FUZZ_SRC_$$*) $$(wildcard src/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -Isrc $(FUZZ_CFLAGS) $(FUZZ_SANITIZE) -o $@ $< $(FUZZ_SRC_$*) $(FUZZ_JANSSON) -lm

fuzz-build: $(FUZZ_BIN)

fuzz: $(FUZZ_BIN)
	@for n in $(FUZZ_NAMES); do \
	    mkdir -p $(BUILD)/fuzz/corpus/$$n; \
	    dict=; [ -f tests/fuzz/$$n.dict ] && dict=-dict=tests/fuzz/$$n.dict; \
	    echo "fuzz_$$n: $(FUZZ_SECONDS) s"; \
	    $(BUILD)/fuzz/fuzz_$$n -max_total_time=$(FUZZ_SECONDS) -max_len=8192 -print_final_stats=1 \
	        -artifact_prefix=$(BUILD)/fuzz/ $$dict $(BUILD)/fuzz/corpus/$$n tests/fuzz/corpus/$$n || exit 1; \
	done

$(BUILD)/fuzz/gen_corpus: tests/fuzz/gen_corpus.c $(FUZZ_SRC_ckpt) $(wildcard src/*.h)
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE -Isrc -O1 -g -Wall -Wextra -o $@ $< $(FUZZ_SRC_ckpt) $(FUZZ_JANSSON) -lm

fuzz-corpus: $(BUILD)/fuzz/gen_corpus
	rm -f tests/fuzz/corpus/ckpt/*
	mkdir -p tests/fuzz/corpus/ckpt
	$(BUILD)/fuzz/gen_corpus tests/fuzz/corpus/ckpt

.PHONY: fuzz fuzz-build fuzz-corpus
