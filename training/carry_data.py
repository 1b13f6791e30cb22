#!/usr/bin/env python3
"""Packs the texture banks small enough to travel to a lent GPU machine, and unpacks them there.

  carry_data.py pack DIR [--val N]     training/data/*.npy -> DIR (lossless WebP mosaics + sizes + SHA-256)
  carry_data.py unpack DIR [--force]   DIR -> training/data/*.npy, checked against the SHA-256
                                       (an existing, different bank is kept unless --force)

The device tool sends at most 64 MiB with the working tree; the raw banks (27 MB) plus the
tracked files do not fit, lossless WebP does (15 MB). --val keeps only the first N held-out
textures (the remote run's end-of-run validation only; the real evaluation runs here).
"""
import argparse
import hashlib
import json
from pathlib import Path

import cv2
import numpy as np

DATA = Path(__file__).resolve().parent / "data"
COLS = 37


def pack(dst, val_n):
    dst.mkdir(parents=True, exist_ok=True)
    meta = {}
    for name, n in (("train", None), ("val", val_n)):
        t = np.load(DATA / f"textures_{name}.npy")[:n]
        k, s = t.shape[0], t.shape[1]
        rows = (k + COLS - 1) // COLS
        mosaic = np.zeros((rows * s, COLS * s), np.uint8)
        for i in range(k):
            mosaic[(i // COLS) * s:(i // COLS + 1) * s, (i % COLS) * s:(i % COLS + 1) * s] = t[i]
        ok, buf = cv2.imencode(".webp", mosaic, [cv2.IMWRITE_WEBP_QUALITY, 101])  # >100 = lossless
        assert ok
        (dst / f"textures_{name}.webp").write_bytes(buf.tobytes())
        meta[name] = {"n": k, "size": s, "sha256": hashlib.sha256(np.ascontiguousarray(t).tobytes()).hexdigest()}
    (dst / "textures.json").write_text(json.dumps(meta))
    print(f"packed {meta} into {dst}")


def unpack(src, force):
    DATA.mkdir(parents=True, exist_ok=True)
    for name, m in json.loads((src / "textures.json").read_text()).items():
        mosaic = cv2.imread(str(src / f"textures_{name}.webp"), cv2.IMREAD_GRAYSCALE)
        s = m["size"]
        t = np.stack([mosaic[(i // COLS) * s:(i // COLS + 1) * s, (i % COLS) * s:(i % COLS + 1) * s] for i in range(m["n"])])
        if hashlib.sha256(t.tobytes()).hexdigest() != m["sha256"]:
            raise SystemExit(f"{name}: checksum mismatch")
        dst = DATA / f"textures_{name}.npy"
        if dst.exists() and not force and not np.array_equal(np.load(dst), t):
            raise SystemExit(f"{dst} exists and differs (the full bank?); pass --force to replace it")
        np.save(dst, t)
        print(name, t.shape, "ok")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("pack"); a.add_argument("dir", type=Path); a.add_argument("--val", type=int, default=40)
    b = sub.add_parser("unpack"); b.add_argument("dir", type=Path); b.add_argument("--force", action="store_true")
    args = p.parse_args()
    pack(args.dir, args.val) if args.cmd == "pack" else unpack(args.dir, args.force)
