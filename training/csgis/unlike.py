"""A validation set built unlike the training data ("photo-unlike"), so that a gain on it is
not a gain in matching the training pairs' own construction:

- ground truths from smoothers the training never uses (the domain transform's recursive
  filter and an iterated bilateral filter, alternately), not L0 / RTV;
- colour textures (held-out DTD photographs, every sixth file, in colour) blended
  multiplicatively at a random scale, not grey textures added;
- the held-out photos at a long side of 640 px, cut into 320x224 crops, not 256x256;
- the input then JPEG-compressed (quality 70-90), as photos arrive.
Deterministic (seeded); evaluate.py builds it once into DATA/photoval_unlike.npz.
"""
from pathlib import Path

import cv2
import numpy as np

from . import photos

W, H = 320, 224
LONG_SIDE = 640


def _ground_truth(img, k):
    X = cv2.ximgproc
    if k % 2 == 0:
        return X.dtFilter(img, img, sigmaSpatial=30, sigmaColor=35, mode=X.DTF_RF, numIters=3)
    out = img  # (OpenCV's weighted median would fit here but is not deterministic)
    for _ in range(4):
        out = cv2.bilateralFilter(out, 9, 30, 7)
    return out


def _colour_textures(datasets):
    """Held-out DTD textures in colour (every sixth file of each class, as prepare.py holds out)."""
    out = []
    for folder in sorted(Path(datasets, "textures", "dtd").iterdir()):
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
        for i, f in enumerate(files):
            if i % 6 == 5:
                im = cv2.imread(str(f), cv2.IMREAD_COLOR)
                if im is not None:
                    out.append(im[..., ::-1].astype(np.float32) / 255)
    return out


def build(datasets, debs_root=None, split="val", seed=5150, crops=2):
    """-> {"input", "gt"}: uint8 arrays (N, 224, 320, 3) from the photos of `split` (val or tune)."""
    rng = np.random.default_rng(seed)
    tex = _colour_textures(datasets)
    ins, gts = [], []
    for k, (name, load) in enumerate(n for n in photos.find(datasets, debs_root) if photos.split_of(n[0]) == split):
        img = load()
        s = LONG_SIDE / max(img.shape[:2])
        img = cv2.resize(img, (round(img.shape[1] * s), round(img.shape[0] * s)), interpolation=cv2.INTER_AREA)
        if img.shape[0] < H or img.shape[1] < W:
            continue
        gt = _ground_truth(img, k).astype(np.float32) / 255
        for c in range(crops):
            y = int(rng.integers(0, img.shape[0] - H + 1)); x = int(rng.integers(0, img.shape[1] - W + 1))
            g = gt[y:y + H, x:x + W]
            t = tex[int(rng.integers(len(tex)))]
            sc = rng.uniform(0.5, 1.5)
            t = cv2.resize(t, (max(W, round(t.shape[1] * sc)), max(H, round(t.shape[0] * sc))), interpolation=cv2.INTER_AREA)
            ty = int(rng.integers(0, t.shape[0] - H + 1)); tx = int(rng.integers(0, t.shape[1] - W + 1))
            t = t[ty:ty + H, tx:tx + W]
            t = (t - t.mean((0, 1))) / (t.std() + 1e-6)
            inp = np.clip(g * (1 + rng.uniform(0.05, 0.2) * t), 0, 1)
            q = int(rng.integers(70, 91))
            enc = cv2.imencode(".jpg", (inp[..., ::-1] * 255 + 0.5).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, q])[1]
            ins.append(cv2.imdecode(enc, cv2.IMREAD_COLOR)[..., ::-1])
            gts.append((g * 255 + 0.5).astype(np.uint8))
    return {"input": np.stack(ins), "gt": np.stack(gts)}


def load(data, datasets, split="val"):
    """The set from DATA/photoval_unlike_SPLIT.npz, built there first if missing."""
    p = Path(data, f"photoval_unlike_{split}.npz")
    if not p.exists():
        debs = Path(data, "debs", "root")
        np.savez(p, **build(datasets, debs if debs.is_dir() else None, split, seed=5150 if split == "val" else 6160))
    z = np.load(p)
    return z["input"].astype(np.float32) / 255, z["gt"].astype(np.float32) / 255
