"""Plug-and-play feature injection: the source branch's features overwrite the other branches' features.

Forward hooks on the backbone's injection sites (ResNet convolutions, attention query/key projections) replace
their output for every branch with the source branch's, but only at the timesteps each kind is scheduled for.
The hooks are installed for the duration of a `with` block and removed on exit, errors included.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import nn

from anyv2v.backbones.base import InjectionSites
from anyv2v.config import InjectionConfig

KINDS = ("conv", "spatial_attention", "temporal_attention")


def injection_timesteps(
    timesteps: Sequence[int], fraction: float, start_step: int, count_skipped_steps: bool
) -> set[int]:
    """Timesteps on which one kind of feature is injected: `int(n * fraction)` of the n steps.

    The official code takes them from the start of the full schedule, so skipped first steps count among them
    (`count_skipped_steps`, one injected step fewer); otherwise they are the first steps actually sampled.
    """
    count = int(len(timesteps) * fraction)
    if count_skipped_steps:
        return set(timesteps[start_step:count])
    return set(timesteps[start_step : start_step + count])


def injection_schedule(config: InjectionConfig, timesteps: Sequence[int], start_step: int) -> dict[str, set[int]]:
    return {
        kind: injection_timesteps(timesteps, getattr(config, kind), start_step, config.count_skipped_steps)
        for kind in KINDS
    }


class FeatureInjector:
    """Hooks that copy the first batch group (the source branch) over the others at scheduled timesteps."""

    def __init__(self, sites: InjectionSites, schedule: dict[str, set[int]]):
        self.sites = sites.by_kind()
        self.schedule = schedule
        self.fired: Counter[tuple[str, int]] = Counter()  # (kind, timestep) -> hook calls that injected
        self._active: set[str] = set()
        self._timestep = -1
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

    def injects_at(self, timestep: int) -> bool:
        return any(timestep in steps for steps in self.schedule.values())

    @contextmanager
    def at(self, timestep: int, groups: int) -> Iterator[None]:
        """Inject during one model call whose batch holds `groups` branches, the source branch first."""
        self._active = {kind for kind, steps in self.schedule.items() if timestep in steps}
        self._timestep, self._groups = timestep, groups
        try:
            yield
        finally:
            self._active = set()

    def _hook_for(self, kind: str):
        def copy_source_features(module: nn.Module, inputs: tuple, output: torch.Tensor) -> torch.Tensor | None:
            if kind not in self._active:
                return None
            self.fired[kind, self._timestep] += 1
            source = output.chunk(self._groups)[0]
            return torch.cat([source] * self._groups)

        return copy_source_features
