#!/usr/bin/env bash
# The scale table of docs/performance.md: `mudsc bench --scale` for torchvision's resnet50 and ViT-B/16 at 224x224,
# merge sets of 256 and 1,024 images, each in a process of its own (so that each peak of resident memory is that merge's
# alone, not raised by an earlier one). Not in CI: about an hour on 2 cores. Usage: scripts/scale-bench.sh [METHOD]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
method="${1:-zipit}"
for arch in torchvision/resnet50 torchvision/vit_b_16; do
    for images in 256 1024; do
        "$root/mudsc" bench --scale --archs "$arch" --merge-sets "$images" --method "$method"
    done
done
