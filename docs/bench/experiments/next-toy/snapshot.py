"""A model folder from a UNet-stage checkpoint's weight average (UNet and image encoder) on top of a saved toy
model (its VAE, encoders, world): to score a run before it ends. argv: checkpoint.pt base_model out_folder"""

import shutil
import sys
from pathlib import Path

import torch
from diffusers.models.unets import I2VGenXLUNet
from transformers import CLIPVisionModelWithProjection

checkpoint, base, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
state = torch.load(checkpoint, map_location="cpu", weights_only=True)
print("steps", len(state["losses"]))
if out.exists():
    shutil.rmtree(out)
shutil.copytree(base, out)
parts = {
    "unet": I2VGenXLUNet.from_pretrained(base / "unet"),
    "image_encoder": CLIPVisionModelWithProjection.from_pretrained(base / "image_encoder"),
}
for name, module in parts.items():
    own = {k[len(name) + 1 :]: v for k, v in state["ema"].items() if k.startswith(name + ".")}
    if own:
        module.load_state_dict(own)
        shutil.rmtree(out / name)
        module.save_pretrained(out / name, safe_serialization=True)
        print("replaced", name, len(own))
