"""Camera-like LR synthesis, the native-resolution LR expert and its losses."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from lrface.degrade import Reduce
from lrface.degrade.lowres import LowResConfig, resample, synthesize, to_input
from lrface.models import create_model
from lrface.train.losses import CrossViewInfoNCE, FeatureDistance, center_on


@pytest.fixture(scope="module")
def chips(lfw_faces, rec) -> torch.Tensor:
    from lrface.align import align, detect_faces
    from lrface.imageio import load_image

    out = []
    for f in lfw_faces[:6]:
        img = load_image(f)
        out.append(align(img, detect_faces(img)[0].landmarks, 64, "dlib"))
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).float() / 255


def test_synthesis_sizes_and_determinism(chips) -> None:
    sizes = [5, 8, 8, 13, 21, 33]
    a = synthesize(chips, sizes, torch.Generator().manual_seed(1))
    b = synthesize(chips, sizes, torch.Generator().manual_seed(1))
    c = synthesize(chips, sizes, torch.Generator().manual_seed(2))
    assert [t.shape[-1] for t in a] == sizes and all(t.shape[0] == 3 for t in a)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert any(not torch.equal(x, y) for x, y in zip(a, c))
    assert all(float(t.min()) >= 0 and float(t.max()) <= 1 for t in a)


def test_clean_share_is_the_protocol_reduction(chips) -> None:
    """p_clean = 1: exactly the evaluation protocol's downsampling (bicubic, antialiased)."""
    out = synthesize(chips, [9] * 6, torch.Generator().manual_seed(0), LowResConfig(p_clean=1.0))
    ref = Reduce().down(chips, 10, "dlib")  # r = 10 -> round(0.904 * 10) = 9 px
    assert ref.shape[-1] == 9
    assert torch.allclose(torch.stack(out), ref, atol=1e-6)


def test_realistic_views_are_degraded_8bit(chips) -> None:
    cfg = LowResConfig(p_clean=0.0, p_blur=1.0, p_noise=1.0, p_jpeg=0.0)
    out = torch.stack(synthesize(chips, [16] * 6, torch.Generator().manual_seed(0), cfg))
    clean = resample(chips, 16)
    assert torch.allclose(out * 255, (out * 255).round(), atol=1e-4)  # a camera's 8 bits
    assert float((out - clean).abs().mean()) > 0.01  # blur + noise + misalignment changed it


def test_to_input_resizes_any_size() -> None:
    small = [torch.rand(3, 5, 5), torch.rand(3, 40, 40)]
    x = to_input(small, 32)
    assert x.shape == (2, 3, 32, 32)


def test_lrnet_fused_matches_unfused() -> None:
    torch.manual_seed(0)
    m = create_model("lrnet32", pretrained=False)
    m.train()
    for _ in range(3):  # give the batch norms non-trivial statistics
        m(torch.rand(16, 3, 32, 32))
    m.eval()
    x = torch.rand(8, 3, 32, 32)
    with torch.no_grad():
        ref = m(x)
        fused = m.fuse()(x)
    assert torch.allclose(ref, fused, atol=1e-4)
    assert fused.shape == (8, 128)


def test_center_on_and_losses_by_hand() -> None:
    y = torch.tensor([[1.0, 0.2], [1.0, -0.2]])
    x = torch.tensor([[1.0, 0.2], [1.0, 0.0]])
    xc, yc = center_on(x, y)
    # the mean of the normalised y is (0.98, 0); centred, y's rows point straight up and down
    assert torch.allclose(yc, torch.tensor([[0.0, 1.0], [0.0, -1.0]]), atol=1e-5)
    assert float(xc[0] @ yc[0]) == pytest.approx(1.0, abs=1e-5)
    d = FeatureDistance("cosine", center=True)(x, y)
    assert float(d) == pytest.approx((0.0 + (1 - float(xc[1] @ yc[1]))) / 2, abs=1e-6)
    nce = CrossViewInfoNCE(temperature=0.5)
    xn, yn = torch.nn.functional.normalize(x, dim=1), torch.nn.functional.normalize(y, dim=1)
    logits = xn @ yn.T / 0.5
    expected = -(torch.log_softmax(logits, 1).diagonal()).mean()
    assert float(nce(x, y)) == pytest.approx(float(expected), abs=1e-6)
    # same identity: the other row leaves the denominator, so the loss is 0
    assert float(nce(x, y, torch.tensor([3, 3]))) == pytest.approx(0.0, abs=1e-6)
