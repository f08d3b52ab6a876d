#!/bin/sh
# API hygiene (make test-symbols): the shared library exports exactly the
# symbols listed in include/floss.symbols, that list is exactly the functions
# declared in include/floss.h, and CHANGELOG.md names each of them (the
# version that added it).
# Usage: sh tests/symbols.sh target/release/libfloss.so
set -eu
lib=${1:?usage: symbols.sh path/to/libfloss.so}
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

nm -D --defined-only "$lib" | awk '{print $3}' | sort > "$tmp/exported"
grep -v '^#' include/floss.symbols | sed '/^$/d' | sort > "$tmp/listed"
sed -n 's/^[A-Za-z].*[ *]\(floss_[a-z0-9_]*\)(.*/\1/p' include/floss.h | sort > "$tmp/declared"

status=0
if ! diff -u "$tmp/listed" "$tmp/exported" > "$tmp/diff1"; then
  echo "exported symbols of $lib differ from include/floss.symbols (- listed, + exported):"
  cat "$tmp/diff1"; status=1
fi
if ! diff -u "$tmp/listed" "$tmp/declared" > "$tmp/diff2"; then
  echo "functions of include/floss.h differ from include/floss.symbols (- listed, + declared):"
  cat "$tmp/diff2"; status=1
fi
while read -r sym; do
  # `name` or `name(...)`
  grep -Eq "\`$sym(\`|\()" CHANGELOG.md || { echo "CHANGELOG.md does not name \`$sym\`"; status=1; }
done < "$tmp/listed"
[ "$status" -eq 0 ] && echo "symbols: $(wc -l < "$tmp/listed") exported = include/floss.symbols = floss.h functions, all in CHANGELOG.md"
exit "$status"
