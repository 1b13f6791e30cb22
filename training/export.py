#!/usr/bin/env python3
"""Export weights to the engine's safetensors format.

  export.py checkpoint CKPT OUT      a training checkpoint of ours (train.py)
  export.py official CKPT OUT        the authors' checkpoint: a dict whose 'net' is the
                                     state_dict (BGR channel order, recorded as such)
  export.py random DIM NBLOCK OUT [--seed S] [--dtype F32|F16]
  export.py calibrate IN OUT [--photos N]  IN with the int8 calibration added (or replaced):
                                     each convolution's largest output magnitude on the
                                     first N natural photos of data/photos_train.npz
"""
import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from csgis import weights  # noqa: E402
from csgis.model import CSGISNet, randomize_  # noqa: E402


def infer_config(state):
    dim = state["descriptor.conv_in.weight"].shape[0]
    blocks = {int(k.split(".")[2]) for k in state if k.startswith("descriptor.res16.")}
    return dim, len(blocks)


def calibrate(a):
    import numpy as np
    from csgis.calibrate import TENSOR, activation_max
    bank = Path(a.data) / "photos_train.npz"
    if not bank.exists():
        sys.exit(f"export.py: {bank} is missing; build it with training/prepare.py")
    tensors, meta = weights.load(a.src)
    tensors.pop(TENSOR, None)
    net, _ = weights.load_model(a.src)
    photos = np.load(bank)["orig"][:a.photos]
    x = torch.from_numpy(photos).permute(0, 3, 1, 2).float() / 255
    if meta.get("channel_order", "RGB") == "BGR":
        x = x.flip(1)
    names, peak = activation_max(net, x)
    tensors[TENSOR] = torch.tensor(peak, dtype=torch.float32)
    with open(a.src, "rb") as f:  # keep the file's storage type
        import json, struct
        (n,) = struct.unpack("<Q", f.read(8))
        dtype = next(v["dtype"] for k, v in json.loads(f.read(n)).items() if k != "__metadata__")
    standard = {"format_version", "architecture", "dim", "num_block", "channel_order", "provenance"}
    extra = {k: v for k, v in meta.items() if k not in standard}
    extra["int8_calibration"] = f"max |activation| per convolution on the first {len(x)} photos of {bank.name} ({x.shape[2]}x{x.shape[3]})"
    weights.save(a.out, tensors, meta["dim"], meta["num_block"], meta["channel_order"], meta.get("provenance", ""), dtype, extra)
    print(f"wrote {a.out}: " + ", ".join(f"{n} {v:.3g}" for n, v in list(zip(names, peak))[:4]) + ", ...")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("checkpoint"); c.add_argument("ckpt"); c.add_argument("out")
    o = sub.add_parser("official"); o.add_argument("ckpt"); o.add_argument("out")
    r = sub.add_parser("random"); r.add_argument("dim", type=int); r.add_argument("num_block", type=int)
    r.add_argument("out"); r.add_argument("--seed", type=int, default=0)
    for s in (c, o, r):
        s.add_argument("--dtype", default="F32", choices=["F32", "F16"])
    k = sub.add_parser("calibrate"); k.add_argument("src"); k.add_argument("out")
    k.add_argument("--photos", type=int, default=64); k.add_argument("--data", default=str(Path(__file__).resolve().parent / "data"))
    c.add_argument("--provenance", help="override the provenance text")
    c.add_argument("--meta", action="append", default=[], help="extra metadata KEY=VALUE")
    a = p.parse_args()
    if a.cmd == "calibrate":
        return calibrate(a)
    if a.cmd == "random":
        net = randomize_(CSGISNet(a.dim, a.num_block), a.seed)
        state = weights.state_for_export(net.state_dict())
        weights.save(a.out, state, a.dim, a.num_block, "RGB",
                     f"random weights, seed {a.seed} (training/export.py random)", a.dtype)
    elif a.cmd == "official":
        ck = torch.load(a.ckpt, map_location="cpu", weights_only=False)
        sd = ck["net"] if isinstance(ck, dict) and "net" in ck else ck
        sd = {k.removeprefix("module."): v for k, v in sd.items()}
        state = weights.state_for_export(sd)
        dim, nb = infer_config(state)
        CSGISNet(dim, nb).load_state_dict(state, strict=False)  # shape check
        weights.save(a.out, state, dim, nb, "BGR", f"official checkpoint {Path(a.ckpt).name}", a.dtype)
    else:
        ck = torch.load(a.ckpt, map_location="cpu", weights_only=False)
        state = weights.state_for_export(ck["model"])
        dim, nb = infer_config(state)
        extra = dict(ck.get("metadata", {}))
        extra.update(dict(kv.split("=", 1) for kv in a.meta))
        weights.save(a.out, state, dim, nb, "RGB", a.provenance or ck.get("provenance", "csgis training/train.py"),
                     a.dtype, extra=extra)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
