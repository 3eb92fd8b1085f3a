"""Plug-and-play feature injection: the source branch's features overwrite the other branches' features.

Forward hooks on the backbone's injection sites replace their output for every branch with the source
branch's, but only on the sampling steps each kind is scheduled for. The kinds and their sites are the
backbone's declaration; steps are positions on the sampling grid. The hooks are installed for the duration
of a `with` block and removed on exit, errors included.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn


def injection_steps(steps: int, fraction: float, start_step: int, count_skipped_steps: bool) -> set[int]:
    """Grid positions on which one kind is injected: `int(steps * fraction)` of the `steps` sampling steps.

    The official code takes them from the start of the full schedule, so skipped first steps count among them
    (`count_skipped_steps`, one injected step fewer); otherwise they are the first steps actually sampled.
    """
    count = int(steps * fraction)
    if count_skipped_steps:
        return set(range(start_step, count))
    return set(range(start_step, start_step + count))


def injection_schedule(
    fractions: dict[str, float], steps: int, start_step: int, count_skipped_steps: bool
) -> dict[str, set[int]]:
    return {kind: injection_steps(steps, f, start_step, count_skipped_steps) for kind, f in fractions.items()}


class FeatureInjector:
    """Hooks that copy the first batch group (the source branch) over the others on scheduled steps."""

    def __init__(self, sites: dict[str, list[nn.Module]], schedule: dict[str, set[int]]):
        self.sites = sites
        self.schedule = schedule
        self.fired: Counter[tuple[str, int]] = Counter()  # (kind, step) -> hook calls that injected
        self._active: set[str] = set()
        self._step = -1
        self._groups = 1
        self._handles: list[torch.utils.hooks.RemovableHandle] = []

    def __enter__(self) -> FeatureInjector:
        for kind, modules in self.sites.items():
            if self.schedule.get(kind):
                self._handles += [module.register_forward_hook(self._hook_for(kind)) for module in modules]
        return self

    def __exit__(self, *exc_info: object) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def injects_at(self, step: int) -> bool:
        return any(step in steps for steps in self.schedule.values())

    @contextmanager
    def at(self, step: int, groups: int) -> Iterator[None]:
        """Inject during one model call whose batch holds `groups` branches, the source branch first."""
        self._active = {kind for kind, steps in self.schedule.items() if step in steps}
        self._step, self._groups = step, groups
        try:
            yield
        finally:
            self._active = set()

    def _hook_for(self, kind: str):
        def copy_source_features(module: nn.Module, inputs: tuple, output: torch.Tensor) -> torch.Tensor | None:
            if kind not in self._active:
                return None
            self.fired[kind, self._step] += 1
            source = output.chunk(self._groups)[0]
            return torch.cat([source] * self._groups)

        return copy_source_features
