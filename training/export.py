#!/usr/bin/env python3
"""Export weights to the engine's safetensors format.

  export.py checkpoint CKPT OUT      a training checkpoint of ours (train.py)
  export.py official CKPT OUT        the authors' checkpoint: a dict whose 'net' is the
                                     state_dict (BGR channel order, recorded as such)
  export.py random DIM NBLOCK OUT [--seed S] [--dtype F32|F16]
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


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("checkpoint"); c.add_argument("ckpt"); c.add_argument("out")
    o = sub.add_parser("official"); o.add_argument("ckpt"); o.add_argument("out")
    r = sub.add_parser("random"); r.add_argument("dim", type=int); r.add_argument("num_block", type=int)
    r.add_argument("out"); r.add_argument("--seed", type=int, default=0)
    for s in (c, o, r):
        s.add_argument("--dtype", default="F32", choices=["F32", "F16"])
    c.add_argument("--provenance", help="override the provenance text")
    c.add_argument("--meta", action="append", default=[], help="extra metadata KEY=VALUE")
    a = p.parse_args()
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
