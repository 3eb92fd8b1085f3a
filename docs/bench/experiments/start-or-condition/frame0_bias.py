"""The toy Wan's full 3D self-attention already lets frames 1.. read latent frame 0, which Wan 2.2 holds clean (the
edited frame). This probe biases that reading in the edit branch: a logit BIAS added wherever a query of latent
frames 1.. meets a key of latent frame 0 (its attention weights there times e^BIAS), in every block, on every
sampling step; the source branch and the inversion run unchanged. Bias 0 is AnyV2V's.
frame0_bias.py MODEL CLIPS BIAS[,BIAS...]"""

import sys

import torch
from toy_probe import compare, hook_sampling, toy_pipeline

model, clips, biases = sys.argv[1], int(sys.argv[2]), [float(b) for b in sys.argv[3].split(",")]
pipe, config = toy_pipeline("wan", model, threads=2)
transformer = pipe.backbone.transformer
_, height, width = transformer.config.patch_size
latent_height, latent_width = pipe.backbone.latent_shape(config.video)[3:]
frame_tokens = (latent_height // height) * (latent_width // width)
state = {"bias": 0.0, "source_first": False}


def with_frame_zero_bias(module: torch.nn.Module, args: tuple) -> tuple:
    """attn1(hidden_states, encoder_hidden_states, attention_mask, rotary_emb), with the mask set."""
    hidden = args[0]
    mask = torch.zeros(hidden.shape[0], 1, hidden.shape[1], hidden.shape[1], dtype=hidden.dtype)
    mask[:, :, frame_tokens:, :frame_tokens] = state["bias"]
    if state["source_first"]:
        mask[0] = 0
    return (hidden, args[1], mask, *args[3:])


hook_sampling(lambda: [b.attn1.register_forward_pre_hook(with_frame_zero_bias) for b in transformer.blocks], state)
compare(pipe, config, clips, biases, lambda bias: state.update(bias=bias), lambda b: f"bias {b:<4}")
