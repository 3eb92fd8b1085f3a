from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from anyv2v.acceleration import Speedups, chunked_feed_forward, kernel_settings, set_model_speedups
from anyv2v.errors import AnyV2VError
from anyv2v.injection import FeatureInjector
from tests.helpers import load_tiny_pipeline, tiny_config


def test_setups_parse_from_their_labels_and_back():
    assert Speedups.parse("plain") == Speedups()
    setup = Speedups.parse("compile+channels-last+cudnn-benchmark+attention=flash")
    assert setup == Speedups(compile=True, channels_last=True, attention="flash", cudnn_benchmark=True)
    assert Speedups.parse(setup.label) == setup
    chunked = Speedups.parse("compile+feed-forward-chunks=4")
    assert chunked == Speedups(compile=True, feed_forward_chunks=4)
    assert Speedups.parse(chunked.label) == chunked
    assert Speedups().label == "plain"


@pytest.mark.parametrize(
    "text", ["compile+turbo", "attention=fastest", "compile=yes", "attention", "feed-forward-chunks=many"]
)
def test_an_unknown_switch_is_a_one_line_error_naming_it(text):
    with pytest.raises(AnyV2VError) as error:
        Speedups.parse(text)
    assert "\n" not in str(error.value)
    assert text.split("+")[-1].split("=")[-1] in str(error.value)


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (Speedups(cudnn_benchmark=True), "--cudnn-benchmark needs a CUDA device"),
        (Speedups(attention="flash"), "--attention flash needs a CUDA device"),
    ],
)
def test_cuda_only_switches_are_refused_on_the_cpu(setup, message):
    with pytest.raises(AnyV2VError, match=message):
        setup.check_device(torch.device("cpu"))
    setup.check_device(torch.device("cuda"))  # where they belong, nothing to refuse
    Speedups(compile=True, channels_last=True, attention="math").check_device(torch.device("cpu"))


class VideoBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.spatial = nn.Conv2d(4, 4, 3, padding=1)
        self.temporal = nn.Conv3d(4, 4, (3, 1, 1), padding=(1, 0, 0))
        self.head = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (batch, channels, frames, height, width)
        b, c, f, h, w = x.shape
        frames = self.spatial(x.transpose(1, 2).reshape(b * f, c, h, w)).reshape(b, f, c, h, w).transpose(1, 2)
        return self.head(torch.relu(self.temporal(frames)).transpose(1, -1)).transpose(1, -1)


def test_zero_feed_forward_chunks_is_refused_in_one_line():
    with pytest.raises(AnyV2VError, match="--feed-forward-chunks must be 1 or more"):
        Speedups.parse("feed-forward-chunks=0")


def test_model_switches_apply_and_undo():
    model = VideoBlock()
    set_model_speedups(model, Speedups(compile=True, channels_last=True))
    assert model._compiled_call_impl is not None
    assert model.spatial.weight.is_contiguous(memory_format=torch.channels_last)
    assert not model.spatial.weight.is_contiguous()
    assert model.temporal.weight.is_contiguous()  # 5-D weights keep their layout
    set_model_speedups(model, Speedups())
    assert model._compiled_call_impl is None and model.spatial.weight.is_contiguous()


def test_feed_forward_chunks_slice_the_tokens_give_the_same_output_and_are_undone():
    from diffusers.models.attention import BasicTransformerBlock

    torch.manual_seed(0)
    block = BasicTransformerBlock(dim=8, num_attention_heads=2, attention_head_dim=4).eval()
    hidden = torch.randn(2, 10, 8)
    with torch.no_grad():
        expected = block(hidden)
        seen: list[tuple[int, ...]] = []
        handle = block.ff.net[0].register_forward_hook(lambda module, inputs, output: seen.append(inputs[0].shape))
        with chunked_feed_forward(block, 4):
            chunked = block(hidden)
        handle.remove()
    assert seen == [(2, 3, 8), (2, 3, 8), (2, 3, 8), (2, 1, 8)]  # the longest axis, the tokens, in slices
    torch.testing.assert_close(chunked, expected, rtol=1e-5, atol=1e-6)
    assert "forward" not in vars(block.ff)  # the layer's own forward again


def test_feed_forward_chunks_keep_a_wrapper_already_on_the_layer():
    """Offloading hooks (accelerate) replace a module's forward on the instance; chunking must restore theirs."""
    from diffusers.models.attention import FeedForward

    layer = FeedForward(8, mult=2)
    calls = []

    def offload_wrapper(hidden_states):
        calls.append(hidden_states.shape)
        return FeedForward.forward(layer, hidden_states)

    layer.forward = offload_wrapper
    holder = nn.ModuleDict({"ff": layer})
    with torch.no_grad(), chunked_feed_forward(holder, 2):
        holder["ff"](torch.randn(1, 6, 8))
    assert calls == [(1, 3, 8), (1, 3, 8)] and layer.forward is offload_wrapper


def test_kernel_settings_last_one_run():
    before = torch.backends.cudnn.benchmark
    with kernel_settings(Speedups(cudnn_benchmark=True, attention="math")):
        assert torch.backends.cudnn.benchmark
        q = torch.randn(1, 2, 5, 4)
        torch.nn.functional.scaled_dot_product_attention(q, q, q)
    assert torch.backends.cudnn.benchmark == before


def test_a_preferred_attention_backend_falls_back_where_it_cannot_serve():
    """On the GPU the cuDNN backend cannot serve the VAE's 512-wide heads; here the CPU has no
    memory-efficient kernel at all. Either way the call runs, on the next backend."""
    q = torch.randn(1, 2, 5, 4)
    expected = torch.nn.functional.scaled_dot_product_attention(q, q, q)
    with kernel_settings(Speedups(attention="efficient")):
        torch.testing.assert_close(torch.nn.functional.scaled_dot_product_attention(q, q, q), expected)


def test_compiled_injection_equals_eager_without_a_recompile_per_step_or_edit():
    """The injector's hooks keep their state in tensors, so one graph per batch size, compiled on the first
    edit, serves every later step and edit; the output is the eager one."""
    torch.manual_seed(0)
    model = VideoBlock()
    inputs = {groups: torch.randn(groups, 4, 3, 4, 4) for groups in (1, 2, 3)}
    schedule = {"spatial": {0, 1}, "temporal": {0}}

    def edit() -> tuple[list[torch.Tensor], FeatureInjector]:
        outputs = [model(inputs[1])]  # inversion: no hooks
        sites = {"spatial": [model.spatial], "temporal": [model.temporal]}
        with FeatureInjector(sites, schedule, torch.device("cpu")) as injector:
            for step in range(4):
                if injector.injects_at(step):
                    with injector.at(step, groups=3):
                        outputs.append(model(inputs[3]))
                else:
                    outputs.append(model(inputs[2]))
        return outputs, injector

    eager, injector = edit()
    assert injector.fired == {("spatial", 0): 1, ("spatial", 1): 1, ("temporal", 0): 1}
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    set_model_speedups(model, Speedups(compile=True))
    try:
        graphs = []
        for _ in range(3):
            compiled, injector = edit()
            graphs.append(torch._dynamo.utils.counters["stats"]["unique_graphs"])
            assert injector.fired == {("spatial", 0): 1, ("spatial", 1): 1, ("temporal", 0): 1}
            for a, b in zip(compiled, eager, strict=True):
                torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
        assert 0 < graphs[0] <= 3  # one per batch size at most
        assert graphs[1] == graphs[2] == graphs[0]  # nothing compiled after the first edit
    finally:
        set_model_speedups(model, Speedups())


def test_an_edit_with_chunked_feed_forward_equals_the_plain_one(tiny_model, source_frames, edited_frame):
    pipe = load_tiny_pipeline(tiny_model)
    config = tiny_config(steps=4, inversion_steps=8)
    unet = pipe.backbone.denoiser_module
    calls = []
    unet.down_blocks[0].attentions[0].transformer_blocks[0].ff.net[0].register_forward_hook(
        lambda module, inputs, output: calls.append(inputs[0].shape)
    )

    def edit() -> np.ndarray:
        calls.clear()
        generator = torch.Generator().manual_seed(0)
        return pipe.edit(source_frames, edited_frame, "a square", config=config, generator=generator, output_type="np")

    plain, plain_calls = edit(), len(calls)
    pipe.speedups = Speedups(feed_forward_chunks=3)
    chunked = edit()
    assert len(calls) == 3 * plain_calls  # every feed-forward call ran in three slices
    np.testing.assert_allclose(chunked, plain, atol=1e-5)
    assert not any("forward" in vars(m) for m in unet.modules())
