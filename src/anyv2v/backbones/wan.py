"""Wan (Wan-AI/Wan2.2-TI2V-5B-Diffusers; Wan 2.1 I2V 14B) from diffusers' own components: AnyV2V on a
flow-matching diffusion transformer.

Both families load from diffusers' WanImageToVideoPipeline layout and are told apart by what the model holds:
- Wan 2.1 I2V: the first frame followed by black frames is VAE-encoded as one clip and, with a mask marking
  the given frame, concatenated to the noisy latents on the channel axis; CLIP image tokens (the penultimate
  layer of `image_encoder`) join the text tokens.
- Wan 2.2 TI2V (`expand_timesteps` in model_index.json): the first latent frame *is* the clean latent of the
  first frame, told noise level zero through per-token timesteps; the model generates the frames after it.
Text goes through UMT5 (512 tokens, the padding's states zeroed) for both; the negative branch differs from
the conditional one by its text alone. Conditioning follows diffusers' pipeline, which the backbone test
holds it to; the noise process is rectified flow on the model's own shifted sigma grid.

A DiT has no decoder and no separate temporal attention, so the paper's sites have no direct counterpart.
Two kinds stand in: the self-attention queries and keys of chosen blocks (Wan attends over all frames and
positions at once, so they carry layout and motion together), and the output hidden states of chosen blocks
(the analogue of the decoder's ResNet feature). The blocks are options; the defaults are provisional, by
analogy with the paper's decoder sites (see the README).
"""

from __future__ import annotations

import dataclasses
import html
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from anyv2v.backbones.base import (
    Backbone,
    Condition,
    FrameEncoding,
    ImageNormalization,
    InjectionKind,
    Progress,
    check_size_multiple,
    diffusers_pixels,
    index_names,
    no_grad,
)
from anyv2v.config import EditConfig, InversionConfig, SamplingConfig, VideoConfig
from anyv2v.errors import AnyV2VError
from anyv2v.noise import FlowMatchingProcess, NoiseLevel, Prediction

if TYPE_CHECKING:
    import torch
    from diffusers import AutoencoderKLWan, WanTransformer3DModel
    from torch import nn
    from transformers import CLIPVisionModel, PreTrainedTokenizerBase, UMT5EncoderModel

TEXT_TOKENS = 512  # the text length Wan was trained with (the pipeline's max_sequence_length)
FRAME_GROUP = 4  # both Wan VAEs keep the first frame and pack the others in fours: clips are 4k+1 frames
FINEST_SIZE_MULTIPLE = 16  # Wan 2.1: VAE 8x, patch 2 (Wan 2.2: VAE 16x, patch 2, so 32; checked once loaded)

# Wan's own default negative prompt (its shared config's sample_neg_prompt; UMT5 reads Chinese).
NEGATIVE_PROMPT = (
    "色调艳丽，过曝，静态，细节模糊不清，字幕，风格，作品，画作，画面，静止，整体发灰，最差质量，低质量，JPEG压缩残留，丑陋的，"
    "残缺的，多余的手指，画得不好的手部，画得不好的脸部，畸形的，毁容的，形态畸形的肢体，手指融合，静止不动的画面，杂乱的背景，"
    "三条腿，背景人很多，倒着走"
)

# Wan-AI/Wan2.2-TI2V-5B-Diffusers' scheduler/scheduler_config.json, the parts the noise grid reads (for
# models built here).
SCHEDULER_CONFIG = {
    "_class_name": "UniPCMultistepScheduler", "flow_shift": 5.0, "use_flow_sigmas": True,
    "prediction_type": "flow_prediction", "final_sigmas_type": "zero", "num_train_timesteps": 1000,
}  # fmt: skip

# Site templates per block ("{}": the block index); an instance fills in the blocks its options choose.
INJECTION_KINDS = {
    "attention": InjectionKind(
        ("blocks.{}.attn1.to_q", "blocks.{}.attn1.to_k"),
        0.8,
        "self-attention queries and keys (full 3D: layout and motion) of the attention_blocks",
        "attention",
    ),
    "hidden": InjectionKind(("blocks.{}",), 0.0, "output hidden states of the hidden_blocks", "hidden"),
}
BLOCK_OPTIONS = {"attention": "attention_blocks", "hidden": "hidden_blocks"}  # kind -> the option choosing blocks

# Chosen by the toy Wan's sweep (README, Wan): queries and keys of every block on the first 80 % of the steps
# carried the most of each edit; hidden states are off by default, since replacing a block's output makes
# the edit branch the source branch wherever their prompts agree (at any block: the sweep's rows are equal),
# and it lowered what was carried. The block at half depth is where they go when asked for.
OPTIONS = {"attention_blocks": "0%-100%", "hidden_blocks": "50%"}

# Wan 2.2 TI2V-5B's own settings: 121 frames of 1280x704 at 24 fps, guidance 5; sampled from the inverted
# source in 25 steps, inverted on the same 25-step grid by the fixed-point solver (whose iterations converge
# on the exact inverse of the sampler's steps) with one iteration: the calls of 50 first-order steps, and
# on the toy Wan invert-then-sample-back lands on the VAE's own reconstruction (28.34 dB on 20 held-out
# clips against the VAE's 28.39, where 50 first-order steps reach 27.52; README, Wan). `fine` samples and
# inverts on 50; `480p`/`720p` are Wan 2.1 I2V's sizes (81 frames at 16 fps).
FAST = EditConfig(
    video=VideoConfig(num_frames=121, fps=24.0, height=704, width=1280),
    inversion=InversionConfig(steps=25, prompt="", solver="fixed-point", iterations=1),
    sampling=SamplingConfig(steps=25, guidance_scale=5.0, negative_prompt=NEGATIVE_PROMPT, start_step=0),
)
FINE = dataclasses.replace(
    FAST,
    inversion=dataclasses.replace(FAST.inversion, steps=50),
    sampling=dataclasses.replace(FAST.sampling, steps=50),
)
WAN21_480P = dataclasses.replace(FAST, video=VideoConfig(num_frames=81, fps=16.0, height=480, width=832))
WAN21_720P = dataclasses.replace(FAST, video=VideoConfig(num_frames=81, fps=16.0, height=720, width=1280))


def for_toy_model(config: EditConfig) -> EditConfig:
    """A recipe at the toy Wan's size (anyv2v/toy: 9 frames of 64x64, trained at 8 fps with empty prompts), and
    unguided: Wan's negative branch differs by its prompt alone, and the toy's prompts are empty on both sides,
    so guidance would only run the same branch twice."""
    return dataclasses.replace(
        config,
        video=VideoConfig(num_frames=9, fps=8.0, height=64, width=64),
        sampling=dataclasses.replace(config.sampling, negative_prompt="", guidance_scale=1.0),
    )


@dataclass
class WanCondition(Condition):
    text: torch.Tensor  # (B, 512, dim) UMT5 states, zero past the prompt's tokens
    # Wan 2.1: (B, 4 + C, F, h, w) the given-frame mask and the latent of the first frame then black frames;
    # Wan 2.2: (B, C, 1, h, w) the first frame's clean latent
    image_latents: torch.Tensor


@dataclass
class WanCLIPCondition(WanCondition):
    image_embeds: torch.Tensor  # (B, tokens, dim) CLIP's penultimate-layer states of the first frame


class GivenFirstFrameFlow(FlowMatchingProcess):
    """Wan 2.2's process: the first latent frame is given, not generated. `predict` returns the given latent
    there in place of a velocity; read as clean estimate and noise alike, it is a fixed point of every step
    (signal · x0 + noise · x0 = x0, as signal + noise = 1), so the frame stays the clean latent through
    inversion and sampling, at noise level zero as the model is told. The edit's first step moves the
    inverted source's first frame onto the edited frame's latent."""

    def split(self, output: torch.Tensor, latents: torch.Tensor, level: NoiseLevel) -> Prediction:
        import torch

        generated = super().split(output[:, :, 1:], latents[:, :, 1:], level)
        given = output[:, :, :1]
        return Prediction(
            denoised=torch.cat([given, generated.denoised], dim=2),
            epsilon=torch.cat([given, generated.epsilon], dim=2),
        )

    def target(self, clean: torch.Tensor, noise: torch.Tensor, level: NoiseLevel) -> torch.Tensor:
        """The given first frame is returned as it is, so its target is the clean latent itself."""
        import torch

        return torch.cat([clean[:, :, :1], super().target(clean[:, :, 1:], noise[:, :, 1:], level)], dim=2)


class CLIPImageProcessing(ImageNormalization):
    """Wan 2.1's `image_processor` (CLIPImageProcessor settings) run as transformers' PIL backend runs it:
    bicubic resize of the shorter side to the crop size, center crop, rescale in float64, normalize in
    float32. Reads the same preprocessor_config.json without transformers' classes, whose backend choice
    depends on what is installed (and says so on every load)."""

    def __call__(self, frame: Image.Image) -> torch.Tensor:
        import torch

        width, height = self.size
        image = frame.convert("RGB")
        side = min(width, height)
        if image.width <= image.height:
            resized = image.resize((side, int(side * image.height / image.width)), Image.BICUBIC)
        else:
            resized = image.resize((int(side * image.width / image.height), side), Image.BICUBIC)
        top, left = (resized.height - height) // 2, (resized.width - width) // 2
        crop = np.asarray(resized)[top : top + height, left : left + width]
        pixels = (crop.astype(np.float64) * (1 / 255)).astype(np.float32)
        normalized = (pixels - np.array(self.mean, dtype=np.float32)) / np.array(self.std, dtype=np.float32)
        return torch.from_numpy(np.ascontiguousarray(normalized.transpose(2, 0, 1)))[None]


class Wan(Backbone):
    name = "wan"
    default_model = "Wan-AI/Wan2.2-TI2V-5B-Diffusers"
    components = {
        "text_encoder": "transformers.UMT5EncoderModel",
        "transformer": "diffusers.WanTransformer3DModel",
        "vae": "diffusers.AutoencoderKLWan",
        "tokenizer": "transformers.AutoTokenizer",
        "scheduler": "diffusers.UniPCMultistepScheduler",
    }
    optional_components = {  # Wan 2.1 I2V's CLIP; Wan 2.2 TI2V-5B has none
        "image_encoder": "transformers.CLIPVisionModel",
        "image_processor": "anyv2v.backbones.wan.CLIPImageProcessing",
    }
    denoiser = "transformer"
    latent_layout = "BCFHW"
    injection_kinds = INJECTION_KINDS
    presets = {"fast": FAST, "fine": FINE, "480p": WAN21_480P, "720p": WAN21_720P}
    default_preset = "fast"
    options = OPTIONS
    size_multiple = 32  # what --resize fit rounds to: valid for both families (Wan 2.2 needs it)
    toy_settings = staticmethod(for_toy_model)

    def __init__(
        self,
        transformer: WanTransformer3DModel,
        vae: AutoencoderKLWan,
        text_encoder: UMT5EncoderModel,
        tokenizer: PreTrainedTokenizerBase,
        scheduler: dict,
        device: torch.device,
        image_encoder: CLIPVisionModel | None = None,
        image_processor: CLIPImageProcessing | None = None,
        expand_timesteps: bool = False,
    ):
        self.transformer, self.vae = transformer, vae
        self.text_encoder, self.tokenizer = text_encoder, tokenizer
        self.image_encoder, self.image_processor = image_encoder, image_processor
        self.expand_timesteps = expand_timesteps
        self.scheduler = dict(scheduler)
        self.process = GivenFirstFrameFlow(self.scheduler) if expand_timesteps else FlowMatchingProcess(self.scheduler)
        self.device, self.dtype = device, transformer.dtype
        self.uses_clip = transformer.config.image_dim is not None  # as the pipeline decides (Wan 2.1 I2V)
        if self.uses_clip and (image_encoder is None or image_processor is None):
            raise AnyV2VError(
                "this Wan transformer takes CLIP image tokens (image_dim is set) but the model has no image_encoder "
                "and image_processor: use a complete Wan 2.1 I2V model folder"
            )
        # frame sides: whole patches of latent pixels (Wan's patches are 1x2x2: one frame, a square)
        self.model_size_multiple = vae.config.scale_factor_spatial * transformer.config.patch_size[1]
        self.run_options = dict(self.options)
        self.num_frames = FAST.video.num_frames  # of the clip being edited: Wan 2.1's first-frame latent needs it
        self.injection_kinds = self._chosen_sites(self.run_options)

    @classmethod
    def model_settings(cls, index: dict) -> dict[str, object]:
        """Wan 2.2's conditioning style is a pipeline setting (`expand_timesteps`); two-expert models are
        refused before their weights load."""
        if index.get("boundary_ratio") is not None or index_names(index, "transformer_2"):
            raise AnyV2VError(
                "two-expert Wan models (Wan 2.2 A14B: transformer_2 with a boundary_ratio) are not supported: use "
                f"{cls.default_model} or a Wan 2.1 I2V model"
            )
        return {"expand_timesteps": bool(index.get("expand_timesteps", False))}

    @classmethod
    def check(cls, config: EditConfig) -> None:
        super().check(config)
        for option in BLOCK_OPTIONS.values():
            block_ranges(config.backbone.get(option, OPTIONS[option]), option)

    @classmethod
    def check_video(cls, video: VideoConfig) -> None:
        """The rules every Wan model shares; `prepare` checks the loaded model's own size multiple."""
        check_frame_count(cls.name, video.num_frames, FRAME_GROUP)
        check_size_multiple(cls.name, video, FINEST_SIZE_MULTIPLE)

    def prepare(self, config: EditConfig) -> None:
        """This model's frame and size rules, the blocks the options choose, and the clip's length."""
        super().prepare(config)
        check_frame_count(self.name, config.video.num_frames, self.vae.config.scale_factor_temporal)
        family = "Wan 2.2" if self.expand_timesteps else "Wan 2.1"
        patch = self.transformer.config.patch_size[1]
        described = f"this {family} model (VAE {self.vae.config.scale_factor_spatial}x, patch {patch})"
        check_size_multiple(described, config.video, self.model_size_multiple)
        self.injection_kinds = self._chosen_sites(self.run_options)
        self.num_frames = config.video.num_frames

    def models(self) -> list[nn.Module]:
        """Text encoder, image encoder (Wan 2.1), transformer, VAE: the order a run uses them, for offloading."""
        parts = (self.text_encoder, self.image_encoder, self.transformer, self.vae)
        return [part for part in parts if part is not None]

    @no_grad
    def encode_text(self, prompt: str) -> torch.Tensor:
        """UMT5's last states of the cleaned prompt, padded to 512 tokens with zeros (not the padding's states).

        Cleaning is Wan's without ftfy (not a dependency): HTML entities decoded, whitespace collapsed."""
        tokens = self.tokenizer(
            [clean_prompt(prompt)], padding="max_length", max_length=TEXT_TOKENS, truncation=True,
            add_special_tokens=True, return_attention_mask=True, return_tensors="pt",
        )  # fmt: skip
        mask = tokens.attention_mask.to(self.device)
        states = self.text_encoder(input_ids=tokens.input_ids.to(self.device), attention_mask=mask).last_hidden_state
        return (states * mask.unsqueeze(-1).to(states.dtype)).to(self.dtype)

    @no_grad
    def encode_frame(self, frame: Image.Image, *, sample: bool, generator: torch.Generator | None) -> FrameEncoding:
        """The frame's latent as the model is conditioned on it, and its CLIP tokens (Wan 2.1; Wan 2.2: none).

        Wan 2.1 encodes the frame followed by black frames, the clip's length (from `prepare`), as one clip: its
        causal VAE lets the frame shape every latent frame. Wan 2.2 encodes the frame alone."""
        import torch

        pixels = diffusers_pixels(frame).unsqueeze(2)
        if not self.expand_timesteps:
            black = pixels.new_zeros(1, 3, self.num_frames - 1, *pixels.shape[-2:])
            pixels = torch.cat([pixels, black], dim=2)
        latent = self._encode(pixels, sample=sample, generator=generator)
        embedding = self.embed_image(frame) if self.uses_clip else torch.zeros(1, 0, device=self.device)
        return FrameEncoding(embedding=embedding, latent=latent)

    def condition(
        self, prompt: str, frame: FrameEncoding, video: VideoConfig, *, negative: bool = False
    ) -> WanCondition:
        """Both branches see the same image conditions; the negative one differs by its (negative) prompt."""
        import torch

        text = self.encode_text(prompt)
        if self.expand_timesteps:
            return WanCondition(text=text, image_latents=frame.latent)
        frames = self.latent_sizes(video)["F"]
        if frame.latent.shape[2] != frames:
            raise AnyV2VError(
                f"the first frame was encoded for a clip of {frame.latent.shape[2]} latent frames, not {frames}: "
                "call prepare(config) with the clip's config before encode_frame"
            )
        given = frame.latent.new_zeros(1, self.vae.config.scale_factor_temporal, *frame.latent.shape[2:])
        given[:, :, 0] = 1  # the mask of pixel frames given: the first, which the first latent frame holds alone
        image_latents = torch.cat([given, frame.latent], dim=1)
        if not self.uses_clip:
            return WanCondition(text=text, image_latents=image_latents)
        return WanCLIPCondition(text=text, image_latents=image_latents, image_embeds=frame.embedding)

    @no_grad
    def encode_video(self, frames: list[Image.Image], *, sample: bool, generator: torch.Generator | None):
        """The clip in one VAE call: the causal encoder reads it frame group by frame group itself."""
        import torch

        pixels = torch.cat([diffusers_pixels(frame) for frame in frames]).permute(1, 0, 2, 3).unsqueeze(0)
        return self._encode(pixels, sample=sample, generator=generator)

    @no_grad
    def decode_video(self, latents: torch.Tensor, chunk_size: int, progress: Progress) -> torch.Tensor:
        """In one VAE call (`chunk_size` does not apply): the causal decoder carries state from each latent frame
        to the next, so the clip cannot be cut into independent chunks."""
        std = 1.0 / self._latent_statistic("latents_std", latents)  # as the pipeline: its reciprocal, divided by
        latents = latents / std + self._latent_statistic("latents_mean", latents)
        video = self.vae.decode(latents.to(self.vae.dtype)).sample[0].float()
        return (video / 2 + 0.5).clamp(0, 1).permute(1, 2, 3, 0)

    def denoise(self, latents: torch.Tensor, timestep: torch.Tensor, condition: WanCondition) -> torch.Tensor:
        """One transformer call. Wan 2.2: the first latent frame is replaced by the given one, told timestep 0,
        and its output is the given latent itself (what `GivenFirstFrameFlow` reads)."""
        import torch

        image_embeds = condition.image_embeds if isinstance(condition, WanCLIPCondition) else None
        if self.expand_timesteps:
            given = condition.image_latents
            inputs = torch.cat([given, latents[:, :, 1:]], dim=2)
            timesteps = self._token_timesteps(timestep, latents)
        else:
            inputs = torch.cat([latents, condition.image_latents], dim=1)
            timesteps = timestep.expand(latents.shape[0])
        output = self.transformer(
            hidden_states=inputs.to(self.dtype),
            timestep=timesteps,
            encoder_hidden_states=condition.text,
            encoder_hidden_states_image=image_embeds,
            return_dict=False,
        )[0]
        if self.expand_timesteps:
            output = torch.cat([given.to(output.dtype), output[:, :, 1:]], dim=2)
        return output

    def latent_sizes(self, video: VideoConfig) -> dict[str, int]:
        spatial, temporal = self.vae.config.scale_factor_spatial, self.vae.config.scale_factor_temporal
        return {"C": self.vae.config.z_dim, "F": (video.num_frames - 1) // temporal + 1,
                "H": video.height // spatial, "W": video.width // spatial}  # fmt: skip

    def _chosen_sites(self, options: dict[str, object]) -> dict[str, InjectionKind]:
        """The declared kinds with their site templates filled in for the blocks the options choose."""
        depth = len(self.transformer.blocks)
        kinds = {}
        for kind, declared in INJECTION_KINDS.items():
            chosen = blocks(options[BLOCK_OPTIONS[kind]], depth, BLOCK_OPTIONS[kind])
            sites = tuple(site.format(i) for i in chosen for site in declared.sites)
            kinds[kind] = dataclasses.replace(declared, sites=sites)
        return kinds

    def _encode(self, pixels: torch.Tensor, *, sample: bool, generator: torch.Generator | None) -> torch.Tensor:
        """(1, 3, frames, H, W) pixels to normalized latents, as the pipeline normalizes them (in float32)."""
        import torch

        posterior = self.vae.encode(pixels.to(self.device, self.vae.dtype)).latent_dist
        latent = (posterior.sample(generator) if sample else posterior.mode()).to(torch.float32)
        std = 1.0 / self._latent_statistic("latents_std", latent)
        return ((latent - self._latent_statistic("latents_mean", latent)) * std).to(self.dtype)

    def _latent_statistic(self, name: str, like: torch.Tensor) -> torch.Tensor:
        import torch

        values = torch.tensor(getattr(self.vae.config, name))
        return values.view(1, -1, 1, 1, 1).to(like.device, like.dtype)

    def _token_timesteps(self, timestep: torch.Tensor, latents: torch.Tensor) -> torch.Tensor:
        """(B, tokens): 0 for the first latent frame's tokens (the given frame is clean), the step's elsewhere."""
        import torch

        _, patch_height, patch_width = self.transformer.config.patch_size
        per_frame = (latents.shape[3] // patch_height) * (latents.shape[4] // patch_width)
        levels = timestep.to(torch.float32).reshape(-1, 1).expand(latents.shape[0], latents.shape[2]).clone()
        levels[:, 0] = 0  # one timestep for the batch (sampling), or one per clip (training)
        return levels.repeat_interleave(per_frame, dim=1)

    def embed_image(self, frame: Image.Image) -> torch.Tensor:
        """CLIP's penultimate hidden states of the frame (all tokens), as Wan 2.1 I2V reads them."""
        pixels = self.image_processor(frame).to(self.device, self.image_encoder.dtype)
        states = self.image_encoder(pixel_values=pixels, output_hidden_states=True).hidden_states[-2]
        return states.to(self.dtype)


def clean_prompt(text: str) -> str:
    """Wan's prompt cleaning less ftfy: HTML entities decoded (twice, as Wan does), whitespace collapsed."""
    return re.sub(r"\s+", " ", html.unescape(html.unescape(text)).strip()).strip()


def check_frame_count(backbone: str, num_frames: int, group: int) -> None:
    """Frame counts must be group·k + 1: refused in one line naming the nearest counts that are."""
    if num_frames % group == 1:
        return
    below = (num_frames - 1) // group * group + 1
    above = below + group
    valid = [count for count in sorted((below, above), key=lambda c: (abs(c - num_frames), c)) if count > 1]
    raise AnyV2VError(
        f"num_frames {num_frames} is not {group}k+1, which {backbone} needs (its VAE keeps the first frame and "
        f"packs the others in {group}s): use {' or '.join(map(str, valid))} (--num-frames)"
    )


_BOUND = r"\d+%?"
_RANGE = re.compile(rf"({_BOUND})(?:-({_BOUND}))?")


def block_ranges(spec: object, option: str) -> list[tuple[str, str]]:
    """'20-29,35' or '50%-100%' -> [(start, end), ...]: block indices, or percentages of the depth."""
    items = [item.strip() for item in str(spec).split(",")]
    ranges = []
    for item in items:
        match = _RANGE.fullmatch(item)
        if match is None or any(b.endswith("%") and int(b[:-1]) > 100 for b in match.groups() if b):
            raise AnyV2VError(
                f"{option} {spec!r} is not a list of transformer blocks: use indices and ranges such as 20-29,35 "
                f"or percentages of the depth such as 50%-100% (--backbone-option {option}=...)"
            )
        start, end = match.groups()
        ranges.append((start, end or start))
    return ranges


def blocks(spec: object, depth: int, option: str) -> list[int]:
    """The block indices a spec names, for a transformer of `depth` blocks; p% is block ⌊p/100 · depth⌋ (the
    last block at most), so 50%-100% is the latter half whatever the depth."""

    def index(bound: str) -> int:
        if bound.endswith("%"):
            return min(depth - 1, int(bound[:-1]) * depth // 100)
        if int(bound) >= depth:
            raise AnyV2VError(
                f"{option} {spec!r} names block {bound}, but this transformer has {depth} blocks (0-{depth - 1}): "
                f"use indices below {depth} or percentages (--backbone-option {option}=...)"
            )
        return int(bound)

    chosen = set()
    for start, end in block_ranges(spec, option):
        first, last = index(start), index(end)
        if first > last:
            raise AnyV2VError(f"{option} {spec!r} has a range that runs backwards: write it low-high, e.g. 20-29")
        chosen.update(range(first, last + 1))
    return sorted(chosen)
