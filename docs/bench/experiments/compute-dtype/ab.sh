# A/B of --compute-dtype from the continuation's step-200 checkpoint: 40 steps each, per-step losses
set -e
cd /work/exp
A=/work/main/.venv/bin/anyv2v
for d in float32 bfloat16; do
  rm -rf ab-$d ab-$d.checkpoints; mkdir ab-$d.checkpoints; cp wan22c.checkpoints/vae.pt ab-$d.checkpoints/
  start=$(date +%s)
  timeout 900 $A train-toy --backbone wan -o ab-$d --init /work/main/src/anyv2v/toy/weights/wan --seed 1 \
    --object-radius-min 0.15 --object-radius-max 0.3 --vae-steps 1600 --unet-steps 0 --decoder-steps 0 \
    --checkpoint-every 200 --log-every 1 --compute-dtype $d 2>&1 | tr '\r' '\n' | grep --line-buffered "vae step" | head -41 > ab-$d.log || true
  echo "$d $(( $(date +%s) - start )) s" >> ab-times.txt
done
