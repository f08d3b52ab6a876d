#!/bin/sh
# make test-cinstall (not part of make test: it needs cargo-c, whose build
# takes long): `cargo cinstall` gives the layout of `make install` (the CMake
# package under share/floss/cmake instead of lib/cmake/floss), the same
# SONAME, and a C program builds against it with pkg-config and with CMake
# find_package, and runs.
set -eu
cd "$(dirname "$0")/../.."
command -v cargo-cinstall > /dev/null || { echo "test-cinstall: cargo-c is not installed (cargo install cargo-c)"; exit 1; }
version=$(sed -n 's/^version = "\([0-9.]*\)"$/\1/p' Cargo.toml | head -n 1)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/floss-cinstall.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "test-cinstall FAILED: $*"; exit 1; }

CARGO_TARGET_DIR="$PWD/target/cargo-c" cargo cinstall --release --locked \
  --prefix="$tmp/prefix" --libdir="$tmp/prefix/lib" > "$tmp/cinstall.log" 2>&1 \
  || { cat "$tmp/cinstall.log"; fail "cargo cinstall"; }
(cd "$tmp/prefix" && find . \( -type f -o -type l \) | sort) > "$tmp/got"
cat > "$tmp/expected" <<LIST
./include/floss.h
./include/floss.hpp
./lib/libfloss.a
./lib/libfloss.so
./lib/libfloss.so.0
./lib/libfloss.so.$version
./lib/pkgconfig/floss.pc
./share/floss/cmake/flossConfig.cmake
./share/floss/cmake/flossConfigVersion.cmake
LIST
diff -u "$tmp/expected" "$tmp/got" || fail "cargo cinstall's files differ from the expected list"
soname=$(readelf -d "$tmp/prefix/lib/libfloss.so.$version" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$soname" = libfloss.so.0 ] || fail "SONAME $soname"
cmp include/floss.h "$tmp/prefix/include/floss.h" || fail "installed floss.h differs"
echo "cargo cinstall: the expected 9 files, SONAME $soname"
cat "$tmp/prefix/lib/pkgconfig/floss.pc"

export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig"
# shellcheck disable=SC2046
${CC:-cc} -std=c99 -Wall -Wextra -Werror tests/consumers/check.c -o "$tmp/check" $(pkg-config --cflags --libs floss) -lm
LD_LIBRARY_PATH="$tmp/prefix/lib" "$tmp/check"
cmake -S tests/consumers/find_package -B "$tmp/find" -DCMAKE_PREFIX_PATH="$tmp/prefix" > "$tmp/cmake.log" 2>&1 \
  && cmake --build "$tmp/find" -j 2 >> "$tmp/cmake.log" 2>&1 || { cat "$tmp/cmake.log"; fail "find_package"; }
grep 'floss .* from' "$tmp/cmake.log"
for p in check_c check_cpp check_c_static; do "$tmp/find/$p" > /dev/null || fail "$p"; done
echo "test-cinstall: passed (pkg-config and find_package consumers built and ran)"
