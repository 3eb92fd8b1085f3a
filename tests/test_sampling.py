import pytest
import torch

from anyv2v.noise import NoiseLevel, Prediction, step
from anyv2v.sampling import GivenFrame


@pytest.mark.parametrize("frame_axis", [1, 2])
def test_a_given_frame_replaces_frame_zeros_clean_estimate_and_keeps_its_noise(frame_axis):
    generator = torch.Generator().manual_seed(0)
    shape = [1, 3, 3, 4, 4]
    shape[frame_axis] = 5
    latents, denoised, epsilon = (torch.randn(shape, generator=generator) for _ in range(3))
    given = torch.randn([1 if axis == frame_axis else size for axis, size in enumerate(shape)], generator=generator)
    level, target = NoiseLevel(500, 0.6, 0.8), NoiseLevel(400, 0.7, 0.714)

    imposed = GivenFrame(given, frame_axis).imposed(Prediction(denoised, epsilon), latents, level)

    first, rest = (lambda t: t.narrow(frame_axis, 0, 1)), (lambda t: t.narrow(frame_axis, 1, 4))
    torch.testing.assert_close(first(imposed.denoised), given)
    torch.testing.assert_close(rest(imposed.denoised), rest(denoised))
    torch.testing.assert_close(rest(imposed.epsilon), rest(epsilon))
    # Frame 0's noise is the current latent's: a step to the same level leaves it where it is
    torch.testing.assert_close(first(step(imposed, level, level)), first(latents))
    # and a step to the clean level lands on the given latent
    torch.testing.assert_close(first(step(imposed, level, NoiseLevel(0, 1.0, 0.0))), given)
    assert not torch.allclose(first(step(imposed, level, target)), first(latents))
