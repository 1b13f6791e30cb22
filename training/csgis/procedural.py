"""Procedural grey textures that users meet in real images, for the texture banks.

Each generator returns a SIZE x SIZE uint8 image for a random generator `rng`; the scale
(period in pixels) is drawn per call, so a bank holds each kind at several scales.
Kinds: halftone dots (rotated screen), cross-stitch (X stitches on a grid), mosaic (tiles
of random tone with grout lines), canvas weave, paper grain (fibres over fine noise) and
JPEG blocking (8x8 blocks with random DC offsets and a few DCT patterns).
"""
import math

import numpy as np

SIZE = 144


def _grid(rng, size, period):
    th = rng.uniform(0, math.pi)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    u = (x * math.cos(th) + y * math.sin(th)) / period
    v = (-x * math.sin(th) + y * math.cos(th)) / period
    return u, v


def halftone(rng, size=SIZE):
    period = rng.uniform(3, 12)
    u, v = _grid(rng, size, period)
    # dot radius follows a slowly varying tone, as in a printed photo
    tone = 0.3 + 0.4 * (0.5 + 0.5 * np.sin(u * rng.uniform(0.05, 0.3) + rng.uniform(0, 6)))
    d = np.hypot(u - np.round(u), v - np.round(v))
    return ((d > np.sqrt(tone / math.pi)) * 255).astype(np.uint8)


def cross_stitch(rng, size=SIZE):
    period = rng.uniform(5, 14)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / period
    fu, fv = x - np.floor(x) - 0.5, y - np.floor(y) - 0.5
    width = rng.uniform(0.08, 0.18)
    stitch = np.minimum(np.abs(fu - fv), np.abs(fu + fv)) < width
    hole = np.maximum(np.abs(fu), np.abs(fv)) > 0.45
    img = np.where(stitch, 200, 90).astype(np.float32)
    img[hole] = 40
    return np.clip(img + rng.normal(0, 8, img.shape), 0, 255).astype(np.uint8)


def mosaic(rng, size=SIZE):
    period = rng.uniform(6, 20)
    u, v = _grid(rng, size, period)
    iu, iv = np.floor(u).astype(int), np.floor(v).astype(int)
    tones = rng.uniform(60, 200, (512, 512))
    img = tones[iu % 512, iv % 512]
    grout = (np.minimum(u - iu, v - iv) < rng.uniform(0.06, 0.15))
    img = np.where(grout, 30, img)
    return np.clip(img + rng.normal(0, 5, img.shape), 0, 255).astype(np.uint8)


def canvas(rng, size=SIZE):
    period = rng.uniform(2.5, 8)
    u, v = _grid(rng, size, period)
    over = (np.floor(u) + np.floor(v)) % 2  # which thread lies on top
    warp = np.cos(2 * math.pi * (u - 0.5)) ** 2
    weft = np.cos(2 * math.pi * (v - 0.5)) ** 2
    img = np.where(over > 0, warp, weft) * 0.7 + 0.3 * warp * weft
    return np.clip(255 * img + rng.normal(0, 10, img.shape), 0, 255).astype(np.uint8)


def paper(rng, size=SIZE):
    import cv2
    n = rng.normal(0, 1, (size, size)).astype(np.float32)
    img = cv2.GaussianBlur(n, (0, 0), rng.uniform(0.6, 1.5)) * 3
    for _ in range(int(rng.integers(40, 120))):  # fibres
        x0, y0 = rng.uniform(0, size, 2)
        a = rng.uniform(0, math.pi)
        ln = rng.uniform(5, 30)
        p1 = (int(x0), int(y0))
        p2 = (int(x0 + ln * math.cos(a)), int(y0 + ln * math.sin(a)))
        cv2.line(img, p1, p2, float(rng.uniform(-2, 2)), 1, cv2.LINE_AA)
    img = (img - img.mean()) / (img.std() + 1e-6)
    return np.clip(128 + 40 * img, 0, 255).astype(np.uint8)


def jpeg_blocks(rng, size=SIZE):
    b = 8
    n = size // b + 1
    dc = rng.normal(0, 1, (n, n))
    img = np.kron(dc, np.ones((b, b)))[:size, :size]
    y, x = np.mgrid[0:b, 0:b]
    for _ in range(3):  # a few DCT basis patterns, block-wise, as left by coarse quantisation
        ky, kx = rng.integers(0, 4, 2)
        basis = np.cos((2 * x + 1) * kx * math.pi / 16) * np.cos((2 * y + 1) * ky * math.pi / 16)
        amp = np.kron(rng.normal(0, 0.5, (n, n)), np.ones((b, b)))[:size, :size]
        img = img + amp * np.tile(basis, (n, n))[:size, :size]
    img = (img - img.mean()) / (img.std() + 1e-6)
    return np.clip(128 + 40 * img, 0, 255).astype(np.uint8)


KINDS = {"halftone": halftone, "cross_stitch": cross_stitch, "mosaic": mosaic, "canvas": canvas,
         "paper": paper, "jpeg_blocks": jpeg_blocks}


def bank(per_kind, seed):
    """per_kind textures of every kind, from seed (training and validation use other seeds)."""
    rng = np.random.default_rng(seed)
    return [fn(rng) for _ in range(per_kind) for fn in KINDS.values()]
