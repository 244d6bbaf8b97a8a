"""Realistic gallery degradations (Grm et al., Table 1) and their chains (eq. 1), batched in torch.

Every function maps N x 3 x H x W floats in [0, 1] to the same shape and draws its randomness
from a ``torch.Generator`` (a seed fixes every hypothesis). ``chain(x, names, gen)`` applies
rho_1, then a x2 bicubic downsampling, then rho_2, ... (eq. 1).
"""
from __future__ import annotations

import itertools
import math
from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from ..registry import DEGRADATIONS

Degradation = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


def _u(gen: torch.Generator, n: int, lo: float, hi: float) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=gen)


def _conv(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Depthwise convolution with a 2-D kernel, reflect-padded to keep the size."""
    kh, kw = kernel.shape
    k = (kernel / kernel.sum()).to(x)[None, None].expand(x.shape[1], 1, kh, kw)
    pad = (kw // 2, (kw - 1) // 2, kh // 2, (kh - 1) // 2)
    mode = "reflect" if min(x.shape[-2:]) > max(kh, kw) // 2 else "replicate"
    return F.conv2d(F.pad(x, pad, mode=mode), k, groups=x.shape[1])


def gaussian_kernel(sigma: float, size: int | None = None) -> torch.Tensor:
    size = size or max(3, 2 * math.ceil(3 * sigma) + 1)
    r = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    g = torch.exp(-(r**2) / (2 * max(sigma, 1e-6) ** 2))
    return g[:, None] * g[None, :]


@DEGRADATIONS.register("gaussian_noise")
def gaussian_noise(var: float = 0.02) -> Degradation:
    """Additive Gaussian noise, mean 0, variance 0.02"""
    return lambda x, gen: (x + math.sqrt(var) * torch.randn(x.shape, generator=gen)).clamp(0, 1)


@DEGRADATIONS.register("speckle_noise")
def speckle_noise(var: float = 0.02) -> Degradation:
    """Multiplicative Gaussian (speckle) noise, mean 0, variance 0.02"""
    return lambda x, gen: (x + x * math.sqrt(var) * torch.randn(x.shape, generator=gen)).clamp(0, 1)


@DEGRADATIONS.register("color_jitter")
def color_jitter(hue: float = 0.08, saturation: float = 0.5) -> Degradation:
    """Random hue rotation (fraction of a turn, in YIQ) and saturation scaling"""

    def f(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        n = x.shape[0]
        yiq = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
        q = torch.einsum("ij,njhw->nihw", yiq, x)
        ang = _u(gen, n, -hue, hue) * 2 * math.pi
        sat = _u(gen, n, 1 - saturation, 1 + saturation)
        c, s = torch.cos(ang)[:, None, None], torch.sin(ang)[:, None, None]
        i, qq = q[:, 1], q[:, 2]
        q = torch.stack([q[:, 0], sat[:, None, None] * (c * i - s * qq), sat[:, None, None] * (s * i + c * qq)], 1)
        return torch.einsum("ij,njhw->nihw", torch.linalg.inv(yiq), q).clamp(0, 1)

    return f


@DEGRADATIONS.register("brightness_jitter")
def brightness_jitter(brightness: float = 0.25, contrast: float = 0.4) -> Degradation:
    """Random brightness offset and contrast scaling about the image mean"""

    def f(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        n = x.shape[0]
        b = _u(gen, n, -brightness, brightness)[:, None, None, None]
        c = _u(gen, n, 1 - contrast, 1 + contrast)[:, None, None, None]
        m = x.mean(dim=(1, 2, 3), keepdim=True)
        return ((x - m) * c + m + b).clamp(0, 1)

    return f


@DEGRADATIONS.register("motion_blur")
def motion_blur(window: int = 20) -> Degradation:
    """Horizontal motion blur, window 20 px"""
    return lambda x, gen: _conv(x, torch.ones(1, window))


@DEGRADATIONS.register("gaussian_blur")
def gaussian_blur(sigma: float = 1.1, window: int = 5) -> Degradation:
    """Gaussian blur, sigma 1.1, window 5"""
    return lambda x, gen: _conv(x, gaussian_kernel(sigma, window))


@DEGRADATIONS.register("disk_blur")
def disk_blur(radius: int = 5) -> Degradation:
    """Disk (defocus) blur, radius 5"""
    r = torch.arange(-radius, radius + 1, dtype=torch.float32)
    disk = ((r[:, None] ** 2 + r[None, :] ** 2) <= radius**2).float()
    return lambda x, gen: _conv(x, disk)


def _warp(x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


@DEGRADATIONS.register("perspective")
def perspective(strength: float = 0.12) -> Degradation:
    """Random perspective transform: corners moved by up to 12 % of the size"""

    def f(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        n, _, h, w = x.shape
        src = torch.tensor([[-1.0, -1], [1, -1], [1, 1], [-1, 1]])
        out = []
        for i in range(n):
            dst = src + (torch.rand(4, 2, generator=gen) * 2 - 1) * strength * 2
            a = []
            for (u, v), (xx, yy) in zip(dst.tolist(), src.tolist()):  # homography dst -> src (sampling grid)
                a.append([u, v, 1, 0, 0, 0, -xx * u, -xx * v, xx])
                a.append([0, 0, 0, u, v, 1, -yy * u, -yy * v, yy])
            _, _, vh = torch.linalg.svd(torch.tensor(a))
            hmat = vh[-1].reshape(3, 3)
            ys, xs = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing="ij")
            pts = torch.stack([xs, ys, torch.ones_like(xs)], -1) @ hmat.T
            grid = (pts[..., :2] / pts[..., 2:]).unsqueeze(0)
            out.append(F.grid_sample(x[i : i + 1], grid, mode="bilinear", padding_mode="border", align_corners=True))
        return torch.cat(out)

    return f


@DEGRADATIONS.register("shear")
def shear(strength: float = 0.25) -> Degradation:
    """Random horizontal and vertical shear up to 0.25"""

    def f(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        n = x.shape[0]
        sx, sy = _u(gen, n, -strength, strength), _u(gen, n, -strength, strength)
        theta = torch.zeros(n, 2, 3)
        theta[:, 0, 0] = theta[:, 1, 1] = 1
        theta[:, 0, 1], theta[:, 1, 0] = sx, sy
        return _warp(x, theta)

    return f


@DEGRADATIONS.register("down_up")
def down_up_jitter(low: float = 2.0, high: float = 4.0) -> Degradation:
    """Downscale by a random factor in [2, 4], then upscale back"""

    def f(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        h, w = x.shape[-2:]
        k = float(_u(gen, 1, low, high))
        small = F.interpolate(x, size=(max(1, round(h / k)), max(1, round(w / k))), mode="bicubic", antialias=True,
                              align_corners=False)
        return F.interpolate(small, size=(h, w), mode="bicubic", align_corners=False).clamp(0, 1)

    return f


@DEGRADATIONS.register("patch_shuffle")
def patch_shuffle(patch: int = 2, prob: float = 0.5) -> Degradation:
    """Random patch shuffle (Kang et al.): pixels permuted inside 2x2 patches, each patch with p=0.5"""

    def f(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        n, c, h, w = x.shape
        hh, ww = h // patch * patch, w // patch * patch
        if hh == 0 or ww == 0:
            return x
        core = x[:, :, :hh, :ww].reshape(n, c, hh // patch, patch, ww // patch, patch)
        core = core.permute(0, 2, 4, 1, 3, 5).reshape(n, hh // patch, ww // patch, c, patch * patch)
        keys = torch.rand(n, hh // patch, ww // patch, patch * patch, generator=gen)
        on = torch.rand(n, hh // patch, ww // patch, 1, generator=gen) < prob
        order = torch.where(on, keys.argsort(-1), torch.arange(patch * patch).expand_as(keys))
        core = torch.gather(core, -1, order[:, :, :, None, :].expand_as(core))
        core = core.reshape(n, hh // patch, ww // patch, c, patch, patch).permute(0, 3, 1, 4, 2, 5)
        out = x.clone()
        out[:, :, :hh, :ww] = core.reshape(n, c, hh, ww)
        return out

    return f


GALLERY_DEGRADATIONS = ("gaussian_noise", "speckle_noise", "color_jitter", "brightness_jitter", "motion_blur",
                        "gaussian_blur", "disk_blur", "perspective", "shear", "down_up", "patch_shuffle")


def half(x: torch.Tensor) -> torch.Tensor:
    """The x2 bicubic downsampling between chain steps (eq. 1)."""
    h, w = x.shape[-2:]
    return F.interpolate(x, size=(max(1, h // 2), max(1, w // 2)), mode="bicubic", antialias=True,
                         align_corners=False).clamp(0, 1)


def chain(x: torch.Tensor, names: Sequence[str], gen: torch.Generator) -> torch.Tensor:
    """G_H = rho_3(down(rho_2(down(rho_1(G))))) for names = (rho_1, rho_2, rho_3) (Grm eq. 1)."""
    for j, name in enumerate(names):
        if j:
            x = half(x)
        x = DEGRADATIONS.create(name)(x, gen)
    return x


def chains(max_len: int = 3, cap: int | None = 32, seed: int = 0,
           names: Sequence[str] = GALLERY_DEGRADATIONS) -> list[tuple[str, ...]]:
    """All degradation chains of length 1..max_len, or a seeded sample of ``cap`` of them
    (always including every single degradation first when the cap allows)."""
    every = [c for n in range(1, max_len + 1) for c in itertools.product(names, repeat=n)]
    if cap is None or cap >= len(every):
        return every
    singles = [c for c in every if len(c) == 1][:cap]
    rest = [c for c in every if len(c) > 1]
    g = torch.Generator().manual_seed(seed)
    pick = torch.randperm(len(rest), generator=g)[: cap - len(singles)].tolist()
    return singles + [rest[i] for i in sorted(pick)]
