"""Where along the sampling does an edit get lost? The clean video the model predicts at each sampling step,
decoded and scored against the truth.

A model that reads its image condition carries the edit into its prediction from the first step on, and the
sampler keeps it; a model that leans on the inverted source latents instead predicts the source early and
loses the edit, or carries it at first and drifts back. The VAE alone (encode, decode the true edited clip)
bounds every row from above: no model carries more than its VAE decodes.

One more row tells the two apart: the same edit started from the *true edited clip's* inversion instead of
the source's. There the start agrees with the condition, so what is lost there is the model's own fidelity;
what the real output loses beyond it comes from the source's appearance in the inverted latents.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from anyv2v.config import EditConfig
from anyv2v.evaluation.bench import decoded_frames, mean_std, table_head, table_row
from anyv2v.evaluation.metrics import carried
from anyv2v.noise import Prediction
from anyv2v.pipeline import AnyV2VPipeline
from anyv2v.toy.world import EDITS, HELDOUT_SEEDS, World, clip_pair, to_images

VAE_CEILING = "VAE alone (ceiling)"
OUTPUT = "output"
ORACLE_START = "output, started from the truth's inversion"


def trace_carried(
    pipe: AnyV2VPipeline,
    config: EditConfig,
    *,
    clips: int = 20,
    edits: Sequence[str] = EDITS,
    seed: int = 0,
    progress: Callable = lambda items, description: items,
) -> list[dict]:
    """One row per (clip, edit, stage): carried in frame 0 and in frames 1.. of the clean video predicted at
    each sampling step (stage "step N"), of the output, of the output started from the truth's inversion, and
    of the VAE ceiling."""
    video, world = config.video, World.of_model(pipe.model_id)
    rows = []
    for clip_seed, edit in progress([(s, e) for s in HELDOUT_SEEDS[:clips] for e in edits], "trace"):
        source, truth = clip_pair(clip_seed, edit, size=video.height, num_frames=video.num_frames, world=world)
        predicted, output = _predictions_along_sampling(pipe, config, source, truth, seed)
        _, oracle = _predictions_along_sampling(pipe, config, truth, truth, seed)
        truth_latents = pipe.backbone.encode_video(to_images(truth), sample=False, generator=None)
        stages = [*((f"step {position}", latents) for position, latents in predicted), (OUTPUT, output),
                  (ORACLE_START, oracle), (VAE_CEILING, truth_latents)]  # fmt: skip
        for stage, latents in stages:
            frames = decoded_frames(pipe, latents, config)
            rows.append({
                "edit": edit, "clip": clip_seed, "stage": stage,
                "carried_first": carried(frames, source, truth, slice(0, 1)),
                "carried": carried(frames, source, truth, slice(1, None)),
            })  # fmt: skip
    return rows


def _predictions_along_sampling(
    pipe: AnyV2VPipeline, config: EditConfig, start: np.ndarray, truth: np.ndarray, seed: int
) -> tuple[list[tuple[int, torch.Tensor]], torch.Tensor]:
    """The clean latents predicted at each sampling position, and the output latents, of editing `start` (the
    source, or the truth for the oracle) into the truth's first frame."""
    predicted: list[tuple[int, torch.Tensor]] = []

    def keep(position: int, prediction: Prediction) -> None:
        predicted.append((position, prediction.denoised))

    output = pipe.edit(
        to_images(start), to_images(truth)[0], "", config=config, output_type="latent", on_step=keep,
        generator=torch.Generator().manual_seed(seed),
    )  # fmt: skip
    return predicted, output


def trace_table(rows: list[dict], shown: int = 8) -> str:
    """A row per stage (about `shown` of the sampling steps, evenly spread, then the output, the oracle start's
    output and the ceiling), a column pair per edit type: carried in frame 0 / frames 1.., means over the clips."""
    stages = list(dict.fromkeys(r["stage"] for r in rows))
    steps = [s for s in stages if s.startswith("step ")]
    picked = [steps[i] for i in sorted({round(i) for i in np.linspace(0, len(steps) - 1, min(shown, len(steps)))})]
    edits = list(dict.fromkeys(r["edit"] for r in rows))
    lines = table_head(["stage", *[f"{edit}: frame 0 / 1.." for edit in edits]])
    for stage in [*picked, OUTPUT, ORACLE_START, VAE_CEILING]:
        cells = []
        for edit in edits:
            mine = [r for r in rows if r["stage"] == stage and r["edit"] == edit]
            first, later = (mean_std([r[key] for r in mine])[0] for key in ("carried_first", "carried"))
            cells.append(f"{first:.2f} / {later:.2f}")
        lines.append(table_row([stage, *cells]))
    return "\n".join(lines) + "\n"
