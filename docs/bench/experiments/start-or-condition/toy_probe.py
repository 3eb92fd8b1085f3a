"""What the probes in this folder share: a toy model's pipeline at the toy settings of `fast`, the loop that
scores variants, and hooks that act while the pipeline samples."""

from collections.abc import Callable
from contextlib import contextmanager

import numpy as np
from torch.utils.hooks import RemovableHandle

import anyv2v.pipeline
from anyv2v.backbones import backbone_class
from anyv2v.cli.options import load_pipeline
from anyv2v.config import EditConfig, RuntimeConfig
from anyv2v.evaluation.bench import edit_synthetic_clip, scores
from anyv2v.pipeline import AnyV2VPipeline
from anyv2v.toy.world import EDITS, HELDOUT_SEEDS


def toy_pipeline(backbone: str, model: str, threads: int = 1) -> tuple[AnyV2VPipeline, EditConfig]:
    """The pipeline (no inversion cache, quiet) and `fast` at the toy settings of `backbone`."""
    kind = backbone_class(backbone)
    config = kind.toy_settings(kind.preset("fast"))
    runtime = RuntimeConfig(model=model, backbone=backbone, quiet=True, use_cache=False, threads=threads)
    return load_pipeline(config, runtime), config


def mean_scores(pipe: AnyV2VPipeline, config: EditConfig, edit: str, clips: int) -> str:
    """Frame-0 carried, frames-1.. carried and PSNR of one edit, averaged over the first `clips` held-out clips."""
    rows = []
    for seed in HELDOUT_SEEDS[:clips]:
        scored = scores(*edit_synthetic_clip(pipe, config, seed, edit, 0), edit, seed)
        rows.append(probe_row(scored))
    return mean_line(rows)


def probe_row(scored: dict) -> tuple[float, float, float]:
    """The three of `bench.scores`' metrics every probe prints: frame-0 carried, frames-1.. carried, PSNR."""
    return scored["carried_first"], scored["carried"], scored["psnr"]


def mean_line(rows: list[tuple[float, float, float]]) -> str:
    """(frame-0 carried, frames-1.. carried, PSNR) rows averaged, as every probe here prints them."""
    first, later, psnr = np.array(rows).mean(axis=0)
    return f"frame0 {first:.2f} frames1.. {later:.2f} psnr {psnr:.2f}"


def compare(
    pipe: AnyV2VPipeline,
    config: EditConfig,
    clips: int,
    variants: list,
    use: Callable[[object], None],
    label: Callable[[object], str] = str,
) -> None:
    """Print each edit's `mean_scores` per variant; `use(variant)` sets the variant up."""
    for edit in EDITS:
        for variant in variants:
            use(variant)
            print(f"{edit:10s} {label(variant)} {mean_scores(pipe, config, edit, clips)}", flush=True)


def hook_sampling(install: Callable[[], list[RemovableHandle]], state: dict) -> None:
    """From now on the pipeline samples (but does not invert) with the hooks `install` returns; while the model
    runs, `state["source_first"]` says whether the source branch leads its batch (the injection steps)."""
    sample = anyv2v.pipeline.sample

    def hooked_sample(*args, **kwargs):
        hooks, injector = install(), kwargs.get("injector")
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
            return sample(*args, **kwargs)
        finally:
            for hook in hooks:
                hook.remove()
            if injector is not None:
                del injector.at

    anyv2v.pipeline.sample = hooked_sample
