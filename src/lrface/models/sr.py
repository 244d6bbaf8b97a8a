"""Identity-preserving face super-resolution for the meet-in-the-middle matcher.

An EDSR-style network (Lim et al. 2017: residual blocks without batch norm, residual scaling,
sub-pixel upsampling) for x2, x4 and x8. ``train_sr`` trains it on aligned face chips whose LR
inputs come from the camera-like synthesis of ``degrade.lowres`` (the LR expert's), with

    L = w_id * (1 - cos(f(up(SR(x_lr))), f(x_hr))) + w_pix * |down(SR(x_lr)) - down(x_hr)|_1

where f is the frozen HR expert (its embedding of the HR chip is cached in the distillation set),
up resizes to the expert's input and down to the stored chip size: the identity term is the
feature-distance supervision of super-identity / identity-preserving SR, the pixel term keeps the
output a face. ``psnr``/``ssim``/``identity_similarity`` measure results against bicubic.
"""
from __future__ import annotations

import hashlib
import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load as load_safetensors
from safetensors.torch import save_file
from torch import nn
from tqdm import tqdm

from ..atomic import atomic_write
from ..defaults import SR_SCALES as SCALES  # noqa: E402  (written once, in lrface.defaults)
from ..degrade.lowres import resample, synthesize
from ..degrade.realistic import gaussian_kernel
from ..errors import LrfaceError
from ..paths import weights_dir
from .base import FaceBackbone


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

    def __init__(self, scale: int, channels: int = 64, blocks: int = 16, res_scale: float = 0.1) -> None:
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


def edsr_from_state(sd: dict[str, torch.Tensor]) -> EDSR:
    """An EDSR shaped like the state dict ``sd`` (scale, width and depth read from its tensors)."""
    try:
        channels = sd["head.weight"].shape[0]
        scale = int(round((sd["up.0.weight"].shape[0] / 3) ** 0.5))
        blocks = len({m.group(1) for k in sd if (m := re.match(r"body\.(\d+)\.body\.0\.weight$", k))})
        model = EDSR(scale, channels, blocks)
        model.load_state_dict(sd)
    except (KeyError, RuntimeError) as e:
        raise LrfaceError(f"not an SR network state ({str(e).splitlines()[0]})") from None
    return model


def sr_weights_path(scale: int, root: Path | None = None) -> Path:
    return (root or weights_dir()) / f"face_sr_x{scale}.safetensors"


def load_sr(scale: int, path: Path | None = None) -> EDSR:
    """The committed face SR network for ``scale`` (weights/face_sr_x{scale}.safetensors)."""
    path = path or sr_weights_path(scale)
    if not path.is_file():
        raise LrfaceError(f"no SR weights at {path}: train them with `lrface train-sr --scale {scale}`")
    data = path.read_bytes()
    from .published import read_manifest

    entry = read_manifest(path.parent).get(path.stem)
    if entry is not None and hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise LrfaceError(f"{path}: sha256 does not match {path.parent}/manifest.json")
    try:
        sd = load_safetensors(data)
    except Exception as e:  # noqa: BLE001 - safetensors raises several types for bad files
        raise LrfaceError(f"{path}: unreadable SR weights ({e})") from None
    model = edsr_from_state(sd)
    if model.scale != scale:
        raise LrfaceError(f"{path} is an x{model.scale} network, not x{scale}")
    return model.eval()


@dataclass
class SRTrainConfig:
    """Hyper-parameters of ``train_sr`` (stored in the weights' metadata)."""

    scale: int
    steps: int = 3000
    batch: int = 64
    lr: float = 5e-4
    identity_weight: float = 1.0
    pixel_weight: float = 0.5
    sizes: tuple[int, int] = (5, 24)  # LR chip sizes trained on (dlib chip px; the benchmark's probes: 7-22)
    channels: int = 64
    blocks: int = 16
    seed: int = 0


def unit_embed(teacher: FaceBackbone, x: torch.Tensor, size: int) -> torch.Tensor:
    """L2-normalised embedding of images ``x`` (any size, [0, 1]) resized bicubically to ``size``."""
    x = F.interpolate(x, size=(size, size), mode="bicubic", align_corners=False, antialias=x.shape[-1] > size)
    return F.normalize(teacher(x.clamp(0, 1).contiguous(memory_format=torch.channels_last)).float(), dim=1)


def _batch(chips: torch.Tensor, teacher_emb: torch.Tensor, cfg: SRTrainConfig, gen: torch.Generator
           ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One training batch: HR chips (random mirror), their teacher embeddings, realistic LR chips of
    one random size s in ``cfg.sizes``."""
    idx = torch.randint(len(chips), (cfg.batch,), generator=gen)
    flip = torch.rand(cfg.batch, generator=gen) < 0.5
    hr = chips[idx].float().div_(255)
    hr = torch.where(flip[:, None, None, None], hr.flip(3), hr)
    target = teacher_emb[idx, flip.long()]
    s = int(torch.randint(cfg.sizes[0], cfg.sizes[1] + 1, (1,), generator=gen))
    lr = torch.stack(synthesize(hr, [s] * cfg.batch, gen))
    return hr, target, lr


def sr_loss(model: EDSR, teacher: FaceBackbone, hr: torch.Tensor, target: torch.Tensor, lr: torch.Tensor,
            cfg: SRTrainConfig, size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(total, identity, pixel) terms of the module's loss for one batch."""
    sr = model(lr)
    ident = (1 - (unit_embed(teacher, sr, size) * target).sum(1)).mean()
    m = min(sr.shape[-1], hr.shape[-1])
    pix = F.l1_loss(resample(sr, m), resample(hr, m))
    return cfg.identity_weight * ident + cfg.pixel_weight * pix, ident, pix


def train_sr(chips: np.ndarray, teacher_emb: np.ndarray, teacher: FaceBackbone, cfg: SRTrainConfig,
             out: Path | None = None, device: str | torch.device = "cpu", progress: bool = True,
             log_every: int = 100, save_every: int = 500) -> dict[str, Any]:
    """Train EDSR x``cfg.scale`` (module doc) on chips (uint8 N x S x S x 3) with the frozen HR
    expert ``teacher`` and its cached embeddings ``teacher_emb`` (N x 2 x D: chip, mirror). Adam with
    cosine decay; LR synthesis runs one batch ahead on a CPU thread. Writes safetensors atomically to
    ``out`` (also every ``save_every`` steps); returns a summary with the held-out identity similarity of SR and bicubic."""
    dev = torch.device(device)
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    hold = min(256, len(chips) // 10)  # the last images: a fixed held-out check
    data = torch.from_numpy(chips[:-hold]).permute(0, 3, 1, 2).contiguous()
    temb = torch.from_numpy(teacher_emb[:-hold]).float()
    size = teacher.input_size[0]
    teacher = teacher.to(dev).eval().requires_grad_(False).to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    model = EDSR(cfg.scale, cfg.channels, cfg.blocks).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.steps)
    amp = torch.autocast("cuda", dtype=torch.bfloat16) if dev.type == "cuda" else torch.autocast("cpu", enabled=False)
    t0 = time.perf_counter()
    log: list[dict[str, float]] = []
    with ThreadPoolExecutor(1) as pool:
        nxt = pool.submit(_batch, data, temb, cfg, gen)
        for step in tqdm(range(1, cfg.steps + 1), desc=f"sr x{cfg.scale}", disable=not progress, unit="step"):
            hr, target, lr = (t.to(dev, non_blocking=True) for t in nxt.result())
            if step < cfg.steps:
                nxt = pool.submit(_batch, data, temb, cfg, gen)
            with amp:
                loss, ident, pix = sr_loss(model, teacher, hr, target, lr, cfg, size)
            if not torch.isfinite(loss):
                raise LrfaceError(f"SR training diverged at step {step} (loss {float(loss)})")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            if step % log_every == 0 or step == cfg.steps:
                log.append({"step": step, "loss": loss.item(), "identity": ident.item(), "pixel": pix.item()})
                if progress:
                    tqdm.write(f"x{cfg.scale} step {step}: identity {ident.item():.4f}  pixel {pix.item():.4f}")
            if out is not None and step % save_every == 0 and step < cfg.steps:
                save_sr(model, cfg, out)
    model = model.cpu().eval()
    check = identity_similarity(model, teacher.cpu().float(), chips[-hold:], teacher_emb[-hold:, 0],
                                sizes=range(cfg.sizes[0], cfg.sizes[1] + 1, 4), seed=cfg.seed)
    summary = {**asdict(cfg), "seconds": round(time.perf_counter() - t0, 1),
               "params": sum(p.numel() for p in model.parameters()), "log": log, "held_out": check}
    if out is not None:
        save_sr(model, cfg, out)
    return summary


def save_sr(model: EDSR, cfg: SRTrainConfig, out: Path) -> None:
    """Weights as safetensors (atomic), the training config in the metadata."""
    sd = {k: v.detach().float().cpu().contiguous() for k, v in model.state_dict().items()}
    meta = {"scale": str(cfg.scale), "config": json.dumps(asdict(cfg))}
    atomic_write(out, lambda p: save_file(sd, str(p), metadata=meta))


@torch.inference_mode()
def identity_similarity(model: EDSR, teacher: FaceBackbone, chips: np.ndarray, hr_emb: np.ndarray,
                        sizes: Any = (7, 11, 14, 18, 22), seed: int = 0, batch: int = 64) -> dict[str, dict[str, float]]:
    """Mean cosine between the HR expert's embedding of each HR chip (``hr_emb``, N x D) and of its
    LR version (camera-like synthesis at each size s) brought up by SR vs by bicubic upsampling."""
    size = teacher.input_size[0]
    x = torch.from_numpy(np.ascontiguousarray(chips)).permute(0, 3, 1, 2).float().div_(255)
    target = torch.from_numpy(np.asarray(hr_emb, np.float32))
    out = {}
    for s in sizes:
        gen = torch.Generator().manual_seed(seed + int(s))
        lr = torch.stack(synthesize(x, [int(s)] * len(x), gen))
        sr_cos, bic_cos = [], []
        for i in range(0, len(lr), batch):
            sl = slice(i, i + batch)
            sr_cos.append((unit_embed(teacher, model(lr[sl]), size) * target[sl]).sum(1))
            bic_cos.append((unit_embed(teacher, lr[sl], size) * target[sl]).sum(1))
        out[str(int(s))] = {"sr": float(torch.cat(sr_cos).mean()), "bicubic": float(torch.cat(bic_cos).mean())}
    return out


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
