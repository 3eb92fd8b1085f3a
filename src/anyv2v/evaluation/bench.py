"""Does each part of AnyV2V earn its place? Ablations scored against the synthetic world's exact edits.

For each held-out clip and edit type, the ground-truth twin's first frame plays a perfect image editor, and
every variant's output is compared with the twin itself, beside three baselines that a score must beat to mean
anything: the source unchanged, the first frame's edit pasted onto every frame, and plain I2V from the edited
frame. Inversions are shared through the cache: all variants and edit types of one clip invert the same
source once.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import numpy as np
import torch

from anyv2v.backbones import Backbone
from anyv2v.backbones.wan import BLOCK_OPTIONS as WAN_BLOCK_OPTIONS
from anyv2v.config import EditConfig
from anyv2v.errors import AnyV2VError
from anyv2v.evaluation.metrics import carried, psnr, ssim, temporal_error
from anyv2v.evaluation.motion import motion_alignment, warp_errors
from anyv2v.pipeline import AnyV2VPipeline
from anyv2v.runtime import atomic_output
from anyv2v.toy.world import EDITS, HELDOUT_SEEDS, World, clip_pair, to_images

Variant = Callable[[EditConfig], EditConfig]
METRICS = ("psnr", "carried", "carried_first", "ssim", "temporal_error", "motion_error", "warp_error")
METRIC_TITLES = {
    "psnr": "PSNR (dB)",
    "carried": "carried, frames 1.. (1: the whole edit, 0: none of it)",
    "carried_first": "carried, frame 0",
    "ssim": "SSIM",
    "temporal_error": "temporal error (lower is better)",
    "motion_error": "motion error vs source, px (weight-free, as anyv2v eval; lower is better)",
    "warp_error": "warp error (weight-free, as anyv2v eval; lower is better)",
}
METRIC_DIGITS = {"psnr": 2, "carried": 2, "carried_first": 2, "ssim": 3, "temporal_error": 4, "motion_error": 3,
                 "warp_error": 4}  # fmt: skip


def _injection(config: EditConfig, sites: dict[str, tuple[str, ...]] | None = None, **fractions: float) -> EditConfig:
    injection = config.injection
    changed = dataclasses.replace(
        injection, fractions={**injection.fractions, **fractions}, sites={**injection.sites, **(sites or {})}
    )
    return dataclasses.replace(config, injection=changed)


def _sampling(config: EditConfig, **fields: object) -> EditConfig:
    return dataclasses.replace(config, sampling=dataclasses.replace(config.sampling, **fields))


def _no_injection(config: EditConfig) -> EditConfig:
    return dataclasses.replace(config, injection=dataclasses.replace(config.injection, enabled=False))


def plain_i2v(config: EditConfig) -> EditConfig:
    """Image-to-video from the edited frame alone: noise start, no injection."""
    return _no_injection(_sampling(config, init="noise"))


def paste_first_frame_edit(source: np.ndarray, edited_first: np.ndarray) -> np.ndarray:
    """Every frame plus the first frame's per-pixel edit: right wherever nothing moves."""
    difference = edited_first.astype(np.int16) - source[0].astype(np.int16)
    return np.clip(source.astype(np.int16) + difference, 0, 255).astype(np.uint8)


# Outputs a method must beat, from (source, ground truth) of a clip; plain I2V is a pipeline run, below.
TRIVIAL_BASELINES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "baseline: copy the source": lambda source, truth: source,
    "baseline: paste the first frame's edit": lambda source, truth: paste_first_frame_edit(source, truth[0]),
}
PLAIN_I2V_BASELINE = "baseline: plain I2V from the edited frame"
BASELINES = (*TRIVIAL_BASELINES, PLAIN_I2V_BASELINE)


def _options(config: EditConfig, **options: object) -> EditConfig:
    return dataclasses.replace(config, backbone={**config.backbone, **options})


def _wan_sweep() -> dict[str, Variant]:
    """Which blocks and fractions Wan's two injection kinds want: each kind alone (the other off), at shares of
    the depth that fit any depth, so the toy's sweep chooses defaults that mean the same on the real models."""
    choices = {
        "attention": [
            (f"blocks {blocks}", blocks, f)
            for blocks in ("0%-50%", "50%-100%", "0%-100%")
            for f in (0.2, 0.5, 0.8, 1.0)
        ],
        "hidden": [(f"block {block}", block, f) for block in ("25%", "50%", "75%") for f in (0.2, 0.5)],
    }
    return {
        f"{kind} only, {label}, {fraction}": partial(_wan_kind_alone, kind, blocks, fraction)
        for kind, swept in choices.items()
        for label, blocks, fraction in swept
    }


def _wan_kind_alone(kind: str, blocks: str, fraction: float, config: EditConfig) -> EditConfig:
    others = {other: 0.0 for other in WAN_BLOCK_OPTIONS if other != kind}
    return _options(_injection(config, **{kind: fraction}, **others), **{WAN_BLOCK_OPTIONS[kind]: blocks})


# Ablations that only make sense on one backbone's architecture, beside the ones every backbone gets.
BACKBONE_VARIANTS: dict[str, dict[str, Variant]] = {
    "i2vgen-xl": {
        "temporal 0.2": lambda c: _injection(c, temporal_attention=0.2),
        "temporal 0.8": lambda c: _injection(c, temporal_attention=0.8),
        # conv2 of every ResNet of up blocks 1-3, not just the paper's one
        "conv at every decoder ResNet, 0.5": lambda c: _injection(
            c, sites={"conv": ("up_blocks.[123].resnets.*.conv2",)}, conv=0.5
        ),
    },
    "wan": _wan_sweep(),
}


def variants(backbone: type[Backbone]) -> dict[str, Variant]:
    """The ablations for a backbone: each derived from its injection kinds, then its own extras."""
    kinds = backbone.injection_kinds
    return {
        "full AnyV2V": lambda c: c,
        "full AnyV2V, first frame given": lambda c: _sampling(c, first_frame="given"),
        "noise start, injection": lambda c: _sampling(c, init="noise"),
        "inversion, no injection": _no_injection,
        **{f"full - {name}": _without(name) for name in kinds},
        **BACKBONE_VARIANTS.get(backbone.name, {}),
        "every kind, every step": lambda c: _injection(c, **dict.fromkeys(kinds, 1.0)),
    }


def _without(kind: str) -> Variant:
    return lambda config: _injection(config, **{kind: 0.0})


def run_bench(
    pipe: AnyV2VPipeline,
    config: EditConfig,
    *,
    clips: int = 20,
    edits: Sequence[str] = EDITS,
    variant_names: Sequence[str] | None = None,
    seed: int = 0,
    progress: Callable = lambda items, description: items,
) -> list[dict]:
    """One row per (baseline or variant, edit, clip) with its metrics against the ground truth; the variants
    are the backbone's (`variants`), all of them unless named."""
    ablations = variants(type(pipe.backbone))
    names = list(ablations) if variant_names is None else list(variant_names)
    unknown = [name for name in names if name not in ablations]
    if unknown:
        raise AnyV2VError(f"unknown bench variant {unknown[0]!r}: use one of {', '.join(map(repr, ablations))}")
    jobs = [(s, e) for s in HELDOUT_SEEDS[:clips] for e in edits]
    rows = []
    for clip_seed, edit in progress(jobs, "bench"):
        rows += baseline_rows(pipe, config, clip_seed, edit, seed)
        for variant in names:
            result, source, truth = edit_synthetic_clip(pipe, ablations[variant](config), clip_seed, edit, seed)
            rows.append({"variant": variant, **bench_scores(result, source, truth, edit, clip_seed), **_items(pipe)})
    return rows


def baseline_rows(pipe: AnyV2VPipeline, config: EditConfig, clip_seed: int, edit: str, seed: int) -> list[dict]:
    """The three baselines' rows for one clip and edit."""
    result, source, truth = edit_synthetic_clip(pipe, plain_i2v(config), clip_seed, edit, seed)
    plain = {"variant": PLAIN_I2V_BASELINE, **bench_scores(result, source, truth, edit, clip_seed), **_items(pipe)}
    trivial = [
        {
            "variant": name,
            **bench_scores(baseline(source, truth), source, truth, edit, clip_seed),
            "unet_batch_items": 0,
        }
        for name, baseline in TRIVIAL_BASELINES.items()
    ]
    return [*trivial, plain]


def scores(result: np.ndarray, source: np.ndarray, truth: np.ndarray, edit: str, clip_seed: int) -> dict:
    """Every metric of one output against its ground truth."""
    return {
        "edit": edit,
        "clip": clip_seed,
        "psnr": psnr(result, truth),
        "ssim": ssim(result, truth),
        "carried": carried(result, source, truth, slice(1, None)),
        "carried_first": carried(result, source, truth, slice(0, 1)),
        "temporal_error": temporal_error(result, truth),
    }


def bench_scores(result: np.ndarray, source: np.ndarray, truth: np.ndarray, edit: str, clip_seed: int) -> dict:
    """The ground-truth metrics and, beside them, what `anyv2v eval` measures without a truth or weights: does
    that agree with the truth on which variant is better?"""
    return {
        **scores(result, source, truth, edit, clip_seed),
        "motion_error": float(np.mean(motion_alignment(result, source))),
        "warp_error": float(np.nanmean(warp_errors(result))),
    }


def _items(pipe: AnyV2VPipeline) -> dict:
    return {"unet_batch_items": pipe.stats.unet_batch_items}


def edit_synthetic_clip(
    pipe: AnyV2VPipeline, config: EditConfig, clip_seed: int, edit: str, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """AnyV2V's uint8 output for one clip and edit (its twin's first frame as the edited frame), the source and
    the twin."""
    video = config.video
    world = World.of_model(pipe.model_id)
    source, truth = clip_pair(clip_seed, edit, size=video.height, num_frames=video.num_frames, world=world)
    generator = torch.Generator().manual_seed(seed)
    output = pipe.edit(to_images(source), to_images(truth)[0], "", config=config, generator=generator, output_type="np")
    return (output * 255).round().astype(np.uint8), source, truth


def model_quality(pipe: AnyV2VPipeline, config: EditConfig, *, clips: int = 20, progress=lambda x, d: x) -> dict:
    """The toy model's quality bars on held-out clips, each as [mean, std] PSNR in dB.

    - vae: encode then decode each clip;
    - i2v: plain image-to-video from the true first frame (noise start, no injection) against the clip;
    - reconstruction: DDIM inversion, then sampling back over the same timesteps with the inversion's own
      conditions and no edit.
    """
    video = config.video
    steps = config.inversion.steps  # sampling retraces the inversion's own timesteps
    reconstruct = _no_injection(_sampling(config, guidance_scale=1.0, start_step=0, steps=steps))
    world = World.of_model(pipe.model_id)
    scores: dict[str, list[float]] = {"vae": [], "i2v": [], "reconstruction": []}
    for clip_seed in progress(list(HELDOUT_SEEDS[:clips]), "quality"):
        source = clip_pair(clip_seed, EDITS[0], size=video.height, num_frames=video.num_frames, world=world)[0]
        frames = to_images(source)
        latents = pipe.backbone.encode_video(frames, sample=False, generator=None)
        scores["vae"].append(psnr(decoded_frames(pipe, latents, config), source))
        for name, variant in (("i2v", plain_i2v(config)), ("reconstruction", reconstruct)):
            generator = torch.Generator().manual_seed(clip_seed)
            output = pipe.edit(frames, frames[0], "", config=variant, generator=generator, output_type="np")
            scores[name].append(psnr((output * 255).round().astype(np.uint8), source))
    return {name: [float(np.mean(values)), float(np.std(values))] for name, values in scores.items()}


def decoded_frames(pipe: AnyV2VPipeline, latents: torch.Tensor, config: EditConfig) -> np.ndarray:
    """Latents decoded to uint8 frames (frames, height, width, 3), as the outputs are scored."""
    frames = pipe.backbone.decode_video(latents, config.vae.decode_chunk_size, lambda items, description: items)
    return (frames.float().cpu().numpy() * 255).round().astype(np.uint8)


def summarize(rows: list[dict]) -> dict[str, dict[str, dict[str, list[float]]]]:
    """{variant: {edit or "all": {metric: [mean, std]}}}; NaN scores (an edit invisible in a frame) are left out."""
    summary: dict = {}
    for variant in dict.fromkeys(r["variant"] for r in rows):
        mine = [r for r in rows if r["variant"] == variant]
        groups = {edit: [r for r in mine if r["edit"] == edit] for edit in dict.fromkeys(r["edit"] for r in mine)}
        groups["all"] = mine
        summary[variant] = {
            group: {metric: mean_std([r[metric] for r in members]) for metric in METRICS}
            for group, members in groups.items()
        }
    return summary


def mean_std(values: list[float]) -> list[float]:
    finite = [v for v in values if not math.isnan(v)]
    return [float(np.mean(finite)), float(np.std(finite))] if finite else [math.nan, math.nan]


def markdown_table(summary: dict) -> str:
    """One table per metric: a row per baseline or variant, a column per edit type and all, as mean ± std."""
    groups = list(next(iter(summary.values())))
    sections = []
    for metric in METRICS:
        header = ["variant", *groups]
        lines = [f"**{METRIC_TITLES[metric]}**", "", *table_head(header)]
        for variant, scored in summary.items():
            cells = [plus_minus(scored[g][metric], METRIC_DIGITS[metric]) for g in groups]
            lines.append(table_row([variant, *cells]))
        sections.append("\n".join(lines))
    return "\n\n".join(sections) + "\n"


WEIGHT_FREE = ("motion_error", "warp_error")  # what eval measures without a truth; lower is better


def agreement_table(summary: dict) -> str:
    """Does a weight-free metric order the variants (baselines included) as the truth's PSNR does? Spearman's
    rank correlation across them, per edit type: 1 is the same order, 0 none, below 0 the reverse."""
    groups = list(next(iter(summary.values())))
    header = ["metric (lower is better)", *[f"rank correlation with PSNR, {g}" for g in groups]]
    lines = table_head(header)
    for metric in WEIGHT_FREE:
        cells = []
        for group in groups:
            truth = [scored[group]["psnr"][0] for scored in summary.values()]
            measured = [-scored[group][metric][0] for scored in summary.values()]
            cells.append(f"{_spearman(truth, measured):+.2f}")
        lines.append(table_row([METRIC_TITLES[metric].split(" (")[0], *cells]))
    return "\n".join(lines) + "\n"


def _spearman(a: list[float], b: list[float]) -> float:
    ranks = [np.argsort(np.argsort(values)).astype(float) for values in (a, b)]
    return float(np.corrcoef(*ranks)[0, 1])


def table_row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def table_head(header: list[str]) -> list[str]:
    """A markdown table's header row and the rule under it."""
    return [table_row(header), "|" + "---|" * len(header)]


def plus_minus(stats: list[float], digits: int) -> str:
    mean, std = stats
    if math.isnan(mean):
        return "-"
    return f"{mean:.{digits}f} ± {std:.{digits}f}" if math.isfinite(mean) else "inf"


SIDE_BY_SIDE_METRICS = ("psnr", "carried", "carried_first")


def side_by_side_table(reports: dict[str, dict], variant_names: Sequence[str] = (*BASELINES, "full AnyV2V")) -> str:
    """Backbones' bench reports (by label) in one table per metric, a row per backbone and variant, and the
    margin of each variant over that backbone's best trivial baseline. Only reports that scored the same clips
    and edits of the same world compare."""
    check_same_clips(reports)
    groups = list(next(iter(reports.values()))["summary"][BASELINES[0]])
    header = ["backbone", "variant", *groups]
    sections = []
    for metric in SIDE_BY_SIDE_METRICS:
        lines = [f"**{METRIC_TITLES[metric]}**", "", *table_head(header)]
        for label, report in reports.items():
            for variant in variant_names:
                scored = _summary_of(report, label, variant)
                cells = [plus_minus(scored[g][metric], METRIC_DIGITS[metric]) for g in groups]
                lines.append(table_row([label, variant, *cells]))
        sections.append("\n".join(lines))
    lines = ["**PSNR over the best trivial baseline of the same backbone (dB)**", "", *table_head(header)]
    for label, report in reports.items():
        best = [max(_summary_of(report, label, b)[g]["psnr"][0] for b in TRIVIAL_BASELINES) for g in groups]
        for variant in (name for name in variant_names if name not in TRIVIAL_BASELINES):
            scored = _summary_of(report, label, variant)
            margins = [f"{scored[g]['psnr'][0] - floor:+.2f}" for g, floor in zip(groups, best, strict=True)]
            lines.append(table_row([label, variant, *margins]))
    sections.append("\n".join(lines))
    return "\n\n".join(sections) + "\n"


def check_same_clips(reports: dict[str, dict]) -> None:
    """Scores of different clips, edits or worlds do not compare: refuse them in one line."""
    labels = list(reports)
    first = reports[labels[0]]
    for label in labels[1:]:
        if _clips_of(reports[label]) != _clips_of(first) or reports[label].get("world") != first.get("world"):
            raise AnyV2VError(
                f"the bench reports {labels[0]} and {label} scored different clips, edits or worlds: rerun both "
                "with the same --clips and --edits on models of the same world"
            )


def _clips_of(report: dict) -> set[tuple[str, int]]:
    return {(row["edit"], row["clip"]) for row in report["rows"]}


def _summary_of(report: dict, label: str, variant: str) -> dict:
    if variant not in report["summary"]:
        raise AnyV2VError(f"the bench report {label} has no variant {variant!r}: rerun its bench with it")
    return report["summary"][variant]


def write_report(folder: Path, name: str, report: dict, table: str) -> tuple[Path, Path]:
    """NAME.json (the report: command, summary, every row) and NAME.md (the command, then the table)."""
    folder.mkdir(parents=True, exist_ok=True)
    markdown = f"Command: `{report['command']}`\n\n" + table
    paths = folder / f"{name}.json", folder / f"{name}.md"
    for path, text in zip(paths, (json.dumps(report, indent=1), markdown), strict=True):
        with atomic_output(path) as temporary:
            temporary.write_text(text)
    return paths
