#!/usr/bin/env bash
# Runs the libFuzzer targets of a RAM_FUZZ build (scripts/sanitize.sh makes one) for SECONDS
# each, starting from the seed corpus in fuzz/corpus/<target minus _fuzzer>/. New inputs go to
# <build>/fuzz-corpus/, findings (crash-*, leak-*, timeout-*) to <build>/fuzz-findings/; any
# finding fails the script. Prints each target's executions and coverage.
# Usage: bash scripts/fuzz.sh [SECONDS] [TARGET...]   e.g. bash scripts/fuzz.sh 1800 idx_fuzzer
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${RAM_BUILD_DIR:-$ROOT/build-sanitize}"
SECONDS_EACH="${1:-30}"
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(idx_fuzzer checkpoint_fuzzer flags_fuzzer)

status=0
for target in "${TARGETS[@]}"; do
  binary="$BUILD_DIR/fuzz/$target"
  [ -x "$binary" ] || { echo "fuzz: $binary is missing (build with -DRAM_FUZZ=ON)"; exit 1; }
  seeds="$ROOT/fuzz/corpus/${target%_fuzzer}"
  corpus="$BUILD_DIR/fuzz-corpus/$target"
  findings="$BUILD_DIR/fuzz-findings/$target/"
  mkdir -p "$corpus" "$findings"
  log="$BUILD_DIR/fuzz-$target.log"
  echo "fuzz: $target for $SECONDS_EACH s (log $log)"
  # close_fd_mask=3 silences the target's own output (ram's error lines); libFuzzer keeps its.
  if "$binary" -max_total_time="$SECONDS_EACH" -close_fd_mask=3 -timeout=10 -rss_limit_mb=4096 \
      -print_final_stats=1 -artifact_prefix="$findings" "$corpus" "$seeds" >"$log" 2>&1; then
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$log" | tr '\n' ' '
    grep -oE "cov: [0-9]+ ft: [0-9]+" "$log" | tail -n 1
  else
    echo "fuzz: $target FOUND A PROBLEM; the log ends:"
    tail -n 40 "$log"
    status=1
  fi
done
exit $status
