from __future__ import annotations

import numpy as np
import torch

from anyv2v.profiling import RssPeak, StageCosts


def test_rss_peak_sees_memory_freed_before_the_block_ends():
    with RssPeak() as outside:
        pass
    with RssPeak(interval=0.001) as meter:
        block = np.ones(200 * 2**20, dtype=np.uint8)  # touched, so resident
        del block
    assert meter.peak - outside.peak > 150 * 2**20


def test_repeated_stages_add_their_times_and_keep_the_highest_peak():
    costs = StageCosts()
    cpu = torch.device("cpu")
    for _ in range(2):
        with costs.measure("encode", cpu):
            torch.ones(1000).sum()
    assert set(costs.seconds) == {"encode"} and costs.seconds["encode"] > 0
    assert costs.peak_memory["encode"] > 0
