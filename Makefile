# floss: build the library, header and examples; `make demo`; `make test`.
#
#   make          release library (target/release/libfloss.{so,a}), examples
#   make demo     the main example: imbalanced training with CE, balanced CE, focal
#   make test     every test: cargo tests, examples (compiled and run), header
#                 freshness, C/C++ warnings, exported symbols, Python binding
#   make bench    speed against PyTorch (needs `pip install torch`; not in CI)
#   make fuzz     every fuzz target for FUZZ_SECONDS (default 60) from its
#                 committed corpus (needs nightly and `cargo install cargo-fuzz`)
#   make miri     the C-boundary tests under Miri (needs nightly with miri;
#                 about 5 minutes; not in CI)

CARGO   ?= cargo
CC      ?= cc
CXX     ?= c++
PYTHON  ?= python3
WARN     = -Wall -Wextra -Wpedantic -Werror
CFLAGS  ?= -O2
CXXFLAGS?= -O2
LIBDIR   = target/release
SHARED   = $(LIBDIR)/libfloss.so
STATIC   = $(LIBDIR)/libfloss.a
BUILD    = build
RPATH    = -Wl,-rpath,$(CURDIR)/$(LIBDIR)
STATIC_LIBS = -lpthread -ldl -lm

C_EXAMPLES   = $(patsubst examples/c/%.c,%,$(wildcard examples/c/*.c))
CPP_EXAMPLES = $(patsubst examples/cpp/%.cpp,%,$(wildcard examples/cpp/*.cpp))
C_BINS   = $(foreach e,$(C_EXAMPLES),$(BUILD)/c/$(e) $(BUILD)/c/$(e)-static)
CPP_BINS = $(foreach e,$(CPP_EXAMPLES),$(BUILD)/cpp/$(e) $(BUILD)/cpp/$(e)-static)

.PHONY: all lib examples demo test test-rust test-examples test-valgrind test-header test-symbols test-python bench fuzz miri clean

all: lib examples

lib:
	$(CARGO) build --release --locked

$(SHARED) $(STATIC): lib

examples: lib $(C_BINS) $(CPP_BINS)

$(BUILD)/c/%: examples/c/%.c include/floss.h $(SHARED)
	@mkdir -p $(@D)
	$(CC) -std=c99 $(WARN) $(CFLAGS) -Iinclude $< -o $@ -L$(LIBDIR) -lfloss -lm $(RPATH)

$(BUILD)/c/%-static: examples/c/%.c include/floss.h $(STATIC)
	@mkdir -p $(@D)
	$(CC) -std=c99 $(WARN) $(CFLAGS) -Iinclude $< -o $@ $(STATIC) $(STATIC_LIBS)

$(BUILD)/cpp/%: examples/cpp/%.cpp include/floss.h include/floss.hpp $(SHARED)
	@mkdir -p $(@D)
	$(CXX) -std=c++17 $(WARN) $(CXXFLAGS) -Iinclude $< -o $@ -L$(LIBDIR) -lfloss $(RPATH)

$(BUILD)/cpp/%-static: examples/cpp/%.cpp include/floss.h include/floss.hpp $(STATIC)
	@mkdir -p $(@D)
	$(CXX) -std=c++17 $(WARN) $(CXXFLAGS) -Iinclude $< -o $@ $(STATIC) $(STATIC_LIBS)

demo: examples
	./$(BUILD)/c/imbalanced

test: test-rust test-header test-examples test-valgrind test-symbols test-python
	@echo "make test: all passed"

test-rust:
	$(CARGO) test --locked

# The committed header is exactly what cbindgen generates, and compiles
# cleanly as C99 and C++17 with every warning an error.
test-header:
	$(CARGO) test --locked --test header
	@mkdir -p $(BUILD)
	printf '#include "floss.h"\nint main(void) { return FLOSS_OK; }\n' > $(BUILD)/header_check.c
	$(CC) -std=c99 $(WARN) -Iinclude -c $(BUILD)/header_check.c -o $(BUILD)/header_check.o
	printf '#include "floss.hpp"\nint main() { return FLOSS_OK; }\n' > $(BUILD)/header_check.cpp
	$(CXX) -std=c++17 $(WARN) -Iinclude -c $(BUILD)/header_check.cpp -o $(BUILD)/header_check_cpp.o

# Every example program, linked both ways, runs and checks its own results
# (each exits non-zero if a computed value is off).
test-examples: examples
	@set -e; for b in $(C_BINS) $(CPP_BINS); do \
	  echo "== $$b"; ./$$b > $$b.log 2>&1 || { cat $$b.log; echo "FAILED: $$b"; exit 1; }; \
	done; echo "examples: all ran and checked their results"

# The short examples, run under valgrind: no invalid access, no leak.
VALGRIND_BINS = $(BUILD)/c/basics $(BUILD)/c/continuous_entropy $(BUILD)/cpp/basics
test-valgrind: examples
	@set -e; for b in $(VALGRIND_BINS); do \
	  valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=all -q ./$$b > /dev/null; \
	done; echo "valgrind: $(VALGRIND_BINS) clean"

# The shared library exports only floss_ functions.
test-symbols: lib
	@bad=$$(nm -D --defined-only $(SHARED) | awk '{print $$3}' | grep -v '^floss_' || true); \
	count=$$(nm -D --defined-only $(SHARED) | awk '{print $$3}' | grep -c '^floss_'); \
	if [ -n "$$bad" ]; then echo "unexpected exported symbols:"; echo "$$bad"; exit 1; fi; \
	echo "symbols: $$count exported, all floss_*"

test-python: lib
	@if [ -d python ]; then cd python && FLOSS_LIBRARY=$(CURDIR)/$(SHARED) $(PYTHON) -m unittest discover -s tests -v; fi

bench: lib
	$(PYTHON) bench/bench.py

miri:
	cargo +nightly miri test --test status

FUZZ_SECONDS ?= 60
FUZZ_TARGETS = multiclass binary class_weights differential_entropy
# Each target for FUZZ_SECONDS from its committed corpus fuzz/corpus/<target>
# (kept read-only: new inputs go to build/fuzz/<target>); stops at the first
# failure (the crash input is left in fuzz/artifacts/<target>/).
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(BUILD)/fuzz/$$t; \
	  echo "== fuzz $$t ($(FUZZ_SECONDS) s)"; \
	  cargo +nightly fuzz run $$t $(CURDIR)/$(BUILD)/fuzz/$$t $(CURDIR)/fuzz/corpus/$$t \
	    -- -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1; \
	done

clean:
	$(CARGO) clean
	rm -rf $(BUILD)
