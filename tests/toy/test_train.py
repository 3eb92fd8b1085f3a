from __future__ import annotations

import numpy as np
import torch

from anyv2v.backbones.i2vgen_xl import I2VGenXL
from anyv2v.toy.model import toy_components
from anyv2v.toy.train import TrainConfig, refine_decoder, train_unet, train_vae


def quiet(message: str) -> None:
    pass


def test_a_few_training_steps_lower_both_losses(tmp_path):
    torch.manual_seed(0)
    components = toy_components(tmp_path, seed=0)
    config = TrainConfig(vae_steps=40, vae_batch=8, unet_steps=40, unet_batch=1, decoder_steps=5, log_every=1000)
    vae_losses = train_vae(components["vae"], config, quiet)
    assert np.mean(vae_losses[-5:]) < 0.7 * np.mean(vae_losses[:5])

    backbone = I2VGenXL(
        **{k: v for k, v in components.items() if k != "scheduler"},
        scheduler_config=components["scheduler"].config,
        device=torch.device("cpu"),
    )
    ema, unet_losses = train_unet(backbone, config, quiet)
    assert np.mean(unet_losses[-10:]) < 0.8 * np.mean(unet_losses[:5])
    assert not any(p.requires_grad for p in ema.parameters())

    encoder = {k: v.clone() for k, v in components["vae"].encoder.state_dict().items()}
    decoder = {k: v.clone() for k, v in components["vae"].decoder.state_dict().items()}
    refine_decoder(components["vae"], config, quiet)
    assert all(torch.equal(v, components["vae"].encoder.state_dict()[k]) for k, v in encoder.items())
    assert any(not torch.equal(v, components["vae"].decoder.state_dict()[k]) for k, v in decoder.items())
