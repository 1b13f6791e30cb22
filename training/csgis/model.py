"""PyTorch reference of the CSGIS-Net smoothing network ("HDC_edge_refine").

Module and parameter names follow the published checkpoint (descriptor.conv_in,
descriptor.res16.N.conv_3x3_K / bn_conv_3x3_K, interpreter1.K, interpreter2.K, refine.K)
so that a converted official checkpoint and our own exports share one naming.
This file is the numerical reference the Swift engine is tested against.
"""
import torch
import torch.nn as nn


def conv3x3(cin, cout, dilation=1):
    # "same" zero padding: padding equals dilation for a 3x3 kernel.
    return nn.Conv2d(cin, cout, 3, stride=1, padding=dilation, dilation=dilation, bias=True)


class RHDC(nn.Module):
    """Residual hybrid dilated block: three conv-BN-ReLU with dilations 1, 2, 3, plus input."""

    def __init__(self, dim):
        super().__init__()
        self.conv_3x3_1 = conv3x3(dim, dim, 1)
        self.bn_conv_3x3_1 = nn.BatchNorm2d(dim)
        self.conv_3x3_2 = conv3x3(dim, dim, 2)
        self.bn_conv_3x3_2 = nn.BatchNorm2d(dim)
        self.conv_3x3_3 = conv3x3(dim, dim, 3)
        self.bn_conv_3x3_3 = nn.BatchNorm2d(dim)

    def forward(self, x):
        y = torch.relu(self.bn_conv_3x3_1(self.conv_3x3_1(x)))
        y = torch.relu(self.bn_conv_3x3_2(self.conv_3x3_2(y)))
        y = torch.relu(self.bn_conv_3x3_3(self.conv_3x3_3(y)))
        return y + x


class Descriptor(nn.Module):
    def __init__(self, dim, num_block):
        super().__init__()
        self.conv_in = conv3x3(3, dim)
        self.res16 = nn.Sequential(*[RHDC(dim) for _ in range(num_block)])

    def forward(self, x):
        return self.res16(self.conv_in(x))


def conv_bn_relu(cin, cout):
    return [conv3x3(cin, cout), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class CSGISNet(nn.Module):
    """forward(x) -> (out1, out2, edge, features); the smoothed image is out1 + out2."""

    def __init__(self, dim=64, num_block=12):
        super().__init__()
        self.dim, self.num_block = dim, num_block
        self.descriptor = Descriptor(dim, num_block)
        self.interpreter1 = nn.Sequential(
            *conv_bn_relu(dim, dim), *conv_bn_relu(dim, dim), conv3x3(dim, 1))
        self.interpreter2 = nn.Sequential(
            *conv_bn_relu(dim + 1, dim), *[RHDC(dim) for _ in range(3)],
            *conv_bn_relu(dim, dim), conv3x3(dim, 3))
        self.refine = nn.Sequential(
            *conv_bn_relu(dim + 4, dim), *[RHDC(dim) for _ in range(6)], conv3x3(dim, 3))

    def forward(self, x):
        feat = self.descriptor(x)
        edge = self.interpreter1(feat)
        f1 = torch.cat([feat, edge], 1)
        out1 = self.interpreter2(f1)
        f2 = torch.cat([f1, out1], 1)
        out2 = self.refine(f2)
        return out1, out2, edge, feat


def receptive_radius(num_block):
    """Radius in pixels of the output's dependence on the input (sum of dilations on the
    longest path); 135 for 12 blocks. Mirrors the Swift engine's computation."""
    block = 1 + 2 + 3
    descriptor = 1 + num_block * block
    edge = 3
    interp2 = 1 + 3 * block + 1 + 1
    refine = 1 + 6 * block + 1
    return descriptor + edge + interp2 + refine


def count_params(model):
    return sum(p.numel() for p in model.parameters())


def randomize_(model, seed, gain=0.5):
    """Random weights with O(1) outputs, including non-trivial BatchNorm statistics, so a
    BN-folding bug cannot hide. Used for test fixtures and benchmarks."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            fan_in = m.in_channels * 9
            m.weight.data = torch.randn(m.weight.shape, generator=g) * (gain / fan_in ** 0.5)
            m.bias.data = torch.randn(m.bias.shape, generator=g) * 0.05
        elif isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.weight.data = 0.8 + 0.4 * torch.rand(n, generator=g)
            m.bias.data = torch.randn(n, generator=g) * 0.05
            m.running_mean.data = torch.randn(n, generator=g) * 0.05
            m.running_var.data = 0.5 + torch.rand(n, generator=g)
    return model
