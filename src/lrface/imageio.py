"""Robust image loading: any readable image -> RGB uint8 H x W x 3, or a one-line LrfaceError."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import LrfaceError

MAX_PIXELS = 20000 * 20000  # refuse decompression bombs beyond this
MAX_SIDE = 2048  # larger images are downscaled (area) before detection
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".pgm", ".ppm", ".pbm", ".tif", ".tiff", ".webp", ".gif"}

Image.MAX_IMAGE_PIXELS = MAX_PIXELS


def to_rgb(im: Image.Image) -> Image.Image:
    """Convert 16-bit, float, CMYK, palette, alpha and grayscale modes to 8-bit RGB."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(im, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        arr = (arr - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(arr)
        im = Image.fromarray(arr.round().astype(np.uint8), "L")
    if im.mode == "P":
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "PA"):
        bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(bg, im.convert("RGBA"))
    return im.convert("RGB")


def load_image(path: str | os.PathLike[str], max_side: int | None = MAX_SIDE) -> np.ndarray:
    """Read ``path`` as RGB uint8 (EXIF orientation applied); downscale if a side exceeds ``max_side``."""
    path = Path(path)
    try:
        if path.stat().st_size == 0:
            raise LrfaceError(f"{path}: empty file")
        with Image.open(path) as im:
            im.load()
            im = ImageOps.exif_transpose(im) or im
            im = to_rgb(im)
    except LrfaceError:
        raise
    except FileNotFoundError:
        raise LrfaceError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise LrfaceError(f"{path}: is a directory, not an image") from None
    except UnidentifiedImageError:
        raise LrfaceError(f"{path}: not an image (unrecognised format)") from None
    except Image.DecompressionBombError:
        raise LrfaceError(f"{path}: image too large (over {MAX_PIXELS} pixels)") from None
    except (OSError, ValueError, SyntaxError) as e:
        raise LrfaceError(f"{path}: unreadable image ({e})") from None
    if max_side and max(im.size) > max_side:
        scale = max_side / max(im.size)
        im = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))), Image.Resampling.BOX)
    return np.asarray(im, dtype=np.uint8).copy()


def list_images(root: str | os.PathLike[str]) -> list[Path]:
    """All files under ``root`` with an image suffix, sorted."""
    root = Path(root)
    if not root.is_dir():
        raise LrfaceError(f"{root}: not a directory")
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
