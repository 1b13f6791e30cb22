#!/usr/bin/env python3
"""Prepare the texture banks for training and validation.

  prepare.py [--datasets ../shared/datasets] [--out training/data]

Reads every texture image under DATASETS/textures (DTD classes, Brodatz, GIMP patterns),
converts it to grey, scales its shorter side to 144 px and takes the centre 144x144.
Every sixth file of each folder (sorted names) is held out for validation, so validation
textures are never seen in training. Without DATASETS, or with --installable, it uses the
textures that scikit-image ships (brick, grass, gravel, ...) and procedural noise instead.
Writes textures_train.npy and textures_val.npy (uint8, N x 144 x 144).
"""
import argparse
from pathlib import Path

import numpy as np

SIZE = 144


def to_square(img):
    import cv2
    if img.ndim == 3:
        img = cv2.cvtColor(img[..., :3], cv2.COLOR_RGB2GRAY) if img.shape[2] >= 3 else img[..., 0]
    if img.dtype != np.uint8:
        img = (255 * (img.astype(np.float32) / max(1e-6, float(img.max())))).astype(np.uint8)
    h, w = img.shape
    s = SIZE / min(h, w)
    img = cv2.resize(img, (max(SIZE, round(w * s)), max(SIZE, round(h * s))), interpolation=cv2.INTER_AREA)
    h, w = img.shape
    y, x = (h - SIZE) // 2, (w - SIZE) // 2
    return img[y:y + SIZE, x:x + SIZE]


def from_datasets(root):
    import cv2
    train, val = [], []
    folders = sorted({p.parent for p in Path(root, "textures").rglob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".gif", ".tif", ".bmp")})
    for folder in folders:
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".gif", ".tif", ".bmp"))
        for i, f in enumerate(files):
            img = cv2.imread(str(f), cv2.IMREAD_UNCHANGED)
            if img is None:
                continue
            (val if i % 6 == 5 else train).append(to_square(img))
    return train, val


def from_installable(seed=0):
    from skimage import data
    rng = np.random.default_rng(seed)
    names = ["brick", "grass", "gravel", "text", "camera", "coffee", "chelsea", "rocket", "astronaut"]
    imgs = [to_square(getattr(data, n)()) for n in names]
    # procedural noise at several scales, so the bank is not tiny
    import cv2
    for i in range(60):
        n = rng.standard_normal((SIZE, SIZE)).astype(np.float32)
        n = cv2.GaussianBlur(n, (0, 0), float(rng.uniform(0.5, 3)))
        imgs.append(np.clip(128 + 40 * n / n.std(), 0, 255).astype(np.uint8))
    return [m for i, m in enumerate(imgs) if i % 6 != 5], [m for i, m in enumerate(imgs) if i % 6 == 5]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", default=str(Path(__file__).resolve().parents[1].parent / "shared" / "datasets"))
    p.add_argument("--out", default=str(Path(__file__).resolve().parent / "data"))
    p.add_argument("--installable", action="store_true")
    a = p.parse_args()
    if not a.installable and Path(a.datasets, "textures").is_dir():
        train, val = from_datasets(a.datasets)
        src = a.datasets
    else:
        train, val = from_installable()
        src = "scikit-image data + procedural noise"
    Path(a.out).mkdir(parents=True, exist_ok=True)
    np.save(Path(a.out, "textures_train.npy"), np.stack(train))
    np.save(Path(a.out, "textures_val.npy"), np.stack(val))
    print(f"{len(train)} training and {len(val)} validation textures from {src} -> {a.out}")


if __name__ == "__main__":
    main()
