"""What a preset costs and what it gives up: presets side by side on the synthetic world's exact edits.

Every (clip, edit) runs under each preset in turn, so slow drifts of a shared machine hit all presets alike.
The run has its own empty inversion cache: the first edit of each clip pays for its inversion, as a first edit
of a video does, and the clip's other edits reuse it, as later edits of that video do. Costs are UNet batch
items (one latent video through the UNet once), seconds and peak memory per stage, of first edits (and the
batch items of later ones); quality is PSNR, SSIM and the share of the edit carried, against the ground truth
over all edits, the paired PSNR difference from the first preset, and the bench's baselines beside them.
`time_presets` measures costs alone, on any model (the full-size architecture with random weights, say), where
no ground truth exists.
"""

from __future__ import annotations

import dataclasses
import platform
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from PIL import ImageOps

from anyv2v.acceleration import Speedups
from anyv2v.cache import InversionCache
from anyv2v.config import EditConfig
from anyv2v.evaluation.bench import (
    baseline_rows,
    edit_synthetic_clip,
    mean_std,
    plus_minus,
    scores,
    table_head,
    table_row,
)
from anyv2v.evaluation.full_size import moving_pattern
from anyv2v.pipeline import AnyV2VPipeline
from anyv2v.toy.world import EDITS, HELDOUT_SEEDS

STAGES = ("encode", "inversion", "sampling", "decode")


def run_speed_bench(
    pipe: AnyV2VPipeline,
    presets: dict[str, EditConfig],
    *,
    clips: int = 20,
    edits: Sequence[str] = EDITS,
    seed: int = 0,
    progress: Callable = lambda items, description: items,
) -> list[dict]:
    """One row per (preset, edit, clip): its costs and its scores against the ground truth; and one per
    (baseline, edit, clip), marked `baseline`, with scores alone (plain I2V at the first preset's settings)."""

    def run(config: EditConfig, clip_seed: int, edit: str) -> dict:
        return scores(*edit_synthetic_clip(pipe, config, clip_seed, edit, seed), edit, clip_seed)

    first = next(iter(presets.values()))
    rows = []
    with tempfile.TemporaryDirectory(prefix="anyv2v-speed-") as folder, _inversion_cache(pipe, InversionCache(folder)):
        _warm_up(pipe, first, lambda config: run(config, 0, EDITS[0]))
        for clip, edit in progress([(s, e) for s in HELDOUT_SEEDS[:clips] for e in edits], "speed"):
            rows += [{"preset": p, **run(presets[p], clip, edit), **_costs(pipe)} for p in presets]
            for row in baseline_rows(pipe, first, clip, edit, seed):
                rows.append({"preset": row.pop("variant"), "baseline": True, **row})
    return rows


def time_presets(
    pipe: AnyV2VPipeline,
    presets: dict[str, EditConfig],
    *,
    setups: Sequence[Speedups] = (Speedups(),),
    seed: int = 0,
    progress: Callable = lambda x, d: x,
    after_setup: Callable[[list[dict]], None] = lambda rows: None,
) -> list[dict]:
    """Costs alone, two rows per (setup, preset): a first edit of a moving pattern (its inversion included)
    and a re-edit of it (the inversion from the cache), at the preset's own video settings, no ground truth.

    This is how the full-size architecture with random weights is timed. Each row also holds the UNet's FLOPs
    per batch item (counted once per preset) and, past the first setup, how far the output moved from the
    first setup's (same seed, same device). `after_setup` sees the rows so far, so a long run reports as it goes.
    """
    first_setup_output: dict[str, np.ndarray] = {}
    flops = {name: unet_flops_per_item(pipe, config, seed) for name, config in presets.items()}
    rows = []
    with tempfile.TemporaryDirectory(prefix="anyv2v-speed-") as folder:
        for setup in progress(list(setups), "setups"):
            pipe.speedups = setup
            with _inversion_cache(pipe, None):  # compiling, autotuning and allocating fall on no timed run
                _warm_up(pipe, next(iter(presets.values())), lambda config: _edit_pattern(pipe, config, seed))
            for name, config in presets.items():
                with _inversion_cache(pipe, InversionCache(Path(folder) / setup.label / name)):
                    for _ in ("first edit", "re-edit"):
                        started = time.perf_counter()
                        output = _edit_pattern(pipe, config, seed)
                        row = {"preset": _row_name(name, setup, setups), "setup": setup.label, **_costs(pipe)}
                        row["wall_seconds"] = time.perf_counter() - started
                        row["unet_flops_per_item"] = flops[name]
                        reference = first_setup_output.setdefault(name, output)
                        row["max_abs_difference"] = float(np.abs(output - reference).max())
                        rows.append(row)
            after_setup(rows)
    pipe.speedups = Speedups()
    return rows


def unet_flops_per_item(pipe: AnyV2VPipeline, config: EditConfig, seed: int = 0) -> float:
    """FLOPs of one UNet batch item at the preset's video settings, counted on a two-step edit."""
    pipe.count_flops = True
    try:
        with _inversion_cache(pipe, None):
            _edit_pattern(pipe, _two_steps(pipe, config), seed)
    finally:
        pipe.count_flops = False
    return pipe.stats.unet_flops / pipe.stats.unet_batch_items


def _edit_pattern(pipe: AnyV2VPipeline, config: EditConfig, seed: int) -> np.ndarray:
    video = config.video
    frames = moving_pattern(video.num_frames, video.height, video.width)
    edited = ImageOps.invert(frames[0])
    generator = torch.Generator().manual_seed(seed)
    return pipe.edit(frames, edited, "", config=config, generator=generator, output_type="np")


def _row_name(preset: str, setup: Speedups, setups: Sequence[Speedups]) -> str:
    return preset if len(setups) == 1 and setup == Speedups() else f"{preset}, {setup.label}"


@contextmanager
def _inversion_cache(pipe: AnyV2VPipeline, cache: InversionCache | None) -> Iterator[None]:
    user_cache = pipe.cache
    pipe.cache = cache
    try:
        yield
    finally:
        pipe.cache = user_cache


def _warm_up(pipe: AnyV2VPipeline, config: EditConfig, run: Callable[[EditConfig], object]) -> None:
    """A two-step unscored run, so one-time costs (allocator, kernels, compiling) fall on no preset."""
    run(_two_steps(pipe, config))


def _two_steps(pipe: AnyV2VPipeline, config: EditConfig) -> EditConfig:
    """Two inversion and two sampling steps from the top, every injection kind on the first: the run meets
    every batch size and hook the preset does."""
    fractions = dict.fromkeys(pipe.backbone.injection_kinds, 0.5)
    return dataclasses.replace(
        config,
        inversion=dataclasses.replace(config.inversion, steps=2),
        injection=dataclasses.replace(config.injection, fractions=fractions, count_skipped_steps=False),
        sampling=dataclasses.replace(config.sampling, steps=2, start_step=0),
    )


def _costs(pipe: AnyV2VPipeline) -> dict:
    """What the pipeline's last edit cost."""
    costs = pipe.stats.costs
    return {
        "unet_batch_items": pipe.stats.unet_batch_items,
        "unet_batch_items_by_stage": dict(pipe.stats.unet_batch_items_by_stage),
        "inversion_cache_hit": pipe.stats.inversion_cache_hit,
        "seconds": {stage: costs.seconds.get(stage, 0.0) for stage in STAGES},
        "peak_memory": {stage: costs.peak_memory.get(stage, 0) for stage in STAGES},
    }


def summarize_speed(rows: list[dict]) -> dict[str, dict]:
    """Per preset: mean costs of first edits, peak memory, and ratios against the first preset; with scores
    (rows from the ground-truth benchmark), also mean scores and their paired deltas."""
    presets = list(dict.fromkeys(r["preset"] for r in rows if not r.get("baseline")))
    baseline = {_pair(r): r for r in rows if r["preset"] == presets[0]}
    summary: dict[str, dict] = {}
    for name in dict.fromkeys(r["preset"] for r in rows if r.get("baseline")):
        summary[name] = {"baseline": True, **_quality([r for r in rows if r["preset"] == name], baseline)}
    for name in presets:
        mine = [r for r in rows if r["preset"] == name]
        first_edits = [r for r in mine if not r["inversion_cache_hit"]]
        later_edits = [r for r in mine if r["inversion_cache_hit"]]
        seconds = {stage: float(np.mean([r["seconds"][stage] for r in first_edits])) for stage in STAGES}
        seconds["total"] = sum(seconds.values())
        paired = [baseline[_pair(r)] for r in first_edits]
        items = float(np.mean([r["unet_batch_items"] for r in first_edits]))
        summary[name] = {
            "unet_batch_items": items,
            "unet_batch_items_cached_inversion": float(np.mean([r["unet_batch_items"] for r in later_edits]))
            if later_edits
            else None,
            "fewer_batch_items": float(np.mean([r["unet_batch_items"] for r in paired])) / items,
            "seconds": seconds,
            "speedup": float(np.mean([sum(r["seconds"].values()) for r in paired])) / seconds["total"],
            "peak_memory_mib": {s: max(r["peak_memory"][s] for r in first_edits) / 2**20 for s in STAGES},
            "reedit_seconds": float(np.mean([_total_seconds(r) for r in later_edits])) if later_edits else None,
        }
        if "unet_flops_per_item" in mine[0]:
            summary[name].update(_throughput(first_edits))
        if "psnr" in mine[0]:
            summary[name].update(_quality(mine, baseline))
    return summary


def _total_seconds(row: dict) -> float:
    """The whole call where it was timed (a cached inversion's loading happens between stages), else the stages."""
    return row.get("wall_seconds", sum(row["seconds"].values()))


def _throughput(first_edits: list[dict]) -> dict:
    """Achieved UNet TFLOP/s per stage, and how far the outputs moved from the first setup's."""
    flops = first_edits[0]["unet_flops_per_item"]
    tflops = {}
    for stage in ("inversion", "sampling"):
        items = np.mean([r["unet_batch_items_by_stage"].get(stage, 0) for r in first_edits])
        seconds = np.mean([r["seconds"][stage] for r in first_edits])
        tflops[stage] = float(items * flops / seconds / 1e12) if seconds > 0 else None
    return {
        "unet_tflop_per_item": flops / 1e12,
        "tflop_per_second": tflops,
        "max_abs_difference": max(r["max_abs_difference"] for r in first_edits),
    }


def _quality(rows: list[dict], baseline: dict) -> dict:
    edits = list(dict.fromkeys(r["edit"] for r in rows))
    by_edit = _by_edit(rows, edits)
    return {
        "psnr": mean_std([r["psnr"] for r in rows]),
        "ssim": mean_std([r["ssim"] for r in rows]),
        "carried": {group: mean_std([r["carried"] for r in group_rows]) for group, group_rows in by_edit.items()},
        "carried_first": mean_std([r["carried_first"] for r in rows]),
        "psnr_delta": {
            group: mean_std([r["psnr"] - baseline[_pair(r)]["psnr"] for r in members])
            for group, members in by_edit.items()
        },
        "ssim_delta": mean_std([r["ssim"] - baseline[_pair(r)]["ssim"] for r in rows]),
    }


def _pair(row: dict) -> tuple:
    """Rows of different presets on the same input pair up; timing rows, with one input, by first edit or
    re-edit."""
    if "edit" in row:
        return row["edit"], row["clip"]
    return None, None, row["inversion_cache_hit"]


def _by_edit(rows: list[dict], edits: list[str]) -> dict[str, list[dict]]:
    groups = {edit: [r for r in rows if r["edit"] == edit] for edit in edits}
    groups["all"] = rows
    return groups


def speed_table(summary: dict) -> str:
    """Markdown: costs, then (for the ground-truth benchmark) quality against the first preset."""
    presets = _presets_only(summary)
    timed = "tflop_per_second" in next(iter(presets.values()))
    header = ["preset", "UNet batch items", "x fewer", "items, inversion cached", *[f"{s} s" for s in STAGES]]
    header += ["total s", "speed-up", "re-edit s", "peak memory MiB"]
    if timed:
        header += ["TFLOP/s inversion", "TFLOP/s sampling", "max abs Δ output"]
    lines = table_head(header)
    for name, s in presets.items():
        stage_seconds = [f"{s['seconds'][stage]:.3f}" for stage in STAGES]
        peak = f"{max(s['peak_memory_mib'].values()):.0f}"
        cached = _maybe(s["unet_batch_items_cached_inversion"], "{:.0f}")
        cells = [
            name,
            f"{s['unet_batch_items']:.0f}",
            f"{s['fewer_batch_items']:.2f}",
            cached,
            *stage_seconds,
            f"{s['seconds']['total']:.3f}",
            f"{s['speedup']:.2f}",
            _maybe(s["reedit_seconds"], "{:.3f}"),
            peak,
        ]
        if timed:
            cells += [_maybe(s["tflop_per_second"][stage], "{:.3g}") for stage in ("inversion", "sampling")]
            cells.append(f"{s['max_abs_difference']:.1e}")
        lines.append(table_row(cells))  # fmt: skip
    if "psnr" in next(iter(presets.values())):
        lines += ["", *_quality_table(summary)]
    return "\n".join(lines) + "\n"


def _maybe(value: float | None, form: str) -> str:
    return "-" if value is None else form.format(value)


def _presets_only(summary: dict) -> dict:
    return {name: s for name, s in summary.items() if not s.get("baseline")}


def _quality_table(summary: dict) -> list[str]:
    """Presets, then baselines: PSNR against the first preset per edit, the share of the edit carried per edit."""
    edits = [group for group in next(iter(summary.values()))["psnr_delta"] if group != "all"]
    header = ["preset", *[f"ΔPSNR {e}" for e in edits], "ΔPSNR all", "PSNR all", "ΔSSIM all", "SSIM all"]
    header += [f"carried {e}" for e in edits] + ["carried frame 0"]
    lines = table_head(header)
    ordered = {**_presets_only(summary), **summary}
    for name, s in ordered.items():
        deltas = [_signed(s["psnr_delta"][e], 2) for e in [*edits, "all"]]
        shares = [plus_minus(s["carried"][e], 2) for e in edits] + [plus_minus(s["carried_first"], 2)]
        lines.append(
            table_row([name, *deltas, plus_minus(s["psnr"], 2), _signed(s["ssim_delta"], 3), plus_minus(s["ssim"], 3),
                  *shares])
        )  # fmt: skip
    return lines


def _signed(stats: list[float], digits: int) -> str:
    return f"{stats[0]:+.{digits}f} ± {stats[1]:.{digits}f}"


def device_description(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA {torch.version.cuda}), torch {torch.__version__}"
    cores = torch.get_num_threads()
    return f"CPU {platform.processor() or platform.machine()}, {cores} torch threads, torch {torch.__version__}"
