#!/bin/bash
# the toy SVD: full AnyV2V on 3 clips per edit, its preset (second order, 25 steps) against fixed-point (25 steps, 1 iteration)
cd /work/exp
B=/work/main/.venv/bin/anyv2v
$B bench --backbone svd --clips 3 --threads 1 --no-cache --quiet -o /work/exp/svd_preset --variants 'full AnyV2V' > svd_preset.log 2>&1
$B bench --backbone svd --clips 3 --threads 1 --no-cache --quiet -o /work/exp/svd_fp25 --variants 'full AnyV2V' --inversion-solver fixed-point --inversion-iterations 1 > svd_fp25.log 2>&1
echo done > fp_svd_edit.done
