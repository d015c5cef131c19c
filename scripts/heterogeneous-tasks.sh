#!/usr/bin/env bash
# Trains one task model per task of the suite (independent seeds) into checkpoints/tasks/, then prints the paper's
# heterogeneous table (every pair merged with all seven methods, both representation modes).
# Usage: scripts/heterogeneous-tasks.sh [--retrain]   (about 20 minutes of training when retraining, 10 of merging, on 2 cores)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
./scripts/setup.sh
mudsc() { dotnet "$root/src/MuDSC.Cli/bin/Release/net10.0/mudsc.dll" "$@"; }
out=checkpoints/tasks
mkdir -p "$out"
seed=1
for task in class segment depth normals edges keypoints autoencode denoise; do
    file="$out/$task.safetensors"
    if [ ! -f "$file" ] || [ "${1:-}" = "--retrain" ]; then
        mudsc tasks train --task "$task" --seed "$seed" --epochs 3 --train-images 20000 --out "$file"
    fi
    seed=$((seed + 1))
done
mudsc tasks table "$out" --csv docs/heterogeneous-tasks.csv
