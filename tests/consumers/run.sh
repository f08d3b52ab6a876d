#!/bin/sh
# make test-install: floss used the way C and C++ users get it.
#  1. `make install DESTDIR=... PREFIX=/usr/local` puts exactly the expected
#     files under DESTDIR; `make uninstall` removes them all.
#  2. `make install PREFIX=<tmp>`: SONAME and links; pkg-config version.
#  3. Out-of-tree consumers of that prefix: C with pkg-config (shared, and
#     --static with libfloss.a), C/C++/static with CMake find_package.
#  4. The prefix is moved: the shared programs fail without LD_LIBRARY_PATH
#     (they carry no path to it), run with LD_LIBRARY_PATH at the new place
#     (SONAME); the static one runs anywhere; find_package works from the
#     moved prefix (relocatable package).
#  5. A CMake project pulls floss with FetchContent from an archive of the
#     working tree (no network) and builds it from source with cargo.
# Every consumer program (check.c, check.cpp) computes a focal loss and its
# gradient and checks them; any failure stops the script non-zero.
set -eu
cd "$(dirname "$0")/../.."
root=$(pwd)
MAKE=${MAKE:-make}
CC=${CC:-cc}
version=$(sed -n 's/^version = "\([0-9.]*\)"$/\1/p' Cargo.toml | head -n 1)
major=${version%%.*}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/floss-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
step() { printf '\n== test-install: %s\n' "$*"; }
fail() { echo "test-install FAILED: $*"; exit 1; }
cmake_build() { # source dir, build dir, extra args...
  src=$1 bld=$2; shift 2
  cmake -S "$src" -B "$bld" -DCMAKE_BUILD_TYPE=Release "$@" > "$bld.configure.log" 2>&1 \
    || { cat "$bld.configure.log"; fail "cmake configure $src"; }
  cmake --build "$bld" -j 2 > "$bld.build.log" 2>&1 || { cat "$bld.build.log"; fail "cmake build $src"; }
}

step "DESTDIR staging and uninstall"
$MAKE -s install DESTDIR="$tmp/stage" PREFIX=/usr/local > /dev/null
(cd "$tmp/stage" && find . \( -type f -o -type l \) | sort) > "$tmp/staged"
cat > "$tmp/expected" <<LIST
./usr/local/include/floss.h
./usr/local/include/floss.hpp
./usr/local/lib/cmake/floss/flossConfig.cmake
./usr/local/lib/cmake/floss/flossConfigVersion.cmake
./usr/local/lib/libfloss.a
./usr/local/lib/libfloss.so
./usr/local/lib/libfloss.so.$major
./usr/local/lib/libfloss.so.$version
./usr/local/lib/pkgconfig/floss.pc
LIST
diff -u "$tmp/expected" "$tmp/staged" || fail "installed files differ from the expected list"
grep -qx 'prefix=/usr/local' "$tmp/stage/usr/local/lib/pkgconfig/floss.pc" || fail "floss.pc prefix"
$MAKE -s uninstall DESTDIR="$tmp/stage" PREFIX=/usr/local > /dev/null 2>&1
left=$(find "$tmp/stage" \( -type f -o -type l \))
[ -z "$left" ] || fail "make uninstall left: $left"
echo "staged the 9 expected files; uninstall removed them"

step "install into $tmp/prefix"
prefix="$tmp/prefix"
$MAKE -s install PREFIX="$prefix" > /dev/null
soname=$(readelf -d "$prefix/lib/libfloss.so.$version" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$soname" = "libfloss.so.$major" ] || fail "SONAME is '$soname', not libfloss.so.$major"
[ "$(readlink "$prefix/lib/libfloss.so.$major")" = "libfloss.so.$version" ] || fail "link libfloss.so.$major"
[ "$(readlink "$prefix/lib/libfloss.so")" = "libfloss.so.$major" ] || fail "link libfloss.so"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
[ "$(pkg-config --modversion floss)" = "$version" ] || fail "pkg-config --modversion"
echo "SONAME $soname; links ok; pkg-config: floss $version, Libs.private: $(pkg-config --static --libs-only-l floss | sed 's/-lfloss //')"

step "C consumer with pkg-config (shared)"
mkdir -p "$tmp/pc"
# shellcheck disable=SC2046
$CC -std=c99 -Wall -Wextra -Werror tests/consumers/check.c -o "$tmp/pc/check_shared" \
  $(pkg-config --cflags --libs floss) -lm
readelf -d "$tmp/pc/check_shared" | grep -q "NEEDED.*\[libfloss.so.$major\]" \
  || fail "check_shared does not record libfloss.so.$major"
LD_LIBRARY_PATH="$prefix/lib" "$tmp/pc/check_shared"

step "C consumer with pkg-config --static (libfloss.a)"
# -lfloss would pick libfloss.so; -Wl,-Bstatic makes it libfloss.a, and
# --static adds Libs.private (the system libraries, linked dynamically).
# shellcheck disable=SC2046
$CC -std=c99 -Wall -Wextra -Werror tests/consumers/check.c -o "$tmp/pc/check_static" \
  $(pkg-config --cflags floss) \
  $(pkg-config --static --libs floss | sed 's/-lfloss/-Wl,-Bstatic -lfloss -Wl,-Bdynamic/') -lm
if readelf -d "$tmp/pc/check_static" | grep -q 'NEEDED.*libfloss'; then fail "check_static needs libfloss.so"; fi
"$tmp/pc/check_static"

step "C, C++ and static C consumers with CMake find_package(floss CONFIG REQUIRED)"
cmake_build tests/consumers/find_package "$tmp/find" -DCMAKE_PREFIX_PATH="$prefix"
grep 'floss .* from' "$tmp/find.configure.log"
for p in check_c check_cpp check_c_static; do "$tmp/find/$p"; done

step "move the prefix to $tmp/moved"
mv "$prefix" "$tmp/moved"
for p in "$tmp/pc/check_shared" "$tmp/find/check_c" "$tmp/find/check_cpp"; do
  if "$p" > /dev/null 2>&1; then fail "$p ran without the library (it should not find it)"; fi
  LD_LIBRARY_PATH="$tmp/moved/lib" "$p" > "$tmp/run.log" 2>&1 || { cat "$tmp/run.log"; fail "$p after the move"; }
  echo "$(basename "$p"): fails without LD_LIBRARY_PATH, runs with it: $(tail -n 1 "$tmp/run.log")"
done
"$tmp/pc/check_static" > /dev/null && echo "check_static: runs without the prefix"
cmake_build tests/consumers/find_package "$tmp/find-moved" -DCMAKE_PREFIX_PATH="$tmp/moved"
grep 'floss .* from' "$tmp/find-moved.configure.log"
"$tmp/find-moved/check_c" > /dev/null && echo "find_package from the moved prefix: built and ran"

step "CMake FetchContent of the working tree (builds floss with cargo)"
git ls-files --cached --others --exclude-standard | while read -r f; do [ -e "$f" ] && echo "$f"; done \
  > "$tmp/files"
tar -czf "$tmp/floss-src.tar.gz" --transform 's,^,floss/,' -T "$tmp/files"
cmake_build tests/consumers/fetch_content "$tmp/fetch" -DFLOSS_URL="file://$tmp/floss-src.tar.gz"
for p in check_c check_cpp check_c_static; do "$tmp/fetch/$p"; done
readelf -d "$tmp/fetch/check_c" | grep -q "NEEDED.*\[libfloss.so.$major\]" || fail "fetch check_c NEEDED"

echo
echo "test-install: all passed (make install/uninstall, pkg-config shared and static, find_package C/C++/static, moved prefix, FetchContent)"
