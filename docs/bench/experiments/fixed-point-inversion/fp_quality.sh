#!/bin/bash
# reconstruction of the shipped toy Wan with the fixed-point inverter, 4 held-out clips, one thread
cd /work/exp
B=/work/main/.venv/bin/anyv2v
for it in 0 1 2 4; do
  echo "iterations $it" >> fp_quality.log
  $B bench --backbone wan --quality --clips 4 --threads 1 --no-cache --inversion-solver fixed-point --inversion-iterations $it 2>&1 | grep -v Loading | tail -8 >> fp_quality.log
done
echo done >> fp_quality.log
