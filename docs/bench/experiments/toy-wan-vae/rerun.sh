#!/bin/bash
# Every Wan table that depends on the shipped toy, rerun from the package (run from the repository root after
# copying a new toy into src/anyv2v/toy/weights/wan). About 23 minutes on a 2-core CPU (19 on 2026-12-07 before
# fine and toy-guided joined; 31 on 2026-12-08, the 20-clip benches about 7 minutes each); one job at a time.
set -euo pipefail
A="${ANYV2V:-.venv/bin/anyv2v}"
W=docs/bench/wan
run() { echo "== $*"; "$A" bench --backbone wan --threads 2 --no-cache --quiet "$@"; }
run --clips 20 -o $W/main --variants 'full AnyV2V'
"$A" bench --side-by-side i2vgen-xl=docs/bench/main svd=docs/bench/svd/main wan=$W/main -o $W/side-by-side
run --clips 3 -o $W/ablations --variants 'full AnyV2V' 'inversion, no injection' 'noise start, injection' \
    'full - attention' 'full - hidden'
run --clips 3 -o $W/sweep-endpoint --variants 'full AnyV2V' 'attention only, blocks 0%-50%, 1.0' \
    'attention only, blocks 0%-100%, 0.5' 'attention only, blocks 0%-100%, 1.0' 'inversion, no injection'
run --clips 20 -o $W/sweep-endpoint-20 --variants 'attention only, blocks 0%-100%, 1.0'
run --clips 3 --preset fine -o $W/fine --variants 'full AnyV2V'
run --clips 3 --guidance-scale 3 -o $W/toy-guided --variants 'full AnyV2V'
run --trace --clips 3 -o $W/trace
echo "== quality (append to $W/quality/quality-20-clips.txt by hand)"; run --quality --clips 20
echo "== ceiling (append to docs/bench/experiments/toy-wan-vae/ceiling-wan.txt by hand)"
.venv/bin/python docs/bench/experiments/toy-svd-vae/ceiling.py src/anyv2v/toy/weights/wan wan 2 20
mkdir -p /tmp/wan-demo && "$A" demo --backbone wan -o /tmp/wan-demo/anyv2v-demo.mp4
cp /tmp/wan-demo/anyv2v-demo.preview.png /tmp/wan-demo/anyv2v-demo.preview.gif docs/toy/wan/
