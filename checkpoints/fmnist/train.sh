#!/usr/bin/env bash
# Re-creates the shipped Fashion-MNIST checkpoints with our own `mudsc train` (about 40 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=checkpoints/fmnist
common=(--arch resnet20 --width 1 --embed-dim 64 --embedding-seed 0)

# scratch regime: independent initialisations, one task each
./mudsc train "${common[@]}" --classes 0,2,4,6,8 --seed 1 --epochs 10 --out $out/resnet20_scratch_a.safetensors
./mudsc train "${common[@]}" --classes 1,3,5,7,9 --seed 2 --epochs 10 --out $out/resnet20_scratch_b.safetensors

# pre-trained regime: one model on all classes, then a fine-tuned copy per task
./mudsc train "${common[@]}" --classes all --seed 3 --epochs 6 --out $out/resnet20_pretrained_all.safetensors
./mudsc train --init $out/resnet20_pretrained_all.safetensors --classes 0,2,4,6,8 --seed 4 --epochs 3 --lr 0.01 \
    --out $out/resnet20_pretrained_a.safetensors
./mudsc train --init $out/resnet20_pretrained_all.safetensors --classes 1,3,5,7,9 --seed 5 --epochs 3 --lr 0.01 \
    --out $out/resnet20_pretrained_b.safetensors
