# tests/fuzz/fuzz.mk: libFuzzer harnesses, built with clang against the sources
# they exercise (not libsdlm.a, which is built without coverage). Included by
# the Makefile.
#
#   make fuzz                 build every harness, run each for FUZZ_TIME s (300)
#   make fuzz-smoke           the same, FUZZ_SMOKE_TIME s (20) each: what CI runs
#   make fuzz-build           build them only
#   make fuzz-corpus          regenerate the committed seed corpus of fuzz_ckpt
#
# Harness tests/fuzz/fuzz_NAME.c links FUZZ_SRC_NAME (and FUZZ_LIBS_NAME),
# starts from the committed seeds in tests/fuzz/corpus/NAME, uses
# tests/fuzz/NAME.dict when present, takes inputs up to FUZZ_MAXLEN_NAME bytes
# (8192), and keeps what it finds in $(BUILD)/fuzz/corpus/NAME (not in the
# tree). A crash is written to $(BUILD)/fuzz/crash-* and the run stops with a
# non-zero status: copy the input into tests/fuzz/regress/ (see its README),
# where `make test` replays it, and fix the bug.

FUZZ_CC ?= clang
FUZZ_SECONDS ?= 300
FUZZ_TIME ?= $(FUZZ_SECONDS)
FUZZ_SMOKE_TIME ?= 20
FUZZ_CFLAGS ?= -g -O1
FUZZ_SANITIZE := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_CPPFLAGS := -std=c11 -D_GNU_SOURCE -Isrc -Idata -Itrain -Itests

FUZZ_SRC_ckpt := src/safetensors.c src/safetensors_write.c src/ckpt.c src/params.c src/err.c src/rng.c src/fileguard.c
FUZZ_LIBS_ckpt := $(shell $(PKG_CONFIG) --libs jansson 2>/dev/null)
FUZZ_SRC_corpus := data/corpus.c src/err.c src/fileguard.c
FUZZ_MAXLEN_corpus := 40000
FUZZ_SRC_sample := data/store.c data/store_rows.c data/traj.c src/err.c
FUZZ_LIBS_sample := $(shell $(PKG_CONFIG) --libs sqlite3 2>/dev/null)
FUZZ_SRC_template := data/template.c src/err.c

FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN := $(FUZZ_NAMES:%=$(BUILD)/fuzz/fuzz_%)

.SECONDEXPANSION:
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $$(FUZZ_SRC_$$*) $$(wildcard src/*.h data/*.h train/*.h tests/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(PC_CFLAGS) $(FUZZ_CFLAGS) $(FUZZ_SANITIZE) -o $@ $< $(FUZZ_SRC_$*) $(FUZZ_LIBS_$*) -lm

fuzz-build: $(FUZZ_BIN)

# One recipe for both lengths of run: $(1) is the seconds per harness.
define fuzz_run
	@for n in $(FUZZ_NAMES); do \
	    mkdir -p $(BUILD)/fuzz/corpus/$$n; \
	    dict=; [ -f tests/fuzz/$$n.dict ] && dict=-dict=tests/fuzz/$$n.dict; \
	    maxlen=$$(case $$n in corpus) echo $(FUZZ_MAXLEN_corpus);; *) echo 8192;; esac); \
	    echo "fuzz_$$n: $(1) s from tests/fuzz/corpus/$$n"; \
	    $(BUILD)/fuzz/fuzz_$$n -max_total_time=$(1) -max_len=$$maxlen -print_final_stats=1 \
	        -artifact_prefix=$(BUILD)/fuzz/ $$dict $(BUILD)/fuzz/corpus/$$n tests/fuzz/corpus/$$n \
	        >$(BUILD)/fuzz/$$n.log 2>&1 \
	        || { tail -40 $(BUILD)/fuzz/$$n.log; echo "fuzz_$$n FAILED: input in $(BUILD)/fuzz/"; exit 1; }; \
	    grep -E '^stat::(number_of_executed_units|new_units_added)' $(BUILD)/fuzz/$$n.log | tr '\n' ' '; echo; \
	done
endef

fuzz: $(FUZZ_BIN)
	$(call fuzz_run,$(FUZZ_TIME))

fuzz-smoke: $(FUZZ_BIN)
	$(call fuzz_run,$(FUZZ_SMOKE_TIME))

$(BUILD)/fuzz/gen_corpus: tests/fuzz/gen_corpus.c $(FUZZ_SRC_ckpt) $(wildcard src/*.h)
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE -Isrc -O1 -g -Wall -Wextra -o $@ $< $(FUZZ_SRC_ckpt) $(FUZZ_LIBS_ckpt) -lm

fuzz-corpus: $(BUILD)/fuzz/gen_corpus
	rm -f tests/fuzz/corpus/ckpt/*
	mkdir -p tests/fuzz/corpus/ckpt
	$(BUILD)/fuzz/gen_corpus tests/fuzz/corpus/ckpt

.PHONY: fuzz fuzz-smoke fuzz-build fuzz-corpus
