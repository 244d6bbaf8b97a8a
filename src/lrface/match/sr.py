"""Face super-resolution: an EDSR-style network (Lim et al. 2017: residual blocks without batch
norm, residual scaling, pixel-shuffle upsampling) for x2, x4 and x8, trained on aligned face crops.

``train_sr`` makes LR inputs with the degradation pipeline (Gaussian blur sigma ~ U(0, 1), bicubic
antialiased downsampling, Gaussian noise) and minimises L1; ``psnr`` / ``ssim`` measure results.
"""
from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load as load_safetensors, save_file
from torch import nn
from tqdm import tqdm

from ..atomic import atomic_write
from ..degrade.realistic import _conv, gaussian_kernel
from ..errors import LrfaceError
from ..paths import weights_dir

SCALES = (2, 4, 8)


class ResBlock(nn.Module):
    def __init__(self, c: int, res_scale: float) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(c, c, 3, padding=1))
        self.res_scale = res_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.res_scale * self.body(x)


class EDSR(nn.Module):
    """head conv -> n residual blocks (+ long skip) -> conv to 3*scale^2 channels -> pixel shuffle.
    The output adds a bicubic upsampling of the input, so the network learns the residual detail."""

    def __init__(self, scale: int, channels: int = 32, blocks: int = 8, res_scale: float = 0.1) -> None:
        super().__init__()
        if scale not in SCALES:
            raise LrfaceError(f"SR scale must be one of {SCALES}")
        self.scale = scale
        self.head = nn.Conv2d(3, channels, 3, padding=1)
        self.body = nn.Sequential(*[ResBlock(channels, res_scale) for _ in range(blocks)],
                                  nn.Conv2d(channels, channels, 3, padding=1))
        # one sub-pixel stage at LR resolution (ESPCN-style): cheap on a CPU even at x8
        self.up = nn.Sequential(nn.Conv2d(channels, 3 * scale * scale, 3, padding=1), nn.PixelShuffle(scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.head(x - 0.5)
        f = f + self.body(f)
        base = F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False)
        return (base + self.up(f)).clamp(0, 1)


def degrade_for_sr(hr: torch.Tensor, scale: int, gen: torch.Generator, noise: float = 0.02) -> torch.Tensor:
    """LR training input: per-sample Gaussian blur sigma ~ U(0, 1), bicubic antialiased /scale, noise."""
    out = []
    for i in range(hr.shape[0]):
        sigma = float(torch.rand(1, generator=gen))
        x = hr[i : i + 1]
        if sigma > 0.05:
            x = _conv(x, gaussian_kernel(sigma))
        out.append(x)
    x = torch.cat(out)
    h, w = hr.shape[-2:]
    lr = F.interpolate(x, size=(h // scale, w // scale), mode="bicubic", antialias=True, align_corners=False)
    level = torch.rand(hr.shape[0], 1, 1, 1, generator=gen) * noise
    return (lr + level * torch.randn(lr.shape, generator=gen)).clamp(0, 1)


def psnr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Peak signal-to-noise ratio (dB) per image, images in [0, 1]."""
    mse = (a - b).pow(2).flatten(1).mean(1).clamp_min(1e-10)
    return 10 * torch.log10(1.0 / mse)


def ssim(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Structural similarity per image (Wang et al. 2004; 11x11 Gaussian window, sigma 1.5, on luma)."""
    w = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    a, b = (a * w).sum(1, keepdim=True), (b * w).sum(1, keepdim=True)
    k = gaussian_kernel(1.5, 11)
    k = (k / k.sum())[None, None]
    mu_a, mu_b = F.conv2d(a, k), F.conv2d(b, k)
    var_a = F.conv2d(a * a, k) - mu_a**2
    var_b = F.conv2d(b * b, k) - mu_b**2
    cov = F.conv2d(a * b, k) - mu_a * mu_b
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return s.flatten(1).mean(1)


def sr_weights_path(scale: int, root: Path | None = None) -> Path:
    return (root or weights_dir()) / f"face_sr_x{scale}.safetensors"


def load_sr(scale: int, path: Path | None = None) -> EDSR:
    """The committed face SR network for ``scale`` (weights/face_sr_x{scale}.safetensors)."""
    path = path or sr_weights_path(scale)
    if not path.is_file():
        raise LrfaceError(f"no SR weights at {path}: train them with `lrface train-sr --scale {scale}`")
    data = path.read_bytes()
    from ..models.published import read_manifest

    entry = read_manifest(path.parent).get(path.stem)
    if entry is not None and hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise LrfaceError(f"{path}: sha256 does not match {path.parent}/manifest.json")
    model = EDSR(scale)
    model.load_state_dict(load_safetensors(data))
    return model.eval()


def train_sr(crops: np.ndarray, scale: int, steps: int = 1500, batch: int = 16, patch: int = 64, lr: float = 1e-3,
             seed: int = 0, out: Path | None = None, progress: bool = True) -> dict[str, Any]:
    """Train EDSR x``scale`` on random ``patch`` crops of aligned faces (uint8 N x S x S x 3), L1 loss,
    Adam with cosine decay. Writes safetensors atomically to ``out``; returns a summary."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = EDSR(scale)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    data = torch.from_numpy(crops).permute(0, 3, 1, 2)
    n, _, h, w = data.shape
    t0 = time.perf_counter()
    losses = []
    for _ in tqdm(range(steps), desc=f"sr x{scale}", disable=not progress, unit="step"):
        idx = torch.randint(n, (batch,), generator=gen)
        ys = torch.randint(h - patch + 1, (batch,), generator=gen)
        xs = torch.randint(w - patch + 1, (batch,), generator=gen)
        hr = torch.stack([data[i, :, y : y + patch, x : x + patch] for i, y, x in zip(idx, ys, xs)]).float() / 255
        flip = torch.rand(batch, generator=gen) < 0.5
        hr = torch.where(flip[:, None, None, None], hr.flip(3), hr)
        lr_img = degrade_for_sr(hr, scale, gen)
        loss = F.l1_loss(model(lr_img), hr)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
    model.eval()
    if out is not None:
        sd = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
        atomic_write(out, lambda p: save_file(sd, str(p), metadata={"scale": str(scale), "steps": str(steps)}))
    return {"scale": scale, "steps": steps, "seconds": time.perf_counter() - t0,
            "final_l1": float(np.mean(losses[-50:])), "params": sum(p.numel() for p in model.parameters())}


@torch.inference_mode()
def evaluate_sr(model: EDSR, hr: torch.Tensor) -> dict[str, float]:
    """PSNR/SSIM of SR vs bicubic upsampling on HR images (N x 3 x H x W, H and W divisible by scale)."""
    s = model.scale
    lr = F.interpolate(hr, size=(hr.shape[-2] // s, hr.shape[-1] // s), mode="bicubic", antialias=True,
                       align_corners=False).clamp(0, 1)
    sr = torch.cat([model(lr[i : i + 32]) for i in range(0, len(lr), 32)])
    bic = F.interpolate(lr, size=hr.shape[-2:], mode="bicubic", align_corners=False).clamp(0, 1)
    return {"psnr_sr": float(psnr(sr, hr).mean()), "psnr_bicubic": float(psnr(bic, hr).mean()),
            "ssim_sr": float(ssim(sr, hr).mean()), "ssim_bicubic": float(ssim(bic, hr).mean())}
