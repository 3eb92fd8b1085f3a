#!/bin/bash
# One toy-Wan cycle from the shipped toy, as every cycle in README.md ran it: the VAE 1,000 more steps on four whole
# clips and 16 frames a step, then its transformer 1,000 steps on the new latents (the next seed). Each stage
# resumes from its checkpoints when run again (its log is appended to). From the repository root:
#   bash docs/bench/experiments/toy-wan-vae/cycle.sh OUTPUT SEED [DEVICE]
# leaves OUTPUT/vae (the new VAE, with the old transformer), OUTPUT/next (the toy to measure and ship: float16, as
# the package holds it) and each stage's log beside them. STEPS=N shortens both stages (a dry run).
set -euo pipefail
out=$1 seed=$2 device=${3:-cpu} steps=${STEPS:-1000}
read -r -a anyv2v <<< "${ANYV2V:-python3 -m anyv2v.cli}"
train=("${anyv2v[@]}" train-toy --backbone wan --device "$device" --object-radius-min 0.15 --object-radius-max 0.3
       --decoder-steps 0 --compute-dtype float32 --save-dtype float16 --checkpoint-every 200)
mkdir -p "$out"
[[ -f "$out/vae/vae/diffusion_pytorch_model.safetensors" ]] ||
    "${train[@]}" -o "$out/vae" --init src/anyv2v/toy/weights/wan --seed "$seed" --vae-clips 4 \
        --vae-steps "$steps" --unet-steps 0 >> "$out/vae.log" 2>&1
[[ -f "$out/next/transformer/diffusion_pytorch_model.safetensors" ]] ||
    "${train[@]}" -o "$out/next" --init "$out/vae" --seed $((seed + 2)) --vae-steps 0 --unet-steps "$steps" \
        --unet-lr 3e-4 --ema-decay 0.999 >> "$out/transformer.log" 2>&1
tail -n 1 "$out/vae.log" "$out/transformer.log"
