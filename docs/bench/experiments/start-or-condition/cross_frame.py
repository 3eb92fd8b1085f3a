"""Cross-frame attention to frame 0 while sampling: each frame's spatial self-attention in the edit (and negative)
branch also attends to its branch's frame 0 ("ext": keys and values of [own frame, frame 0]) or only to it
("first"), as Text2Video-Zero and Pix2Video do, so that frame 0's edited look can reach the places of frames 1..
that the queries match. On injection steps the queries and keys are the source branch's, so the match is the
source's own correspondence while the values carry the edit. The source branch and the inversion run unchanged.
cross_frame.py MODEL CLIPS VARIANT[,VARIANT...] [LAYERS] (toy I2VGen-XL; LAYERS a module-name regex, default every
spatial self-attention; "none" is AnyV2V's)"""

import re
import sys

import torch
from toy_probe import compare, hook_sampling, toy_pipeline

model, clips, variants = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(",")
layers = re.compile(sys.argv[4] if len(sys.argv) > 4 else r".*\.attentions\.\d+\.transformer_blocks\.\d+\.attn1")
pipe, config = toy_pipeline("i2vgen-xl", model)
frames = pipe.backbone.latent_shape(config.video)[2]
state = {"variant": "none", "source_first": False}


def with_frame_zero(module: torch.nn.Module, inputs: tuple, output: torch.Tensor) -> torch.Tensor | None:
    """(groups * F, N, C) keys or values -> frame 0's appended (or alone); the source group keeps its own twice,
    which leaves its attention as it was."""
    if state["variant"] == "none":
        return None
    grouped = output.unflatten(0, (-1, frames))
    zero = grouped[:, :1].expand_as(grouped)
    own = grouped if state["variant"] == "ext" else zero
    added = torch.cat([own, zero], dim=2)
    if state["source_first"]:
        added[0] = torch.cat([grouped[0], grouped[0]], dim=1)
    return added.flatten(0, 1)


def install() -> list:
    """Installed once the pipeline's injection hooks are, so these see the injected keys."""
    sites = [m for name, m in pipe.backbone.unet.named_modules() if layers.fullmatch(name)]
    return [getattr(m, p).register_forward_hook(with_frame_zero) for m in sites for p in ("to_k", "to_v")]


hook_sampling(install, state)
compare(pipe, config, clips, variants, lambda variant: state.update(variant=variant), lambda v: f"{v:6s}")
