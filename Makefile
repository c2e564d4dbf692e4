# sdlm: a text diffusion language model in your terminal.
#
#   make            build ./sdlm
#   make test       build and run every test; the last line is "N passed, N failed"
#   make deps       install the Debian packages the build needs (when missing)
#   make install    PREFIX=/usr/local DESTDIR=
#   make bench      sdlm bench beside the PyTorch port, same shapes, same run
#   make model      rebuild share/ (corpus, tokenizer, default model) from scratch
#   make asan       the whole suite under AddressSanitizer + UBSan
#   make fuzz       longer libFuzzer runs of every harness
#
# User CFLAGS, CPPFLAGS and LDFLAGS are honoured; what the build needs goes in SDLM_*.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share/sdlm
MANDIR ?= $(PREFIX)/share/man/man1

CC ?= cc
CXX ?= c++
CFLAGS ?= -O2 -g
CXXFLAGS ?= -O2 -g
PKG_CONFIG ?= pkg-config
BUILD ?= build

VERSION := 0.1.0
LIBS_PC := openblas sentencepiece sqlite3 ncursesw jansson
DEB_PKGS := build-essential pkg-config libopenblas-dev libsentencepiece-dev libsqlite3-dev \
            libncurses-dev libjansson-dev

PC_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(LIBS_PC) 2>/dev/null)
PC_LIBS := $(shell $(PKG_CONFIG) --libs $(LIBS_PC) 2>/dev/null)

SDLM_CPPFLAGS := -D_GNU_SOURCE -DSDLM_VERSION='"$(VERSION)"' -DSDLM_DATADIR='"$(DATADIR)"' \
                 -Isrc -Itrain -Iui -Icli $(PC_CFLAGS)
SDLM_CFLAGS := -std=c11 -Wall -Wextra -MMD -MP -pthread -fopenmp-simd
# The engine's kernels need the vectoriser; `make SDLM_OPT=` leaves them at CFLAGS.
SDLM_OPT ?= -O3
SDLM_CXXFLAGS := -std=c++17 -Wall -Wextra -MMD -MP -pthread
SDLM_LDLIBS := $(PC_LIBS) -lm -lpthread

ifeq ($(MPI),1)
SDLM_CPPFLAGS += -DSDLM_MPI $(shell $(PKG_CONFIG) --cflags mpi)
SDLM_LDLIBS += $(shell $(PKG_CONFIG) --libs mpi)
endif

LIB_C := $(wildcard src/*.c train/*.c ui/*.c) $(filter-out cli/main.c,$(wildcard cli/*.c))
LIB_CXX := $(wildcard train/*.cc)
LIB_OBJ := $(LIB_C:%.c=$(BUILD)/%.o) $(LIB_CXX:%.cc=$(BUILD)/%.o)
MAIN_OBJ := $(BUILD)/cli/main.o
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)

all: sdlm

sdlm: $(MAIN_OBJ) $(BUILD)/libsdlm.a
	$(CXX) $(CFLAGS) $(LDFLAGS) -pthread -o $@ $^ $(SDLM_LDLIBS) $(LDLIBS)

$(BUILD)/libsdlm.a: $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(SDLM_CPPFLAGS) $(CPPFLAGS) $(SDLM_CFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/src/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(SDLM_CPPFLAGS) $(CPPFLAGS) $(SDLM_CFLAGS) $(CFLAGS) $(SDLM_OPT) -c -o $@ $<

$(BUILD)/%.o: %.cc
	@mkdir -p $(@D)
	$(CXX) $(SDLM_CPPFLAGS) $(CPPFLAGS) $(SDLM_CXXFLAGS) $(CXXFLAGS) -c -o $@ $<

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(BUILD)/libsdlm.a
	$(CXX) $(CFLAGS) $(LDFLAGS) -pthread -o $@ $^ $(SDLM_LDLIBS) $(LDLIBS)

tests: $(TEST_BIN)

test: sdlm $(TEST_BIN)
	@BUILD=$(BUILD) tests/run.sh

# libFuzzer harnesses (clang): tests/fuzz/fuzz_NAME.c with the sources it needs.
# `make fuzz FUZZ_TIME=600` runs each for that many seconds on a scratch corpus
# seeded from tests/fuzz/corpus/NAME; crashes land in $(BUILD)/fuzz/ and belong
# in tests/fuzz/regress/ (replayed by test_fuzz_replay in `make test`).
FUZZ_CC ?= clang
FUZZ_TIME ?= 60
FUZZ_SAN := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_SRC_sample := train/store.c train/store_rows.c train/traj.c src/err.c

$(BUILD)/fuzz/fuzz_sample: tests/fuzz/fuzz_sample.c $(FUZZ_SRC_sample) $(wildcard train/*.h src/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(SDLM_CPPFLAGS) $(CPPFLAGS) -std=c11 -Wall -Wextra $(FUZZ_SAN) -o $@ \
	    tests/fuzz/fuzz_sample.c $(FUZZ_SRC_sample) $(shell $(PKG_CONFIG) --libs sqlite3) -lm

fuzz: $(BUILD)/fuzz/fuzz_sample
	@mkdir -p $(BUILD)/fuzz/corpus-sample
	$(BUILD)/fuzz/fuzz_sample -max_total_time=$(FUZZ_TIME) -max_len=8192 -artifact_prefix=$(BUILD)/fuzz/ \
	    $(BUILD)/fuzz/corpus-sample tests/fuzz/corpus/sample

check-layers:
	@tests/check-layers.sh

# sdlm bench beside the PyTorch port (Debian's python3-torch), same shapes, one run.
bench: sdlm
	@scripts/bench.sh

# Rebuilds share/ (corpus, tokenizer, default model) from scratch with this trainer.
model: sdlm
	@scripts/make-model.sh share

deps:
	@scripts/deps.sh $(DEB_PKGS)

install: sdlm
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR) $(DESTDIR)$(MANDIR)
	install -m 755 sdlm $(DESTDIR)$(BINDIR)/sdlm
	for f in $(wildcard share/*); do [ -f $$f ] && install -m 644 $$f $(DESTDIR)$(DATADIR)/; done; true
	install -m 644 man/sdlm.1 $(DESTDIR)$(MANDIR)/sdlm.1

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/sdlm $(DESTDIR)$(MANDIR)/sdlm.1
	rm -rf $(DESTDIR)$(DATADIR)

clean:
	rm -rf $(BUILD) sdlm

.PHONY: all test tests check-layers deps install uninstall clean fuzz bench model
.SECONDARY:

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
