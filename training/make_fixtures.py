#!/usr/bin/env python3
"""Regenerate the engine's test fixtures under Tests/Fixtures (needs PyTorch).

For each random-weight model: the weights file and an I/O file holding `input` (H,W,3),
and the float64 PyTorch reference's `out1`, `out2` (H,W,3) and `edge` (H,W,1), all float32,
HWC, RGB. The input is a textured synthetic image (realistic value range), odd-sized so
that no tiling or vector-width assumption hides a bug.
"""
import sys
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from csgis import weights  # noqa: E402
from csgis.model import CSGISNet, randomize_  # noqa: E402
from csgis.synth import make_batch  # noqa: E402

FIX = HERE.parent / "Tests" / "Fixtures"


def textures():
    p = HERE / "data" / "textures_val.npy"
    if p.exists():
        return torch.from_numpy(np.load(p)).float()[:, None] / 255
    g = torch.Generator().manual_seed(5)
    return torch.rand(8, 1, 144, 144, generator=g)


def make(name, dim, blocks, seed, h, w, dtype):
    net = randomize_(CSGISNet(dim, blocks), seed)
    wpath = FIX / f"{name}.safetensors"
    weights.save(wpath, weights.state_for_export(net.state_dict()), dim, blocks, "RGB",
                 f"random weights, seed {seed} (training/make_fixtures.py)", dtype)
    net, _ = weights.load_model(wpath)  # the reference uses exactly the stored values
    g = torch.Generator().manual_seed(seed + 100)
    x = make_batch(textures(), 1, max(h, w), g, "cpu")["input"][:, :, :h, :w].contiguous()
    with torch.no_grad():
        o1, o2, e, _ = net.double()(x.double())
    hwc = lambda t: t[0].permute(1, 2, 0).float().contiguous()
    weights.save(FIX / f"{name}-io.safetensors", {"input": hwc(x), "out1": hwc(o1), "out2": hwc(o2), "edge": hwc(e)},
                 dim, blocks, "RGB", f"PyTorch float64 reference for {name}.safetensors")
    print(name, "out range", float((o1 + o2).min()), float((o1 + o2).max()), "edge", float(e.abs().max()))


def make_bgr(name, dim, blocks, seed):
    """The RGB model `name` rewritten as the same function on BGR images (how an official
    checkpoint looks), marked BGR: the engine must give identical RGB results for both."""
    net = randomize_(CSGISNet(dim, blocks), seed)
    st = weights.state_for_export(net.state_dict())
    rev = [2, 1, 0]
    st["descriptor.conv_in.weight"] = st["descriptor.conv_in.weight"][:, rev]
    for k in ("interpreter2.9", "refine.9"):
        st[k + ".weight"] = st[k + ".weight"][rev]
        st[k + ".bias"] = st[k + ".bias"][rev]
    w = st["refine.0.weight"].clone()
    w[:, dim + 1:dim + 4] = w[:, dim + 1:dim + 4][:, rev]
    st["refine.0.weight"] = w
    weights.save(FIX / f"{name}-bgr.safetensors", st, dim, blocks, "BGR",
                 f"random weights, seed {seed}, rewritten for BGR input (training/make_fixtures.py)")


FIXTURES = {
    "tiny-4x1": lambda: (make("tiny-4x1", 4, 1, 1, 29, 37, "F32"), make_bgr("tiny-4x1", 4, 1, 1)),
    "random-64x12": lambda: make("random-64x12", 64, 12, 2, 40, 48, "F16"),
    # the engine's Winograd layers are 64 channels wide; one block keeps the halo (108 px)
    # small enough for tiles and strips in a test's seconds (64x12's is 216)
    "random-64x1": lambda: make("random-64x1", 64, 1, 3, 29, 37, "F16"),
}

if __name__ == "__main__":
    # usage: make_fixtures.py [NAME...]   (default: all)
    FIX.mkdir(parents=True, exist_ok=True)
    for name in sys.argv[1:] or FIXTURES:
        FIXTURES[name]()
