"""int8 calibration: the largest magnitude each convolution's output reaches on natural photos.

The engine's int8 path stores every activation as 8-bit integers with one scale per tensor;
it takes the scale of the tensor a convolution writes from `int8.activation_max`, one value
per convolution in the engine's layer order (the order of the network's Conv2d modules). The
value is for the tensor as the engine keeps it: after the BatchNorm and ReLU that follow the
convolution, and for the last convolution of a residual block after the block's skip sum.
"""
import torch
import torch.nn as nn

from .model import RHDC

TENSOR = "int8.activation_max"


def _observed(net):
    """(conv name, module whose output is that conv's tensor, apply ReLU to it first)."""
    mods = dict(net.named_modules())
    out = []
    for name, m in net.named_modules():
        if not isinstance(m, nn.Conv2d):
            continue
        parent, leaf = name.rsplit(".", 1)
        p = mods[parent]
        if isinstance(p, RHDC):
            k = leaf[-1]
            out.append((name, p, False) if k == "3" else (name, mods[f"{parent}.bn_conv_3x3_{k}"], True))
        elif isinstance(p, nn.Sequential):
            i = int(leaf)
            nxt = p[i + 1] if i + 1 < len(p) else None
            out.append((name, p[i + 2], False) if isinstance(nxt, nn.BatchNorm2d) else (name, m, False))
        else:  # descriptor.conv_in
            out.append((name, m, False))
    return out


@torch.no_grad()
def activation_max(net, images, batch=4):
    """images: float tensor (N,3,H,W) in [0,1], the network's channel order.
    Returns (conv names, per-conv max |activation|) in layer order."""
    net = net.eval()
    watched = _observed(net)
    peak = [0.0] * len(watched)
    hooks = []
    for i, (_, mod, relu) in enumerate(watched):
        def hook(_m, _inp, out, i=i, relu=relu):
            t = torch.relu(out) if relu else out
            peak[i] = max(peak[i], float(t.abs().max()))
        hooks.append(mod.register_forward_hook(hook))
    try:
        for s in range(0, len(images), batch):
            net(images[s:s + batch])
    finally:
        for h in hooks:
            h.remove()
    return [n for n, _, _ in watched], peak
