#!/usr/bin/env bash
# Runs each stage of `make test` (make targets, in order) with its wall time,
# continues past a failing stage, prints a summary table and exits non-zero
# if any stage failed, after the last lines of each failed stage (a CI log
# may be read from its end only).
#
# Usage: tests/run_stages.sh MAKE STAGE...   (the Makefile's `test` target)
set -u
make_cmd=$1
shift
names=()
times=()
results=()
failed=0
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
total_start=$(date +%s)
for stage in "$@"; do
  echo
  echo "=================== $stage"
  start=$(date +%s)
  $make_cmd --no-print-directory "$stage" 2>&1 | tee "$logs/$stage"
  if [ "${PIPESTATUS[0]}" -eq 0 ]; then
    result=passed
  else
    result=FAILED
    failed=$((failed + 1))
  fi
  end=$(date +%s)
  names+=("$stage")
  times+=($((end - start)))
  results+=("$result")
  echo "=================== $stage: $result in $((end - start)) s"
done
total=$(($(date +%s) - total_start))
echo
echo "make test: stage wall times"
printf '  %-20s %8s  %s\n' stage seconds result
for i in "${!names[@]}"; do
  printf '  %-20s %8d  %s\n' "${names[$i]}" "${times[$i]}" "${results[$i]}"
done
printf '  %-20s %8d\n' total "$total"
if [ "$failed" -gt 0 ]; then
  for i in "${!names[@]}"; do
    if [ "${results[$i]}" = FAILED ]; then
      echo
      echo "make test: the last lines of ${names[$i]}:"
      tail -n 12 "$logs/${names[$i]}"
    fi
  done
  echo "make test: $failed of ${#names[@]} stages FAILED"
  exit 1
fi
echo "make test: all ${#names[@]} stages passed"
