#!/usr/bin/env python3
"""Train CSGIS-Net on natural-photo pairs (csgis/photoset.py) and/or synthetic ones (csgis/synth.py).

  train.py --dim 64 --blocks 12 --out runs/base [--steps N] [--wall-limit SECONDS]
           [--photo-frac F] [--no-contrastive] [--no-semantic] [--device cuda|cpu] [--resume]

--photo-frac (default 1 where prepare.py built photos_train.npz, else 0) is the share of
each batch drawn from the natural photos; the rest is synthetic. The semantic term needs the
synthetic shape classes, so it only applies to the synthetic share.
Scalar random decisions (flips, the negative's kind) come from a host-side generator, so a
GPU step never waits for the host.

Resumable: the checkpoint runs/NAME/last.pt holds model, optimiser, step and elapsed time;
--resume continues from it. The paper's learning-rate schedule (--schedule paper) halves the
rate at 4/15, 8/15 and 12/15 of the run (its epochs 40/80/120 of 150); --schedule cosine
warms up linearly for --warmup steps, then decays to zero along a half cosine. Both measure
progress as the larger of the step fraction and the wall-clock fraction, so a time-capped
run still anneals.
--ema D keeps an exponential moving average of the weights (decay D), saved beside them.
--export-dir DIR writes lean checkpoints (no optimiser; NAME-trainer.pt and, with --ema,
NAME-ema.pt) every --export-every seconds: what a time-limited remote run brings back.
Writes runs/NAME/last.pt, log.txt and metrics.json (validation PSNR/SSIM at the end).
SIGTERM or SIGINT ends the run after the current step the way --wall-limit does (save,
export, validation), so a background campaign (campaign.py) can be stopped cleanly.
--init also takes a campaign state (campaign.py): its EMA weights, where present, seed the EMA.
"""
import argparse
import json
import math
import signal
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from csgis import losses  # noqa: E402
from csgis.model import CSGISNet  # noqa: E402
from csgis.photoset import PhotoBank, load_textures  # noqa: E402
from csgis.synth import NUM_CLASSES, make_batch  # noqa: E402


class Trainer(nn.Module):
    """The network plus the training-only segmentation head (the semantic prior's
    substitute: per-pixel shape classes predicted from the shared descriptor features)."""

    def __init__(self, dim, blocks):
        super().__init__()
        self.net = CSGISNet(dim, blocks)
        self.seg_head = nn.Sequential(nn.Conv2d(dim, dim, 3, padding=1), nn.ReLU(inplace=True),
                                      nn.Conv2d(dim, NUM_CLASSES, 1))

    def forward(self, x):
        out1, out2, edge, feat = self.net(x)
        return out1, out2, edge, self.seg_head(feat)


def psnr(a, b):
    mse = F.mse_loss(a.clamp(0, 1), b).item()
    return 10 * math.log10(1 / max(mse, 1e-12))


def validation_set(textures_val, n=16, size=256, device="cpu", data=None):
    """The first n pairs of the photo validation set where prepare.py built it, else synthetic."""
    if data is not None and Path(data, "photoval_val.npz").exists():
        z = np.load(Path(data, "photoval_val.npz"))
        t = lambda a: torch.from_numpy(a[:n]).permute(0, 3, 1, 2).float().div(255).to(device)
        return {"input": t(z["blended_input"]), "gt": t(z["blended_gt"])}
    g = torch.Generator().manual_seed(20221011)
    return make_batch(textures_val, n, size, g, "cpu") if device == "cpu" else {
        k: v.to(device) for k, v in make_batch(textures_val, n, size, g, "cpu").items()}


@torch.no_grad()
def evaluate(net, val, amp_dtype):
    net.eval()
    ps, ss = [], []
    for i in range(val["input"].shape[0]):
        x = val["input"][i:i + 1]
        with torch.autocast(x.device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            o1, o2, _, _ = net(x)
        pred = (o1 + o2).float().clamp(0, 1)
        ps.append(psnr(pred, val["gt"][i:i + 1]))
        ss.append(losses.ssim(pred, val["gt"][i:i + 1], losses._gauss_window(device=x.device)).item())
    net.train()
    return float(np.mean(ps)), float(np.mean(ss))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--blocks", type=int, default=12)
    p.add_argument("--out", required=True)
    p.add_argument("--data", default=str(Path(__file__).resolve().parent / "data"))
    p.add_argument("--steps", type=int, default=100000)
    p.add_argument("--wall-limit", type=float, default=float("inf"), help="seconds of training")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--crop", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--no-contrastive", action="store_true")
    p.add_argument("--no-semantic", action="store_true")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--amp", default="bf16", choices=["bf16", "none"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--init", help="start from this checkpoint's weights (fresh optimiser and schedule)")
    p.add_argument("--clip-grad", type=float, default=0, help="clip the gradient norm (0 = off)")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0 = default)")
    p.add_argument("--freeze-bn", action="store_true",
                   help="BatchNorm in inference mode (running statistics fixed, affine trained): trains exactly "
                        "the arithmetic the engine runs, which cures blow-ups on images unlike the batch statistics")
    p.add_argument("--schedule", default="paper", choices=["paper", "cosine"])
    p.add_argument("--warmup", type=int, default=0, help="linear warm-up steps (cosine schedule)")
    p.add_argument("--ema", type=float, default=0, help="weight EMA decay (0 = off)")
    p.add_argument("--export-dir", help="write lean checkpoints here every --export-every seconds")
    p.add_argument("--export-every", type=float, default=60)
    p.add_argument("--log-every", type=int, default=100)
    p.add_argument("--ckpt-every", type=int, default=1000)
    p.add_argument("--photo-frac", type=float, default=None, help="share of each batch from natural photos")
    p.add_argument("--compile", action="store_true", help="torch.compile the training step's forward (GPU runs)")
    a = p.parse_args()
    if a.photo_frac is None:
        a.photo_frac = 1.0 if Path(a.data, "photos_train.npz").exists() else 0.0

    torch.manual_seed(a.seed)
    if a.threads:
        torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed crop size: let cuDNN pick the fastest kernels
    amp_dtype = torch.bfloat16 if a.amp == "bf16" else None
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    tex = torch.from_numpy(np.load(Path(a.data, "textures_train.npy"))).float()[:, None].div(255).to(dev)
    tex_val = torch.from_numpy(np.load(Path(a.data, "textures_val.npy"))).float()[:, None].div(255)
    val = validation_set(tex_val, device=dev, data=a.data)
    n_photo = round(a.batch * a.photo_frac)
    bank = PhotoBank(a.data, dev) if n_photo else None
    tex_photo = load_textures(a.data, "train").to(dev) if n_photo else None
    data_desc = ("natural photos (flattened by L0/RTV) with natural and overlaid textures"
                 + (f", {a.batch - n_photo}/{a.batch} synthetic" if n_photo < a.batch else "")
                 if n_photo else "synthetic VOC-smooth-style data")

    model = Trainer(a.dim, a.blocks).to(dev).to(memory_format=torch.channels_last)
    perceptual = losses.RandomPerceptual().to(dev).to(memory_format=torch.channels_last)
    forward = torch.compile(model) if a.compile else model
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    step, elapsed = 0, 0.0
    ck_path = out / "last.pt"
    if a.resume and ck_path.exists():
        ck = torch.load(ck_path, map_location=dev, weights_only=False)
        model.load_state_dict(ck["trainer"]); opt.load_state_dict(ck["opt"])
        step, elapsed = ck["step"], ck["elapsed"]
        print(f"resumed at step {step}, {elapsed:.0f} s")
    if a.init and not (a.resume and ck_path.exists()):
        ck = torch.load(a.init, map_location=dev, weights_only=False)
        model.load_state_dict(ck["trainer"])  # copies cast a campaign state's fp16 tensors to fp32
        print(f"initialised from {a.init} ({ck.get('step', '?')} steps)")
    g = torch.Generator(device=dev).manual_seed(a.seed * 1000003 + step)
    params = list(model.parameters())
    ema = None
    if a.ema > 0:
        ema = [q.detach().clone() for q in params]
        if a.resume and ck_path.exists() and isinstance(ck.get("ema"), list):
            for e, v in zip(ema, ck["ema"]):
                e.copy_(v)
        elif a.init and isinstance(ck.get("ema_trainer"), dict):  # a campaign state carries its EMA
            for e, (n, _) in zip(ema, model.named_parameters()):
                e.copy_(ck["ema_trainer"][n])
    log = open(out / "log.txt", "a")
    config = {k: (None if v == float("inf") else v) for k, v in vars(a).items()}

    def lean(use_ema):
        """A checkpoint without optimiser state (model or EMA weights); --init and export.py read it."""
        trainer = model.state_dict()
        if use_ema:
            names = [n for n, _ in model.named_parameters()]
            trainer = dict(trainer, **{n: e.detach().clone() for n, e in zip(names, ema)})
        net = {k.removeprefix("net."): v for k, v in trainer.items() if k.startswith("net.")}
        return {"trainer": trainer, "model": net, "step": step, "elapsed": elapsed, "args": config, "is_ema": use_ema,
                "provenance": f"csgis training/train.py, {data_desc}, {step} steps"
                              + (f", weight EMA {a.ema}" if use_ema else ""),
                "metadata": {"training_steps": step, "contrastive": not a.no_contrastive,
                             "semantic": not a.no_semantic}}

    def save():
        ck = lean(False)
        ck["opt"] = opt.state_dict()
        if ema is not None:
            ck["ema"] = [e.detach().clone() for e in ema]
        torch.save(ck, ck_path)

    def export():
        name = out.name
        for use_ema in ([False, True] if ema is not None else [False]):
            dst = Path(a.export_dir, f"{name}-{'ema' if use_ema else 'trainer'}.pt")
            torch.save(lean(use_ema), dst.with_suffix(".tmp"))
            dst.with_suffix(".tmp").replace(dst)  # never leave a half-written checkpoint
    if a.export_dir:
        Path(a.export_dir).mkdir(parents=True, exist_ok=True)
    last_export = time.time()

    stop = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda n, f: stop.append(n))

    host = np.random.default_rng(a.seed * 1000003 + step)
    elapsed0 = elapsed
    mpix = 0.0
    t0 = time.time() - elapsed
    while step < a.steps:
        elapsed = time.time() - t0
        if elapsed >= a.wall_limit or stop:
            break
        frac = max(step / a.steps, elapsed / a.wall_limit if math.isfinite(a.wall_limit) else 0)
        if a.schedule == "paper":
            lr = a.lr * 0.5 ** sum(frac >= m for m in (4 / 15, 8 / 15, 12 / 15))
        elif step < a.warmup:
            lr = a.lr * (step + 1) / a.warmup
        else:
            lr = a.lr * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0)))
        for grp in opt.param_groups:
            grp["lr"] = lr
        if a.freeze_bn:
            for m in model.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.eval()
        with torch.no_grad():
            parts = []
            if n_photo:
                parts.append(bank.batch(tex_photo, n_photo, a.crop, g, rot=int(host.integers(0, 4)), sigma=host.uniform(1.5, 4.0)))
            if n_photo < a.batch:
                parts.append(make_batch(tex, a.batch - n_photo, a.crop, g, dev, sigma=host.uniform(1.5, 4.0)))
            b = parts[0] if len(parts) == 1 else {k: torch.cat([q[k] for q in parts]) for k in parts[0]}
            if host.random() < 0.5:  # random flips
                b = {k: v.flip(-1) for k, v in b.items()}
        x = b["input"].contiguous(memory_format=torch.channels_last)
        with torch.autocast(dev.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            o1, o2, edge, seg = forward(x)
        o1, o2, edge, seg = o1.float(), o2.float(), edge.float(), seg.float()
        pred, gt = o1 + o2, b["gt"]
        terms = {"l1": F.l1_loss(o1, gt) + F.l1_loss(pred, gt),
                 "ssim": 0.1 * (4 - losses.mssim(o1, gt)) + 0.1 * (4 - losses.mssim(pred, gt)),
                 "edge": 0.001 * losses.balanced_bce(edge, b["edge"])}
        if not a.no_contrastive:
            neg = b["over"] if host.random() < 0.5 else b["input"]
            with torch.autocast(dev.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                d_pos = perceptual.distance(pred, gt).float()
                d_neg = perceptual.distance(pred, neg).float()
            terms["contrast"] = (losses.triplet(losses.color_distance(pred, gt), losses.color_distance(pred, neg), 0.3)
                                 + losses.triplet(d_pos, d_neg, 0.04))
        if not a.no_semantic and n_photo < a.batch:
            terms["semantic"] = F.cross_entropy(seg[n_photo:], b["cls"][n_photo:])
        loss = sum(terms.values())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if a.clip_grad > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip_grad)
        opt.step()
        if ema is not None:
            d = min(a.ema, (1 + step) / (10 + step))  # short memory early on
            torch._foreach_lerp_(ema, [q.detach() for q in params], 1 - d)
        step += 1
        mpix += a.batch * a.crop * a.crop / 1e6
        if step % a.log_every == 0 or step == 1:
            line = (f"step {step} t {time.time() - t0:.0f}s lr {lr:.2e} {mpix / max(1e-9, time.time() - t0 - elapsed0):.3f} Mpix/s loss {loss.item():.4f} "
                    + " ".join(f"{k} {v.item():.4f}" for k, v in terms.items()))
            print(line, flush=True); log.write(line + "\n"); log.flush()
        if step % a.ckpt_every == 0:
            save()
        if a.export_dir and time.time() - last_export >= a.export_every:
            export(); last_export = time.time()
    elapsed = time.time() - t0
    save()
    if a.export_dir:
        export()
    vp, vs = evaluate(model.net, val, amp_dtype)
    extra = {}
    if ema is not None:
        with torch.no_grad():
            saved = [q.detach().clone() for q in params]
            for q, e in zip(params, ema):
                q.copy_(e)
            ep, es = evaluate(model.net, val, amp_dtype)
            for q, v in zip(params, saved):
                q.copy_(v)
        extra = {"val_psnr_ema": round(ep, 3), "val_ssim_ema": round(es, 4)}
    metrics = {"steps": step, "seconds": round(elapsed, 1), "val_psnr": round(vp, 3), "val_ssim": round(vs, 4), **extra,
               "device": torch.cuda.get_device_name() if dev.type == "cuda" else "cpu", "config": config}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1))
    print(json.dumps(metrics), flush=True)


if __name__ == "__main__":
    main()
