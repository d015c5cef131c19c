#!/usr/bin/env bash
# Trains one task model per task of the suite into checkpoints/tasks/ (the shipped set), and with --sets N the sets 2..N
# into checkpoints/tasks-set2/ ... (independent seeds: set k's i-th task is seed 8(k-1)+i), then prints the paper's
# heterogeneous table over every set (every pair of a set merged with all seven methods, every representation mode;
# with several sets each cell is the mean ± sd over them, and each MuDSC method is compared with the best of its family).
# Usage: scripts/heterogeneous-tasks.sh [--retrain] [--sets N]
# About 75 s of training per model on 2 cores; the table about 20 minutes per set (588 merges).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
retrain=0 sets=1
while [ $# -gt 0 ]; do
    case "$1" in
        --retrain) retrain=1 ;;
        --sets) sets="$2"; shift ;;
        *) echo "usage: $0 [--retrain] [--sets N]" >&2; exit 2 ;;
    esac
    shift
done
./scripts/setup.sh
mudsc() { dotnet "$root/src/MuDSC.Cli/bin/Release/net10.0/mudsc.dll" "$@"; }
folders=()
for set in $(seq 1 "$sets"); do
    out=checkpoints/tasks
    [ "$set" -gt 1 ] && out="checkpoints/tasks-set$set"
    mkdir -p "$out"
    folders+=("$out")
    seed=$((8 * (set - 1) + 1))
    for task in class segment depth normals edges keypoints autoencode denoise; do
        file="$out/$task.safetensors"
        if [ ! -f "$file" ] || [ "$retrain" -eq 1 ]; then
            mudsc tasks train --task "$task" --seed "$seed" --epochs 3 --train-images 20000 --out "$file" --force
        fi
        seed=$((seed + 1))
    done
done
mudsc tasks table "${folders[@]}" --csv docs/heterogeneous-tasks.csv --force
