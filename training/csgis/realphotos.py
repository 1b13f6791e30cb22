"""The real-photo sheet's pictures: what users smooth, by category.

Most are photographs from the held-out split (never trained on) or from sources the
training never reads (opencv-doc's scene-text photos). Three print and craft looks that no
photo here shows are rendered from a held-out Kodak photo, as a user would scan them:
a halftone print (CMY dot screens at three angles), cross-stitch (one colour per cell, X
stitches on cloth) and a mosaic (tiles of the local colour with grout).
"""
import math
from pathlib import Path

import cv2
import numpy as np

OPENCV = "usr/share/doc/opencv-doc/examples"


def _read(p):
    im = cv2.imread(str(p), cv2.IMREAD_COLOR)
    return None if im is None else im[..., ::-1].astype(np.float32) / 255


def _fit(im, long_side=384):
    h, w = im.shape[:2]
    s = long_side / max(h, w)
    return cv2.resize(im, (int(w * s) // 4 * 4, int(h * s) // 4 * 4), interpolation=cv2.INTER_AREA)


def halftone(im, period=4.0):
    h, w = im.shape[:2]
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    out = np.empty_like(im)
    for c, ang in enumerate((15, 75, 45)):  # C, M, Y screens at print angles
        a = math.radians(ang)
        u = (x * math.cos(a) + y * math.sin(a)) / period
        v = (-x * math.sin(a) + y * math.cos(a)) / period
        d = np.hypot(u - np.round(u), v - np.round(v))
        ink = 1 - im[..., c]
        out[..., c] = 1 - (d < np.sqrt(ink / math.pi)).astype(np.float32)
    return cv2.GaussianBlur(out, (0, 0), 0.6)  # the scanner's blur


def cross_stitch(im, cell=6):
    h, w = im.shape[:2]
    small = cv2.resize(im, (w // cell, h // cell), interpolation=cv2.INTER_AREA)
    colours = cv2.resize(small, (w // cell * cell, h // cell * cell), interpolation=cv2.INTER_NEAREST)
    y, x = np.mgrid[0:colours.shape[0], 0:colours.shape[1]].astype(np.float32) / cell
    fu, fv = x - np.floor(x) - 0.5, y - np.floor(y) - 0.5
    stitch = (np.minimum(np.abs(fu - fv), np.abs(fu + fv)) < 0.17)[..., None]
    shade = 0.85 + 0.15 * np.cos(np.pi * (fu + fv))[..., None]
    cloth = np.full_like(colours, 0.93)
    return cv2.resize(np.where(stitch, colours * shade, cloth), (w, h), interpolation=cv2.INTER_NEAREST)


def mosaic(im, tile=10):
    h, w = im.shape[:2]
    small = cv2.resize(im, (w // tile + 1, h // tile + 1), interpolation=cv2.INTER_AREA)
    big = cv2.resize(small, (small.shape[1] * tile, small.shape[0] * tile), interpolation=cv2.INTER_NEAREST)[:h, :w]
    rng = np.random.default_rng(5)
    jitter = np.kron(rng.normal(0, 0.04, small.shape[:2]), np.ones((tile, tile)))[:h, :w, None]
    y, x = np.mgrid[0:h, 0:w]
    grout = ((x % tile < 2) | (y % tile < 2))[..., None]
    return np.clip(np.where(grout, 0.55, big + jitter), 0, 1).astype(np.float32)


def sheet_photos(datasets, debs_root):
    """-> list of (label, RGB float image) for the sheet; entries whose source is missing are skipped."""
    roots = [Path(r) for r in (debs_root, "/") if r]
    def deb(rel):
        for r in roots:
            if (r / rel).exists():
                return _read(r / rel)
        return None
    ds = Path(datasets, "photos") if datasets else None
    kodak = _read(ds / "Set24" / "kodim05.png") if ds and (ds / "Set24" / "kodim05.png").exists() else None
    kodak_face = _read(ds / "Set24" / "kodim22.png") if ds and (ds / "Set24" / "kodim22.png").exists() else None
    try:
        from skimage import data as skd
        astronaut = skd.astronaut().astype(np.float32) / 255
    except ImportError:
        astronaut = None
    items = [
        ("face (skimage astronaut)", astronaut),
        ("face (opencv messi5)", deb(f"{OPENCV}/data/messi5.jpg")),
        ("text (opencv scenetext01)", deb(f"{OPENCV}/text/scenetext01.jpg")),
        ("line art (opencv notes)", deb(f"{OPENCV}/data/notes.png")),
        ("foliage (Dragonfly, ukui)", deb("usr/share/backgrounds/Dragonfly_by_Bolly.jpg")),
        ("fur (opencv baboon)", deb(f"{OPENCV}/data/baboon.jpg")),
        ("architecture (opencv building)", deb(f"{OPENCV}/data/building.jpg")),
        ("architecture (opencv leuvenA)", deb(f"{OPENCV}/data/leuvenA.jpg")),
        ("fabric and wood (Kodak kodim22)", kodak_face),
    ]
    if kodak is not None:
        k = _fit(kodak)
        items += [("halftone print (rendered from kodim05)", halftone(k)),
                  ("cross-stitch (rendered from kodim05)", cross_stitch(k)),
                  ("mosaic (rendered from kodim05)", mosaic(k)),
                  ("motorbikes (Kodak kodim05)", k)]
    return [(label, _fit(im)) for label, im in items if im is not None]
