#!/usr/bin/env python3
"""Evaluate shipped/trained models against classical smoothers on the held-out set.

  evaluate.py [--models csgis-lite=../models/csgis-lite.safetensors ...] [--n 24]
              [--photos ../../shared/datasets/photos] [--out results/eval]
              [--engine .build/release/csgis-smooth [--engine-precision auto]]

Held-out set: synthetic structure images (seed never used in training) with textures from
the validation bank (textures never seen in training), 256x256, with ground truth.
Classical baselines (OpenCV ximgproc) get their parameters by a grid search on a separate
tuning set (another seed), so each is shown at its best; the chosen parameters are printed.
With --engine, each model is also scored as shipped: the Swift engine (the csgis-smooth
filter) on 16-bit PNGs of the same inputs, at --engine-precision (auto = bf16 where the CPU
has it). Writes OUT.json, OUT.md (tables) and OUT-photos.png (input / csgis-base / best classical on
real photos, which have no ground truth).
"""
import argparse
import itertools
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from csgis.synth import make_batch  # noqa: E402
from csgis.weights import load_model  # noqa: E402

X = cv2.ximgproc

# name -> (function(img_float_rgb_0_1, **params) -> img, parameter grid)
def _u8(img):
    return np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)


def _f(img):
    return img.astype(np.float32) / 255


CLASSICAL = {
    "l0Smooth": (lambda im, lam, kappa: _f(X.l0Smooth(_u8(im), lambda_=lam, kappa=kappa)),
                 {"lam": [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.04], "kappa": [1.5, 2.0]}),
    "rollingGuidanceFilter": (lambda im, sc, ss, it: _f(X.rollingGuidanceFilter(_u8(im), d=-1, sigmaColor=sc, sigmaSpace=ss, numOfIter=it)),
                              {"sc": [5, 10, 15, 25, 40], "ss": [2, 3, 5, 8], "it": [4]}),
    "bilateralTextureFilter": (lambda im, fr, it: _f(X.bilateralTextureFilter(_u8(im), fr=fr, numIter=it)),
                               {"fr": [3, 5, 7], "it": [1, 3, 5]}),
    "fastGlobalSmootherFilter": (lambda im, lam, sc: _f(X.fastGlobalSmootherFilter(_u8(im), _u8(im), lam, sc)),
                                 {"lam": [200, 800, 3200, 12800, 51200, 204800], "sc": [3, 5, 10, 20, 40]}),
    "guidedFilter": (lambda im, r, eps: _f(X.guidedFilter(_u8(im), _u8(im), r, eps)),
                     {"r": [2, 4, 8, 16], "eps": [20, 50, 200, 800, 3200]}),
}


def dataset(seed, n, size=256):
    tex = torch.from_numpy(np.load(HERE / "data" / "textures_val.npy")).float()[:, None] / 255
    g = torch.Generator().manual_seed(seed)
    b = make_batch(tex, n, size, g, "cpu")
    to = lambda t: t.permute(0, 2, 3, 1).numpy().astype(np.float32)
    return to(b["input"]), to(b["gt"])


def score(pred, gt):
    pred = np.clip(pred, 0, 1)
    return (peak_signal_noise_ratio(gt, pred, data_range=1.0),
            structural_similarity(gt, pred, data_range=1.0, channel_axis=2))


def mean_scores(fn, inputs, gts):
    s = np.array([score(fn(i), g) for i, g in zip(inputs, gts)])
    return float(s[:, 0].mean()), float(s[:, 1].mean())


def model_fn(path):
    net, meta = load_model(path)
    bgr = meta.get("channel_order", "RGB") == "BGR"
    def run(img):
        x = torch.from_numpy(img[..., ::-1].copy() if bgr else img).permute(2, 0, 1)[None]
        with torch.no_grad():
            o1, o2, _, _ = net(x)
        y = (o1 + o2)[0].permute(1, 2, 0).numpy()
        return y[..., ::-1] if bgr else y
    return run, meta


def engine_fn(binary, model, precision):
    """The shipped engine through the filter, on a 16-bit PNG of the input (quantising the
    input by at most 1/131070)."""
    def run(img):
        with tempfile.TemporaryDirectory() as d:
            cv2.imwrite(f"{d}/in.png", (np.clip(img, 0, 1) * 65535 + 0.5).astype(np.uint16)[..., ::-1])
            subprocess.run([binary, "--quiet", "--model", model, "--precision", precision, f"{d}/in.png", f"{d}/out.png"],
                           check=True)
            return cv2.imread(f"{d}/out.png", cv2.IMREAD_UNCHANGED)[..., ::-1].astype(np.float32) / 65535
    return run


def tune(name, inputs, gts):
    fn, grid = CLASSICAL[name]
    best = None
    for values in itertools.product(*grid.values()):
        params = dict(zip(grid.keys(), values))
        p, s = mean_scores(lambda im: fn(im, **params), inputs, gts)
        if best is None or p > best[0]:
            best = (p, params)
    return best[1]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="*", default=[f"csgis-lite={HERE.parent}/models/csgis-lite.safetensors",
                                                  f"csgis-base={HERE.parent}/models/csgis-base.safetensors"])
    p.add_argument("--n", type=int, default=24)
    p.add_argument("--tune-n", type=int, default=8)
    p.add_argument("--photos", default=str(HERE.parent.parent / "shared" / "datasets" / "photos"))
    p.add_argument("--out", default=str(HERE / "results" / "eval"))
    p.add_argument("--engine", help="also score each model through this csgis-smooth binary")
    p.add_argument("--engine-precision", default="auto", choices=["auto", "fp32", "bf16"])
    a = p.parse_args()
    torch.set_num_threads(2)
    tune_in, tune_gt = dataset(777001, a.tune_n)
    val_in, val_gt = dataset(424242, a.n)
    rows, params = [], {}
    ident = mean_scores(lambda im: im, val_in, val_gt)
    rows.append(("identity (input)", *ident, ""))
    print(f"identity: PSNR {ident[0]:.2f} SSIM {ident[1]:.4f}", flush=True)
    for name in CLASSICAL:
        t = time.time()
        params[name] = tune(name, tune_in, tune_gt)
        fn = CLASSICAL[name][0]
        ps = mean_scores(lambda im: fn(im, **params[name]), val_in, val_gt)
        rows.append((name, *ps, json.dumps(params[name])))
        print(f"{name} {params[name]}: PSNR {ps[0]:.2f} SSIM {ps[1]:.4f} ({time.time() - t:.0f} s)", flush=True)
    best_classical = max(rows[1:], key=lambda r: r[1])
    runners = {}
    for spec in a.models:
        label, path = spec.split("=", 1)
        fn, meta = model_fn(path)
        runners[label] = fn
        ps = mean_scores(fn, val_in, val_gt)
        rows.append((label, *ps, f"{meta.get('dim')}/{meta.get('num_block')}, {meta.get('training_steps', '?')} steps"))
        print(f"{label}: PSNR {ps[0]:.2f} SSIM {ps[1]:.4f}", flush=True)
        if a.engine:
            es = mean_scores(engine_fn(a.engine, path, a.engine_precision), val_in, val_gt)
            rows.append((f"{label} (Swift engine, {a.engine_precision})", *es, "the csgis-smooth filter, 16-bit PNG in/out"))
            print(f"{label} engine: PSNR {es[0]:.2f} SSIM {es[1]:.4f}", flush=True)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    md = ["| method | PSNR (dB) | SSIM | parameters / notes |", "|---|---:|---:|---|"]
    md += [f"| {r[0]} | {r[1]:.2f} | {r[2]:.4f} | {r[3]} |" for r in rows]
    md.append(f"\nHeld-out set: {a.n} synthetic 256x256 images (seed 424242) with validation textures; "
              f"classical parameters tuned on {a.tune_n} other images (seed 777001). Best classical: {best_classical[0]}.")
    Path(str(out) + ".md").write_text("\n".join(md) + "\n")
    Path(str(out) + ".json").write_text(json.dumps({"rows": rows, "params": params, "best_classical": best_classical[0]}, indent=1))
    print("\n".join(md))
    # Real photos: input / csgis-base (or the last model) / best classical.
    pick = []
    for sub in ("CBSD68", "Set24", "Set18"):
        d = Path(a.photos, sub)
        if d.is_dir():
            files = sorted(d.iterdir())
            pick += files[1:2] + files[len(files) // 2:len(files) // 2 + 1]
    if pick:
        label = list(runners)[-1]
        bname = best_classical[0]
        bfn = CLASSICAL[bname][0]
        strips = []
        for f in pick[:4]:
            im = cv2.imread(str(f), cv2.IMREAD_COLOR)[..., ::-1].astype(np.float32) / 255
            h, w = im.shape[:2]
            s = 320 / max(h, w)
            im = cv2.resize(im, (int(w * s) // 4 * 4, int(h * s) // 4 * 4), interpolation=cv2.INTER_AREA)
            ours = np.clip(runners[label](im), 0, 1)
            cl = np.clip(bfn(im, **params[bname]), 0, 1)
            strip = np.concatenate([im, ours, cl], 1)
            strips.append(cv2.resize(strip, (960, int(strip.shape[0] * 960 / strip.shape[1]))))
        sheet = np.concatenate(strips, 0)
        cv2.imwrite(str(out) + "-photos.png", _u8(sheet)[..., ::-1])
        print(f"photo sheet: input | {label} | {bname} -> {out}-photos.png")


if __name__ == "__main__":
    main()
