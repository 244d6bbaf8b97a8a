"""Every loss and head against hand-computed values on tiny tensors."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from lrface.train.heads import HEADS
from lrface.train.losses import (
    ContrastiveLoss,
    CrossResolutionTriplet,
    FeatureDistance,
    MultiHierarchyLoss,
    cosine_distance,
    logexp_distance,
    lp_distance,
)


def test_cosine_distance() -> None:
    x = torch.tensor([[1.0, 0.0], [3.0, 4.0]])
    y = torch.tensor([[0.0, 2.0], [3.0, 4.0]])
    assert torch.allclose(cosine_distance(x, y), torch.tensor([1.0, 0.0]))
    assert FeatureDistance("cosine")(x, y).item() == pytest.approx(0.5)


def test_lp_and_logexp_by_hand() -> None:
    x = torch.tensor([[0.5, -0.5, 0.0, 1.0]])
    y = torch.tensor([[0.0, 0.5, 0.0, 0.0]])
    # |d| = .5, 1, 0, 1 ; D = 4
    assert lp_distance(x, y, 1).item() == pytest.approx((0.5 + 1 + 0 + 1) / 4)
    assert lp_distance(x, y, 2).item() == pytest.approx((0.25 + 1 + 0 + 1) / (2 * 4))
    s1 = (math.exp(0.5) - 1) + 2 * (math.e - 1)
    assert logexp_distance(x, y, 1).item() == pytest.approx(math.log(1 + s1) / 4)
    s2 = (math.exp(0.25) - 1) + 2 * (math.e - 1)
    assert logexp_distance(x, y, 2).item() == pytest.approx(math.log(1 + s2) / 8)
    # FeatureDistance normalises first
    xn, yn = F.normalize(x, dim=1), F.normalize(y, dim=1)
    assert FeatureDistance("logexp", p=1)(x, y).item() == pytest.approx(logexp_distance(xn, yn, 1).item())
    assert FeatureDistance("l2")(x, y).item() == pytest.approx(lp_distance(xn, yn, 2).item())


def test_logexp_gradient_matches_eq4() -> None:
    x = torch.tensor([[0.3, -0.2, 0.1]], requires_grad=True)
    y = torch.tensor([[0.0, 0.1, 0.1]])
    logexp_distance(x, y, 1).sum().backward()
    d = (x - y).detach().abs()[0]
    denom = 1 + (torch.exp(d) - 1).sum()
    expected = torch.sign((x - y).detach()[0]) * torch.exp(d) / denom / 3
    assert torch.allclose(x.grad[0], expected, atol=1e-6)


def test_triplet_hardest_positive_and_negative() -> None:
    # K=2 views, N=2 samples (different identities), 2-D unit vectors at given angles
    def unit(deg: float) -> list[float]:
        return [math.cos(math.radians(deg)), math.sin(math.radians(deg))]

    emb = torch.tensor([[unit(0), unit(90)], [unit(60), unit(180)]])  # emb[k][i]
    labels = torch.tensor([0, 1])
    d = lambda a, b: 1 - math.cos(math.radians(abs(a - b)))  # noqa: E731
    # sample 0: views at 0 and 60 deg; sample 1: views at 90 and 180 deg
    terms = [
        1 + d(0, 60) - min(d(0, 90), d(0, 180)),     # f_0^(0)
        1 + d(90, 180) - min(d(90, 0), d(90, 60)),   # f_1^(0)
        1 + d(60, 0) - min(d(60, 90), d(60, 180)),   # f_0^(1)
        1 + d(180, 90) - min(d(180, 0), d(180, 60)),  # f_1^(1)
    ]
    expected = sum(max(0.0, t) for t in terms) / 4
    assert CrossResolutionTriplet(1.0)(emb, labels).item() == pytest.approx(expected, abs=1e-6)


def test_triplet_ignores_same_identity_as_negative() -> None:
    emb = torch.randn(3, 4, 8)
    labels = torch.tensor([0, 0, 1, 1])
    loss_a = CrossResolutionTriplet()(emb, labels)
    emb2 = emb.clone()
    emb2[:, 1] = emb[:, 0] * 1.0001  # make sample 1 (same identity as 0) identical to 0: must not matter as negative
    assert torch.isfinite(loss_a)
    assert CrossResolutionTriplet()(emb2, labels).item() < 10


def test_contrastive_by_hand() -> None:
    x = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    y = torch.tensor([[0.0, 1.0], [0.0, 1.0]])  # D^2 = 2 for both
    same = torch.tensor([True, False])
    # (1*2 + 0) and (0 + max(0, 3 - 2)) -> mean = 1.5 with alpha = 3
    assert ContrastiveLoss(3.0)(x, y, same).item() == pytest.approx(1.5)
    assert ContrastiveLoss(1.0)(x, y, same).item() == pytest.approx(1.0)


def test_multi_hierarchy_by_hand() -> None:
    a = torch.zeros(2, 1, 2, 2)
    b = torch.zeros(2, 1, 2, 2)
    a[0, 0, 0, 0] = 2.0  # max pool 2 -> a single value 2 vs 0: squared diff 4, / (h*w*c = 1)
    b[1, 0, 1, 1] = 1.0  # sample 1: diff 1
    mhl = MultiHierarchyLoss(["m"], pool=2)
    assert mhl({"m": a}, {"m": b}).item() == pytest.approx((4 + 1) / 2)
    assert mhl({"m": a}, {"m": b}, torch.tensor([True, False])).item() == pytest.approx(4)
    # without pooling the same maps give per-sample means over 4 positions
    assert MultiHierarchyLoss(["m"], pool=1)({"m": a}, {"m": b}).item() == pytest.approx((4 / 4 + 1 / 4) / 2)


def test_heads_by_hand() -> None:
    emb = torch.tensor([[1.0, 0.0]])
    labels = torch.tensor([0])
    w = torch.tensor([[1.0, 0.0], [0.0, 1.0]])  # cos = [1, 0]
    cos_head = HEADS.create("cosface", embedding_dim=2, num_classes=2, s=10.0, m=0.5)
    cos_head.weight.data = w.clone()
    expected = -math.log(math.exp(10 * 0.5) / (math.exp(10 * 0.5) + math.exp(0)))
    assert cos_head(emb, labels).item() == pytest.approx(expected, rel=1e-5)
    arc = HEADS.create("arcface", embedding_dim=2, num_classes=2, s=10.0, m=0.5)
    arc.weight.data = w.clone()
    e60 = torch.tensor([[math.cos(math.pi / 3), math.sin(math.pi / 3)]])  # cos to class 0: .5, class 1: .866
    t, o = 10 * math.cos(math.pi / 3 + 0.5), 10 * math.sin(math.pi / 3)
    assert arc(e60, labels).item() == pytest.approx(-math.log(math.exp(t) / (math.exp(t) + math.exp(o))), rel=1e-5)
    sm = HEADS.create("softmax", embedding_dim=2, num_classes=2)
    assert sm(emb, labels).item() > 0
    assert "am_softmax" in HEADS.names()
