#!/bin/bash
# the toy I2VGen-XL: full AnyV2V on 3 clips per edit, its preset against fixed-point inversion on the 25-step sampling grid
cd /work/exp
B=/work/main/.venv/bin/anyv2v
$B bench --clips 3 --threads 1 --no-cache --quiet -o /work/exp/i2v_preset --variants 'full AnyV2V' > i2v_preset.log 2>&1
$B bench --clips 3 --threads 1 --no-cache --quiet -o /work/exp/i2v_fp25 --variants 'full AnyV2V' --inversion-steps 25 --inversion-solver fixed-point --inversion-iterations 1 > i2v_fp25.log 2>&1
$B bench --quality --clips 20 --threads 1 --no-cache --inversion-steps 25 --inversion-solver fixed-point --inversion-iterations 1 2>&1 | grep PSNR | sed 's/.*\r//' > i2v_fp25_quality.txt
echo done > fp_i2v_edit.done
