#!/bin/bash
# Run THERE (the device tool's `run`, from the repository root, `carry: [".whl"]` after prepare.sh):
#   bash docs/bench/full-size/device/run.sh compile:300 wan-bf16:280
# Each STAGE:SECONDS runs one `anyv2v bench --speed --full-size` under that time limit and leaves its report in
# $OUT as STAGE.md and STAGE.json, the whole output in $OUT/log.txt. A session has 15 minutes of device time,
# the machine's start included, and 10 a call: two stages of about five minutes fit one call. The stage toy-wan
# instead trains the next toy-Wan cycle (docs/bench/experiments/toy-wan-vae/cycle.sh, seed $TOY_SEED, default 72,
# from the shipped toy: ship the toy-wan-vae folder's candidate first, if one waits there) and leaves the new toy
# and its logs in $OUT/toy-wan.tar (11 MB): the last use for spare device time. STEPS=2 TOY_DEVICE=cpu make it a dry
# run of a minute (checked here with the wheel install and nvidia-smi lines removed).
# Inductor's cache lives in /tmp/anyv2v-inductor, so a compile stage cut off by its limit leaves its work for the
# next call on the same warm machine (a machine is given back 30 s after a call: call again at once).
set -uo pipefail
OUT="${OUT:-/tmp/anyv2v-device-out}"
mkdir -p "$OUT"
exec > >(tee -a "$OUT/log.txt") 2>&1
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    || { echo "no wheels in .whl/: run docs/bench/full-size/device/prepare.sh here and carry .whl"; exit 1; }
mkdir -p /tmp/stub/av && touch /tmp/stub/av/__init__.py /tmp/stub/av/error.py  # imported, never used here
export PYTHONPATH="$PWD/src:/tmp/site:/tmp/stub" PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=/tmp/anyv2v-inductor
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
python3 -c "import torch, diffusers, transformers; print(torch.__version__, diffusers.__version__, transformers.__version__)"

bench="python3 -m anyv2v.cli bench --speed fast --full-size --device cuda --quiet"
declare -A STAGES=(
    [compile]="--setups plain compile"                      # issue 19: the compiled UNet against eager
    [mem8]="--offload --memory-limit 8 --decode-chunk-size 1 --feed-forward-chunks 4"  # issue 19: an 8 GiB card
    [svd]="--backbone svd"                                  # SVD-XT, 25x1024x576, fp16
    [wan-bf16]="--backbone wan --dtype bfloat16"            # Wan 2.2 TI2V-5B, 121x1280x704
    [wan-bf16-offload]="--backbone wan --dtype bfloat16 --offload"
)
toy_wan() {  # toy_wan SECONDS
    local work=/tmp/anyv2v-toy-wan
    timeout --signal=INT --kill-after=20 "$1" bash docs/bench/experiments/toy-wan-vae/cycle.sh "$work" \
        "${TOY_SEED:-72}" "${TOY_DEVICE:-cuda}"
    echo "rc $? after $((SECONDS - start)) s"
    [[ -d "$work/next" ]] || echo "toy-wan: not finished; call again on the warm machine (its stages resume)"
    local done=()
    for part in next vae.log transformer.log; do [[ -e "$work/$part" ]] && done+=("$part"); done
    (( ${#done[@]} )) && tar -cf "$OUT/toy-wan.tar" -C "$work" "${done[@]}"
}

start=$SECONDS
for spec in "$@"; do
    stage=${spec%%:*} limit=${spec#*:}
    [[ ( -n "${STAGES[$stage]:-}" || "$stage" == toy-wan ) && "$limit" =~ ^[0-9]+$ ]] \
        || { echo "unknown stage '$spec': use NAME:SECONDS, NAME one of ${!STAGES[*]} toy-wan"; exit 2; }
    if [[ "$stage" == toy-wan ]]; then
        echo "=== toy-wan: one toy-Wan cycle on the GPU (limit ${limit} s, $((SECONDS - start)) s in)"
        toy_wan "$limit"
        continue
    fi
    echo "=== $stage: $bench ${STAGES[$stage]} (limit ${limit} s, $((SECONDS - start)) s in)"
    timeout --signal=INT --kill-after=20 "$limit" $bench ${STAGES[$stage]} -o "/tmp/anyv2v-$stage"
    echo "rc $? after $((SECONDS - start)) s"
    for f in speed.md speed.json; do
        [[ -f "/tmp/anyv2v-$stage/$f" ]] && cp "/tmp/anyv2v-$stage/$f" "$OUT/$stage.${f#speed.}"
    done
done
echo "=== done $((SECONDS - start)) s in"
