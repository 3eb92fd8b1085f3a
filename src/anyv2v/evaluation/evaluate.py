"""`anyv2v eval`: the metrics the field reports, on any edited video, beside what doing nothing scores.

Per video: the AnyV2V paper's CLIP-Text (the prompt against each frame) and CLIP-Image (consecutive frames),
VBench's DINOv2 subject consistency, motion alignment with the source (optical-flow end-point error) and the
output's own warp error, fidelity of frame 0 to the edited frame, and, with a mask, the unedited region
against the source. A metric whose inputs are missing is skipped, never guessed. Whenever the source and the
edited frame are known, the same metrics score two trivial baselines beside the output: the source itself,
and the first frame's edit pasted onto every frame. A score that one of them reaches proves nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from anyv2v.errors import AnyV2VError
from anyv2v.evaluation.bench import paste_first_frame_edit
from anyv2v.evaluation.metrics import masked_psnr, masked_ssim, psnr, ssim
from anyv2v.video import read_clip, read_image, read_span
from anyv2v.video.resize import resize_frame

if TYPE_CHECKING:  # the models load only when model metrics are asked for
    from anyv2v.evaluation.embeddings import ClipScorer, DinoScorer

SIDECAR_SUFFIX = ".anyv2v.json"  # beside every `anyv2v edit` output: what it was made from
OUTPUT = "AnyV2V output"
COPY_SOURCE = "baseline: copy the source"
PASTE_EDIT = "baseline: paste the first frame's edit"
DEFAULT_FPS = 8.0  # a folder of frames has no rate; the source is then read frame by frame anyway


@dataclass(frozen=True)
class EvalInputs:
    """What one output is scored against; every field but the output is optional."""

    output: Path
    source: Path | None = None
    edited_frame: Path | None = None
    prompt: str | None = None
    mask: Path | None = None  # white: the region the edit may change
    resize: str = "crop"  # how the edit sized the source (the sidecar says); "crop" covers the output's size

    @classmethod
    def from_sidecar(cls, output: Path) -> EvalInputs:
        """The inputs `anyv2v edit` recorded beside `output` (paths relative to the sidecar's folder)."""
        path = sidecar_path(output)
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            raise AnyV2VError(f"cannot read '{path}' ({error}): pass --source, --edited-frame and --prompt") from None
        folder = path.parent

        def located(key: str) -> Path | None:
            return folder / record[key] if record.get(key) else None

        resize = record.get("config", {}).get("video", {}).get("resize", "crop")
        prompt = record.get("prompt") or None
        return cls(output, located("source"), located("edited_frame"), prompt, located("mask"), resize)

    def overridden(self, **fields: object) -> EvalInputs:
        """These inputs with the fields given on the command line (None: keep)."""
        values = {name: getattr(self, name) for name in self.__dataclass_fields__}
        values.update({name: value for name, value in fields.items() if value is not None})
        return EvalInputs(**values)


def sidecar_path(output: Path) -> Path:
    return output.with_suffix(SIDECAR_SUFFIX)


@dataclass(frozen=True)
class Scorers:
    """The metrics' models; None skips their metrics (`--no-models`, `--no-motion`)."""

    clip: ClipScorer | None = None
    dino: DinoScorer | None = None
    motion: bool = True


@dataclass(frozen=True)
class LoadedClip:
    output: np.ndarray  # (frames, H, W, 3) uint8
    source: np.ndarray | None  # the same frames of the source, at the output's rate and size
    edited_frame: np.ndarray | None  # (H, W, 3)
    keep: np.ndarray | None  # (H, W) bool: outside the mask
    prompt: str | None


def load_inputs(inputs: EvalInputs) -> LoadedClip:
    """The output whole, and the source's frames that the edit read: as many, at its rate and size."""
    frames, fps = read_clip(inputs.output)
    if len(frames) < 2:
        raise AnyV2VError(f"'{inputs.output}' has {len(frames)} frame: scoring a video needs at least 2")
    size = (frames[0].height, frames[0].width)
    source = _source_frames(inputs.source, len(frames), fps, size, inputs.resize) if inputs.source else None
    edited = read_image(inputs.edited_frame, size) if inputs.edited_frame else None
    keep = np.asarray(read_image(inputs.mask, size).convert("L")) <= 127 if inputs.mask else None
    return LoadedClip(_array(frames), _array(source), _array(edited), keep, inputs.prompt)


def _source_frames(path: Path, count: int, fps: float | None, size: tuple[int, int], mode: str) -> list[Image.Image]:
    """The `count` source frames the edit read, at the output's rate, sized as the edit sized them."""
    frames = read_span(path, fps or DEFAULT_FPS)
    if len(frames) < count:
        raise AnyV2VError(
            f"the source '{path}' has fewer frames than the output's {count}: pass the source the output was made "
            "from (an output is scored against the source frames its edit read)"
        )
    return [resize_frame(frame, size, mode) for frame in frames[:count]]


def evaluate(inputs: EvalInputs, scorers: Scorers) -> dict:
    """Per-frame curves and their means for the output, and for the trivial baselines where they exist."""
    clip = load_inputs(inputs)
    videos = {OUTPUT: clip.output}
    if clip.source is not None and clip.edited_frame is not None:
        videos[COPY_SOURCE] = clip.source
        videos[PASTE_EDIT] = paste_first_frame_edit(clip.source, clip.edited_frame)
    return {
        "video": str(inputs.output),
        "inputs": {name: None if value is None else str(value) for name, value in vars(inputs).items()},
        "frames": len(clip.output),
        "scores": {name: score(video, clip, scorers) for name, video in videos.items()},
    }


def score(video: np.ndarray, clip: LoadedClip, scorers: Scorers) -> dict:
    """{"curves": per-frame or per-pair values, "metrics": their means and the single-number metrics}."""
    images = [Image.fromarray(frame) for frame in video]
    curves: dict[str, list[float]] = {}
    metrics: dict[str, float] = {}
    if scorers.clip is not None:
        if clip.prompt:
            curves["CLIP-Text"] = scorers.clip.clip_text(images, clip.prompt)
        curves["CLIP-Image"] = scorers.clip.clip_image(images)
    if scorers.dino is not None:
        curves["DINO subject consistency"] = scorers.dino.subject_consistency(images)
    if scorers.motion:
        from anyv2v.evaluation.motion import motion_alignment, warp_errors

        if clip.source is not None:
            curves["motion error vs source (px)"] = motion_alignment(video, clip.source)
        curves["warp error"] = warp_errors(video)
    metrics.update({name: float(np.nanmean(values)) for name, values in curves.items()})  # NaN: no pixel to compare
    if clip.edited_frame is not None:
        metrics.update(_edited_frame_fidelity(video[0], clip.edited_frame, scorers))
    if clip.keep is not None and clip.source is not None:
        metrics["unedited region PSNR"] = masked_psnr(video, clip.source, clip.keep)
        metrics["unedited region SSIM"] = masked_ssim(video, clip.source, clip.keep)
    return {"metrics": metrics, "curves": curves}


def _edited_frame_fidelity(first: np.ndarray, edited: np.ndarray, scorers: Scorers) -> dict[str, float]:
    """How closely frame 0 reproduces the edited frame the video was conditioned on."""
    fidelity = {"frame 0 PSNR": psnr(first[None], edited[None]), "frame 0 SSIM": ssim(first[None], edited[None])}
    pair = Image.fromarray(first), Image.fromarray(edited)
    if scorers.clip is not None:
        fidelity["frame 0 CLIP similarity"] = scorers.clip.similarity(*pair)
    if scorers.dino is not None:
        fidelity["frame 0 DINO similarity"] = scorers.dino.similarity(*pair)
    return fidelity


def sidecar_outputs(folder: Path) -> list[Path]:
    """The outputs in a folder of `anyv2v edit` runs, found by their sidecars."""
    sidecars = sorted(folder.glob(f"*{SIDECAR_SUFFIX}"))
    if not sidecars:
        raise AnyV2VError(
            f"no '*{SIDECAR_SUFFIX}' files in '{folder}': pass a folder of 'anyv2v edit' outputs, or one video "
            "with --source, --edited-frame and --prompt"
        )
    return [_recorded_output(sidecar) for sidecar in sidecars]


def _recorded_output(sidecar: Path) -> Path:
    try:
        return sidecar.parent / json.loads(sidecar.read_text())["output"]
    except (OSError, ValueError, KeyError) as error:
        raise AnyV2VError(f"cannot read '{sidecar}' ({error!r}): remove it or re-run the edit that wrote it") from None


def summarize(results: list[dict]) -> dict[str, dict[str, float]]:
    """Each row's (output, baselines) mean of each metric over the videos that have it."""
    summary: dict[str, dict[str, list[float]]] = {}
    for result in results:
        for row, scored in result["scores"].items():
            for metric, value in scored["metrics"].items():
                summary.setdefault(row, {}).setdefault(metric, []).append(value)
    return {
        row: {metric: float(np.mean(values)) for metric, values in metrics.items()} for row, metrics in summary.items()
    }


def markdown(results: list[dict], summary: dict[str, dict[str, float]]) -> str:
    """One table per video, then the means over all videos."""
    sections = [f"## {Path(r['video']).name} ({r['frames']} frames)\n\n" + _table(_metrics(r)) for r in results]
    if len(results) > 1:
        sections.append(f"## All {len(results)} videos (means)\n\n" + _table(summary))
    return "\n".join(sections)


def _metrics(result: dict) -> dict[str, dict[str, float]]:
    return {row: scored["metrics"] for row, scored in result["scores"].items()}


def _table(rows: dict[str, dict[str, float]]) -> str:
    columns = list(dict.fromkeys(metric for metrics in rows.values() for metric in metrics))
    lines = ["| | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for row, metrics in rows.items():
        lines.append(f"| {row} | " + " | ".join(_number(metrics.get(column)) for column in columns) + " |")
    return "\n".join(lines) + "\n"


def _number(value: float | None) -> str:
    if value is None or np.isnan(value):
        return "-"
    return "inf" if np.isinf(value) else f"{value:.4g}"


def _array(frames: list[Image.Image] | Image.Image | None) -> np.ndarray | None:
    if frames is None:
        return None
    if isinstance(frames, Image.Image):
        return np.asarray(frames.convert("RGB"))
    return np.stack([np.asarray(frame.convert("RGB")) for frame in frames])
