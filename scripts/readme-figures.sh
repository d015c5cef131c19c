#!/usr/bin/env bash
# Regenerates the figures the README shows: `mudsc report` on the shipped scratch pair, two of its PNGs kept in docs/figures/.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
"$root/mudsc" report "$root/checkpoints/fmnist/resnet20_scratch_a.safetensors" "$root/checkpoints/fmnist/resnet20_scratch_b.safetensors" --out-dir "$out"
mkdir -p "$root/docs/figures"
cp "$out/landscape.png" "$root/docs/figures/landscape.png"
cp "$out/similarity/layer1.0.mid.png" "$root/docs/figures/similarity-layer1.0.mid.png"
echo "wrote docs/figures/landscape.png and docs/figures/similarity-layer1.0.mid.png"
