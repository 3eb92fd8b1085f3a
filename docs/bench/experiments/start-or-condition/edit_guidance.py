"""Edit-direction guidance: the negative branch is conditioned on the *source* first frame (its latent and
embedding, the same prompt), so guidance pushes along what the edit changed. edit_guidance.py BACKBONE MODEL
CLIPS SPEC[;SPEC...], SPEC = label:mode:guidance, mode 'default' or 'source'."""

import sys

from toy_probe import mean_scores, toy_pipeline

from anyv2v.backbones import Condition
from anyv2v.evaluation.bench import _sampling
from anyv2v.pipeline import fitted
from anyv2v.toy.world import EDITS

name, model, clips = sys.argv[1], sys.argv[2], int(sys.argv[3])
specs = [s.split(":") for s in sys.argv[4].split(";")]
pipe, config = toy_pipeline(name, model)
state = {}
original_edit, original_condition = pipe.edit, pipe._edit_condition


def edit(source_frames, *args, **kwargs):
    state["source"] = source_frames[0]
    return original_edit(source_frames, *args, **kwargs)


def condition(edited, prompt, negative, cfg, generator, anchor=None):
    if state["mode"] == "default":
        return original_condition(edited, prompt, negative, cfg, generator, anchor)
    backbone = pipe.backbone
    source = backbone.encode_frame(fitted(state["source"], cfg.video), sample=False, generator=generator)
    target = backbone.encode_frame(fitted(edited, cfg.video), sample=False, generator=generator)
    return Condition.cat([backbone.condition(prompt, source, cfg.video), backbone.condition(prompt, target, cfg.video)])


pipe.edit, pipe._edit_condition = edit, condition
for e in EDITS:
    for label, mode, guidance in specs:
        state["mode"] = mode
        cfg = _sampling(config, guidance_scale=float(guidance))
        print(f"{e:10s} {label:12s} {mean_scores(pipe, cfg, e, clips)}", flush=True)
