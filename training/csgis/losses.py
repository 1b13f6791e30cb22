"""The paper's losses, with the substitutes this project uses for unavailable networks."""
import torch
import torch.nn as nn
import torch.nn.functional as F


def _gauss_window(size=11, sigma=1.5, device="cpu"):
    x = torch.arange(size, device=device, dtype=torch.float32) - size // 2
    g = torch.exp(-x * x / (2 * sigma * sigma))
    g = g / g.sum()
    return (g[:, None] * g[None, :])[None, None]


def ssim(a, b, window):
    C = a.shape[1]
    w = window.expand(C, 1, -1, -1)
    p = w.shape[-1] // 2
    mu_a, mu_b = F.conv2d(a, w, padding=p, groups=C), F.conv2d(b, w, padding=p, groups=C)
    saa = F.conv2d(a * a, w, padding=p, groups=C) - mu_a ** 2
    sbb = F.conv2d(b * b, w, padding=p, groups=C) - mu_b ** 2
    sab = F.conv2d(a * b, w, padding=p, groups=C) - mu_a * mu_b
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    m = ((2 * mu_a * mu_b + c1) * (2 * sab + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (saa + sbb + c2))
    return m.mean()


def mssim(a, b, scales=4):
    """Sum of SSIM over `scales` scales made by 2x2 max-pooling (the paper's MSSIM, 0..4)."""
    w = _gauss_window(device=a.device)
    total = 0.0
    for s in range(scales):
        total = total + ssim(a, b, w)
        if s + 1 < scales:
            a, b = F.max_pool2d(a, 2), F.max_pool2d(b, 2)
    return total


def balanced_bce(logits, target):
    """Class-balanced BCE with logits: each class weighted by the other's frequency."""
    pos = target.sum()
    beta = 1 - pos / target.numel()
    weight = torch.where(target > 0.5, beta, 1 - beta)
    return F.binary_cross_entropy_with_logits(logits, target, weight=weight)


class RandomPerceptual(nn.Module):
    """Perceptual distance substitute for VGG-16 (no pre-trained weights reachable): a
    frozen, seeded VGG-like stack of random convolutions. Random-feature distances keep
    structural sensitivity without any training data."""

    def __init__(self, seed=1234):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        chans = [(3, 32), (32, 32), None, (32, 64), (64, 64), None, (64, 128)]
        self.layers = nn.ModuleList()
        for c in chans:
            if c is None:
                self.layers.append(nn.MaxPool2d(2))
                continue
            conv = nn.Conv2d(c[0], c[1], 3, padding=1)
            conv.weight.data = torch.randn(conv.weight.shape, generator=g) * (2 / (c[0] * 9)) ** 0.5
            conv.bias.data.zero_()
            self.layers.append(conv)
        for p in self.parameters():
            p.requires_grad_(False)

    def features(self, x):
        feats = []
        for l in self.layers:
            x = l(x)
            if isinstance(l, nn.Conv2d):
                x = torch.relu(x)
                feats.append(x)
        return feats

    def distance(self, a, b):
        """Per-sample mean L1 over all feature maps -> (B,)."""
        fa, fb = self.features(a), self.features(b)
        return sum((x - y).abs().mean(dim=(1, 2, 3)) for x, y in zip(fa, fb)) / len(fa)


def color_distance(a, b):
    """L1 between per-channel means -> (B,)."""
    return (a.mean(dim=(2, 3)) - b.mean(dim=(2, 3))).abs().mean(dim=1)


def triplet(d_pos, d_neg, margin):
    return torch.relu(d_pos - d_neg + margin).mean()
