"""The toy Wan's full 3D self-attention already lets frames 1.. read latent frame 0, which Wan 2.2 holds clean (the
edited frame). This probe biases that reading in the edit branch: a logit BIAS added wherever a query of latent
frames 1.. meets a key of latent frame 0 (its attention weights there times e^BIAS), in every block, on every
sampling step; the source branch and the inversion run unchanged. Bias 0 is AnyV2V's.
frame0_bias.py MODEL CLIPS BIAS[,BIAS...]"""

import sys
from contextlib import contextmanager

import torch
from toy_probe import mean_line, probe_row, toy_pipeline

import anyv2v.pipeline
from anyv2v.evaluation.bench import edit_synthetic_clip, scores
from anyv2v.toy.world import EDITS, HELDOUT_SEEDS

model, clips, biases = sys.argv[1], int(sys.argv[2]), [float(b) for b in sys.argv[3].split(",")]
pipe, config = toy_pipeline("wan", model, threads=2)
transformer = pipe.backbone.transformer
_, height, width = transformer.config.patch_size
latent_height, latent_width = pipe.backbone.latent_shape(config.video)[3:]
frame_tokens = (latent_height // height) * (latent_width // width)
sample = anyv2v.pipeline.sample
state = {"bias": 0.0, "source_first": False}


def with_frame_zero_bias(module: torch.nn.Module, args: tuple) -> tuple:
    """attn1(hidden_states, encoder_hidden_states, attention_mask, rotary_emb), with the mask set."""
    hidden = args[0]
    mask = torch.zeros(hidden.shape[0], 1, hidden.shape[1], hidden.shape[1], dtype=hidden.dtype)
    mask[:, :, frame_tokens:, :frame_tokens] = state["bias"]
    if state["source_first"]:
        mask[0] = 0
    return (hidden, args[1], mask, *args[3:])


def biased_sample(denoiser, latents, grid, condition, guidance_scale, **kwargs):
    hooks = [block.attn1.register_forward_pre_hook(with_frame_zero_bias) for block in transformer.blocks]
    injector = kwargs.get("injector")

    if injector is not None:
        at = injector.at

        @contextmanager
        def at_with_source(step, groups):
            state["source_first"] = True
            try:
                with at(step, groups):
                    yield
            finally:
                state["source_first"] = False

        injector.at = at_with_source
    try:
        return sample(denoiser, latents, grid, condition, guidance_scale, **kwargs)
    finally:
        for hook in hooks:
            hook.remove()
        if injector is not None:
            del injector.at


anyv2v.pipeline.sample = biased_sample
for edit in EDITS:
    res = {}
    for seed in HELDOUT_SEEDS[:clips]:
        for bias in biases:
            state["bias"] = bias
            scored = scores(*edit_synthetic_clip(pipe, config, seed, edit, 0), edit, seed)
            res.setdefault(bias, []).append(probe_row(scored))
    for bias in biases:
        print(f"{edit:10s} bias {bias:<4} {mean_line(res[bias])}", flush=True)
