"""Meet-in-the-middle parts: degradations, chains, fusion, correlation, SR shapes, identify end to end."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from lrface.degrade.realistic import GALLERY_DEGRADATIONS, chain, chains
from lrface.models.sr import EDSR, SCALES, psnr, ssim
from lrface.registry import DEGRADATIONS
from lrface.search.fusion import correlation, fuse


@pytest.fixture(scope="module")
def face() -> torch.Tensor:
    """A smooth synthetic face-like image (deterministic)."""
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, 96), torch.linspace(-1, 1, 96), indexing="ij")
    img = torch.stack([0.5 + 0.3 * torch.cos(3 * xs) * torch.sin(2 * ys), 0.4 + 0.2 * xs, 0.6 - 0.2 * ys ** 2])
    img[:, 30:40, 25:40] = 0.1  # an "eye"
    img[:, 30:40, 56:71] = 0.1
    return img[None].clamp(0, 1).repeat(2, 1, 1, 1)


def hf_energy(x: torch.Tensor) -> float:
    return float((x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (x[..., 1:] - x[..., :-1]).abs().mean())


@pytest.mark.parametrize("name", GALLERY_DEGRADATIONS)
def test_degradation_shape_determinism_effect(face, name) -> None:
    f = DEGRADATIONS.create(name)
    a = f(face, torch.Generator().manual_seed(3))
    b = f(face, torch.Generator().manual_seed(3))
    assert a.shape == face.shape and torch.equal(a, b)
    assert float(a.min()) >= 0 and float(a.max()) <= 1
    assert float((a - face).abs().mean()) > 1e-3  # it does something
    if name in ("gaussian_blur", "disk_blur", "motion_blur", "down_up"):  # low-pass: less detail in white noise
        noise = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
        assert hf_energy(f(noise, torch.Generator().manual_seed(0))) < 0.6 * hf_energy(noise)
    if name in ("gaussian_noise", "speckle_noise", "patch_shuffle"):
        assert hf_energy(a) > hf_energy(face)
    if name in ("gaussian_noise", "speckle_noise", "color_jitter", "brightness_jitter", "perspective", "shear",
                "patch_shuffle"):
        c = f(face, torch.Generator().manual_seed(4))
        assert not torch.equal(a, c)  # random: another seed, another result


def test_motion_blur_is_horizontal(face) -> None:
    out = DEGRADATIONS.create("motion_blur")(face, torch.Generator())
    dx = float((out[..., 1:] - out[..., :-1]).abs().mean())
    dy = float((out[..., 1:, :] - out[..., :-1, :]).abs().mean())
    assert dx < dy


def test_chains_eq1_and_sampling(face) -> None:
    out = chain(face, ("gaussian_blur", "shear", "patch_shuffle"), torch.Generator().manual_seed(0))
    assert out.shape[-2:] == (24, 24)  # two x2 downsamplings between three steps
    every = chains(3, cap=None)
    assert len(every) == 11 + 11**2 + 11**3
    a, b = chains(3, cap=20, seed=1), chains(3, cap=20, seed=1)
    assert a == b and len(a) == 20 and a[:11] == [(n,) for n in GALLERY_DEGRADATIONS]
    assert chains(3, cap=20, seed=2) != a


def test_correlation_by_hand() -> None:
    a = np.array([[1.0, 2.0, 3.0]])
    b = np.array([[2.0, 2.0, 4.0]])
    mean = np.array([1.0, 1.0, 1.0])
    # centred: (0,1,2) . (1,1,3) = 7 ; norms sqrt(5), sqrt(11)
    assert correlation(a, b, mean)[0, 0] == pytest.approx(7 / np.sqrt(5 * 11))
    assert correlation(a, b, None)[0, 0] == pytest.approx(18 / (np.sqrt(14) * np.sqrt(24)))


def test_fusion_rules_by_hand() -> None:
    e = np.eye(3)
    p = np.stack([np.stack([e[0], e[1]])])            # 1 scale, 2 probe hypotheses
    g = np.stack([np.stack([e[0], e[2], e[2]])])      # 1 scale, 3 gallery hypotheses
    # scores: row e0 -> [1, 0, 0]; row e1 -> [0, 0, 0]
    assert fuse(p, g, "s_max") == pytest.approx(1.0)
    assert fuse(p, g, "s_add") == pytest.approx(1 / 6)
    assert fuse(p, g, "s_max_add") == pytest.approx(0.5)
    # t_add: (1,1,0) vs (1,0,2): 1 / (sqrt2 * sqrt5)
    assert fuse(p, g, "t_add") == pytest.approx(1 / (np.sqrt(2) * np.sqrt(5)))
    # t_concat over two scales: per-scale sums, normalised, concatenated
    p2 = np.stack([np.stack([e[0]]), np.stack([e[1]])])
    g2 = np.stack([np.stack([e[0]]), np.stack([e[2]])])
    assert fuse(p2, g2, "t_concat") == pytest.approx(0.5)
    from lrface.errors import LrfaceError

    with pytest.raises(LrfaceError, match="unknown fusion"):
        fuse(p, g, "nope")


@pytest.mark.parametrize("scale", SCALES)
def test_sr_shapes(scale) -> None:
    m = EDSR(scale).eval()
    with torch.no_grad():
        y = m(torch.rand(2, 3, 12, 10))
    assert y.shape == (2, 3, 12 * scale, 10 * scale) and float(y.min()) >= 0 and float(y.max()) <= 1


def test_psnr_ssim() -> None:
    a = torch.rand(2, 3, 32, 32)
    assert float(ssim(a, a).mean()) == pytest.approx(1.0, abs=1e-5)
    assert float(psnr(a, (a + 0.1).clamp(0, 1)).mean()) < 25
    assert float(ssim(a, torch.rand(2, 3, 32, 32)).mean()) < 0.2


@pytest.fixture(scope="module")
def small_gallery(lfw_faces, tmp_path_factory):
    """Gallery: first image of six LFW people; probes: their second images (full and 24 px crops)."""
    import shutil

    from PIL import Image

    from lrface.align import align, detect_faces
    from lrface.imageio import load_image

    root = tmp_path_factory.mktemp("idgal")
    for p in lfw_faces[0::2]:
        (root / "gallery" / p.parent.name).mkdir(parents=True)
        shutil.copy(p, root / "gallery" / p.parent.name / p.name)
    (root / "probes").mkdir()
    for p in lfw_faces[1::2]:
        img = load_image(p)
        chip = align(img, detect_faces(img)[0].landmarks)
        Image.fromarray(chip).resize((22, 22), Image.Resampling.BICUBIC).save(root / "probes" / f"{p.parent.name}.png")
    return root


def _top1(out: str) -> dict[str, str]:
    lines = out.splitlines()
    res = {}
    for i, ln in enumerate(lines):
        # "PROBE: TOP_NAME (r = .., expert)" then the ranked list "  1. NAME  score ..."
        if ln and not ln.startswith(" ") and ": " in ln and i + 1 < len(lines) and lines[i + 1].startswith("  1."):
            res[ln.rsplit(": ", 1)[0]] = lines[i + 1].split()[1]
    return res


def test_identify_plain_full_resolution(small_gallery, lfw_faces, capsys) -> None:
    from lrface.cli import main

    probe = lfw_faces[5]  # Colin Powell, second image
    try:
        main(["identify", "-g", str(small_gallery / "gallery"), "-p", str(probe), "-k", "3"])
    except SystemExit as e:
        assert not e.code
    out = capsys.readouterr().out
    assert _top1(out)[str(probe)] == "Colin_Powell" and out.count("\n  ") == 3


def test_identify_mitm_tiny_crops(small_gallery, capsys) -> None:
    """22 px probes of six people against their HR gallery photos: the plain and MITM pipelines
    both run end to end; MITM (with the committed SR weights) ranks most of them first, and its
    default decision (the calibrated open-set rule, no --threshold) names true matches and never
    a wrong person."""
    import json

    from lrface.cli import main

    results = {}
    for method in ("plain", "mitm"):
        try:
            main(["identify", "-g", str(small_gallery / "gallery"), "-p", str(small_gallery / "probes"), "--aligned",
                  "--method", method, "--degradations", "4", "--json"])
        except SystemExit as e:
            assert e.code in (None, 0, 3)  # 3: ranked, but no probe passed the open-set threshold
        rows = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
        assert len(rows) == 6
        top = {Path(r["probe"]).stem: r["matches"][0]["name"] for r in rows}
        results[method] = sum(k == v for k, v in top.items())
        named = {Path(r["probe"]).stem: r["identity"] for r in rows if r["identity"]}
        assert all(k == v for k, v in named.items()), named  # never a wrong name
        if method == "mitm":
            assert named and all(r["fpir"] == 0.01 and "rank_score" in r["matches"][0] for r in rows)
    assert results["mitm"] >= 3, results


def test_sr_state_round_trip() -> None:
    """Scale, width and depth are read back from the weights alone."""
    from lrface.models.sr import edsr_from_state

    m = EDSR(4, channels=16, blocks=3).eval()
    back = edsr_from_state(m.state_dict()).eval()
    assert (back.scale, back.head.out_channels, len(back.body) - 1) == (4, 16, 3)
    x = torch.rand(1, 3, 9, 9)
    with torch.no_grad():
        assert torch.equal(m(x), back(x))


@pytest.fixture(scope="module")
def lfw_chips(lfw_faces, rec) -> tuple[np.ndarray, np.ndarray]:
    from lrface.data.facecache import aligned_crops

    cs = aligned_crops(lfw_faces, "dlib", 150, progress=False)
    chips = cs.crops[cs.status != 2]
    return chips, rec.embed_crops(chips)


@pytest.mark.parametrize("scale", SCALES)
def test_committed_sr_keeps_identity_better_than_bicubic(scale, lfw_chips, rec) -> None:
    """The shipped identity-preserving SR: the HR expert's embedding of the restored face is
    closer to that of the HR face than the bicubic upsampling's (12 LFW faces, 9 and 14 px)."""
    from lrface.models.sr import identity_similarity, load_sr

    chips, emb = lfw_chips
    res = identity_similarity(load_sr(scale), rec.model, chips, emb, sizes=(9, 14))
    assert all(v["sr"] > v["bicubic"] for v in res.values()), res


def test_train_sr_runs_and_writes_loadable_weights(datasets, rec, tmp_path) -> None:
    """Three steps on ORL faces (not LFW) with the real frozen HR expert: finite losses, an atomic
    safetensors file that load_sr reads back at the right scale, the held-out check."""
    from PIL import Image

    from lrface.models.sr import SRTrainConfig, load_sr, train_sr

    files = sorted((datasets / "orl").rglob("*.*"))[:40]
    chips = np.stack([np.asarray(Image.open(f).convert("RGB").resize((64, 64))) for f in files])
    emb = rec.embed_crops(np.stack([np.asarray(Image.fromarray(c).resize((150, 150))) for c in chips]))
    teacher_emb = np.stack([emb, emb], 1)
    out = tmp_path / "face_sr_x2.safetensors"
    summary = train_sr(chips, teacher_emb, rec.model, SRTrainConfig(2, steps=3, batch=4, channels=8, blocks=2),
                       out=out, progress=False, log_every=1)
    assert [r["step"] for r in summary["log"]] == [1, 2, 3]
    assert all(np.isfinite([r["identity"], r["pixel"]]).all() for r in summary["log"])
    assert load_sr(2, out).scale == 2 and set(summary["held_out"]) == {"5", "9", "13", "17", "21"}
    assert not list(tmp_path.glob("*.tmp*"))


def test_mitm_mixes_the_lr_expert_score(rec) -> None:
    from lrface.errors import LrfaceError
    from lrface.search import MitmConfig, MitmMatcher
    from lrface.search.fusion import correlation as corr

    gen = torch.Generator().manual_seed(0)
    sr = {2: EDSR(2, channels=8, blocks=1).eval()}
    cfg = MitmConfig(scales=(2,), sigmas=2, degradations=0, expert_weight=0.3)
    m = MitmMatcher(rec, cfg, sr=sr, cache=False, expert=rec)
    crops = (torch.rand(3, 150, 150, 3, generator=gen) * 255).to(torch.uint8).numpy()
    probe = (torch.rand(12, 12, 3, generator=gen) * 255).to(torch.uint8).numpy()
    g = m.gallery_templates(crops, ["a", "b", "c"], 12)
    plain = rec.embed_crops(crops)
    fused = m.scores(m.probe_templates(probe), g)
    expected = 0.7 * fused + 0.3 * corr(m.expert_template(probe)[None], plain, m._mean(g))[0]
    assert np.allclose(m.probe_scores(probe, g, plain), expected, atol=1e-6)
    with pytest.raises(LrfaceError, match="clean gallery"):
        m.probe_scores(probe, g, None)
    with pytest.raises(LrfaceError, match="expert_weight"):
        MitmConfig(expert_weight=1.5)
    with pytest.raises(LrfaceError, match="hypotheses"):
        MitmConfig(hypotheses="median")
