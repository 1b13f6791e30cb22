#!/usr/bin/env python3
"""Packs the training data small enough to travel to a lent GPU machine, and unpacks them there.

  carry_data.py pack DIR [--val N]     training/data -> DIR
  carry_data.py unpack DIR [--force]   DIR -> training/data, checked against the SHA-256
                                       (an existing, different bank is kept unless --force)

The device tool sends at most 64 MiB with the working tree (about 33 MB of tracked files).
Everything travels as WebP mosaics: the held-out texture banks and the region maps
losslessly (checked by SHA-256), the training texture banks and ground truths at quality
92 and the photos at 85 (what training needs from them survives; the last bit does not). The photo validation sets stay here (the
real evaluation runs here); --val keeps the first N held-out textures for the remote run's
end-of-run check.
"""
import argparse
import hashlib
import json
from pathlib import Path

import cv2
import numpy as np

DATA = Path(__file__).resolve().parent / "data"
COLS = 37


def _mosaic(t):
    k, s = t.shape[0], t.shape[1]
    rows = (k + COLS - 1) // COLS
    m = np.zeros((rows * s, COLS * s) + t.shape[3:], np.uint8)
    for i in range(k):
        m[(i // COLS) * s:(i // COLS + 1) * s, (i % COLS) * s:(i % COLS + 1) * s] = t[i]
    return m


def _unmosaic(m, n, s):
    return np.stack([m[(i // COLS) * s:(i // COLS + 1) * s, (i % COLS) * s:(i % COLS + 1) * s] for i in range(n)])


def _sha(a):
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def pack(dst, val_n):
    dst.mkdir(parents=True, exist_ok=True)
    meta = {}
    for name, n in (("train", None), ("val", val_n), ("proc_train", None), ("proc_val", None)):
        f = DATA / f"textures_{name}.npy"
        if not f.exists():
            continue
        t = np.load(f)[:n]
        q = 101 if name.endswith("val") else 92  # >100 = lossless; the training banks lossy, to fit
        ok, buf = cv2.imencode(".webp", _mosaic(t), [cv2.IMWRITE_WEBP_QUALITY, q])
        assert ok
        (dst / f"textures_{name}.webp").write_bytes(buf.tobytes())
        meta[name] = {"n": t.shape[0], "size": t.shape[1], "lossless": q > 100, "sha256": _sha(t)}
    (dst / "textures.json").write_text(json.dumps(meta))
    if (DATA / "photos_train.npz").exists():
        z = np.load(DATA / "photos_train.npz")
        pm = {}
        for key, q in (("orig", 85), ("gt", 92), ("seg", 101)):
            a = z[key]
            img = _mosaic(a)
            ok, buf = cv2.imencode(".webp", img[..., ::-1] if img.ndim == 3 else img, [cv2.IMWRITE_WEBP_QUALITY, q])
            assert ok
            (dst / f"photos_{key}.webp").write_bytes(buf.tobytes())
            pm[key] = {"n": a.shape[0], "size": a.shape[1], "lossless": q > 100, "sha256": _sha(a)}
        (dst / "photos.json").write_text(json.dumps(pm))
    total = sum(f.stat().st_size for f in dst.iterdir())
    print(f"packed {sorted(meta)} textures{' and the photo tiles' if (dst / 'photos.json').exists() else ''} "
          f"into {dst} ({total / 1e6:.1f} MB)")


def unpack(src, force):
    DATA.mkdir(parents=True, exist_ok=True)
    for name, m in json.loads((src / "textures.json").read_text()).items():
        mosaic = cv2.imread(str(src / f"textures_{name}.webp"), cv2.IMREAD_GRAYSCALE)
        t = _unmosaic(mosaic, m["n"], m["size"])
        if m.get("lossless", True) and _sha(t) != m["sha256"]:
            raise SystemExit(f"{name}: checksum mismatch")
        dst = DATA / f"textures_{name}.npy"
        if dst.exists() and not force and not np.array_equal(np.load(dst), t):
            raise SystemExit(f"{dst} exists and differs (the full bank?); pass --force to replace it")
        np.save(dst, t)
        print(name, t.shape, "ok")
    if (src / "photos.json").exists():
        arrays = {}
        for key, m in json.loads((src / "photos.json").read_text()).items():
            img = cv2.imread(str(src / f"photos_{key}.webp"), cv2.IMREAD_UNCHANGED)
            img = img[..., ::-1] if img.ndim == 3 and key != "seg" else (img[..., 0] if img.ndim == 3 else img)
            arrays[key] = _unmosaic(np.ascontiguousarray(img), m["n"], m["size"])
            if m["lossless"] and _sha(arrays[key]) != m["sha256"]:
                raise SystemExit(f"photos {key}: checksum mismatch")
        np.savez(DATA / "photos_train.npz", **arrays)
        print("photos", {k: v.shape for k, v in arrays.items()}, "ok")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("pack"); a.add_argument("dir", type=Path); a.add_argument("--val", type=int, default=40)
    b = sub.add_parser("unpack"); b.add_argument("dir", type=Path); b.add_argument("--force", action="store_true")
    args = p.parse_args()
    pack(args.dir, args.val) if args.cmd == "pack" else unpack(args.dir, args.force)
