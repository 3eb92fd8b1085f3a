"""Wall time and peak memory of each stage of a run (encode, inversion, sampling, decode).

On CUDA the peak is torch's max allocated memory; on the CPU it is the process's resident set size, sampled
by a background thread, since the kernel's own high-water mark cannot be reset between stages.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import psutil
import torch

from anyv2v.errors import AnyV2VError


@dataclass
class StageCosts:
    seconds: dict[str, float] = field(default_factory=dict)
    peak_memory: dict[str, int] = field(default_factory=dict)  # bytes

    @contextmanager
    def measure(self, stage: str, device: torch.device) -> Iterator[None]:
        """Time one stage and record its peak memory; repeated stages add their times and keep the max peak."""
        synchronize(device)
        meter = CudaPeak(device) if device.type == "cuda" else RssPeak()
        started = time.perf_counter()
        with meter:
            try:
                yield
            finally:
                synchronize(device)
        self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - started
        self.peak_memory[stage] = max(self.peak_memory.get(stage, 0), meter.peak)


def cap_cuda_memory(gib: float, device: torch.device) -> None:
    """Make torch's allocator refuse more than `gib` GiB, so a big card shows whether a smaller one suffices."""
    if device.type != "cuda":
        raise AnyV2VError("a GPU memory limit needs a CUDA device: drop --memory-limit or run with --device cuda")
    total = torch.cuda.get_device_properties(device).total_memory
    if not 0 < gib * 2**30 <= total:
        raise AnyV2VError(
            f"--memory-limit {gib} GiB does not fit this card's {total / 2**30:.0f} GiB: use more than 0, up to that"
        )
    index = torch.cuda.current_device() if device.index is None else device.index
    torch.cuda.set_per_process_memory_fraction(gib * 2**30 / total, index)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class CudaPeak:
    def __init__(self, device: torch.device):
        self.device = device
        self.peak = 0

    def __enter__(self) -> CudaPeak:
        torch.cuda.reset_peak_memory_stats(self.device)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.peak = torch.cuda.max_memory_allocated(self.device)


class RssPeak:
    """Highest resident set size seen while the block runs, polled every `interval` seconds."""

    def __init__(self, interval: float = 0.005):
        self.interval = interval
        self.peak = 0
        self._process = psutil.Process()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> RssPeak:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._done.set()
        self._thread.join()
        self._sample()

    def _poll(self) -> None:
        while not self._done.wait(self.interval):
            self._sample()

    def _sample(self) -> None:
        self.peak = max(self.peak, self._process.memory_info().rss)
