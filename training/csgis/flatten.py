"""Structure-preserving flattening of natural photos: the ground truths of the photo data.

The paper's VOC-smooth ground truths are photos run through classical smoothers (L0, RTV,
SDFilter, ILS, ...). Here two are used, drawn at random per photo with random strengths:
- L0 gradient minimisation (OpenCV ximgproc's l0Smooth): piecewise-constant regions with
  sharp outlines; lambda sets how much detail survives.
- Relative total variation (RTV; Xu, Yan, Xia and Jia, "Structure extraction from texture
  via relative total variation", SIGGRAPH Asia 2012), implemented below: it penalises
  gradients whose local sum is large but whose local *signed* sum is small, i.e. texture
  (oscillating), and keeps gradients that are coherent over a window, i.e. structure. It
  removes regular texture (weave, grass, thatch) that L0 keeps as edges.
All inputs and outputs are float32 RGB in [0, 1].
"""
import numpy as np


def l0(img, lam, kappa=2.0):
    import cv2
    # l0Smooth solves in the Fourier domain, i.e. with wrap-around borders: pad by reflection
    # so that opposite borders do not bleed into each other, and crop afterwards.
    p = 16
    u8 = np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)
    u8 = cv2.copyMakeBorder(u8, p, p, p, p, cv2.BORDER_REFLECT)
    out = cv2.ximgproc.l0Smooth(u8, lambda_=float(lam), kappa=float(kappa))[p:-p, p:-p]
    return out.astype(np.float32) / 255


def _blur(x, sigma):
    import cv2
    return cv2.GaussianBlur(x, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)


def _solve(img, wx, wy, lam):
    """(I + lam * L_w) S = img, L_w the 4-neighbour Laplacian with edge weights wx (between
    x and x+1) and wy (between y and y+1); one sparse factorisation, all channels."""
    from scipy.sparse import diags
    from scipy.sparse.linalg import splu
    h, w = wx.shape
    n = h * w
    ax = (lam * wx).copy()
    ax[:, -1] = 0  # no neighbour beyond the right border
    ay = (lam * wy).copy()
    ay[-1, :] = 0
    ax, ay = ax.ravel(), ay.ravel()
    d = 1 + ax + ay + np.concatenate([np.zeros(1), ax[:-1]]) + np.concatenate([np.zeros(w), ay[:-w]])
    A = diags([d, -ax[:-1], -ax[:-1], -ay[:-w], -ay[:-w]], [0, 1, -1, w, -w], shape=(n, n), format="csc")
    lu = splu(A)
    out = lu.solve(img.reshape(n, -1).astype(np.float64))
    return out.reshape(img.shape).astype(np.float32)


def rtv(img, lam=0.01, sigma=3.0, sharpness=0.02, iterations=4):
    """Relative total variation smoothing; sigma (the texture scale, px) halves each iteration."""
    eps = 1e-3
    s = img.astype(np.float32)
    for _ in range(iterations):
        gx = np.diff(s, axis=1, append=s[:, -1:])
        gy = np.diff(s, axis=0, append=s[-1:, :])
        # per-pixel term 1 / max(|grad S|, sharpness), the magnitude averaged over channels
        wto = 1 / np.maximum(np.sqrt(gx * gx + gy * gy).mean(2), sharpness)
        sb = _blur(s, sigma)
        bx = np.diff(sb, axis=1, append=sb[:, -1:])
        by = np.diff(sb, axis=0, append=sb[-1:, :])
        # windowed inherent variation: small where gradients cancel (texture)
        wtb_x = 1 / np.maximum(np.abs(bx).mean(2), eps)
        wtb_y = 1 / np.maximum(np.abs(by).mean(2), eps)
        s = _solve(img, wtb_x * wto, wtb_y * wto, lam)
        sigma = max(sigma / 2, 0.5)
    return np.clip(s, 0, 1)


def random_flatten(img, rng):
    """One randomised flattening of a photo (long side about 512 px) -> (ground truth, description)."""
    if rng.random() < 0.6:
        lam = float(np.exp(rng.uniform(np.log(0.01), np.log(0.04))))
        return l0(img, lam), f"l0 lambda {lam:.4f}"
    lam = float(np.exp(rng.uniform(np.log(0.002), np.log(0.006))))
    sigma = float(rng.uniform(1.5, 2.5))
    return rtv(img, lam, sigma), f"rtv lambda {lam:.4f} sigma {sigma:.1f}"


def validation_flatten(img, index):
    """The fixed flattenings of the validation set: L0 (lambda 0.02) and RTV (lambda 0.004,
    sigma 2) on alternate photos."""
    return (l0(img, 0.02), "l0 lambda 0.02") if index % 2 == 0 else (rtv(img, 0.004, 2.0), "rtv lambda 0.004 sigma 2")
