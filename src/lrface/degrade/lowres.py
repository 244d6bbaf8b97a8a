"""Realistic low-resolution faces for training the LR expert (and the clean protocol reduction).

``synthesize(x, sizes, gen)`` turns aligned HR chips (N x 3 x S x S in [0, 1]) into LR chips of
``sizes[i]`` px, the way a surveillance camera would see them: a small misalignment (sub-pixel
shift, scale, rotation: what landmarks on a 10 px face get wrong), exposure changes, optical or
motion blur (Gaussian, linear motion at any angle, defocus disk), a camera-like downsampling
kernel (bicubic / bilinear with antialiasing, area, or aliased bicubic), sensor noise, grayscale
(IR cameras) and JPEG. A share ``p_clean`` gets only the evaluation protocol's reduction
(bicubic with antialiasing, Knoche eq. 1), so the protocol's images are in the training
distribution. ``to_input`` brings LR chips of any size to a network input (bicubic).
Every random choice comes from ``gen`` (exact resume, DDP parity).
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ..registry import DEGRADATIONS

DOWN_KERNELS = ("bicubic_aa", "bilinear_aa", "area", "bicubic")


@dataclass(frozen=True)
class LowResConfig:
    """Probabilities and ranges of the LR synthesis (blur and shift in LR pixels)."""

    p_clean: float = 0.3
    shift: float = 0.6  # max |translation| in LR px
    scale: float = 0.06  # max relative scale error
    rotate: float = 6.0  # max rotation, degrees
    p_color: float = 0.5  # brightness / contrast / gamma jitter
    p_blur: float = 0.6
    blur_weights: tuple[float, float, float] = (0.5, 0.3, 0.2)  # gaussian, motion, disk
    sigma: tuple[float, float] = (0.3, 1.2)  # Gaussian sigma, LR px
    motion: tuple[float, float] = (1.0, 3.0)  # motion length, LR px
    disk: tuple[float, float] = (0.5, 1.5)  # defocus radius, LR px
    down_weights: tuple[float, float, float, float] = (0.4, 0.25, 0.2, 0.15)  # DOWN_KERNELS
    p_noise: float = 0.5
    noise: float = 0.04  # max Gaussian noise sd
    p_gray: float = 0.15
    p_jpeg: float = 0.5
    jpeg: tuple[int, int] = (30, 95)


def _u(gen: torch.Generator, n: int, lo: float, hi: float) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=gen)


def _coin(gen: torch.Generator, n: int, p: float) -> torch.Tensor:
    return torch.rand(n, generator=gen) < p


def resample(x: torch.Tensor, size: int, kernel: str = "bicubic_aa") -> torch.Tensor:
    """Square resize of N x 3 x H x W with one of DOWN_KERNELS (antialiasing only when shrinking)."""
    if x.shape[-1] == size and x.shape[-2] == size:
        return x
    shrink = size < x.shape[-1]
    if kernel == "area" and shrink:
        return F.adaptive_avg_pool2d(x, size)
    mode = "bilinear" if kernel.startswith("bilinear") else "bicubic"
    aa = shrink and kernel.endswith("_aa")
    return F.interpolate(x, size=(size, size), mode=mode, antialias=aa, align_corners=False).clamp(0, 1)


def to_input(chips: Sequence[torch.Tensor] | torch.Tensor, size: int) -> torch.Tensor:
    """LR chips (each 3 x s x s, any s) -> N x 3 x size x size network input (bicubic)."""
    if isinstance(chips, torch.Tensor) and chips.dim() == 4:
        return resample(chips, size)
    return torch.cat([resample(c[None], size) for c in chips])


def _jitter(x: torch.Tensor, s: int, cfg: LowResConfig, gen: torch.Generator) -> torch.Tensor:
    """Random similarity transform: shift up to cfg.shift LR px, scale, rotation."""
    n = x.shape[0]
    ang = _u(gen, n, -cfg.rotate, cfg.rotate) * math.pi / 180
    sc = 1 + _u(gen, n, -cfg.scale, cfg.scale)
    t = _u(gen, 2 * n, -cfg.shift, cfg.shift).view(n, 2) * 2.0 / s  # normalised coords span s LR px
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1] = sc * torch.cos(ang), -sc * torch.sin(ang)
    theta[:, 1, 0], theta[:, 1, 1] = sc * torch.sin(ang), sc * torch.cos(ang)
    theta[:, :, 2] = t
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def _color(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Exposure: gamma in [0.7, 1.4], contrast in [0.7, 1.3], brightness +-0.12."""
    n = x.shape[0]
    gamma = _u(gen, n, math.log(0.7), math.log(1.4)).exp().view(n, 1, 1, 1)
    c = _u(gen, n, 0.7, 1.3).view(n, 1, 1, 1)
    b = _u(gen, n, -0.12, 0.12).view(n, 1, 1, 1)
    y = x.clamp_min(1e-6).pow(gamma)
    m = y.mean(dim=(1, 2, 3), keepdim=True)
    return ((y - m) * c + m + b).clamp(0, 1)


def _blur_kernel(kind: int, amount: float, size: int, angle: float) -> torch.Tensor:
    """A normalised size x size kernel: 0 Gaussian (sigma), 1 linear motion (length), 2 disk (radius)."""
    r = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    yy, xx = torch.meshgrid(r, r, indexing="ij")
    if kind == 0:
        k = torch.exp(-(xx**2 + yy**2) / (2 * amount**2))
    elif kind == 1:  # distance to a segment of the given length through the centre
        c, s = math.cos(angle), math.sin(angle)
        along = (xx * c + yy * s).clamp(-amount / 2, amount / 2)
        k = (1 - ((xx - along * c) ** 2 + (yy - along * s) ** 2).sqrt()).clamp_min(0)
    else:
        k = (amount + 0.5 - (xx**2 + yy**2).sqrt()).clamp(0, 1)
    return k / k.sum()


def _blur(x: torch.Tensor, s: int, on: torch.Tensor, cfg: LowResConfig, gen: torch.Generator) -> torch.Tensor:
    """Per-sample blur at the current scale (x is m x m, the LR chip will be s x s)."""
    n, _, m, _ = x.shape
    f = m / s  # current px per LR px
    kinds = torch.multinomial(torch.tensor(cfg.blur_weights), n, replacement=True, generator=gen)
    lo_hi = {0: cfg.sigma, 1: cfg.motion, 2: cfg.disk}
    amounts = torch.rand(n, generator=gen)
    angles = _u(gen, n, 0, math.pi)
    params = [(int(k), (lo_hi[int(k)][0] + a * (lo_hi[int(k)][1] - lo_hi[int(k)][0])) * f)
              for k, a in zip(kinds, amounts.tolist())]
    reach = max(3 * p if k == 0 else p for k, p in params)
    size = min(2 * int(math.ceil(reach)) + 1, 2 * (m // 2) - 1)
    size = max(size, 3)
    kern = torch.zeros(n, size, size)
    kern[:, size // 2, size // 2] = 1.0
    for i in torch.nonzero(on).flatten().tolist():
        kind, amount = params[i]
        kern[i] = _blur_kernel(kind, max(amount, 0.3), size, float(angles[i]))
    w = kern.repeat_interleave(3, 0)[:, None]  # (3n, 1, k, k): one kernel per sample and channel
    pad = size // 2
    y = F.pad(x.reshape(1, 3 * n, m, m), (pad, pad, pad, pad), mode="reflect")
    return F.conv2d(y, w, groups=3 * n).reshape(n, 3, m, m)


def _jpeg(x: torch.Tensor, quality: Sequence[int]) -> torch.Tensor:
    out = []
    for img, q in zip(x, quality):
        arr = (img.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        ok, buf = cv2.imencode(".jpg", arr[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(q)])
        decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR) if ok else None
        dec = decoded[..., ::-1] if decoded is not None else arr
        out.append(torch.from_numpy(np.ascontiguousarray(dec)).permute(2, 0, 1).float() / 255)
    return torch.stack(out)


def _degrade_group(x: torch.Tensor, s: int, cfg: LowResConfig, gen: torch.Generator) -> torch.Tensor:
    """N HR chips -> N realistic LR chips of s x s (one resolution)."""
    n = x.shape[0]
    x = _jitter(x, s, cfg, gen)
    col = _coin(gen, n, cfg.p_color)
    if col.any():
        x[col] = _color(x[col], gen)
    m = min(x.shape[-1], 4 * s)  # blur at <= 4x the LR scale: small kernels, same effect
    x = resample(x, m)
    blur = _coin(gen, n, cfg.p_blur)
    if blur.any():
        x = _blur(x, s, blur, cfg, gen)
    kern = torch.multinomial(torch.tensor(cfg.down_weights), n, replacement=True, generator=gen)
    out = torch.empty(n, 3, s, s)
    for k in kern.unique().tolist():
        sel = kern == k
        out[sel] = resample(x[sel], s, DOWN_KERNELS[k])
    gray = _coin(gen, n, cfg.p_gray)
    if gray.any():
        luma = (out[gray] * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
        out[gray] = luma.expand(-1, 3, -1, -1)
    noisy = _coin(gen, n, cfg.p_noise)
    sd = _u(gen, n, 0, cfg.noise) * noisy
    noise = torch.randn(n, 1, s, s, generator=gen).expand(-1, 3, -1, -1).clone()
    colour_noise = torch.randn(n, 3, s, s, generator=gen)
    noise = torch.where(gray.view(n, 1, 1, 1), noise, colour_noise)
    out = (out + sd.view(n, 1, 1, 1) * noise).clamp(0, 1)
    jpeg = _coin(gen, n, cfg.p_jpeg)
    q = torch.randint(cfg.jpeg[0], cfg.jpeg[1] + 1, (n,), generator=gen)
    if jpeg.any():
        out[jpeg] = _jpeg(out[jpeg], q[jpeg].tolist())
    return (out * 255).round() / 255  # 8-bit, as a camera delivers it


def synthesize(x: torch.Tensor, sizes: Sequence[int], gen: torch.Generator,
               cfg: LowResConfig = LowResConfig()) -> list[torch.Tensor]:
    """HR chips N x 3 x S x S -> list of LR chips (3 x sizes[i] x sizes[i]); see the module doc."""
    sizes = [max(2, int(v)) for v in sizes]
    clean = _coin(gen, len(sizes), cfg.p_clean).tolist()
    out: list[torch.Tensor | None] = [None] * len(sizes)
    groups: dict[tuple[int, bool], list[int]] = defaultdict(list)
    for i, (s, c) in enumerate(zip(sizes, clean)):
        groups[(s, c)].append(i)
    for (s, c), idx in sorted(groups.items()):
        xs = x[idx]
        ys = resample(xs, s, "bicubic_aa") if c else _degrade_group(xs.clone(), s, cfg, gen)
        for j, i in enumerate(idx):
            out[i] = ys[j]
    return out  # type: ignore[return-value]


@DEGRADATIONS.register("realistic_lr")
def realistic_lr(**kwargs: float) -> LowResConfig:
    """Camera-like LR synthesis: misalignment, exposure, blur kernels, kernels, noise, gray, JPEG"""
    return LowResConfig(**kwargs)  # type: ignore[arg-type]
