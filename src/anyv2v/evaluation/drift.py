"""Long edits on the toy world: what each window of a windowed edit keeps of the edit, per strategy.

Long clips are rendered with their exact edited twins, edited window by window (windows.py), and each
window's frames are scored against the truth. The number to beat is the drift: the last window's score minus
the first's. The first frame's edit pasted onto every frame is scored per window beside them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from anyv2v.config import EditConfig
from anyv2v.evaluation.bench import mean_std, paste_first_frame_edit, plus_minus, table_head, table_row
from anyv2v.evaluation.metrics import carried, psnr
from anyv2v.pipeline import AnyV2VPipeline
from anyv2v.toy.world import EDITS, HELDOUT_SEEDS, World, clip_pair, to_images
from anyv2v.windows import STRATEGIES, edit_in_windows, pipeline_window_editor, plan_windows

PASTED = "baseline: paste the first frame's edit"


def window_drift(
    pipe: AnyV2VPipeline,
    config: EditConfig,
    *,
    windows: int = 4,
    overlap: int = 1,
    clips: int = 2,
    edits: Sequence[str] = EDITS,
    strategies: Sequence[str] = STRATEGIES,
    seed: int = 0,
    progress: Callable = lambda items, description: items,
) -> list[dict]:
    """One row per (strategy or baseline, clip, edit, window): PSNR and carried against the truth."""
    length = config.video.num_frames
    total = length + (windows - 1) * (length - overlap)
    planned = plan_windows(total, length, overlap)
    rows, world = [], World.of_model(pipe.model_id)
    for clip, edit in progress([(c, e) for c in HELDOUT_SEEDS[:clips] for e in edits], "long clips"):
        source, truth = clip_pair(clip, edit, size=config.video.height, num_frames=total, world=world)
        videos = {PASTED: paste_first_frame_edit(source, truth[0])}
        for strategy in strategies:
            videos[strategy] = edit_in_windows(
                to_images(source), to_images(truth)[0], pipeline_window_editor(pipe, "", config), length=length,
                overlap=overlap, strategy=strategy, seed=seed,
            )  # fmt: skip
        for name, video in videos.items():
            for window in planned:
                span = slice(window.start, window.stop)
                rows.append({
                    "strategy": name, "clip": clip, "edit": edit, "window": window.index,
                    "psnr": psnr(video[span], truth[span]), "carried": carried(video, source, truth, span),
                })  # fmt: skip
    return rows


def drift_table(rows: list[dict]) -> str:
    """Per strategy: PSNR and carried of each window (mean ± spread over clips and edits), and the drift."""
    names = list(dict.fromkeys(r["strategy"] for r in rows))
    count = max(r["window"] for r in rows) + 1
    header = ["strategy", *[f"window {w + 1} PSNR" for w in range(count)], "drift PSNR (last - first)"]
    header += [*[f"window {w + 1} carried" for w in range(count)], "drift carried"]
    lines = table_head(header)
    for name in names:
        cells = [name]
        for metric, digits in (("psnr", 2), ("carried", 2)):
            per_window = [[r[metric] for r in rows if r["strategy"] == name and r["window"] == w] for w in range(count)]
            drift = [last - first for first, last in zip(per_window[0], per_window[-1], strict=True)]
            cells += [plus_minus(mean_std(values), digits) for values in per_window]
            cells.append(f"{np.nanmean(drift):+.{digits}f}")  # NaN: a window the edit leaves untouched
        lines.append(table_row(cells))
    return "\n".join(lines) + "\n"
