"""Resolution reduction: sizes, determinism, kernel options, framing."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from lrface.degrade import KERNELS, Reduce, down_up, framing_scale, parse_resolution, target_size
from lrface.errors import LrfaceError


@pytest.fixture()
def faces(lfw_faces) -> torch.Tensor:
    from lrface.data.facecache import aligned_crops

    crops = aligned_crops(lfw_faces[:4], "dlib", 150, progress=False).crops
    return torch.from_numpy(crops).permute(0, 3, 1, 2).float() / 255


def test_parse_resolution() -> None:
    assert parse_resolution("14") == 14 and parse_resolution("8x11") == (11, 8) and parse_resolution("hr") == 112
    with pytest.raises(LrfaceError):
        parse_resolution("tiny")


def test_framing_by_interocular_distance() -> None:
    assert target_size(7, "arcface", 112) == (7, 7)
    assert target_size((11, 8), "arcface", 112) == (11, 8)
    # dlib chip: the face spans 52.2/150 of the crop vs 35.24/112 -> about 0.904 px per r
    assert framing_scale("dlib", 150) == pytest.approx(0.904, abs=0.002)
    assert target_size(14, "dlib", 150) == (13, 13)


@pytest.mark.parametrize("kernel", KERNELS)
def test_shape_determinism_and_information_loss(faces, kernel) -> None:
    red = Reduce(kernel)
    a = red(faces, 7, "dlib")
    b = red(faces, 7, "dlib")
    assert a.shape == faces.shape and torch.equal(a, b)
    assert float(a.min()) >= 0 and float(a.max()) <= 1
    err = {r: float((red(faces, r, "dlib") - faces).abs().mean()) for r in (5, 14, 56)}
    assert err[5] > err[14] > err[56] > 0  # lower resolution loses more
    assert torch.equal(red(faces, 112, "dlib"), faces)  # full resolution is untouched


def test_kernels_differ_and_antialias_matters(faces) -> None:
    outs = {k: Reduce(k)(faces, 10, "dlib") for k in KERNELS}
    assert not torch.allclose(outs["bicubic"], outs["nearest"])
    assert not torch.allclose(outs["bicubic"], outs["area"])
    no_aa = Reduce("bicubic", antialias=False)(faces, 10, "dlib")
    assert float((no_aa - outs["bicubic"]).abs().mean()) > 1e-3


def test_down_up_is_a_real_low_resolution_image() -> None:
    """Down to 4x4 and back: the result is fully described by 16 pixel values (smooth)."""
    x = torch.rand(1, 3, 64, 64)
    y = down_up(x, (4, 4), "area", up_kernel="nearest")
    blocks = y.reshape(1, 3, 4, 16, 4, 16)
    assert torch.allclose(blocks, blocks[:, :, :, :1, :, :1].expand_as(blocks), atol=1e-6)
    expected = x.reshape(1, 3, 4, 16, 4, 16).mean((3, 5))
    assert torch.allclose(y[:, :, ::16, ::16], expected, atol=1e-5)


def test_bad_kernel() -> None:
    with pytest.raises(LrfaceError):
        Reduce("lanczos")
    assert np.isfinite(framing_scale("arcface", 112))
