"""Synthetic "VOC-smooth"-style training pairs, rendered on the fly (CPU or GPU).

Ground truth ("structure"): vector-like illustrations, a background with a linear gradient
and up to 10 anti-aliased shapes (ellipse, rectangle, triangle, band), each flat or with a
gentle gradient, drawn at random contrast, so weak edges are structure too.
Input: per region (background and every shape) a real grey texture, mean removed, scaled to
a random amplitude and added to each RGB channel (the paper's way; here region-wise so that
texture follows objects). Labels: Sobel edge labels of the ground truth (|grad| >= 50 of 255),
the shape class of every pixel (the semantic prior's substitute for VOC masks) and an
over-smoothed negative (Gaussian blur of the ground truth).
All sizes are in pixels, so crops and whole validation images share one scale.
"""
import math

import torch
import torch.nn.functional as F

NUM_CLASSES = 5  # background, ellipse, rectangle, triangle, band
MAX_SHAPES = 10


def _u(g, shape, lo, hi, device):
    return lo + (hi - lo) * torch.rand(shape, generator=g, device=device)


def render_structure(batch, size, g, device, margin=64):
    """-> gt (B,3,S,S) in [0,1], cls (B,S,S) long, region (B,S,S) long (0 = background)."""
    B, S = batch, size
    ys, xs = torch.meshgrid(torch.arange(S, device=device, dtype=torch.float32) + 0.5,
                            torch.arange(S, device=device, dtype=torch.float32) + 0.5, indexing="ij")
    xs, ys = xs[None], ys[None]
    # background: linear gradient between two colours
    c0 = _u(g, (B, 3, 1, 1), 0, 1, device)
    c1 = (c0 + _u(g, (B, 3, 1, 1), -0.4, 0.4, device)).clamp(0, 1)
    ang = _u(g, (B, 1, 1), 0, 2 * math.pi, device)
    t = ((xs * torch.cos(ang) + ys * torch.sin(ang)) / (S * 1.5) + 0.5).clamp(0, 1)[:, None]
    img = c0 + (c1 - c0) * t
    cls = torch.zeros(B, S, S, dtype=torch.long, device=device)
    region = torch.zeros(B, S, S, dtype=torch.long, device=device)
    count = torch.randint(2, MAX_SHAPES + 1, (B,), generator=g, device=device)
    for k in range(MAX_SHAPES):
        on = (k < count).float()[:, None, None]
        typ = torch.randint(1, NUM_CLASSES, (B,), generator=g, device=device)
        cx = _u(g, (B, 1, 1), -margin, S + margin, device)
        cy = _u(g, (B, 1, 1), -margin, S + margin, device)
        th = _u(g, (B, 1, 1), 0, math.pi, device)
        a = torch.exp(_u(g, (B, 1, 1), math.log(6), math.log(110), device))
        b = a * _u(g, (B, 1, 1), 0.3, 1.0, device)
        dx, dy = xs - cx, ys - cy
        u = dx * torch.cos(th) + dy * torch.sin(th)
        v = -dx * torch.sin(th) + dy * torch.cos(th)
        sd_ell = (torch.sqrt((u / a) ** 2 + (v / b) ** 2) - 1) * torch.minimum(a, b)
        sd_rect = torch.maximum(u.abs() - a, v.abs() - b)
        # triangle: three half-planes at sorted random angles (convex, counter-clockwise)
        angs = torch.sort(_u(g, (B, 3), 0, 2 * math.pi, device), dim=1).values
        ar = a[:, 0]  # (B,1)
        px, py = ar * torch.cos(angs), ar * torch.sin(angs)
        sd_tri = torch.full_like(u, -1e9)
        for i in range(3):
            j = (i + 1) % 3
            ex, ey = px[:, j] - px[:, i], py[:, j] - py[:, i]
            n = torch.sqrt(ex * ex + ey * ey).clamp_min(1e-3)
            nx, ny = (ey / n)[:, None, None], (-ex / n)[:, None, None]
            d = (u - px[:, i, None, None]) * nx + (v - py[:, i, None, None]) * ny
            sd_tri = torch.maximum(sd_tri, d)
        sd_band = v.abs() - b * 0.35
        sds = torch.stack([sd_ell, sd_rect, sd_tri, sd_band], 1)
        sd = sds.gather(1, (typ - 1)[:, None, None, None].expand(B, 1, S, S))[:, 0]
        cov = ((0.5 - sd).clamp(0, 1) * on)[:, None]
        col = _u(g, (B, 3, 1, 1), 0, 1, device)
        grad = _u(g, (B, 3, 1, 1), -0.3, 0.3, device) * (torch.rand(B, 1, 1, 1, generator=g, device=device) < 0.5)
        shade = col + grad * (u / (a * 2))[:, None]
        img = img * (1 - cov) + shade.clamp(0, 1) * cov
        inside = cov[:, 0] > 0.5
        cls = torch.where(inside, typ[:, None, None], cls)
        region = torch.where(inside, torch.full_like(region, k + 1), region)
    return img.clamp(0, 1), cls, region


def texture_crops(textures, n, size, g, device):
    """n random grey crops (n,1,S,S) of the texture bank (N,1,T,T) in [0,1]: random zoom,
    rotation and offset, reflected at the borders; normalised to zero mean, unit std."""
    N = textures.shape[0]
    idx = torch.randint(0, N, (n,), generator=g, device=device)
    src = textures[idx]
    T = textures.shape[-1]
    scale = torch.exp(_u(g, (n,), math.log(0.5), math.log(1.6), device)) * size / T
    th = _u(g, (n,), 0, 2 * math.pi, device)
    tx, ty = _u(g, (n,), -0.5, 0.5, device), _u(g, (n,), -0.5, 0.5, device)
    A = torch.stack([torch.stack([scale * torch.cos(th), -scale * torch.sin(th), tx], 1),
                     torch.stack([scale * torch.sin(th), scale * torch.cos(th), ty], 1)], 1)
    grid = F.affine_grid(A, (n, 1, size, size), align_corners=False)
    out = F.grid_sample(src, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    out = out - out.mean(dim=(2, 3), keepdim=True)
    return out / out.std(dim=(2, 3), keepdim=True).clamp_min(1e-3)


def gaussian_blur(x, sigma):
    r = max(1, int(math.ceil(3 * sigma)))
    k = torch.exp(-(torch.arange(-r, r + 1, device=x.device, dtype=x.dtype) ** 2) / (2 * sigma * sigma))
    k = k / k.sum()
    C = x.shape[1]
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="replicate"), k.view(1, 1, 1, -1).repeat(C, 1, 1, 1), groups=C)
    return F.conv2d(F.pad(x, (0, 0, r, r), mode="replicate"), k.view(1, 1, -1, 1).repeat(C, 1, 1, 1), groups=C)


def edge_labels(gt):
    """Sobel magnitude of the ground truth's grey level on a 0..255 scale, >= 50 -> 1."""
    grey = (0.299 * gt[:, 0] + 0.587 * gt[:, 1] + 0.114 * gt[:, 2])[:, None] * 255
    kx = torch.tensor([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=gt.dtype, device=gt.device)
    p = F.pad(grey, (1, 1, 1, 1), mode="replicate")
    gx = F.conv2d(p, kx.view(1, 1, 3, 3))
    gy = F.conv2d(p, kx.t().contiguous().view(1, 1, 3, 3))
    return (torch.sqrt(gx * gx + gy * gy) >= 50).float()


def make_batch(textures, batch, size, g, device, amp_range=(0.03, 0.15), untextured_p=0.2, sigma=None):
    """One training/validation batch as a dict of tensors on device. sigma: the over-smoothed
    negative's blur; None draws it from g (a device sync on a GPU), training passes a host draw."""
    gt, cls, region = render_structure(batch, size, g, device)
    R = MAX_SHAPES + 1
    tex = texture_crops(textures, batch * R, size, g, device).view(batch, R, size, size)
    amp = _u(g, (batch, R, 1, 1), amp_range[0], amp_range[1], device)
    amp = amp * (torch.rand(batch, R, 1, 1, generator=g, device=device) >= untextured_p)
    layer = (tex * amp).gather(1, region[:, None])  # each pixel takes its region's texture
    inp = (gt + layer).clamp(0, 1)
    if sigma is None:
        sigma = float(_u(g, (1,), 1.5, 4.0, device))
    return {"input": inp, "gt": gt, "edge": edge_labels(gt), "cls": cls,
            "over": gaussian_blur(gt, sigma)}
