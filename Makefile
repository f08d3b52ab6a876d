# floss: build the library, header and examples; `make demo`; `make test`.
#
#   make          release library (target/release/libfloss.{so,a}), examples
#   make demo     the main example: imbalanced training with CE, balanced CE, focal
#   make test     every test, stage by stage (TEST_STAGES below), with each
#                 stage's wall time in a table at the end. Needs, besides
#                 Rust stable, gcc/g++ and python3: valgrind, numpy, the
#                 nightly toolchain with miri and rust-src, and cargo-fuzz
#                 (.ci/run installs them all). A stage whose tool is missing
#                 fails; `make test TEST_STAGES="test-rust test-hostile"`
#                 runs a selection.
#   make install  PREFIX=/usr/local (default) [DESTDIR=...]: libfloss.so.X.Y.Z
#                 (SONAME libfloss.so.X), libfloss.a, floss.h, floss.hpp,
#                 floss.pc, CMake package floss::floss; `make uninstall`
#   make test-simd  `cargo test` at every SIMD level this CPU supports
#   make bench    speed against PyTorch, kornia, torchvision (needs `pip install
#                 numpy torch torchvision kornia matplotlib`; not in CI)
#   make fuzz     a bounded run of every fuzz target (FUZZ_SECONDS each)
#   make miri     the C-boundary tests under Miri

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

# Version numbers come from Cargo.toml only.
VERSION := $(shell sed -n 's/^version = "\([0-9.]*\)"$$/\1/p' Cargo.toml | head -n 1)
MAJOR   := $(firstword $(subst ., ,$(VERSION)))
DESCRIPTION := $(shell sed -n 's/^description = "\(.*\)"$$/\1/p' Cargo.toml | head -n 1)
RUSTC   ?= rustc
PREFIX  ?= /usr/local
DESTDIR ?=
INSTALL ?= install
DEST_LIB = $(DESTDIR)$(PREFIX)/lib
DEST_INC = $(DESTDIR)$(PREFIX)/include
SONAME   = libfloss.so.$(MAJOR)
INSTALLED = lib/libfloss.so.$(VERSION) lib/$(SONAME) lib/libfloss.so lib/libfloss.a \
            include/floss.h include/floss.hpp lib/pkgconfig/floss.pc \
            lib/cmake/floss/flossConfig.cmake lib/cmake/floss/flossConfigVersion.cmake

C_EXAMPLES   = $(patsubst examples/c/%.c,%,$(wildcard examples/c/*.c))
CPP_EXAMPLES = $(patsubst examples/cpp/%.cpp,%,$(wildcard examples/cpp/*.cpp))
C_BINS   = $(foreach e,$(C_EXAMPLES),$(BUILD)/c/$(e) $(BUILD)/c/$(e)-static)
CPP_BINS = $(foreach e,$(CPP_EXAMPLES),$(BUILD)/cpp/$(e) $(BUILD)/cpp/$(e)-static)

# The stages of `make test`, in order. Add a stage with one line here.
TEST_STAGES = \
	test-rust \
	test-simd \
	test-header \
	test-examples \
	test-symbols \
	test-hostile \
	test-concurrency \
	test-valgrind \
	test-python \
	test-install \
	test-wheel \
	test-go \
	test-node \
	test-resource \
	test-asan \
	test-miri \
	test-fuzz

.PHONY: install uninstall pc stage test-cinstall
.PHONY: all lib examples demo test $(TEST_STAGES) c-tests bench fuzz miri clean

all: lib examples

# The library's SONAME is libfloss.so.MAJOR (build.rs): programs linked
# here look for that name, so target/release gets the link too.
lib:
	$(CARGO) build --release --locked
	ln -sf libfloss.so $(LIBDIR)/$(SONAME)

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

# The C test programs (tests/c/*.c), linked with the static library.
C_TESTS = $(patsubst tests/c/%.c,%,$(wildcard tests/c/*.c))
c-tests: $(foreach t,$(C_TESTS),$(BUILD)/tests/$(t))

$(BUILD)/tests/%: tests/c/%.c include/floss.h $(STATIC)
	@mkdir -p $(@D)
	$(CC) -std=c11 $(WARN) $(CFLAGS) -Iinclude $< -o $@ $(STATIC) $(STATIC_LIBS)

demo: examples
	./$(BUILD)/c/imbalanced

# Runs every stage (continuing past a failure), prints a table of stage
# wall times, and fails if any stage failed.
test:
	@bash tests/run_stages.sh "$(MAKE)" $(TEST_STAGES)

test-rust:
	$(CARGO) test --locked

# `cargo test` once per instruction-set level this CPU supports (listed by
# examples/simd_levels.rs), with FLOSS_SIMD capping the level; tests/simd.rs
# fails if the cap did not take effect. Any failure stops with its level.
test-simd:
	@levels=$$($(CARGO) run --quiet --locked --example simd_levels) && [ -n "$$levels" ] \
	  || { echo "test-simd: could not list the supported levels"; exit 1; }; \
	for l in $$levels; do \
	  echo "== FLOSS_SIMD=$$l cargo test"; \
	  FLOSS_SIMD=$$l $(CARGO) test --locked || { echo "test-simd: FAILED at FLOSS_SIMD=$$l"; exit 1; }; \
	done; echo "test-simd: cargo test passed at every level: $$levels"

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

# Every exported function called with hostile arguments (tests/c/hostile.c):
# statuses, messages, outputs untouched on failure, inputs never modified.
# Run at every SIMD level (a level the CPU lacks runs the best one below).
SIMD_LEVELS = avx512 avx2 baseline
test-hostile: $(BUILD)/tests/hostile
	@set -e; for l in $(SIMD_LEVELS); do \
	  printf 'FLOSS_SIMD=%s: ' $$l; FLOSS_SIMD=$$l ./$(BUILD)/tests/hostile; done

# Eight threads calling different functions while a ninth switches the
# thread count: results bitwise equal to sequential calls, messages per thread.
test-concurrency: $(BUILD)/tests/concurrency
	./$(BUILD)/tests/concurrency

# A 2^31 + 16 wide row under an address-space limit returns a status (no
# abort), and n = 1, c = 10^7 with grad peaks under input + outputs + 16 MiB.
test-resource: $(BUILD)/tests/resource
	./$(BUILD)/tests/resource

# The short examples and the hostile-input test, run under valgrind: no
# invalid access, no leak.
VALGRIND_BINS = $(BUILD)/c/basics $(BUILD)/c/continuous_entropy $(BUILD)/cpp/basics $(BUILD)/tests/hostile
# The hostile-input test runs at FLOSS_SIMD=baseline under valgrind:
# valgrind 3.19's emulation of the AVX2 path lets a NaN logit through to the
# binary losses (4 of its checks fail under valgrind, none natively at any
# level); its statuses are checked natively at every level by test-hostile.
test-valgrind: examples $(BUILD)/tests/hostile
	@set -e; for b in $(VALGRIND_BINS); do \
	  simd=; case $$b in */hostile) simd=baseline;; esac; \
	  FLOSS_SIMD=$$simd valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=all -q ./$$b > /dev/null; \
	done; echo "valgrind: $(VALGRIND_BINS) clean"

# The shared library exports exactly the symbols of include/floss.symbols,
# which are the functions of include/floss.h, each named in CHANGELOG.md.
test-symbols: lib
	sh tests/symbols.sh $(SHARED)

# The Python binding's tests, with numpy (python/requirements-test.txt):
# a skipped test fails the stage.
test-python: lib
	@$(PYTHON) -c 'import numpy' || { echo "test-python needs numpy: pip install -r python/requirements-test.txt"; exit 1; }
	cd python && FLOSS_LIBRARY=$(CURDIR)/$(SHARED) $(PYTHON) run_tests.py

# AddressSanitizer (nightly Rust, with its own target directory): the Rust
# tests; then the C/C++ examples and the hostile-input and concurrency tests
# built with -fsanitize=address,undefined against the instrumented static
# library.
NIGHTLY     ?= +nightly
ASAN_TARGET  = x86_64-unknown-linux-gnu
ASAN_DIR     = target/asan
ASAN_LIB     = $(ASAN_DIR)/$(ASAN_TARGET)/release/libfloss.a
ASAN_CARGO   = RUSTFLAGS="-Zsanitizer=address" $(CARGO) $(NIGHTLY)
ASAN_CFLAGS  = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
ASAN_RUN     = ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
ASAN_BINS    = $(foreach e,$(C_EXAMPLES),$(BUILD)/asan/c/$(e)) $(foreach e,$(CPP_EXAMPLES),$(BUILD)/asan/cpp/$(e)) \
               $(BUILD)/asan/tests/hostile $(BUILD)/asan/tests/concurrency
test-asan:
	$(ASAN_CARGO) test --locked --target $(ASAN_TARGET) --target-dir $(ASAN_DIR)
	$(ASAN_CARGO) build --release --locked --lib --target $(ASAN_TARGET) --target-dir $(ASAN_DIR)
	@$(MAKE) --no-print-directory $(ASAN_BINS)
	@set -e; for b in $(ASAN_BINS); do \
	  echo "== $$b (ASan + UBSan)"; $(ASAN_RUN) ./$$b > $$b.log 2>&1 || { cat $$b.log; echo "FAILED: $$b"; exit 1; }; \
	  tail -n 1 $$b.log; \
	done; echo "asan: Rust tests, $(words $(ASAN_BINS)) C/C++ programs clean under ASan + UBSan"

$(BUILD)/asan/c/%: examples/c/%.c include/floss.h $(ASAN_LIB)
	@mkdir -p $(@D)
	$(CC) -std=c99 $(WARN) $(ASAN_CFLAGS) -Iinclude $< -o $@ $(ASAN_LIB) $(STATIC_LIBS)
$(BUILD)/asan/cpp/%: examples/cpp/%.cpp include/floss.h include/floss.hpp $(ASAN_LIB)
	@mkdir -p $(@D)
	$(CXX) -std=c++17 $(WARN) $(ASAN_CFLAGS) -Iinclude $< -o $@ $(ASAN_LIB) $(STATIC_LIBS)
$(BUILD)/asan/tests/%: tests/c/%.c include/floss.h $(ASAN_LIB)
	@mkdir -p $(@D)
	$(CC) -std=c11 $(WARN) $(ASAN_CFLAGS) -Iinclude $< -o $@ $(ASAN_LIB) $(STATIC_LIBS)

# The C-boundary tests under Miri (undefined behaviour in the unsafe FFI layer).
test-miri: miri

# ------------------------------------------------------------- install --

# pkg-config file; Libs.private is what rustc says a Rust static library
# needs from the system (asked with an empty crate: floss adds nothing).
pc: $(BUILD)/floss.pc
$(BUILD)/floss.pc: Cargo.toml Makefile FORCE
	@mkdir -p $(BUILD)/probe
	@: > $(BUILD)/probe/empty.rs
	@libs=$$($(RUSTC) --crate-type staticlib --crate-name floss_native_libs_probe \
	    --print native-static-libs -o $(BUILD)/probe/probe.a $(BUILD)/probe/empty.rs 2>&1 \
	    | sed -n 's/.*native-static-libs: //p'); \
	test -n "$$libs" || { echo "rustc --print native-static-libs printed nothing"; exit 1; }; \
	{ echo 'prefix=$(PREFIX)'; echo 'exec_prefix=$${prefix}'; \
	  echo 'libdir=$${prefix}/lib'; echo 'includedir=$${prefix}/include'; echo; \
	  echo 'Name: floss'; echo 'Description: $(DESCRIPTION)'; echo 'Version: $(VERSION)'; \
	  echo 'Libs: -L$${libdir} -lfloss'; echo "Libs.private: $$libs"; \
	  echo 'Cflags: -I$${includedir}'; } > $@.tmp && mv $@.tmp $@

FORCE:

install: lib $(BUILD)/floss.pc
	$(INSTALL) -d $(DEST_LIB)/pkgconfig $(DEST_LIB)/cmake/floss $(DEST_INC)
	$(INSTALL) -m 755 $(SHARED) $(DEST_LIB)/libfloss.so.$(VERSION)
	ln -sf libfloss.so.$(VERSION) $(DEST_LIB)/$(SONAME)
	ln -sf $(SONAME) $(DEST_LIB)/libfloss.so
	$(INSTALL) -m 644 $(STATIC) $(DEST_LIB)/libfloss.a
	$(INSTALL) -m 644 include/floss.h include/floss.hpp $(DEST_INC)
	$(INSTALL) -m 644 $(BUILD)/floss.pc $(DEST_LIB)/pkgconfig/floss.pc
	$(INSTALL) -m 644 cmake/flossConfig.cmake cmake/flossConfigVersion.cmake $(DEST_LIB)/cmake/floss

uninstall:
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/,$(INSTALLED))
	-rmdir $(DEST_LIB)/cmake/floss 2>/dev/null

# Installs into a temporary prefix and builds out-of-tree consumers:
# pkg-config (shared, static), CMake find_package (C, C++, static),
# FetchContent of the working tree; moves the prefix and runs them again.
test-install: lib
	sh tests/consumers/run.sh

# cargo-c's install (needs `cargo install cargo-c`; not in make test).
test-cinstall:
	sh tests/consumers/cinstall.sh

# The Python package: builds the floss-losses wheel, installs it in a fresh
# venv with numpy, runs the binding's tests outside the repository.
test-wheel:
	sh tests/wheel.sh

# Go (cgo) and Node.js (koffi) examples, against a staging install under
# build/ (pkg-config for cgo). A missing toolchain fails the stage.
STAGE = $(CURDIR)/$(BUILD)/stage
stage: lib
	@$(MAKE) -s install PREFIX=$(STAGE) > /dev/null

test-go: stage
	@command -v go > /dev/null || { echo "test-go: go is not installed (.ci/run installs golang-go)"; exit 1; }
	cd examples/go && gofmt -l . | { ! grep . ; } && \
	  PKG_CONFIG_PATH=$(STAGE)/lib/pkgconfig LD_LIBRARY_PATH=$(STAGE)/lib go vet . && \
	  PKG_CONFIG_PATH=$(STAGE)/lib/pkgconfig LD_LIBRARY_PATH=$(STAGE)/lib go run .

test-node: stage
	@command -v node > /dev/null && command -v npm > /dev/null || { echo "test-node: node/npm are not installed (.ci/run installs nodejs, npm)"; exit 1; }
	cd examples/node && npm ci --no-audit --no-fund && \
	  FLOSS_LIBRARY=$(STAGE)/lib/libfloss.so.$(MAJOR) FLOSS_HEADER=$(STAGE)/include/floss.h npm test

# Issue 7's target table: floss at every SIMD level against PyTorch, kornia
# and torchvision, plus bench/ns_per_element.png; writes bench/results.md.
# BENCH_PYTHON needs numpy torch torchvision kornia matplotlib. glibc's malloc
# keeps large blocks (no mmap/munmap and page faults per call).
BENCH_PYTHON ?= $(PYTHON)
bench: lib
	@$(BENCH_PYTHON) -c "import numpy, torch, torchvision, kornia, matplotlib" 2>/dev/null || { \
	  echo "make bench needs: $(BENCH_PYTHON) -m pip install numpy torch torchvision kornia matplotlib"; \
	  echo "(or point BENCH_PYTHON at a Python that has them, e.g. make bench BENCH_PYTHON=/work/venv/bin/python)"; exit 1; }
	MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=4294967296 nice -n 10 $(BENCH_PYTHON) bench/bench.py

miri:
	$(CARGO) $(NIGHTLY) miri test --locked --test status

# Each fuzz run for FUZZ_SECONDS, starting from its target's committed
# corpus fuzz/corpus/<target> (read only: new inputs go to
# build/fuzz/<run>); prints the executions. A crash leaves its input in
# fuzz/artifacts/<target>, and fuzz/crash_digest.sh prints it in base64
# (to reproduce a CI machine's crash). A run <target>:<engine> sets FLOSS_ENGINE=<engine>
# for it: multiclass:row puts every row, however narrow, on the row-major
# engine, which otherwise takes only wide rows (engine::row_major::from_classes).
FUZZ_SECONDS ?= 60
FUZZ_RUNS = multiclass multiclass:row binary class_weights differential_entropy
fuzz:
	@set -e; for run in $(FUZZ_RUNS); do \
	  t=$${run%%:*}; engine=; case $$run in *:*) engine=$${run#*:};; esac; \
	  name=$$(echo $$run | tr : -); \
	  mkdir -p $(BUILD)/fuzz/$$name; seeds=; \
	  if [ -d fuzz/corpus/$$t ]; then seeds=fuzz/corpus/$$t; fi; \
	  echo "== fuzz $$run: $(FUZZ_SECONDS) s from $${seeds:-an empty corpus ($$t has no committed corpus)}$${engine:+, FLOSS_ENGINE=$$engine}"; \
	  FLOSS_ENGINE=$$engine $(CARGO) $(NIGHTLY) fuzz run $$t $(BUILD)/fuzz/$$name $$seeds -- -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    > $(BUILD)/fuzz/$$name.log 2>&1 || { tail -n 60 $(BUILD)/fuzz/$$name.log; echo "FAILED: fuzz $$run"; \
	    FLOSS_ENGINE=$$engine bash fuzz/crash_digest.sh $$t $(BUILD)/fuzz/$$name.log; exit 1; }; \
	  grep -E '^Done [0-9]+ runs' $(BUILD)/fuzz/$$name.log | sed "s/^/   $$run: /"; \
	done

test-fuzz: fuzz

clean:
	$(CARGO) clean
	rm -rf $(BUILD)
