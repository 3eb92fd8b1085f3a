"""anyv2v.cache: entries written whole by concurrent writers, damaged entries read as misses."""

from __future__ import annotations

import multiprocessing

import pytest
import torch

from anyv2v.cache import InversionCache


def fill(root: str, value: float) -> None:
    InversionCache(root).save("key", {i: torch.full((64, 64, 64), value) for i in range(8)}, {"writer": value})


def test_two_processes_filling_one_entry_both_succeed_and_leave_one_valid_file(tmp_path):
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=fill, args=(str(tmp_path), float(value))) for value in (1, 2)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=120)
    assert [writer.exitcode for writer in writers] == [0, 0]
    assert [path.name for path in tmp_path.iterdir()] == ["key.safetensors"]
    latents = InversionCache(tmp_path).load("key", range(8), (64, 64, 64), torch.device("cpu"))
    values = {float(latent[0, 0, 0]) for latent in latents.values()}
    assert values in ({1.0}, {2.0})  # one writer's whole entry, never a mix


@pytest.mark.parametrize("damage", ["truncated", "not safetensors", "empty"])
def test_a_damaged_entry_is_a_miss_with_a_one_line_warning(tmp_path, damage):
    cache = InversionCache(tmp_path)
    cache.save("key", {1: torch.ones(2)}, {})
    path = cache.path("key")
    content = {"truncated": path.read_bytes()[:20], "not safetensors": b"garbage" * 10, "empty": b""}[damage]
    path.write_bytes(content)
    with pytest.warns(UserWarning, match="is unreadable") as warned:
        assert cache.load("key", [1], (2,), torch.device("cpu")) is None
    assert "\n" not in str(warned[0].message)
