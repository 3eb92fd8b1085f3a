"""What the probes in this folder share: a toy model's pipeline at the toy settings of `fast`."""

import torch

from anyv2v.backbones import backbone_class
from anyv2v.cli.options import load_pipeline
from anyv2v.config import EditConfig, RuntimeConfig
from anyv2v.pipeline import AnyV2VPipeline


def toy_pipeline(backbone: str, model: str, threads: int = 1) -> tuple[AnyV2VPipeline, EditConfig]:
    """The pipeline (no inversion cache, quiet) and `fast` at the toy settings of `backbone`."""
    torch.set_num_threads(threads)
    kind = backbone_class(backbone)
    config = kind.toy_settings(kind.preset("fast"))
    runtime = RuntimeConfig(model=model, backbone=backbone, quiet=True, use_cache=False, threads=1)
    return load_pipeline(config, runtime), config
