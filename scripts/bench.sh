#!/usr/bin/env bash
# Run every benchmark in benchmarks/ one after another with the project venv (`make bench`).
# Each script prints its own figures; this prints a header per script, its duration and exit code,
# and goes on after a failing script (the exit code is non-zero if any failed).
#   scripts/bench.sh                   all of them, with their default arguments
#   scripts/bench.sh reconcile dag     only the scripts whose file name contains one of the words
# Benchmarks measure time: run them on a quiet machine (the load average is printed per script).
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
PYTHON=$ROOT/.venv/bin/python

shopt -s nullglob
scripts=(benchmarks/bench_*.py)
if [ "$#" -gt 0 ]; then
  selected=()
  for script in "${scripts[@]}"; do
    for word in "$@"; do
      if [[ "$(basename "$script")" == *"$word"* ]]; then selected+=("$script"); break; fi
    done
  done
  scripts=("${selected[@]}")
fi
if [ "${#scripts[@]}" -eq 0 ]; then echo "no benchmark matches: $*" >&2; exit 1; fi

failed=()
for script in "${scripts[@]}"; do
  echo
  echo "=================================================================================="
  echo "== $script  ($(date -u +%Y-%m-%dT%H:%M:%SZ); $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg))"
  echo "=================================================================================="
  started=$SECONDS
  "$PYTHON" "$script"
  code=$?
  echo "-- $script: exit $code after $((SECONDS - started)) s"
  if [ "$code" -ne 0 ]; then failed+=("$script"); fi
done

echo
if [ "${#failed[@]}" -gt 0 ]; then
  echo "failed: ${failed[*]}" >&2
  exit 1
fi
echo "all ${#scripts[@]} benchmark(s) ran"
