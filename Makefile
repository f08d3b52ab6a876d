# floss: build the library, header and examples; `make demo`; `make test`.
#
#   make          release library (target/release/libfloss.{so,a}), examples
#   make demo     the main example: imbalanced training with CE, balanced CE, focal
#   make test     every test: cargo tests, examples (compiled and run), header
#                 freshness, C/C++ warnings, exported symbols, Python binding
#   make install  PREFIX=/usr/local (default) [DESTDIR=...]: libfloss.so.X.Y.Z
#                 (SONAME libfloss.so.X), libfloss.a, floss.h, floss.hpp,
#                 floss.pc, CMake package floss::floss; `make uninstall`
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

.PHONY: all lib examples demo test test-rust test-examples test-valgrind test-header test-symbols test-python bench fuzz miri clean
.PHONY: install uninstall pc stage test-install test-cinstall test-wheel test-go test-node

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

demo: examples
	./$(BUILD)/c/imbalanced

test: test-rust test-header test-examples test-valgrind test-symbols test-python \
      test-install test-wheel test-go test-node
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

# The shared library exports exactly the symbols of include/floss.symbols,
# which are the functions of include/floss.h, each named in CHANGELOG.md.
test-symbols: lib
	sh tests/symbols.sh $(SHARED)

test-python: lib
	@if [ -d python ]; then cd python && FLOSS_LIBRARY=$(CURDIR)/$(SHARED) $(PYTHON) -m unittest discover -s tests -v; fi

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
