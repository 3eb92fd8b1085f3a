"""Speed and memory switches: the same edit in less time, or in less GPU memory; none changes the result
beyond float rounding.

`compile` and `channels_last` change the denoiser itself and stay until switched off; the attention backend,
cuDNN's autotuning and feed-forward chunking are set for one run and restored after it. What each costs and
gains, and how far the output moves, is measured by `anyv2v bench --speed --full-size --setups ...`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
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
# Per-token feed-forward layers of transformer blocks, by attribute name (diffusers' UNet blocks and Wan's).
FEED_FORWARD_NAMES = ("ff", "ff_in", "ffn")


@dataclass(frozen=True)
class Speedups:
    compile: bool = False  # torch.compile the denoiser (minutes of compiling on the first run of each shape)
    channels_last: bool = False  # the denoiser's convolution weights in NHWC order
    attention: str = "auto"  # preferred scaled-dot-product attention backend, one of ATTENTION_BACKENDS
    cudnn_benchmark: bool = False  # let cuDNN time its convolution algorithms on first use of each shape
    feed_forward_chunks: int = 1  # run each feed-forward layer on this many slices of its tokens (less memory)

    @classmethod
    def of(cls, runtime: RuntimeConfig) -> Speedups:
        return cls(**{f.name: getattr(runtime, f.name) for f in dataclasses.fields(cls)})

    @classmethod
    def parse(cls, text: str) -> Speedups:
        """'plain', or switch names joined by '+': 'compile+channels-last+attention=flash+feed-forward-chunks=4'."""
        if text == "plain":
            return cls()
        fields: dict[str, object] = {}
        for name in text.split("+"):
            key, _, value = name.partition("=")
            key = key.replace("-", "_")
            if key == "attention" and value:
                fields[key] = value
            elif key == "feed_forward_chunks" and value.isdigit():
                fields[key] = int(value)
            elif key in {"compile", "channels_last", "cudnn_benchmark"} and not value:
                fields[key] = True
            else:
                raise AnyV2VError(
                    f"unknown speed switch {name!r} in setup {text!r}: join compile, channels-last, "
                    f"cudnn-benchmark, feed-forward-chunks=N and attention=BACKEND ({', '.join(ATTENTION_BACKENDS)}) "
                    "with '+', or say plain"
                )
        speedups = cls(**fields)
        speedups.validate()
        return speedups

    @property
    def label(self) -> str:
        names = [f.name.replace("_", "-") for f in dataclasses.fields(self) if getattr(self, f.name) is True]
        if self.attention != "auto":
            names.append(f"attention={self.attention}")
        if self.feed_forward_chunks != 1:
            names.append(f"feed-forward-chunks={self.feed_forward_chunks}")
        return "+".join(names) or "plain"

    def validate(self) -> None:
        if self.attention not in ATTENTION_BACKENDS:
            raise AnyV2VError(
                f"unknown attention backend {self.attention!r}: use one of {', '.join(ATTENTION_BACKENDS)}"
            )
        if self.feed_forward_chunks < 1:
            raise AnyV2VError(f"--feed-forward-chunks must be 1 or more, not {self.feed_forward_chunks}")

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


@contextmanager
def chunked_feed_forward(denoiser: nn.Module, chunks: int) -> Iterator[None]:
    """Run every feed-forward layer of the denoiser on `chunks` slices of its tokens, for one run.

    A feed-forward layer widens each token four- to eightfold, so at 16 frames of 64x64 latents its hidden
    activations are the largest tensors of a UNet call; a feed-forward acts on each token alone, so slicing the
    tokens gives the same result in a fraction of the memory. Each layer's forward as it stands (an offloading
    hook's wrapper included) is wrapped, not copied, and restored on exit.
    """
    if chunks <= 1:
        yield
        return
    layers = [m for name, m in denoiser.named_modules() if name.rpartition(".")[2] in FEED_FORWARD_NAMES]
    replaced = {layer: vars(layer).get("forward") for layer in layers}  # None: the class's own forward
    for layer in layers:
        layer.forward = partial(_in_token_slices, layer.forward, chunks)
    try:
        yield
    finally:
        for layer, forward in replaced.items():
            if forward is None:
                del layer.forward  # the class's forward shows through again
            else:
                layer.forward = forward


def _in_token_slices(forward: Callable, chunks: int, hidden_states: torch.Tensor, *args, **kwargs) -> torch.Tensor:
    import torch

    dim = max(range(hidden_states.dim() - 1), key=lambda d: hidden_states.shape[d])  # the longest token axis
    return torch.cat([forward(piece, *args, **kwargs) for piece in hidden_states.chunk(chunks, dim)], dim)
