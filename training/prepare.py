#!/usr/bin/env python3
"""Prepare the texture banks and the natural-photo sets for training and validation.

  prepare.py [--datasets ../shared/datasets] [--out training/data] [--installable]
             [--fetch-debs] [--no-photos] [--jobs 2]

Textures:
Reads every texture image under DATASETS/textures (DTD classes, Brodatz, GIMP patterns),
converts it to grey, scales its shorter side to 144 px and takes the centre 144x144.
Every sixth file of each folder (sorted names) is held out for validation, so validation
textures are never seen in training. Without DATASETS, or with --installable, it uses the
textures that scikit-image ships (brick, grass, gravel, ...) and procedural noise instead.
Writes textures_train.npy and textures_val.npy (uint8, N x 144 x 144), and the procedural
textures (csgis/procedural.py: halftone, cross-stitch, mosaic, canvas, paper, JPEG blocks)
as textures_proc_{train,val}.npy from separate seeds.

Photos (csgis/photos.py finds them; --fetch-debs first unpacks Debian's wallpaper packages
and opencv-doc into OUT/debs with apt-get download): each is scaled to a long side of 512 px
(large ones also give a second, closer crop) and flattened by csgis/flatten.py (randomised
L0 or RTV) into its ground truth; a Felzenszwalb segmentation of the ground truth gives the
regions that per-region textures follow. Training photos are cut into overlapping 256x256
tiles: photos_train.npz (orig, gt, seg). Held-out photos give the external-style validation
set, photoval_{val,tune}.npz: GT crops plus held-out textures (whole-image and per region,
faint to strong), and the photos' own texture against their flattening ("natural").
"""
import argparse
import sys
from pathlib import Path

import numpy as np

SIZE = 144
sys.path.insert(0, str(Path(__file__).resolve().parent))


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
    p.add_argument("--fetch-debs", action="store_true", help="apt-get download the wallpaper packages into OUT/debs")
    p.add_argument("--no-photos", action="store_true", help="textures only")
    p.add_argument("--no-system-photos", action="store_true", help="do not look for photos under this machine's /usr/share")
    p.add_argument("--jobs", type=int, default=2)
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
    from csgis import procedural
    np.save(Path(a.out, "textures_proc_train.npy"), np.stack(procedural.bank(40, seed=1)))
    np.save(Path(a.out, "textures_proc_val.npy"), np.stack(procedural.bank(8, seed=2)))
    print(f"procedural textures: {40 * len(procedural.KINDS)} training, {8 * len(procedural.KINDS)} validation")
    if not a.no_photos:
        from csgis import photoset
        debs = photoset.fetch_debs(Path(a.out, "debs")) if a.fetch_debs else (Path(a.out, "debs", "root") if Path(a.out, "debs", "root").is_dir() else None)
        photoset.build(Path(a.out), None if a.installable else a.datasets, debs, a.jobs, system=not a.no_system_photos)


if __name__ == "__main__":
    main()
