"""`anyv2v eval`: score edited videos (one, or a folder of `anyv2v edit` outputs) with the field's metrics."""

from __future__ import annotations

import argparse
from pathlib import Path

from anyv2v.errors import AnyV2VError

DEFAULT_CLIP = "openai/clip-vit-large-patch14"
DEFAULT_DINO = "facebook/dinov2-base"


def add_parsers(commands: argparse._SubParsersAction) -> None:
    command = commands.add_parser("eval", help="score edited videos: CLIP, DINOv2, motion, fidelity, baselines")
    command.add_argument("video", help="an edited video, or a folder of 'anyv2v edit' outputs (with their sidecars)")
    command.add_argument("--source", help="the source video (default: the sidecar's)")
    command.add_argument("--edited-frame", help="the edited first frame (default: the sidecar's)")
    command.add_argument("--prompt", help="what the edited video should show, for CLIP-Text (default: the sidecar's)")
    command.add_argument("--mask", help="white: where the edit may change the video; the rest is scored for staying")
    command.add_argument("--clip-model", default=DEFAULT_CLIP, help=f"CLIP hub id or local folder ({DEFAULT_CLIP})")
    command.add_argument("--dino-model", default=DEFAULT_DINO, help=f"DINOv2 hub id or local folder ({DEFAULT_DINO})")
    command.add_argument("--no-models", action="store_true", help="only the weight-free metrics (no CLIP, no DINOv2)")
    command.add_argument("--no-motion", action="store_true", help="skip the optical-flow metrics (they need OpenCV)")
    command.add_argument("--device", help="cpu, cuda or cuda:N for the models (default: cuda if available)")
    command.add_argument("-o", "--output", default="eval-report", help="folder for eval.md, eval.json, curves PNGs")
    command.set_defaults(run=run_eval)


def run_eval(args: argparse.Namespace) -> None:
    from anyv2v.evaluation.bench import write_report
    from anyv2v.evaluation.evaluate import EvalInputs, evaluate, markdown, sidecar_outputs, sidecar_path, summarize
    from anyv2v.evaluation.plot import plot_curves

    target = Path(args.video)
    given = {"source": _path(args.source), "edited_frame": _path(args.edited_frame), "prompt": args.prompt,
             "mask": _path(args.mask)}  # fmt: skip
    if _is_folder_of_runs(target):
        if any(value is not None for value in given.values()):
            raise AnyV2VError("--source, --edited-frame, --prompt and --mask are for one video: drop them for a folder")
        inputs = [EvalInputs.from_sidecar(output) for output in sidecar_outputs(target)]
    elif sidecar_path(target).is_file():
        inputs = [EvalInputs.from_sidecar(target).overridden(**given)]
    else:
        inputs = [EvalInputs(target).overridden(**given)]
    scorers = _scorers(args)
    results = [evaluate(one, scorers) for one in inputs]
    summary = summarize(results)
    folder = Path(args.output)
    report = {"command": args.invocation, "models": _models(args), "summary": summary, "videos": results}
    paths = write_report(folder, "eval", report, markdown(results, summary))
    plots = [plot_curves(r["scores"], Path(r["video"]).name, folder / f"{Path(r['video']).stem}.curves.png")
             for r in results]  # fmt: skip
    print(markdown(results, summary))
    print(f"wrote {', '.join(map(str, [*paths, *plots]))}")


def _is_folder_of_runs(target: Path) -> bool:
    """A folder of `anyv2v edit` outputs holds their sidecars; a folder of frames is one video."""
    from anyv2v.evaluation.evaluate import SIDECAR_SUFFIX
    from anyv2v.video import IMAGE_SUFFIXES

    if not target.is_dir():
        return False
    has_images = any(path.suffix.lower() in IMAGE_SUFFIXES for path in target.iterdir())
    return any(target.glob(f"*{SIDECAR_SUFFIX}")) or not has_images


def _scorers(args: argparse.Namespace):
    from anyv2v.evaluation.evaluate import Scorers

    if args.no_models:
        return Scorers(motion=not args.no_motion)
    from anyv2v.evaluation.embeddings import load_clip, load_dino
    from anyv2v.runtime import library_progress_bars, resolve_device

    device = resolve_device(args.device)
    with library_progress_bars(False):
        clip, dino = load_clip(args.clip_model, device=device), load_dino(args.dino_model, device=device)
    return Scorers(clip, dino, motion=not args.no_motion)


def _models(args: argparse.Namespace) -> dict:
    return {} if args.no_models else {"clip": args.clip_model, "dino": args.dino_model}


def _path(value: str | None) -> Path | None:
    return None if value is None else Path(value)
