# TurboMode: one non-recursive Makefile. Settings first.
CC      ?= gcc
STD     := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
WARN    := -Wall -Wextra -Wshadow -Wundef -Wwrite-strings -Wstrict-prototypes \
           -Wmissing-prototypes -Wold-style-definition -Wformat=2 -Wvla \
           -Wdouble-promotion
ifeq ($(WERROR),1)
WARN    += -Werror
endif
OPENMP  := -fopenmp
INC     := -Iinclude -Isrc -Itests
LIBS    := -lsqlite3 -lm
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lrt -lm -pthread)
VARIANT ?= release

OPT_release  := -O2 -g -DNDEBUG
OPT_debug    := -O0 -g3
OPT_sanitize := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
                -fno-omit-frame-pointer
OPT_libfuzzer := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
                 -fno-omit-frame-pointer
OPT     := $(OPT_$(VARIANT))
CFLAGS  := $(STD) $(WARN) $(OPENMP) $(INC) $(OPT) $(EXTRA_CFLAGS)
LDFLAGS := $(OPENMP) $(filter -fsanitize=%,$(OPT)) $(EXTRA_LDFLAGS)

ifeq ($(V),1)
Q :=
else
Q := @
endif

BUILD   ?= build
B        := $(BUILD)/$(VARIANT)
LIB_SRC  := $(sort $(wildcard src/core/*.c src/forest/*.c src/train/*.c src/sched/*.c \
              src/store/*.c src/features/*.c src/pipeline/*.c))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
TEST_SRC := $(sort $(wildcard tests/*.c tests/*/*.c))
TEST_SRC := $(filter-out tests/fuzz/%,$(TEST_SRC))
LIB_OBJ  := $(LIB_SRC:%.c=$(B)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(B)/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(B)/%.o)

ifeq ($(VARIANT)$(BUILD),releasebuild)
LIBA := lib/libturbomode.a
BIN  := bin/turbomode
else
LIBA := $(B)/libturbomode.a
BIN  := $(B)/turbomode
endif
TEST_BIN := $(B)/tm_tests

.PHONY: all test check-suite sanitize bench demo walkforward static fuzz fuzz-libfuzzer lint config clean deps \
        readme-options

all: $(BIN) $(LIBA)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIBA): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BIN): $(CLI_OBJ) $(LIBA)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(LIBA) $(LIBS)

# The test runner collects every TM_TEST_SUITE(name) it finds.
$(B)/gen/suites.inc: $(TEST_SRC)
	@mkdir -p $(dir $@)
	$(Q)grep -ho 'TM_TEST_SUITE([a-z0-9_]*)' $(TEST_SRC) | sed 's/TM_TEST_SUITE/X/' | sort -u > $@.tmp && mv $@.tmp $@

$(B)/tests/main.o: $(B)/gen/suites.inc
$(B)/tests/main.o: CFLAGS += -I$(B)/gen

# The test build of the program: the CLI with core/testctl.c compiled
# with TM_TEST_CONTROL (the kill -9 pause points); linked before the
# library, its tm_test_point replaces the empty one. Only tests run it.
TEST_PROG := $(B)/turbomode-test
$(B)/testctl/testctl.o: src/core/testctl.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -DTM_TEST_CONTROL -MMD -MP -c $< -o $@

$(TEST_PROG): $(CLI_OBJ) $(B)/testctl/testctl.o $(LIBA)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(B)/testctl/testctl.o $(LIBA) $(LIBS)

$(TEST_BIN): $(TEST_OBJ) $(LIBA) $(BIN) $(TEST_PROG)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(TEST_OBJ) $(LIBA) $(LIBS) $(CHECK_LIBS)

# `make test`: dependencies, the release suite, then the sanitize suite.
test: deps
	$(MAKE) --no-print-directory VARIANT=release check-suite
	$(MAKE) --no-print-directory VARIANT=sanitize check-suite
	$(MAKE) --no-print-directory fuzz
	@sh scripts/lint.sh

check-suite: $(TEST_BIN) $(BIN)
	TM_BIN=$(BIN) $(TEST_BIN)

sanitize:
	$(MAKE) --no-print-directory VARIANT=sanitize check-suite

deps:
	@sh scripts/deps.sh

bench: all
	@sh bench/run.sh

demo: all
	@sh scripts/demo.sh

# Two years walked forward on 157 stocks (long: see the README; not part of test).
walkforward: all
	@sh scripts/walkforward.sh

# Fully static binary for a box with nothing installed.
static:
	$(MAKE) --no-print-directory VARIANT=static-build \
	    OPT_static-build="-O2 -DNDEBUG -DTM_NO_DLOPEN" EXTRA_LDFLAGS="-static" all
	@mkdir -p bin && cp build/static-build/turbomode bin/turbomode-static
	@if ldd bin/turbomode-static 2>&1 | grep -q "not a dynamic"; then \
	    echo "bin/turbomode-static: static (ldd: not a dynamic executable)"; \
	else echo "bin/turbomode-static is not static:"; ldd bin/turbomode-static; exit 1; fi

# Fuzzing. `make fuzz` (in `make test`): each target built with gcc under
# ASan+UBSan replays its corpus (and the shared fixtures), then mutates it
# with a printed random seed for FUZZ_SECONDS in all (split among the
# targets); a failing input is saved under build/fuzz-crashes.
# `make fuzz-libfuzzer`: the same targets under clang's libFuzzer for
# FUZZ_SECONDS each; inputs that fail are copied into the target's corpus
# (tests/fuzz/corpus*) as regression cases and the run fails.
FUZZ_SECONDS ?= 20
FUZZ_TARGETS := forest sched import registry
FUZZ_CC ?= clang
SHARED_DIR := $(if $(TM_SHARED),$(TM_SHARED),../shared)

fuzz:
	$(MAKE) --no-print-directory VARIANT=sanitize \
	    $(foreach t,$(FUZZ_TARGETS),$(BUILD)/sanitize/fuzz_$(t))
	@mkdir -p $(BUILD)/fuzz-crashes
	@test -d $(SHARED_DIR)/fixtures || echo "fuzz: no shared fixtures: corpus only" >&2
	@secs=$$(awk 'BEGIN { print $(FUZZ_SECONDS) / $(words $(FUZZ_TARGETS)) }'); \
	for t in $(FUZZ_TARGETS); do \
	    case $$t in forest) c=tests/fuzz/corpus; x=$(SHARED_DIR)/fixtures;; \
	        sched) c=tests/fuzz/corpus_sched; x=$(SHARED_DIR)/fixtures/scheduler;; \
	        *) c=tests/fuzz/corpus_$$t; x=;; esac; \
	    $(BUILD)/sanitize/fuzz_$$t --seconds $$secs --crash-dir $(BUILD)/fuzz-crashes \
	        $$c $$x || exit 1; \
	done

fuzz-libfuzzer:
	@sh scripts/deps.sh libfuzzer
	$(MAKE) --no-print-directory VARIANT=libfuzzer CC=$(FUZZ_CC) \
	    $(foreach t,$(FUZZ_TARGETS),$(BUILD)/libfuzzer/fuzz_$(t))
	@for t in $(FUZZ_TARGETS); do \
	    case $$t in forest) c=tests/fuzz/corpus;; *) c=tests/fuzz/corpus_$$t;; esac; \
	    w=$(BUILD)/fuzz-work/$$t; a=$(BUILD)/fuzz-crashes/$$t; mkdir -p $$w $$a; \
	    seed=$$(od -An -N4 -tu4 /dev/urandom | tr -d ' '); \
	    echo "fuzz-libfuzzer: $$t seed $$seed (repeat with -seed=$$seed)"; \
	    if ! $(BUILD)/libfuzzer/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -seed=$$seed \
	        -artifact_prefix=$$a/ -print_final_stats=0 $$w $$c; then \
	        for f in $$a/*; do [ -f "$$f" ] && cp "$$f" "$$c/regress-$$t-$$(basename $$f)"; done; \
	        echo "fuzz-libfuzzer: $$t failed; the input is now in $$c as a regression case" >&2; \
	        exit 1; \
	    fi; \
	done

ifeq ($(VARIANT),libfuzzer)
$(B)/fuzz_%: tests/fuzz/fuzz_%.c $(LIBA)
	$(Q)$(CC) $(CFLAGS) -fsanitize=fuzzer -o $@ $< $(LIBA) $(LIBS) $(LDFLAGS)
else
$(B)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_driver.c $(LIBA)
	$(Q)$(CC) $(CFLAGS) -o $@ $< tests/fuzz/fuzz_driver.c $(LIBA) $(LIBS) $(LDFLAGS)
endif

lint:
	@sh scripts/lint.sh

# README.md's job option tables, generated from the option tables.
readme-options: $(BIN)
	@sh scripts/readme-options.sh $(BIN)

config:
	@echo "CC      = $(CC) ($$($(CC) -dumpfullversion))"
	@echo "CFLAGS  = $(CFLAGS)"
	@echo "LDFLAGS = $(LDFLAGS)"
	@echo "LIBS    = $(LIBS) $(CHECK_LIBS)"
	@echo "sqlite  = $$(pkg-config --modversion sqlite3 2>/dev/null || echo missing)"
	@echo "check   = $$(pkg-config --modversion check 2>/dev/null || echo missing)"

clean:
	rm -rf build bin lib

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(B)/testctl/testctl.d

$(B)/bench_predict: bench/predict/bench_predict.c $(LIBA)
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(LIBA) $(LIBS)

$(B)/bench_compiled: bench/predict/bench_compiled.c $(LIBA)
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(LIBA) $(LIBS)
