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
    """Hooks that copy the first batch group (the source branch) over the others on scheduled steps.

    The hooks keep no step in Python: which kinds inject is a boolean tensor per kind, set before each model
    call, and the hooks count their injecting calls in tensors. So `torch.compile` traces them into the model's
    graph once, without a recompile per step or per edit.
    """

    def __init__(self, sites: dict[str, list[nn.Module]], schedule: dict[str, set[int]], device: torch.device):
        self.sites = sites
        self.schedule = schedule
        self._on = {kind: torch.zeros((), dtype=torch.bool, device=device) for kind in sites}
        self._calls = {kind: torch.zeros((), dtype=torch.int64, device=device) for kind in sites}
        self._counts_after_step: list[tuple[int, dict[str, torch.Tensor]]] = []
        self._groups = 1  # branches in the batch of the model call under way; 1: nothing to inject into
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
        for kind, on in self._on.items():
            on.fill_(step in self.schedule.get(kind, ()))
        self._groups = groups
        try:
            yield
        finally:
            self._groups = 1
            self._counts_after_step.append((step, {kind: calls.clone() for kind, calls in self._calls.items()}))

    @property
    def fired(self) -> Counter[tuple[str, int]]:
        """(kind, step) -> hook calls that injected; read once the sampling is done (it waits for the device)."""
        fired: Counter[tuple[str, int]] = Counter()
        before = dict.fromkeys(self._calls, 0)
        for step, counts in self._counts_after_step:
            for kind, count in counts.items():
                fired[kind, step] += int(count) - before[kind]
                before[kind] = int(count)
        return +fired  # drops the zero counts

    def _hook_for(self, kind: str):
        def copy_source_features(module: nn.Module, inputs: tuple, output: torch.Tensor) -> torch.Tensor | None:
            if self._groups == 1:
                return None
            on = self._on[kind]
            self._calls[kind].add_(on.long())
            source = output.chunk(self._groups)[0]
            return torch.where(on, torch.cat([source] * self._groups), output)

        return copy_source_features
