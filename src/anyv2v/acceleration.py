"""Speed switches: the same edit in less time on a GPU; none changes the result beyond float rounding.

`compile` and `channels_last` change the denoiser itself and stay until switched off; the attention backend
and cuDNN's autotuning are process-wide settings, set for one run and restored after it. What each costs and
gains, and how far the output moves, is measured by `anyv2v bench --speed --full-size --setups ...`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from anyv2v.errors import AnyV2VError

if TYPE_CHECKING:
    import torch
    from torch import nn

    from anyv2v.config import RuntimeConfig

ATTENTION_BACKENDS = {  # name -> torch.nn.attention.SDPBackend member; "auto" lets torch choose per call
    "auto": None,
    "flash": "FLASH_ATTENTION",
    "efficient": "EFFICIENT_ATTENTION",
    "cudnn": "CUDNN_ATTENTION",
    "math": "MATH",
}


@dataclass(frozen=True)
class Speedups:
    compile: bool = False  # torch.compile the denoiser (minutes of compiling on the first run of each shape)
    channels_last: bool = False  # the denoiser's convolution weights in NHWC order
    attention: str = "auto"  # preferred scaled-dot-product attention backend, one of ATTENTION_BACKENDS
    cudnn_benchmark: bool = False  # let cuDNN time its convolution algorithms on first use of each shape

    @classmethod
    def of(cls, runtime: RuntimeConfig) -> Speedups:
        return cls(**{f.name: getattr(runtime, f.name) for f in dataclasses.fields(cls)})

    @classmethod
    def parse(cls, text: str) -> Speedups:
        """'plain', or switch names joined by '+': 'compile+channels-last+cudnn-benchmark+attention=flash'."""
        if text == "plain":
            return cls()
        fields: dict[str, object] = {}
        for name in text.split("+"):
            key, _, value = name.partition("=")
            key = key.replace("-", "_")
            if key == "attention" and value:
                fields[key] = value
            elif key in {"compile", "channels_last", "cudnn_benchmark"} and not value:
                fields[key] = True
            else:
                raise AnyV2VError(
                    f"unknown speed switch {name!r} in setup {text!r}: join compile, channels-last, "
                    f"cudnn-benchmark and attention=BACKEND ({', '.join(ATTENTION_BACKENDS)}) with '+', or say plain"
                )
        speedups = cls(**fields)
        speedups.validate()
        return speedups

    @property
    def label(self) -> str:
        names = [f.name.replace("_", "-") for f in dataclasses.fields(self) if getattr(self, f.name) is True]
        if self.attention != "auto":
            names.append(f"attention={self.attention}")
        return "+".join(names) or "plain"

    def validate(self) -> None:
        if self.attention not in ATTENTION_BACKENDS:
            raise AnyV2VError(
                f"unknown attention backend {self.attention!r}: use one of {', '.join(ATTENTION_BACKENDS)}"
            )

    def check_device(self, device: torch.device) -> None:
        """Refuse switches that only exist on CUDA, in one line naming the switch."""
        if device.type == "cuda":
            return
        if self.cudnn_benchmark:
            raise AnyV2VError("--cudnn-benchmark needs a CUDA device: drop it or run with --device cuda")
        if self.attention not in ("auto", "math"):
            raise AnyV2VError(
                f"--attention {self.attention} needs a CUDA device: use auto or math, or run with --device cuda"
            )


def set_model_speedups(denoiser: nn.Module, speedups: Speedups) -> None:
    """Compile the denoiser or not, and lay its 2-D convolution weights out as NHWC or not; idempotent."""
    import torch

    compiled = denoiser._compiled_call_impl is not None
    if speedups.compile and not compiled:
        denoiser.compile(dynamic=False)  # one graph per batch size: dynamic shapes compile far slower
    elif compiled and not speedups.compile:
        denoiser._compiled_call_impl = None  # the slot nn.Module.compile fills; torch has no public undo
    layout = torch.channels_last if speedups.channels_last else torch.contiguous_format
    for module in denoiser.modules():
        if isinstance(module, torch.nn.Conv2d):  # video models' Conv3d weights have no NHWC layout
            module.to(memory_format=layout)  # a no-op for weights already in that layout


@contextmanager
def kernel_settings(speedups: Speedups) -> Iterator[None]:
    """The attention backend and cuDNN autotuning for the duration of one run, restored afterwards."""
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel

    with ExitStack() as stack:
        backend = ATTENTION_BACKENDS[speedups.attention]
        if backend is not None:  # first choice; calls it cannot serve (the VAE's 512-wide heads) fall back
            fallbacks = [
                getattr(SDPBackend, name) for name in ATTENTION_BACKENDS.values() if name not in (None, backend)
            ]
            stack.enter_context(sdpa_kernel([getattr(SDPBackend, backend), *fallbacks], set_priority=True))
        benchmark = torch.backends.cudnn.benchmark
        torch.backends.cudnn.benchmark = speedups.cudnn_benchmark or benchmark
        stack.callback(setattr, torch.backends.cudnn, "benchmark", benchmark)
        yield
