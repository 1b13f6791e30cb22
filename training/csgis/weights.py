"""Our weights format: safetensors (8-byte little-endian header length, JSON header, raw
little-endian tensors). Tensor names are the official module names; BatchNorm tensors are
kept as they are (the engine folds them at load). __metadata__ describes the network."""
import json
import struct

import numpy as np
import torch

FORMAT_VERSION = "1"
_DTYPES = {np.dtype("float32"): "F32", np.dtype("float16"): "F16"}


def state_for_export(state_dict):
    """Network tensors only: drops training-only heads and BN step counters."""
    out = {}
    for k, v in state_dict.items():
        if k.endswith("num_batches_tracked") or k.startswith("seg_head"):
            continue
        if not k.startswith(("descriptor.", "interpreter1.", "interpreter2.", "refine.")):
            continue
        out[k] = v.detach().float().cpu().contiguous()
    return out


def save(path, tensors, dim, num_block, channel_order="RGB", provenance="", dtype="F32",
         extra=None):
    """Write tensors (name -> float tensor) to path; dtype F32 or F16 (storage only)."""
    assert channel_order in ("RGB", "BGR")
    np_dtype = {"F32": np.float32, "F16": np.float16}[dtype]
    meta = {"format_version": FORMAT_VERSION, "architecture": "csgis-net",
            "dim": str(dim), "num_block": str(num_block),
            "channel_order": channel_order, "provenance": provenance}
    meta.update({k: str(v) for k, v in (extra or {}).items()})
    header, blobs, offset = {"__metadata__": meta}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name].numpy().astype(np_dtype))
        b = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": _DTYPES[a.dtype], "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)  # keep tensor data 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def load(path):
    """Read a safetensors file -> (dict name -> float32 torch tensor, metadata dict)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    np_types = {"F32": np.float32, "F16": np.float16}
    out = {}
    for name, info in header.items():
        s, e = info["data_offsets"]
        a = np.frombuffer(data[base + s:base + e], dtype=np.dtype(np_types[info["dtype"]]).newbyteorder("<"))
        out[name] = torch.from_numpy(a.astype(np.float32).reshape(info["shape"]).copy())
    return out, meta


def load_model(path):
    """A CSGISNet in eval mode from one of our files (RGB order assumed by the caller)."""
    from .model import CSGISNet
    tensors, meta = load(path)
    net = CSGISNet(int(meta["dim"]), int(meta["num_block"]))
    net_tensors = {k: v for k, v in tensors.items() if not k.startswith("int8.")}  # the int8 calibration
    missing, unexpected = net.load_state_dict(net_tensors, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise ValueError(f"{path}: missing {missing[:3]}, unexpected {unexpected[:3]}")
    return net.eval(), meta
