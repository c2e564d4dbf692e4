# sdlm: a text diffusion language model in your terminal.
#
#   make            build ./sdlm
#   make test       build and run every test; the last line is "N passed, N failed"
#   make deps       install the Debian packages the build needs (when missing; MPI=1: and Open MPI;
#                   CORPUS=1: and the text packages make corpus and corpus2 read)
#   make install    PREFIX=/usr/local DESTDIR=   (make uninstall, the same variables)
#   make bench      sdlm bench beside the PyTorch port, same shapes, same run
#   make model      rebuild share/ (corpus, tokenizer, default model) from scratch
#   make corpus     rebuild share/corpus.txt, heldout.txt, SOURCES.md from Debian's text packages
#   make corpus2    a second corpus of another kind in build/corpus2/ (the King James Bible)
#   make MPI=1      ./sdlm for `mpirun -np N ./sdlm train ...` (Open MPI; data-parallel)
#   make SDLM_ARCH=x86-64-v3  ./sdlm for that instruction set alone (here AVX2: no AVX-512 clones)
#   make avx2       that build's twin in build-x86-64-v3/sdlm, leaving ./sdlm alone (make bench uses it)
#   make asan       the whole suite under AddressSanitizer + UBSan (in build-asan/)
#   make fuzz       libFuzzer runs of every harness, FUZZ_TIME s each (300)
#   make fuzz-smoke the same for FUZZ_SMOKE_TIME s (20), as CI does
#   make check-layers  src/ < data/ < train/ < session/ < ui/, cli/; no curses below ui/, no BLAS in ui/
#   .ci/run         what CI runs: packages, -Werror build, test, asan, man lint, layers, fuzz
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

# Without the libraries, say how to get them (rather than a compiler error).
ifeq ($(filter deps clean uninstall check-layers corpus corpus2,$(MAKECMDGOALS)),)
ifneq ($(shell $(PKG_CONFIG) --exists $(LIBS_PC) 2>/dev/null && echo yes),yes)
$(error missing libraries ($(LIBS_PC)): run `make deps`, or: sudo apt-get install -y $(DEB_PKGS))
endif
endif

PC_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(LIBS_PC) 2>/dev/null)
PC_LIBS := $(shell $(PKG_CONFIG) --libs $(LIBS_PC) 2>/dev/null)

SDLM_CPPFLAGS := -D_GNU_SOURCE -DSDLM_VERSION='"$(VERSION)"' -DSDLM_DATADIR='"$(DATADIR)"' \
                 -Isrc -Idata -Itrain -Isession -Iui -Icli $(PC_CFLAGS)
SDLM_CFLAGS := -std=c11 -Wall -Wextra -MMD -MP -pthread -fopenmp-simd
# The engine's kernels need the vectoriser (and sqrtf without errno, so AdamW vectorises);
# `make SDLM_OPT=` leaves them at CFLAGS.
SDLM_OPT ?= -O3 -fno-math-errno
SDLM_CXXFLAGS := -std=c++17 -Wall -Wextra -MMD -MP -pthread
SDLM_LDLIBS := $(PC_LIBS) -lm -lpthread

# make MPI=1: data-parallel training under mpirun (Debian: libopenmpi-dev openmpi-bin,
# whose pkg-config name is mpi). Only train/dist.c reads SDLM_MPI; $(BUILD)/mpi
# says on or off and is rewritten when that changes, which rebuilds dist.o, so
# switching MPI on or off relinks ./sdlm.
ifeq ($(MPI),1)
ifeq ($(filter deps clean uninstall check-layers,$(MAKECMDGOALS)),)
ifneq ($(shell $(PKG_CONFIG) --exists mpi 2>/dev/null && echo yes),yes)
$(error MPI=1 needs Open MPI (pkg-config mpi): run `make deps MPI=1`, or: sudo apt-get install -y libopenmpi-dev openmpi-bin)
endif
endif
DEB_PKGS += libopenmpi-dev openmpi-bin
LIBS_PC_DEPS := $(LIBS_PC) mpi
SDLM_CPPFLAGS += -DSDLM_MPI $(shell $(PKG_CONFIG) --cflags mpi)
SDLM_LDLIBS += $(shell $(PKG_CONFIG) --libs mpi)
endif
MPI_STATE := $(if $(filter 1,$(MPI)),on,off)
ifeq ($(filter deps clean uninstall check-layers,$(MAKECMDGOALS)),)
$(shell mkdir -p $(BUILD) && [ "$$(cat $(BUILD)/mpi 2>/dev/null)" = $(MPI_STATE) ] || echo $(MPI_STATE) >$(BUILD)/mpi)
endif

# make SDLM_ARCH=x86-64-v3 (any -march value): every C file for that instruction set,
# and the kernels in one version for it instead of their AVX-512 / AVX2 / baseline
# clones (src/ops.h), so an AVX-512 host runs, tests and times the AVX2 path.
# $(BUILD)/arch names the choice and is rewritten when it changes, which
# rebuilds every object.
ifneq ($(SDLM_ARCH),)
SDLM_CFLAGS += -march=$(SDLM_ARCH) -DSDLM_NO_CLONES
endif
ARCH_STATE := $(or $(SDLM_ARCH),clones)
ifeq ($(filter deps clean uninstall check-layers,$(MAKECMDGOALS)),)
$(shell mkdir -p $(BUILD) && [ "$$(cat $(BUILD)/arch 2>/dev/null)" = $(ARCH_STATE) ] || echo $(ARCH_STATE) >$(BUILD)/arch)
endif

LIB_C := $(wildcard src/*.c data/*.c train/*.c session/*.c ui/*.c) $(filter-out cli/main.c,$(wildcard cli/*.c))
LIB_CXX := $(wildcard data/*.cc)
LIB_OBJ := $(LIB_C:%.c=$(BUILD)/%.o) $(LIB_CXX:%.cc=$(BUILD)/%.o)
MAIN_OBJ := $(BUILD)/cli/main.o
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%) $(BUILD)/tests/ckpt_close

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

$(BUILD)/train/dist.o: $(BUILD)/mpi
$(LIB_OBJ) $(MAIN_OBJ) $(TEST_BIN:%=%.o): $(BUILD)/arch

tests: $(TEST_BIN)

test: sdlm $(TEST_BIN)
	@BUILD=$(BUILD) tests/run.sh

# The whole suite under AddressSanitizer + UBSan, built into $(ASAN_BUILD) so
# the normal ./sdlm is left alone. The tests run ./sdlm from the tree's top, so
# they run in $(ASAN_BUILD)/tree: a tree of symlinks to this one whose ./sdlm is
# the sanitized binary (it finds share/ beside itself, as from the source tree).
ASAN_BUILD ?= build-asan
ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
ASAN_ENV := ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:$(ASAN_OPTIONS) \
            UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:abort_on_error=1

asan:
	@$(MAKE) --no-print-directory BUILD=$(ASAN_BUILD) SDLM_OPT= CFLAGS="$(CFLAGS) $(ASAN_FLAGS)" \
	    CXXFLAGS="$(CXXFLAGS) $(ASAN_FLAGS)" LDFLAGS="$(LDFLAGS) -fsanitize=address,undefined" \
	    $(ASAN_BUILD)/tree/sdlm tests
	@for f in * .ci; do case $$f in sdlm|build|build-*) continue;; esac; \
	    ln -sfn ../../$$f $(ASAN_BUILD)/tree/$$f; done
	@ln -sfn .. $(ASAN_BUILD)/tree/$(ASAN_BUILD)
	@cd $(ASAN_BUILD)/tree && $(ASAN_ENV) BUILD=$(ASAN_BUILD) tests/run.sh

$(BUILD)/tree/sdlm $(BUILD)/sdlm: $(MAIN_OBJ) $(BUILD)/libsdlm.a
	@mkdir -p $(@D)
	$(CXX) $(CFLAGS) $(LDFLAGS) -pthread -o $@ $^ $(SDLM_LDLIBS) $(LDLIBS)

# ./sdlm's twin for AVX2 alone, in $(AVX2_BUILD)/sdlm: `make bench` times it beside
# ./sdlm when the host has AVX-512 (whose ./sdlm runs the AVX-512 clones).
AVX2_BUILD ?= build-x86-64-v3
avx2:
	@$(MAKE) --no-print-directory BUILD=$(AVX2_BUILD) SDLM_ARCH=x86-64-v3 $(AVX2_BUILD)/sdlm

# libFuzzer harnesses: make fuzz, fuzz-smoke, fuzz-build (tests/fuzz/fuzz.mk).
include tests/fuzz/fuzz.mk

# Layering: src/ and train/ include no curses, ui/ no BLAS, src/ no threads but par.c's pool.
check-layers:
	@tests/check-layers.sh

# sdlm bench beside the PyTorch port (Debian's python3-torch), same shapes, one run.
bench: sdlm
	@if grep -qw avx512f /proc/cpuinfo 2>/dev/null; then $(MAKE) --no-print-directory avx2; fi
	@SDLM_AVX2=$(AVX2_BUILD)/sdlm scripts/bench.sh

# Rebuilds share/ (corpus, tokenizer, default model) from scratch with this trainer.
model: sdlm
	@scripts/make-model.sh share

# The corpora (scripts/make-corpus.sh): data only, no build. They install
# nothing; a missing package is named (make deps CORPUS=1 installs them all).
CORPUS_PKGS := fortunes wordnet-base dict-gcide dict-devil dict-jargon bible-kjv
ifeq ($(CORPUS),1)
DEB_PKGS += $(CORPUS_PKGS)
endif

corpus:
	@scripts/make-corpus.sh share

corpus2:
	@scripts/make-corpus.sh $(BUILD)/corpus2 bible

deps:
	@SDLM_PC="$(or $(LIBS_PC_DEPS),$(LIBS_PC))" scripts/deps.sh $(DEB_PKGS)

# Installs the binary, the shipped data (share/*) and the man page. The
# installed sdlm finds its data in ../share/sdlm beside its bin/, wherever
# PREFIX put it. uninstall removes exactly those files.
SHARE_FILES := $(notdir $(wildcard share/*))

install: sdlm
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR) $(DESTDIR)$(MANDIR)
	install -m 755 sdlm $(DESTDIR)$(BINDIR)/sdlm
	for f in $(SHARE_FILES); do if [ -f share/$$f ]; then install -m 644 share/$$f $(DESTDIR)$(DATADIR)/ || exit 1; fi; done
	install -m 644 man/sdlm.1 $(DESTDIR)$(MANDIR)/sdlm.1

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/sdlm $(DESTDIR)$(MANDIR)/sdlm.1
	for f in $(SHARE_FILES); do rm -f $(DESTDIR)$(DATADIR)/$$f; done
	rmdir $(DESTDIR)$(DATADIR) 2>/dev/null || true

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(AVX2_BUILD) build-mpi sdlm

.PHONY: all test tests check-layers deps install uninstall clean asan avx2 bench model corpus corpus2
.SECONDARY:

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
