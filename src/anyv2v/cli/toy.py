"""`anyv2v demo`, `bench` and `train-toy`: the synthetic world, its toy model, and what is measured on them."""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

from anyv2v.backbones import BACKBONES, backbone_class
from anyv2v.backbones.i2vgen_xl import I2VGenXL
from anyv2v.cli.options import (
    EDIT_FLAGS,
    RUNTIME_FLAGS,
    VIDEO_FLAGS,
    add_config_flags,
    check_output_suffix,
    configs,
    load_pipeline,
    silence_library_output,
)
from anyv2v.config import EditConfig, RuntimeConfig
from anyv2v.errors import AnyV2VError
from anyv2v.runtime import TOY_MODEL
from anyv2v.toy.config import TrainConfig
from anyv2v.toy.world import DEMO_CLIP, DEMO_EDIT, EDITS, HELDOUT_SEEDS, World
from anyv2v.video import VIDEO_SUFFIXES


def held_out_clip(text: str) -> int:
    """A held-out clip's index, refused at parse time where it would index past the held-out seeds."""
    index = int(text)
    if not 0 <= index < len(HELDOUT_SEEDS):
        raise argparse.ArgumentTypeError(f"{index} is not a held-out clip: use 0-{len(HELDOUT_SEEDS) - 1}")
    return index


def held_out_count(text: str) -> int:
    """How many held-out clips: at least one, at most all of them."""
    count = int(text)
    if not 1 <= count <= len(HELDOUT_SEEDS):
        raise argparse.ArgumentTypeError(f"{count} clips: use 1-{len(HELDOUT_SEEDS)} (the held-out clips there are)")
    return count


def add_parsers(commands: argparse._SubParsersAction) -> None:
    demo = commands.add_parser("demo", help="offline AnyV2V edit with the shipped toy model, scored against truth")
    demo.add_argument("--edit", choices=EDITS, default=DEMO_EDIT, help="edit type of the synthetic clip")
    demo.add_argument("--clip", type=held_out_clip, default=DEMO_CLIP, help="which held-out clip (0-99)")
    demo.add_argument("--video", help="edit your own clip instead (no ground truth then)")
    demo.add_argument("--edited-frame", help="with --video: the edited first frame (default: hue rotation)")
    demo.add_argument("-o", "--output", default="anyv2v-demo.mp4", help="output video (.mp4 or .gif)")
    add_config_flags(demo, RUNTIME_FLAGS + VIDEO_FLAGS + EDIT_FLAGS)
    demo.set_defaults(run=run_demo)

    bench = commands.add_parser("bench", help="ablations of AnyV2V against the synthetic world's exact edits")
    bench.add_argument("--clips", type=held_out_count, default=20, help="held-out clips per edit type")
    bench.add_argument("--edits", nargs="+", choices=EDITS, default=list(EDITS))
    bench.add_argument("--variants", nargs="+", metavar="VARIANT", help="ablations (default: all of the backbone's)")
    bench.add_argument("-o", "--output", default="bench-results", help="folder for bench.md and bench.json")
    bench_mode = bench.add_mutually_exclusive_group()
    bench_mode.add_argument("--quality", action="store_true", help="measure the model's quality bars instead")
    presets = sorted({name for backbone in BACKBONES.values() for name in backbone.presets})
    bench_mode.add_argument(
        "--speed", nargs="*", choices=presets, metavar="PRESET",
        help="compare presets' costs and scores instead, the first as baseline (default: reference fast)",
    )  # fmt: skip
    bench_mode.add_argument(
        "--long", action="store_true",
        help="long clips edited in windows: each window's score against the truth, per window strategy",
    )  # fmt: skip
    bench_mode.add_argument(
        "--trace", action="store_true",
        help="where an edit is lost: carried by the clean video predicted at each sampling step, beside the VAE's "
        "ceiling",
    )  # fmt: skip
    bench_mode.add_argument(
        "--side-by-side", nargs="+", metavar="LABEL=FOLDER",
        help="put finished bench reports (FOLDER/bench.json, e.g. one per backbone) side by side in one table "
        "instead of running anything; --variants picks the rows (default: the baselines and full AnyV2V)",
    )  # fmt: skip
    bench.add_argument("--windows", type=int, default=4, help="with --long: windows per clip (default 4)")
    bench.add_argument("--overlap", type=int, default=1, help="with --long: frames shared by windows (default 1)")
    bench.add_argument(
        "--full-size", action="store_true",
        help="with --speed: time the full-size I2VGen-XL with random weights at each preset's own settings "
        "(costs only; nothing to download)",
    )  # fmt: skip
    bench.add_argument(
        "--memory-limit", type=float, metavar="GIB",
        help="with --full-size on CUDA: cap this process's GPU memory, as on a smaller card",
    )  # fmt: skip
    bench.add_argument(
        "--setups", nargs="+", metavar="SETUP",
        help="with --full-size: time each preset under each setup of speed switches, side by side in one run "
        "(plain, or switches joined by '+': compile, channels-last, cudnn-benchmark, attention=BACKEND, "
        "feed-forward-chunks=N); "
        "default: this command's own switches",
    )  # fmt: skip
    add_config_flags(bench, RUNTIME_FLAGS + VIDEO_FLAGS + EDIT_FLAGS)
    bench.set_defaults(run=run_bench)

    train = commands.add_parser(
        "train-toy", help="train a toy backbone (I2VGen-XL, SVD, Wan) on the synthetic world (CPU or GPU)"
    )
    train.add_argument("-o", "--output", required=True, help="folder to save the model in diffusers layout")
    for field in dataclasses.fields(TrainConfig):
        flag, help = f"--{field.name.replace('_', '-')}", f"{field.metadata['help']} (default {field.default})"
        if isinstance(field.default, bool):
            train.add_argument(flag, action=argparse.BooleanOptionalAction, default=field.default, help=help)
        else:
            train.add_argument(
                flag, type=type(field.default), default=field.default, metavar=field.name.upper(), help=help
            )
    train.set_defaults(run=run_train_toy)


def toy_configs(args: argparse.Namespace, preset: str | None = None) -> tuple[EditConfig, RuntimeConfig]:
    """Any preset at the toy model's settings, on the shipped toy model unless --model names another."""
    flags = vars(args)
    kind = backbone_class(flags["runtime.backbone"] or I2VGenXL.name)
    if kind.toy_settings is None:
        designed = " or ".join(name for name in BACKBONES if backbone_class(name).toy_settings is not None)
        raise AnyV2VError(
            f"no toy model is designed for backbone {kind.name} yet: demo and bench run toy models of {designed}"
        )
    edit, runtime = configs(args, preset, kind.toy_settings)
    if runtime.model is None:
        runtime = dataclasses.replace(runtime, model=TOY_MODEL)
    return edit, runtime


def run_demo(args: argparse.Namespace) -> None:
    from anyv2v.evaluation.demo import run_demo as demo

    edit, runtime = toy_configs(args)
    output = Path(args.output)
    check_output_suffix(output, VIDEO_SUFFIXES, "output")
    if args.edited_frame and not args.video:
        raise AnyV2VError("--edited-frame needs --video: the synthetic clips bring their own edited frame")
    started = time.time()
    result = demo(
        load_pipeline(edit, runtime), edit, output, edit=args.edit, clip=args.clip,
        video=Path(args.video) if args.video else None,
        edited_frame=Path(args.edited_frame) if args.edited_frame else None, seed=runtime.seed,
    )  # fmt: skip
    print(f"wrote {output}, {', '.join(map(str, result.previews))} in {time.time() - started:.1f} s")
    if result.scores is not None:
        s = result.scores
        print(
            f"against the ground truth: PSNR {s['psnr']:.2f} dB (the unedited source: {result.source_psnr:.2f} dB), "
            f"SSIM {s['ssim']:.3f}; edit carried: {s['carried_first']:.2f} in frame 0, {s['carried']:.2f} after"
        )


def run_bench(args: argparse.Namespace) -> None:
    from anyv2v.evaluation.bench import (
        agreement_table,
        markdown_table,
        model_quality,
        run_bench,
        summarize,
        write_report,
    )

    if args.full_size or args.memory_limit is not None or args.setups:
        time_full_size(args)
        return
    if args.side_by_side:
        write_side_by_side(args)
        return
    edit, runtime = toy_configs(args)
    pipe = load_pipeline(edit, runtime)
    if args.quality:
        quality = model_quality(pipe, edit, clips=args.clips, progress=pipe.progress_bar)
        for name, (mean, std) in quality.items():
            print(f"{name} PSNR: {mean:.2f} ± {std:.2f} dB over {args.clips} held-out clips")
        return
    if args.speed is not None:
        run_speed_bench(args, pipe, runtime)
        return
    if args.long:
        run_long_bench(args, pipe, edit, runtime)
        return
    if args.trace:
        run_trace_bench(args, pipe, edit, runtime)
        return
    rows = run_bench(
        pipe, edit, clips=args.clips, edits=args.edits, variant_names=args.variants, seed=runtime.seed,
        progress=pipe.progress_bar,
    )  # fmt: skip
    summary = summarize(rows)
    table = markdown_table(summary) + "\n**Weight-free metrics against the truth**\n\n" + agreement_table(summary)
    scored_on = {"backbone": pipe.backbone.name, "model": pipe.model_id, "world": World.of_model(pipe.model_id).tag}
    report = {"command": args.invocation, **scored_on, "config": edit.to_dict(), "summary": summary, "rows": rows}
    print(table)
    print("wrote {} and {}".format(*write_report(Path(args.output), "bench", report, table)))


def write_side_by_side(args: argparse.Namespace) -> None:
    import json

    from anyv2v.evaluation.bench import BASELINES, side_by_side_table, write_report

    reports = {}
    for pair in args.side_by_side:
        label, _, folder = pair.partition("=")
        if not label or not folder:
            raise AnyV2VError(f"--side-by-side {pair!r} is not LABEL=FOLDER: e.g. svd=bench-results")
        path = Path(folder) / "bench.json"
        if not path.is_file():
            raise AnyV2VError(f"--side-by-side {label}: no {path}; run `anyv2v bench -o {folder}` first")
        reports[label] = json.loads(path.read_text())
    table = side_by_side_table(reports, args.variants or (*BASELINES, "full AnyV2V"))
    report = {
        "command": args.invocation,
        "reports": {label: report["command"] for label, report in reports.items()},
        "summaries": {label: report["summary"] for label, report in reports.items()},
    }
    print(table)
    print("wrote {} and {}".format(*write_report(Path(args.output), "side-by-side", report, table)))


def run_trace_bench(args: argparse.Namespace, pipe, edit: EditConfig, runtime: RuntimeConfig) -> None:
    from anyv2v.evaluation.bench import write_report
    from anyv2v.evaluation.trace import trace_carried, trace_table

    rows = trace_carried(
        pipe, edit, clips=args.clips, edits=args.edits, seed=runtime.seed, progress=pipe.progress_bar
    )  # fmt: skip
    table = "**carried by the predicted clean video, frame 0 / frames 1..**\n\n" + trace_table(rows)
    print(table)
    report = {"command": args.invocation, "config": edit.to_dict(), "rows": rows}
    print("wrote {} and {}".format(*write_report(Path(args.output), "trace", report, table)))


def run_long_bench(args: argparse.Namespace, pipe, edit: EditConfig, runtime: RuntimeConfig) -> None:
    from anyv2v.evaluation.bench import write_report
    from anyv2v.evaluation.drift import drift_table, window_drift

    rows = window_drift(
        pipe, edit, windows=args.windows, overlap=args.overlap, clips=args.clips, edits=args.edits,
        seed=runtime.seed, progress=pipe.progress_bar,
    )  # fmt: skip
    table = drift_table(rows)
    report = {"command": args.invocation, "config": edit.to_dict(), "rows": rows}
    print(table)
    print("wrote {} and {}".format(*write_report(Path(args.output), "long", report, table)))


def run_speed_bench(args: argparse.Namespace, pipe, runtime: RuntimeConfig) -> None:
    """Each preset at the toy model's settings, with the video and runtime flags of this command applied."""
    from anyv2v.evaluation.speed import device_description, run_speed_bench

    presets = {name: toy_configs(args, name)[0] for name in args.speed or ["reference", "fast"]}
    rows = run_speed_bench(pipe, presets, clips=args.clips, edits=args.edits, seed=runtime.seed,
                           progress=pipe.progress_bar)  # fmt: skip
    write_speed_report(args, device_description(pipe.backbone.device), presets, rows)


def time_full_size(args: argparse.Namespace) -> None:
    """The presets' costs on a full-size architecture with random weights, at each preset's own settings,
    under each setup of speed switches."""
    from anyv2v.acceleration import Speedups
    from anyv2v.evaluation import full_size
    from anyv2v.evaluation.speed import device_description, time_presets
    from anyv2v.pipeline import AnyV2VPipeline
    from anyv2v.profiling import cap_cuda_memory
    from anyv2v.runtime import resolve_device, resolve_dtype

    if args.speed is None or not args.full_size:
        raise AnyV2VError(
            "--full-size, --memory-limit and --setups time presets: use them with --speed and --full-size"
        )
    runtime = configs(args)[1]
    default_presets = ["reference", "fast"] if runtime.backbone == "i2vgen-xl" else ["fast"]
    presets = {name: configs(args, name)[0] for name in args.speed or default_presets}
    setups = [Speedups.parse(text) for text in args.setups] if args.setups else [Speedups.of(runtime)]
    if runtime.quiet:
        silence_library_output()
    device = resolve_device(runtime.device)
    for setup in setups:
        setup.validate()
        setup.check_device(device)
    dtype = resolve_dtype(runtime.dtype, device)
    backbone = full_size.random_model(runtime.backbone, dtype=dtype, device=device)
    if runtime.offload or runtime.sequential_offload:
        backbone.enable_cpu_offload(sequential=runtime.sequential_offload)
    if args.memory_limit is not None:
        cap_cuda_memory(args.memory_limit, device)
    pipe = AnyV2VPipeline(backbone, model_id=f"random full-size {runtime.backbone}", progress=not runtime.quiet)
    setup = {
        "backbone": runtime.backbone, "dtype": str(dtype), "offload": runtime.offload,
        "sequential_offload": runtime.sequential_offload, "memory_limit_gib": args.memory_limit,
        "decode_chunk_size": next(iter(presets.values())).vae.decode_chunk_size,
    }  # fmt: skip
    device_text = device_description(device) + ", " + ", ".join(f"{k} {v}" for k, v in setup.items())

    def report(rows: list[dict]) -> None:
        write_speed_report(
            args, device_text, presets, rows, setup=setup, setups=[s.label for s in setups],
            parameters=full_size.parameter_counts(backbone),
        )  # fmt: skip

    time_presets(pipe, presets, setups=setups, seed=runtime.seed, progress=pipe.progress_bar, after_setup=report)


def write_speed_report(
    args: argparse.Namespace, device: str, presets: dict[str, EditConfig], rows: list[dict], **extra: object
) -> None:
    from anyv2v.evaluation.bench import write_report
    from anyv2v.evaluation.speed import speed_table, summarize_speed

    summary = summarize_speed(rows)
    table = f"Device: {device}\n\n" + speed_table(summary)
    configs_by_name = {name: config.to_dict() for name, config in presets.items()}
    report = {"command": args.invocation, "device": device, **extra, "configs": configs_by_name, "summary": summary}
    print(table)
    print("wrote {} and {}".format(*write_report(Path(args.output), "speed", {**report, "rows": rows}, table)))


def run_train_toy(args: argparse.Namespace) -> None:
    from anyv2v.toy.train import train_toy

    config = TrainConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)})
    train_toy(Path(args.output), config)
