#!/bin/bash
# fixed-point inversion on the shipped toy Wan: reconstruction at 25 inversion steps, then edits on 3 clips per edit
cd /work/exp
B=/work/main/.venv/bin/anyv2v
for it in 1 2; do
  echo "25 steps, iterations $it" >> fp_quality.log
  $B bench --backbone wan --quality --clips 4 --threads 1 --no-cache --inversion-steps 25 --inversion-solver fixed-point --inversion-iterations $it 2>&1 | grep -v Loading | tail -3 >> fp_quality.log
done
$B bench --backbone wan --clips 3 --threads 1 --no-cache --quiet -o /work/exp/fp_edit1 --variants 'full AnyV2V' --inversion-solver fixed-point --inversion-iterations 1 > fp_edit1.log 2>&1
$B bench --backbone wan --clips 3 --threads 1 --no-cache --quiet -o /work/exp/fp_edit25 --variants 'full AnyV2V' --inversion-steps 25 --inversion-solver fixed-point --inversion-iterations 1 > fp_edit25.log 2>&1
echo done >> fp_quality.log
