"""How much of the clip does the inverted start hold? Regress the inverted latent's difference between the
truth's and the source's inversions on the clean latents' difference, per frame.
start_imprint.py BACKBONE MODEL CLIPS"""

import sys

from toy_probe import toy_pipeline

from anyv2v.toy.world import EDITS, HELDOUT_SEEDS, World, clip_pair, to_images

name, model, clips = sys.argv[1], sys.argv[2], int(sys.argv[3])
pipe, config = toy_pipeline(name, model)
video, world = config.video, World.of_model(pipe.model_id)
bb = pipe.backbone
grid = bb.process.grid(config.sampling.steps)
first = pipe._first_step(config)
lvl = grid[first]
print("start level", lvl, flush=True)
F = bb.latent_layout.index("F")
for edit in EDITS:
    for seed in HELDOUT_SEEDS[:clips]:
        source, truth = clip_pair(seed, edit, size=video.height, num_frames=video.num_frames, world=world)
        zs = pipe.invert(to_images(source), config=config)[first]
        zt = pipe.invert(to_images(truth), config=config)[first]
        xs = bb.encode_video(to_images(source), sample=False, generator=None)
        xt = bb.encode_video(to_images(truth), sample=False, generator=None)
        dz, dx = (zt - zs).movedim(F, 1), (xt - xs).movedim(F, 1)
        k = [(dz[:, f] * dx[:, f]).sum().item() / max((dx[:, f] ** 2).sum().item(), 1e-12) for f in range(dz.shape[1])]
        cs = (zs * xs).sum().item() / (xs**2).sum().item()
        print(
            f"{edit:10s} {seed} std z {zs.std().item():.3f} x {xs.std().item():.3f} c_src {cs:.3f}"
            f" |dz|/|dx| {dz.norm().item() / dx.norm().item():.3f} k per frame " + " ".join(f"{v:.3f}" for v in k),
            flush=True,
        )
