"""What a preset costs and what it gives up: presets side by side on the synthetic world's exact edits.

Every (clip, edit) runs under each preset in turn, so slow drifts of a shared machine hit all presets alike.
The run has its own empty inversion cache: the first edit of each clip pays for its inversion, as a first edit
of a video does, and the clip's other edits reuse it, as later edits of that video do. Costs are UNet batch
items (one latent video through the UNet once), seconds and peak memory per stage, of first edits (and the
batch items of later ones); quality is PSNR/SSIM against the ground truth over all edits, and its paired
difference from the first preset (the baseline).
"""

from __future__ import annotations

import dataclasses
import platform
import tempfile
from collections.abc import Callable, Sequence

import numpy as np
import torch

from anyv2v.config import EditConfig
from anyv2v.evaluation.bench import edit_synthetic_clip, plus_minus
from anyv2v.evaluation.metrics import psnr, ssim
from anyv2v.inversion import InversionCache
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
    """One row per (preset, edit, clip): its costs and its scores against the ground truth."""
    user_cache = pipe.cache
    with tempfile.TemporaryDirectory(prefix="anyv2v-speed-") as folder:
        pipe.cache = InversionCache(folder)
        try:
            _warm_up(pipe, next(iter(presets.values())))
            jobs = [(s, e, p) for s in HELDOUT_SEEDS[:clips] for e in edits for p in presets]
            return [_run_one(pipe, presets[p], p, e, clip, seed) for clip, e, p in progress(jobs, "speed")]
        finally:
            pipe.cache = user_cache


def _warm_up(pipe: AnyV2VPipeline, config: EditConfig) -> None:
    """A two-step unscored edit of a training clip, so one-time costs (allocator, kernels) fall on no preset."""
    short = dataclasses.replace(
        config,
        inversion=dataclasses.replace(config.inversion, steps=2),
        sampling=dataclasses.replace(config.sampling, steps=2, start_step=min(config.sampling.start_step, 1)),
    )
    edit_synthetic_clip(pipe, short, 0, EDITS[0], seed=0)


def _run_one(pipe: AnyV2VPipeline, config: EditConfig, name: str, edit: str, clip_seed: int, seed: int) -> dict:
    result, truth = edit_synthetic_clip(pipe, config, clip_seed, edit, seed)
    costs = pipe.stats.costs
    return {
        "preset": name,
        "edit": edit,
        "clip": clip_seed,
        "psnr": psnr(result, truth),
        "ssim": ssim(result, truth),
        "unet_batch_items": pipe.stats.unet_batch_items,
        "inversion_cache_hit": pipe.stats.inversion_cache_hit,
        "seconds": {stage: costs.seconds.get(stage, 0.0) for stage in STAGES},
        "peak_memory": {stage: costs.peak_memory.get(stage, 0) for stage in STAGES},
    }


def summarize_speed(rows: list[dict]) -> dict[str, dict]:
    """Per preset: mean costs of first edits, peak memory, scores, and ratios/deltas against the first preset."""
    presets = list(dict.fromkeys(r["preset"] for r in rows))
    edits = list(dict.fromkeys(r["edit"] for r in rows))
    baseline = {(r["edit"], r["clip"]): r for r in rows if r["preset"] == presets[0]}
    summary = {}
    for name in presets:
        mine = [r for r in rows if r["preset"] == name]
        first_edits = [r for r in mine if not r["inversion_cache_hit"]]
        later_edits = [r for r in mine if r["inversion_cache_hit"]]
        seconds = {stage: float(np.mean([r["seconds"][stage] for r in first_edits])) for stage in STAGES}
        seconds["total"] = sum(seconds.values())
        paired = [baseline[r["edit"], r["clip"]] for r in first_edits]
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
            "psnr": _mean_std([r["psnr"] for r in mine]),
            "ssim": _mean_std([r["ssim"] for r in mine]),
            "psnr_delta": {
                group: _mean_std([r["psnr"] - baseline[r["edit"], r["clip"]]["psnr"] for r in members])
                for group, members in _by_edit(mine, edits).items()
            },
            "ssim_delta": _mean_std([r["ssim"] - baseline[r["edit"], r["clip"]]["ssim"] for r in mine]),
        }
    return summary


def _by_edit(rows: list[dict], edits: list[str]) -> dict[str, list[dict]]:
    groups = {edit: [r for r in rows if r["edit"] == edit] for edit in edits}
    groups["all"] = rows
    return groups


def _mean_std(values: list[float]) -> list[float]:
    return [float(np.mean(values)), float(np.std(values))]


def speed_table(summary: dict) -> str:
    """Two markdown tables: costs, then quality against the first preset."""
    first = next(iter(summary.values()))
    edits = [group for group in first["psnr_delta"] if group != "all"]
    cost_header = ["preset", "UNet batch items", "x fewer", "items, inversion cached", *[f"{s} s" for s in STAGES]]
    cost_header += ["total s", "speed-up", "peak memory MiB"]
    quality_header = ["preset", *[f"ΔPSNR {e}" for e in edits], "ΔPSNR all", "PSNR all", "ΔSSIM all", "SSIM all"]
    lines = [_row(cost_header), "|" + "---|" * len(cost_header)]
    for name, s in summary.items():
        stage_seconds = [f"{s['seconds'][stage]:.3f}" for stage in STAGES]
        peak = f"{max(s['peak_memory_mib'].values()):.0f}"
        cached = (
            "-" if s["unet_batch_items_cached_inversion"] is None else f"{s['unet_batch_items_cached_inversion']:.0f}"
        )
        lines.append(
            _row([name, f"{s['unet_batch_items']:.0f}", f"{s['fewer_batch_items']:.2f}", cached, *stage_seconds,
                  f"{s['seconds']['total']:.3f}", f"{s['speedup']:.2f}", peak])
        )  # fmt: skip
    lines += ["", _row(quality_header), "|" + "---|" * len(quality_header)]
    for name, s in summary.items():
        deltas = [_signed(s["psnr_delta"][e], 2) for e in [*edits, "all"]]
        lines.append(
            _row([name, *deltas, plus_minus(s["psnr"], 2), _signed(s["ssim_delta"], 3), plus_minus(s["ssim"], 3)])
        )
    return "\n".join(lines) + "\n"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _signed(stats: list[float], digits: int) -> str:
    return f"{stats[0]:+.{digits}f} ± {stats[1]:.{digits}f}"


def device_description(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA {torch.version.cuda}), torch {torch.__version__}"
    cores = torch.get_num_threads()
    return f"CPU {platform.processor() or platform.machine()}, {cores} torch threads, torch {torch.__version__}"
