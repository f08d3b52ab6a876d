#!/usr/bin/env bash
# Prints, in a few lines, what it takes to reproduce a fuzz crash on another
# machine: the CPU's widest SIMD level, the environment of the run, the
# failure's first lines and each crash input in base64 (a CI machine and its
# fuzz/artifacts are gone once the run ends).
#
# Usage: fuzz/crash_digest.sh TARGET LOG   (the Makefile's fuzz target)
set -u
target=$1
log=$2
cpu=$(grep -o -m1 -w -E 'avx512f|avx2' /proc/cpuinfo | head -n 1)
echo "fuzz crash digest: target $target, CPU ${cpu:-without avx2}, FLOSS_ENGINE=${FLOSS_ENGINE:-} FLOSS_SIMD=${FLOSS_SIMD:-}, $(rustc +nightly --version 2>/dev/null)"
# (A panic's message is on the lines after "panicked at".)
grep -a -A 2 "panicked at" "$log" | head -n 3 | cut -c 1-900
grep -a -E "==ERROR|SUMMARY|deadly signal" "$log" | head -n 3 | cut -c 1-900
for input in fuzz/artifacts/"$target"/*; do
  [ -f "$input" ] || continue
  echo "input $(basename "$input") ($(stat -c %s "$input") bytes), base64: $(base64 -w 0 "$input")"
done
echo "reproduce: base64 -d > crash <<< '<base64>'; FLOSS_FUZZ_TRACE=1 FLOSS_ENGINE=${FLOSS_ENGINE:-} FLOSS_SIMD=${FLOSS_SIMD:-} cargo +nightly fuzz run $target crash"
