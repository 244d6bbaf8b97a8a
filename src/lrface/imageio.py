"""Robust image loading: any readable image -> RGB uint8 H x W x 3, or a one-line LrfaceError."""
from __future__ import annotations

import os
import stat
from pathlib import Path
from struct import error as struct_error

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import LrfaceError

MAX_FILE_BYTES = 200 * 2**20  # larger files are refused before decoding
MAX_PIXELS = 100_000_000  # image area refused beyond this (decompression bombs)
MAX_DECODE_BYTES = 256 * 2**20  # refuse what would take more memory than this once decoded
MAX_SIDE = 2048  # dlib's detectors see larger images shrunk to this (the tiled ONNX detectors see every pixel)
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".pgm", ".ppm", ".pbm", ".tif", ".tiff", ".webp", ".gif"}
FORMATS = ("JPEG", "PNG", "BMP", "PPM", "TIFF", "WEBP", "GIF")  # the decoders Pillow may use (PPM covers PGM/PBM)
_BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "RGB": 3, "RGBA": 4, "CMYK": 4, "YCbCr": 3, "LAB": 3, "HSV": 3,
                    "I": 4, "F": 4, "LA": 2, "PA": 2, "RGBX": 4, "RGBa": 4, "La": 2}

Image.MAX_IMAGE_PIXELS = MAX_PIXELS


def to_rgb(im: Image.Image) -> Image.Image:
    """Convert 16-bit, float, CMYK, palette, alpha and grayscale modes to 8-bit RGB."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(im, dtype=np.float32)
        finite = np.isfinite(arr)
        lo, hi = (float(arr[finite].min()), float(arr[finite].max())) if finite.any() else (0.0, 0.0)
        arr = np.where(finite, arr, lo)
        arr = (arr - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(arr)
        im = Image.fromarray(arr.round().astype(np.uint8), "L")
    if im.mode == "P":
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "PA"):
        bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(bg, im.convert("RGBA"))
    return im.convert("RGB")


def _decoded_bytes(im: Image.Image) -> int:
    per = _BYTES_PER_PIXEL.get(im.mode, 2 if im.mode.startswith("I;16") else 4)
    return im.width * im.height * per * max(1, getattr(im, "n_frames", 1) if im.format == "TIFF" else 1)


def load_image(path: str | os.PathLike[str], max_side: int | None = None) -> np.ndarray:
    """Read ``path`` as RGB uint8 (EXIF orientation applied); downscale if a side exceeds ``max_side``.

    Guarded by file size, pixel count and decoded size (a JPEG is decoded at a reduced scale when
    that suffices), with Pillow restricted to common photo formats: a hostile or huge file costs a
    clear error, never gigabytes of memory."""
    path = Path(path)
    try:
        st = path.stat()
        if not stat.S_ISDIR(st.st_mode) and not stat.S_ISREG(st.st_mode):
            raise LrfaceError(f"{path}: not a regular file (a pipe, socket or device)")
        size = st.st_size
        if size == 0:
            raise LrfaceError(f"{path}: empty file")
        if size > MAX_FILE_BYTES:
            raise LrfaceError(f"{path}: file too large ({size / 2**20:.0f} MB; at most {MAX_FILE_BYTES // 2**20} MB)")
        with Image.open(path, formats=FORMATS) as im:
            if im.width < 1 or im.height < 1:
                raise LrfaceError(f"{path}: image has no pixels")
            if max_side and im.format == "JPEG" and max(im.size) > 2 * max_side:
                im.draft("RGB", (max_side, max_side))  # decode at 1/2, 1/4 or 1/8 scale: less memory and time
            if _decoded_bytes(im) > MAX_DECODE_BYTES:
                raise LrfaceError(f"{path}: image too large to decode ({im.width}x{im.height} {im.mode}, "
                                  f"over {MAX_DECODE_BYTES // 2**20} MB in memory)")
            im.load()
            im = ImageOps.exif_transpose(im) or im
            im = to_rgb(im)
    except LrfaceError:
        raise
    except FileNotFoundError:
        raise LrfaceError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise LrfaceError(f"{path}: is a directory, not an image") from None
    except PermissionError:
        raise LrfaceError(f"{path}: permission denied") from None
    except UnidentifiedImageError:
        raise LrfaceError(f"{path}: not an image (unrecognised format)") from None
    except Image.DecompressionBombError:
        raise LrfaceError(f"{path}: image too large (over {MAX_PIXELS} pixels)") from None
    except MemoryError:
        raise LrfaceError(f"{path}: out of memory while decoding") from None
    except (OSError, ValueError, SyntaxError, EOFError, struct_error, ZeroDivisionError) as e:
        raise LrfaceError(f"{path}: unreadable image ({e})") from None
    if max_side and max(im.size) > max_side:
        scale = max_side / max(im.size)
        im = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))), Image.Resampling.BOX)
    return np.asarray(im, dtype=np.uint8).copy()


def list_images(root: str | os.PathLike[str]) -> list[Path]:
    """All files under ``root`` with an image suffix, sorted."""
    root = Path(root)
    if not root.exists():
        raise LrfaceError(f"{root}: no such file or folder")
    if not root.is_dir():
        raise LrfaceError(f"{root}: not a folder")
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
