"""The natural-photo data: building the banks (prepare.py) and composing inputs (training
and the validation set share `compose`, so both add texture the same way).

A sample is a ground truth (a flattened photo), the photo itself and a region map of the
ground truth. Its input is one of
- "natural": the photo itself, i.e. its own texture, half the time with a faint overlay;
- "whole": the ground truth plus one grey texture over the whole image (the paper's way:
  tiled, mean removed, added to each RGB channel);
- "region": the ground truth plus a different texture in each region (regions = segments
  of the flattened image), so texture follows objects;
with amplitudes from faint to strong.
"""
import math
import subprocess
from pathlib import Path

import numpy as np
import torch

from . import flatten, photos
from .synth import _u, edge_labels, gaussian_blur, texture_crops

TILE = 256
LONG_SIDE = 512
REGIONS = 12  # textures per sample in "region" mode; segment ids are taken modulo this
MODES = ("natural", "whole", "region")


def fetch_debs(dst):
    """apt-get download + dpkg-deb -x of photos.DEBIAN_PACKAGES into dst/root (no root needed)."""
    dst = Path(dst)
    (dst / "root").mkdir(parents=True, exist_ok=True)
    for pkg in photos.DEBIAN_PACKAGES:
        if not list(dst.glob(f"{pkg}_*.deb")):
            r = subprocess.run(["apt-get", "download", pkg], cwd=dst, capture_output=True, text=True)
            if r.returncode != 0:
                print(f"{pkg}: not downloaded ({r.stderr.strip().splitlines()[-1:]})")
                continue
        for deb in dst.glob(f"{pkg}_*.deb"):
            subprocess.run(["dpkg-deb", "-x", str(deb), str(dst / "root")], check=True)
    return dst / "root"


def _scaled(img, long_side=LONG_SIDE):
    import cv2
    h, w = img.shape[:2]
    s = long_side / max(h, w)
    if s >= 1:
        return img
    return cv2.resize(img, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)


def _views(img):
    """The whole photo at LONG_SIDE, plus for large photos a centre crop of twice that size
    scaled by one half (the same scene at a closer scale, so texture comes at two scales)."""
    out = [_scaled(img)]
    h, w = img.shape[:2]
    if max(h, w) >= 3 * LONG_SIDE:
        c = 2 * LONG_SIDE
        y, x = (h - min(h, c * h // w)) // 2, (w - c) // 2 if w >= c else 0
        crop = img[y:y + min(h, c * h // max(w, 1) if w > h else c), max(0, x):max(0, x) + c]
        out.append(_scaled(crop))
    return out


def _segments(gt):
    from skimage.segmentation import felzenszwalb
    return felzenszwalb(gt, scale=300, sigma=0.5, min_size=200).astype(np.int64)


_SOURCES = []


def _work(job):
    i, split = job
    name, load = _SOURCES[i]
    import hashlib
    rng = np.random.default_rng(int(hashlib.sha256(name.encode()).hexdigest()[:16], 16))  # per photo, stable
    results = []
    for v, img in enumerate(_views(load())):
        f = img.astype(np.float32) / 255
        if split == "train":
            gt, how = flatten.random_flatten(f, rng)
        else:
            gt, how = flatten.validation_flatten(f, i + v)
        gt8 = np.clip(gt * 255 + 0.5, 0, 255).astype(np.uint8)
        results.append((name, v, img, gt8, _segments(gt), how))
    return results


def _tiles(img, gt, seg):
    h, w = img.shape[:2]
    if h < TILE or w < TILE:
        return []
    ys = sorted({*range(0, h - TILE + 1, TILE // 2), h - TILE})
    xs = sorted({*range(0, w - TILE + 1, TILE // 2), w - TILE})
    return [(img[y:y + TILE, x:x + TILE], gt[y:y + TILE, x:x + TILE], (seg[y:y + TILE, x:x + TILE] % 251).astype(np.uint8))
            for y in ys for x in xs]


def build(out, datasets, debs_root, jobs=2, system=True):
    """Writes OUT/photos_train.npz, OUT/photoval_val.npz, OUT/photoval_tune.npz and a list of
    the photos and their flattenings (OUT/photos.txt)."""
    from multiprocessing import Pool
    global _SOURCES
    _SOURCES = photos.find(datasets, debs_root, system)
    split = {n: photos.split_of(n) for n, _ in _SOURCES}
    if "tune" not in split.values():  # a tiny source set (the tests'): tune on one validation photo's place
        vals = sorted(n for n, v in split.items() if v == "val")
        if len(vals) >= 2:
            split[vals[0]] = "tune"
    jobs_list = [(i, split[n]) for i, (n, _) in enumerate(_SOURCES)]
    with Pool(jobs) as pool:
        done = [r for rs in pool.imap(_work, jobs_list) for r in rs]
    lines = [f"{split[n]}\t{n}#{v}\t{img.shape[1]}x{img.shape[0]}\t{how}" for n, v, img, _, _, how in done]
    Path(out, "photos.txt").write_text("\n".join(lines) + "\n")
    train = [t for n, v, img, gt, seg, _ in done if split[n] == "train" for t in _tiles(img, gt, seg)]
    np.savez(Path(out, "photos_train.npz"), orig=np.stack([t[0] for t in train]), gt=np.stack([t[1] for t in train]),
             seg=np.stack([t[2] for t in train]))
    tex = load_textures(out, "val")
    for s, seed in (("val", 424243), ("tune", 777002)):
        items = [(img, gt, seg) for n, v, img, gt, seg, _ in done if split[n] == s and v == 0]
        np.savez(Path(out, f"photoval_{s}.npz"), **validation_pairs(items, tex, seed))
    counts = {s: sum(1 for n in split.values() if n == s) for s in ("train", "val", "tune")}
    print(f"photos: {counts} ({len(_SOURCES)} found); {len(train)} training tiles -> {out}")


def load_textures(data, which):
    """The grey texture bank (N,1,T,T) in [0,1]: the real textures plus the procedural ones."""
    banks = [np.load(Path(data, f"textures_{which}.npy"))]
    if Path(data, f"textures_proc_{which}.npy").exists():
        banks.append(np.load(Path(data, f"textures_proc_{which}.npy")))
    return torch.from_numpy(np.concatenate(banks)).float()[:, None] / 255


def compose(gt, orig, seg, textures, g, device, modes=None, amp_range=(0.01, 0.15)):
    """Inputs for ground truths gt, photos orig (B,3,S,S in [0,1]) and region maps seg (B,S,S
    long). modes: (B,) long indices into MODES, or None to draw them (natural 0.35, whole
    0.3, region 0.35). -> (input, modes)."""
    B, _, S, _ = gt.shape
    if modes is None:
        r = torch.rand(B, generator=g, device=device)
        modes = (r >= 0.35).long() + (r >= 0.65).long()
    tex = texture_crops(textures, B * REGIONS, S, g, device).view(B, REGIONS, S, S)
    lo, hi = math.log(amp_range[0]), math.log(amp_range[1])
    amp = torch.exp(_u(g, (B, REGIONS, 1, 1), lo, hi, device))
    region = (seg % REGIONS) * (modes == 2).long()[:, None, None]  # whole-image and natural: texture 0 only
    layer = (tex * amp).gather(1, region[:, None])
    natural = (modes == 0)[:, None, None, None]
    faint = (torch.rand(B, 1, 1, 1, generator=g, device=device) < 0.5) * 0.25  # natural: faint overlay half the time
    inp = torch.where(natural, orig + layer * faint, gt + layer)
    return inp.clamp(0, 1), modes


class PhotoBank:
    """The training tiles on `device`; `batch` draws random crops with flips and rotations."""

    def __init__(self, data, device):
        z = np.load(Path(data, "photos_train.npz"))
        self.orig = torch.from_numpy(z["orig"]).to(device)
        self.gt = torch.from_numpy(z["gt"]).to(device)
        self.seg = torch.from_numpy(z["seg"]).to(device)
        self.device = device

    def __len__(self):
        return self.gt.shape[0]

    def batch(self, textures, n, size, g, rot=0, sigma=2.5):
        """n crops of size x size; rot: quarter turns for the whole batch (the caller draws it on
        the host, so that a GPU step never waits for a device-side random number), and sigma, the
        blur of the over-smoothed negative, likewise."""
        dev = self.device
        idx = torch.randint(0, len(self), (n,), generator=g, device=dev)
        oy = torch.randint(0, TILE - size + 1, (n,), generator=g, device=dev)
        ox = torch.randint(0, TILE - size + 1, (n,), generator=g, device=dev)
        ar = torch.arange(size, device=dev)
        ys, xs = (oy[:, None] + ar)[:, :, None], (ox[:, None] + ar)[:, None, :]
        pick = lambda t: t[idx[:, None, None], ys, xs]
        gt = pick(self.gt).permute(0, 3, 1, 2).float() / 255
        orig = pick(self.orig).permute(0, 3, 1, 2).float() / 255
        seg = pick(self.seg).long()
        k = rot % 4
        if k:
            gt, orig, seg = gt.rot90(k, (-2, -1)), orig.rot90(k, (-2, -1)), seg.rot90(k, (-2, -1))
        inp, _ = compose(gt, orig, seg, textures, g, dev)
        return {"input": inp, "gt": gt, "edge": edge_labels(gt), "cls": torch.zeros_like(seg),
                "over": gaussian_blur(gt, sigma)}


def validation_pairs(items, textures, seed, crops=3):
    """The external-style set: from each held-out photo (img, gt, seg uint8 arrays), `crops`
    256x256 crops of its ground truth with held-out textures, alternately whole-image and per
    region, amplitudes 0.02-0.12; plus one "natural" pair per photo (the photo's own crop
    against its flattening). -> dict of uint8 arrays."""
    g = torch.Generator().manual_seed(seed)
    bl_in, bl_gt, na_in, na_gt = [], [], [], []
    for j, (img, gt, seg) in enumerate(items):
        h, w = gt.shape[:2]
        if min(h, w) < TILE:
            continue
        xs = np.linspace(0, w - TILE, crops).round().astype(int)
        ys = np.linspace(0, h - TILE, crops).round().astype(int)[::(-1 if j % 2 else 1)]
        for c, (y, x) in enumerate(zip(ys, xs)):
            t = lambda a: torch.from_numpy(np.ascontiguousarray(a[y:y + TILE, x:x + TILE]))
            G = t(gt).permute(2, 0, 1)[None].float() / 255
            O = t(img).permute(2, 0, 1)[None].float() / 255
            Sg = t(seg).long()[None]
            mode = torch.tensor([1 + (j + c) % 2])
            inp, _ = compose(G, O, Sg, textures, g, "cpu", modes=mode, amp_range=(0.02, 0.12))
            bl_in.append(inp[0]); bl_gt.append(G[0])
            if c == crops // 2:
                na_in.append(O[0]); na_gt.append(G[0])
    u8 = lambda ts: (torch.stack(ts).permute(0, 2, 3, 1).clamp(0, 1) * 255 + 0.5).to(torch.uint8).numpy()
    return {"blended_input": u8(bl_in), "blended_gt": u8(bl_gt), "natural_input": u8(na_in), "natural_gt": u8(na_gt)}
