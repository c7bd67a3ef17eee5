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

.PHONY: all test check-suite sanitize bench demo static fuzz lint config clean deps

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

# Fully static binary for a box with nothing installed.
static:
	$(MAKE) --no-print-directory VARIANT=static-build \
	    OPT_static-build="-O2 -DNDEBUG" EXTRA_LDFLAGS="-static" all
	@mkdir -p bin && cp build/static-build/turbomode bin/turbomode-static
	@if ldd bin/turbomode-static 2>&1 | grep -q "not a dynamic"; then \
	    echo "bin/turbomode-static: static (ldd: not a dynamic executable)"; \
	else echo "bin/turbomode-static is not static:"; ldd bin/turbomode-static; exit 1; fi

FUZZ_SECONDS ?= 20
fuzz:
	$(MAKE) --no-print-directory VARIANT=sanitize $(BUILD)/sanitize/fuzz_driver
	$(BUILD)/sanitize/fuzz_driver --seconds $(FUZZ_SECONDS) tests/fuzz/corpus \
	    $$(test -d ../shared/fixtures && echo ../shared/fixtures || echo "(no shared fixtures: corpus only)" >&2)

$(B)/fuzz_driver: tests/fuzz/fuzz_forest.c $(LIBA)
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(LIBA) $(LIBS) $(LDFLAGS)

lint:
	@sh scripts/lint.sh

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
