"""Resolution reduction (Knoche et al. eq. 1): I_LR = F_up(F_down,r(I_HR)), batched in torch.

Resolution r means the face as it appears in a 112 x 112 ArcFace crop downsampled to r x r.
For a model whose crop frames the face differently, the downsampled size is scaled by the
ratio of inter-ocular distances, so the face carries the same number of pixels.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..align import ARCFACE_EYE_DISTANCE, chip_eye_distance
from ..defaults import KERNELS  # noqa: E402  (written once, in lrface.defaults)
from ..errors import LrfaceError
from ..registry import DEGRADATIONS

REFERENCE = 112  # resolutions are defined on the 112 px ArcFace crop; r >= 112 means unchanged

Resolution = int | float | tuple[int, int]  # r, or (height, width) for non-square targets


def parse_resolution(text: str) -> Resolution:
    """``"14"`` -> 14; ``"8x11"`` (width x height) -> (11, 8); ``"hr"`` -> 112."""
    t = text.strip().lower()
    if t in ("hr", "full"):
        return REFERENCE
    try:
        if "x" in t:
            w, h = (int(v) for v in t.split("x"))
            r: Resolution = (h, w)
        else:
            r = int(t)
    except ValueError:
        raise LrfaceError(f"bad resolution {text!r}: use an integer like 14 or WxH like 8x11") from None
    if not all(1 <= v <= REFERENCE for v in _as_hw(r)):
        raise LrfaceError(f"bad resolution {text!r}: r is the face's size in a {REFERENCE} px crop, 1..{REFERENCE}")
    return r


def resolution_label(r: Resolution) -> str:
    return f"{r[1]}x{r[0]}" if isinstance(r, tuple) else str(r)


def resolution_value(r: Resolution) -> float:
    """One number per resolution (routing, calibration): r, or the smaller side of a WxH target."""
    return float(min(r)) if isinstance(r, tuple) else float(r)


def _as_hw(r: Resolution) -> tuple[float, float]:
    return r if isinstance(r, tuple) else (r, r)


def is_full(r: Resolution) -> bool:
    h, w = _as_hw(r)
    return h >= REFERENCE and w >= REFERENCE


def framing_scale(align_style: str, input_size: int) -> float:
    """Downsampled size per unit r: the model crop is reduced to ``r * scale`` px so that the
    face spans as many pixels as in a 112 px ArcFace crop reduced to r (equal inter-ocular
    distance: 35.24 / 112 of the ArcFace crop vs eye distance / size of the model crop)."""
    if align_style == "arcface":
        return 1.0
    if align_style == "dlib":
        return (ARCFACE_EYE_DISTANCE / REFERENCE) / (chip_eye_distance(input_size) / input_size)
    raise LrfaceError(f"no resolution mapping for alignment style {align_style!r}")


def target_size(r: Resolution, align_style: str, input_size: int) -> tuple[int, int]:
    """The size (h, w) the model crop is downsampled to for resolution ``r``."""
    s = framing_scale(align_style, input_size)
    h, w = _as_hw(r)
    return max(1, round(h * s)), max(1, round(w * s))


def _resample(x: torch.Tensor, size: tuple[int, int], kernel: str, antialias: bool) -> torch.Tensor:
    if kernel == "area":
        return F.adaptive_avg_pool2d(x, size) if size[0] <= x.shape[2] else \
            F.interpolate(x, size=size, mode="bilinear", align_corners=False)
    if kernel == "nearest":
        return F.interpolate(x, size=size, mode="nearest-exact")
    if kernel in ("bicubic", "bilinear"):
        return F.interpolate(x, size=size, mode=kernel, align_corners=False, antialias=antialias)
    raise LrfaceError(f"unknown kernel {kernel!r}; choose from {', '.join(KERNELS)}")


def down_up(x: torch.Tensor, size: tuple[int, int], kernel: str = "bicubic", antialias: bool = True,
            up_kernel: str = "bicubic") -> torch.Tensor:
    """Downsample N x C x H x W images in [0, 1] to ``size`` then back to H x W (eq. 1)."""
    h, w = x.shape[-2:]
    if size[0] >= h and size[1] >= w:
        return x
    low = _resample(x, size, kernel, antialias).clamp_(0, 1)
    up_kernel = "bilinear" if up_kernel == "area" else up_kernel
    return _resample(low, (h, w), up_kernel, False).clamp_(0, 1)


@dataclass(frozen=True)
class Reduce:
    """Resolution reduction to r for a given model framing; ``key()`` names it for caches."""

    kernel: str = "bicubic"
    antialias: bool = True
    up_kernel: str = "bicubic"

    def __post_init__(self) -> None:
        for k in (self.kernel, self.up_kernel):
            if k not in KERNELS:
                raise LrfaceError(f"unknown kernel {k!r}; choose from {', '.join(KERNELS)}")

    def __call__(self, x: torch.Tensor, r: Resolution, align_style: str) -> torch.Tensor:
        if is_full(r):
            return x
        return down_up(x, target_size(r, align_style, x.shape[-1]), self.kernel, self.antialias, self.up_kernel)

    def down(self, x: torch.Tensor, r: Resolution, align_style: str) -> torch.Tensor:
        """Only the downsampling half of eq. 1: the face at its reduced size (for native-resolution
        networks); unchanged for full resolution."""
        if is_full(r):
            return x
        size = target_size(r, align_style, x.shape[-1])
        if size[0] >= x.shape[-2] and size[1] >= x.shape[-1]:
            return x
        return _resample(x, size, self.kernel, self.antialias).clamp_(0, 1)

    def key(self, r: Resolution, align_style: str, input_size: int) -> str:
        """Cache key: kernel options and the actual downsampled size for this model framing."""
        if is_full(r):
            return "hr"
        h, w = target_size(r, align_style, input_size)
        return f"{self.kernel}{'-aa' if self.antialias else ''}-up{self.up_kernel}-{h}x{w}"


for _k in KERNELS:
    DEGRADATIONS.register(_k)(lambda antialias=True, up_kernel="bicubic", _k=_k: Reduce(_k, antialias, up_kernel))
