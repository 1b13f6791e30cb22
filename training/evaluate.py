#!/usr/bin/env python3
"""Evaluate shipped/trained models against classical smoothers.

  evaluate.py [--models csgis-lite=../models/csgis-lite.safetensors ...] [--data training/data]
              [--datasets ../../shared/datasets] [--out results/eval] [--quick]
              [--engine .build/release/csgis-smooth [--engine-precision auto]]

Three sets, all held out from training, and a sheet:
1. "photo-blended", the external-style set (the headline): crops of held-out photos'
   flattenings (L0 / RTV, csgis/flatten.py) plus held-out textures (DTD, Brodatz, GIMP and
   procedural), whole-image and per region, amplitude 0.02-0.12 (prepare.py builds it).
2. "photo-natural": the held-out photos themselves against their flattenings.
2b. "photo-unlike": built unlike the training pairs (csgis/unlike.py: other smoothers' ground
   truths, colour textures blended multiplicatively, other crop sizes, JPEG inputs).
3. "synthetic": the earlier vector-shape held-out set (a no-regression check only: it is
   drawn from the synthetic generator's distribution).
Classical baselines (OpenCV ximgproc: l0Smooth, rollingGuidanceFilter, bilateralTextureFilter,
fastGlobalSmootherFilter, guidedFilter) get their parameters by a grid search on separate
tuning data (held-out *tuning* photos for the photo sets, another seed for synthetic), so
each is shown at its best; the parameters are printed.
The sheet (OUT-photos.png): input | each model | the best classical filter on the
photo-blended set, on real photos by category (csgis/realphotos.py).
With --engine, each model is also scored as shipped: the Swift engine (the csgis-smooth
filter) on 16-bit PNGs of the same inputs. --quick: the first 8 pairs of each set and a
small grid (the tests use it). Writes OUT.json, OUT.md and OUT-photos.png.
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


def dataset(seed, n, size=256, data=HERE / "data"):
    tex = torch.from_numpy(np.load(Path(data) / "textures_val.npy")).float()[:, None] / 255
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


def photo_set(data, split, kind, n=None):
    z = np.load(Path(data) / f"photoval_{split}.npz")
    f = lambda a: a[:n].astype(np.float32) / 255
    return f(z[f"{kind}_input"]), f(z[f"{kind}_gt"])


def tune(name, inputs, gts, quick=False):
    fn, grid = CLASSICAL[name]
    if quick:  # the middle value of each parameter only
        grid = {k: [v[len(v) // 2]] for k, v in grid.items()}
    best = None
    for values in itertools.product(*grid.values()):
        params = dict(zip(grid.keys(), values))
        p, s = mean_scores(lambda im: fn(im, **params), inputs, gts)
        if best is None or p > best[0]:
            best = (p, params)
    return best[1]


def evaluate_set(title, tune_in, tune_gt, val_in, val_gt, runners, engines, quick, known=None, classical=True):
    """Scores identity, the tuned classical filters and the models on one set -> (rows, params).
    known: classical parameters from an earlier run's OUT.json (skips the tuning).
    classical=False scores only identity and the models (the campaign's quick check)."""
    rows, params = [], {}
    ident = mean_scores(lambda im: im, val_in, val_gt)
    rows.append(("identity (input)", *ident, ""))
    print(f"[{title}] {len(val_in)} pairs; identity: PSNR {ident[0]:.2f} SSIM {ident[1]:.4f}", flush=True)
    for name in (CLASSICAL if classical else []):
        t = time.time()
        params[name] = known[name] if known and name in known else tune(name, tune_in, tune_gt, quick)
        fn = CLASSICAL[name][0]
        ps = mean_scores(lambda im: fn(im, **params[name]), val_in, val_gt)
        rows.append((name, *ps, json.dumps(params[name])))
        print(f"[{title}] {name} {params[name]}: PSNR {ps[0]:.2f} SSIM {ps[1]:.4f} ({time.time() - t:.0f} s)", flush=True)
    for label, (fn, note) in runners.items():
        ps = mean_scores(fn, val_in, val_gt)
        rows.append((label, *ps, note))
        print(f"[{title}] {label}: PSNR {ps[0]:.2f} SSIM {ps[1]:.4f}", flush=True)
        if label in engines:
            es = mean_scores(engines[label], val_in, val_gt)
            rows.append((f"{label} (Swift engine)", *es, "the csgis-smooth filter, 16-bit PNG in/out"))
            print(f"[{title}] {label} engine: PSNR {es[0]:.2f} SSIM {es[1]:.4f}", flush=True)
    return rows, params


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="*", default=[f"csgis-base={HERE.parent}/models/csgis-base.safetensors",
                                                  f"csgis-lite={HERE.parent}/models/csgis-lite.safetensors"])
    p.add_argument("--data", default=str(HERE / "data"))
    p.add_argument("--datasets", default=str(HERE.parent.parent / "shared" / "datasets"))
    p.add_argument("--n", type=int, default=24, help="synthetic held-out images")
    p.add_argument("--tune-n", type=int, default=24, help="tuning pairs per set")
    p.add_argument("--sets", nargs="*", default=["photo-blended", "photo-natural", "synthetic"])
    p.add_argument("--out", default=str(HERE / "results" / "eval"))
    p.add_argument("--quick", action="store_true")
    p.add_argument("--photo-n", type=int, help="only the first N pairs of each photo set")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--no-sheet", action="store_true")
    p.add_argument("--sheet", help="where the real-photo sheet goes (default OUT-photos.png)")
    p.add_argument("--classical-from", help="reuse the classical parameters tuned in this earlier OUT.json")
    p.add_argument("--engine", help="also score each model through this csgis-smooth binary")
    p.add_argument("--engine-precision", default="auto", choices=["auto", "fp32", "bf16", "int8"])
    p.add_argument("--no-classical", action="store_true", help="score only the input and the models (no sheet)")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    n = 8 if a.quick else a.photo_n
    runners, engines = {}, {}
    for spec in a.models:
        label, path = spec.split("=", 1)
        fn, meta = model_fn(path)
        runners[label] = (fn, f"{meta.get('dim')}/{meta.get('num_block')}, {meta.get('training_steps', '?')} steps")
        if a.engine:
            engines[label] = engine_fn(a.engine, path, a.engine_precision)
    results, md = {}, []
    for title in a.sets:
        if title == "photo-unlike":
            from csgis import unlike
            if not (Path(a.datasets) / "textures" / "dtd").is_dir():
                print(f"[{title}] skipped: needs DATASETS/textures/dtd"); continue
            tune_set = tuple(v[:min(a.tune_n, n or a.tune_n)] for v in unlike.load(a.data, a.datasets, "tune"))
            val_set = tuple(v[:n] for v in unlike.load(a.data, a.datasets, "val"))
            what = (f"{len(val_set[0])} 320x224 crops of held-out photos built unlike the training pairs (csgis/unlike.py); "
                    f"classical parameters tuned on {len(tune_set[0])} crops of the tuning photos built the same way")
        elif title == "synthetic":
            tune_set, val_set = dataset(777001, 8 if not a.quick else 4, data=a.data), dataset(424242, a.n if not a.quick else 8, data=a.data)
            what = f"{len(val_set[0])} synthetic 256x256 images (seed 424242), validation textures; tuned on 8 others (seed 777001)"
        else:
            kind = title.split("-")[1]
            if not (Path(a.data) / "photoval_val.npz").exists():
                print(f"[{title}] skipped: run prepare.py first"); continue
            tune_set = photo_set(a.data, "tune", kind, min(a.tune_n, n or a.tune_n))
            val_set = photo_set(a.data, "val", kind, n)
            what = (f"{len(val_set[0])} 256x256 crops of held-out photos ({kind}); classical parameters tuned on "
                    f"{len(tune_set[0])} crops of the separate tuning photos")
        known = json.loads(Path(a.classical_from).read_text()).get(title, {}).get("params") if a.classical_from else None
        rows, params = evaluate_set(title, *tune_set, *val_set, runners, engines, a.quick, known, not a.no_classical)
        classical = [r for r in rows if r[0] in CLASSICAL] or rows[:1]
        best = max(classical, key=lambda r: r[1])
        results[title] = {"rows": rows, "params": params, "best_classical": best[0], "what": what}
        md += [f"### {title}", "", what + f". Best classical: {best[0]}.", "",
               "| method | PSNR (dB) | SSIM | parameters / notes |", "|---|---:|---:|---|"]
        md += [f"| {r[0]} | {r[1]:.2f} | {r[2]:.4f} | {r[3]} |" for r in rows]
        for r in rows:
            if r[0] in runners:
                md.append(f"\n{r[0]} vs {best[0]}: {r[1] - best[1]:+.2f} dB PSNR, "
                          f"{100 * (1 - (1 - r[2]) / max(1e-9, 1 - best[2])):+.0f} % of its SSIM error removed")
        md.append("")
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    Path(str(out) + ".md").write_text("\n".join(md) + "\n")
    Path(str(out) + ".json").write_text(json.dumps(results, indent=1))
    print("\n".join(md))
    if not (a.no_sheet or a.no_classical) and "photo-blended" in results:
        from csgis.realphotos import sheet_photos
        bname = results["photo-blended"]["best_classical"]
        bfn, bparams = CLASSICAL[bname][0], results["photo-blended"]["params"][bname]
        debs = Path(a.data) / "debs" / "root"
        strips = []
        for label, im in sheet_photos(a.datasets, debs if debs.is_dir() else None)[:4 if a.quick else None]:
            cols = [im] + [np.clip(fn(im), 0, 1) for fn, _ in runners.values()] + [np.clip(bfn(im, **bparams), 0, 1)]
            strip = np.concatenate(cols, 1)
            strip = cv2.resize(strip, (320 * len(cols), int(strip.shape[0] * 320 * len(cols) / strip.shape[1])), interpolation=cv2.INTER_AREA)
            bar = np.full((18, strip.shape[1], 3), 255, np.uint8)
            names = ["input"] + list(runners) + [f"{bname} (best classical)"]
            for i, nm in enumerate(names):
                cv2.putText(bar, (label if i == 0 else nm)[:48], (4 + 320 * i, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
            strips += [bar, _u8(strip)]
        sheet = a.sheet or str(out) + "-photos.png"
        cv2.imwrite(sheet, np.concatenate(strips, 0)[..., ::-1])
        print(f"photo sheet: input | {' | '.join(runners)} | {bname} -> {sheet}")


if __name__ == "__main__":
    main()
