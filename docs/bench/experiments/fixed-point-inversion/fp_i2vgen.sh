#!/bin/bash
# fixed-point inversion on the shipped toy I2VGen-XL and SVD: reconstruction on 4 held-out clips, one thread
cd /work/exp
while pgrep -f fp_bench.sh > /dev/null; do sleep 10; done
B=/work/main/.venv/bin/anyv2v
for bb in i2vgen-xl svd; do
  echo "$bb preset" >> fp_i2vgen.log
  $B bench --backbone $bb --quality --clips 4 --threads 1 --no-cache 2>&1 | grep -v Loading | tail -3 >> fp_i2vgen.log
  for it in 1 2; do
    echo "$bb fixed-point $it" >> fp_i2vgen.log
    $B bench --backbone $bb --quality --clips 4 --threads 1 --no-cache --inversion-solver fixed-point --inversion-iterations $it 2>&1 | grep -v Loading | tail -3 >> fp_i2vgen.log
  done
done
echo done >> fp_i2vgen.log
