"""The dlib ResNet parsed from face_recognition_models and rebuilt in PyTorch."""
from __future__ import annotations

import dlib
import numpy as np
import pytest
import torch

from lrface.align import detect_faces
from lrface.imageio import load_image
from lrface.models import create_model, list_models
from lrface.models.dlib_format import DlibFormatError, parse_dlib_network
from lrface.models.dlib_resnet import DLIB_MODEL_FILE, load_dlib_state_dict
from lrface.paths import dlib_model_file


def test_parse_structure() -> None:
    net = parse_dlib_network(dlib_model_file(DLIB_MODEL_FILE))
    kinds = [layer.kind for layer in net.layers]
    counts = {k: kinds.count(k) for k in set(kinds)}
    assert counts == {"con": 29, "affine": 29, "relu": 29, "add_prev": 14, "avg_pool": 5, "max_pool": 1, "fc": 1}
    assert net.input_size == (150, 150)
    assert np.allclose(net.channel_means, (122.782, 117.001, 104.298), atol=1e-3)
    assert net.loss_attrs["distance_threshold"] == pytest.approx(0.6)
    n_params = sum(v.size for layer in net.layers for k, v in layer.attrs.items() if isinstance(v, np.ndarray))
    assert n_params == 5_614_592


def test_truncated_file_is_a_clear_error(tmp_path) -> None:
    data = dlib_model_file(DLIB_MODEL_FILE).read_bytes()
    bad = tmp_path / "bad.dat"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(DlibFormatError, match="truncated"):
        parse_dlib_network(bad)
    bad.write_bytes(b"\x01\x05hello")
    with pytest.raises(DlibFormatError):
        parse_dlib_network(bad)


def _dlib_chips(paths):
    sp = dlib.shape_predictor(str(dlib_model_file("shape_predictor_5_face_landmarks.dat")))
    chips = []
    for p in paths:
        img = load_image(p)
        face = detect_faces(img)[0]
        shape = sp(img, dlib.rectangle(*(int(v) for v in face.box)))
        chips.append(dlib.get_face_chip(img, shape, 150, 0.25))
    return np.stack(chips)


def test_parity_with_dlib(lfw_faces) -> None:
    """Rebuild vs dlib.face_recognition_model_v1 on the same real chips."""
    chips = _dlib_chips(lfw_faces)
    fr = dlib.face_recognition_model_v1(str(dlib_model_file(DLIB_MODEL_FILE)))
    ref = np.array([np.array(fr.compute_face_descriptor(c)) for c in chips])
    model = create_model("dlib_resnet")
    with torch.inference_mode():
        out = model(torch.from_numpy(chips).permute(0, 3, 1, 2).float() / 255).numpy()
    cos = (out * ref).sum(1) / np.linalg.norm(out, axis=1) / np.linalg.norm(ref, axis=1)
    assert np.abs(out - ref).max() <= 1e-4
    assert cos.min() >= 0.99999
    assert 1.0 < np.linalg.norm(ref, axis=1).mean() < 2.0  # raw, un-normalised descriptors


def test_features_and_trainable() -> None:
    model = create_model("dlib_resnet").train()
    x = torch.rand(2, 3, 150, 150)
    feats = model.forward_features(x)
    assert list(feats) == model.feature_names
    shapes = {k: tuple(v.shape[1:]) for k, v in feats.items()}
    assert shapes["stem"] == (32, 35, 35) and shapes["stage1"] == (32, 35, 35)
    assert shapes["stage2"] == (64, 17, 17) and shapes["stage3"] == (128, 8, 8)
    assert shapes["stage4"] == (256, 4, 4) and shapes["stage5"] == (256, 2, 2)
    assert shapes["embedding"] == (128,)
    feats["embedding"].pow(2).sum().backward()
    assert model.stem.weight.grad is not None and model.stem.weight.grad.abs().sum() > 0
    assert "dlib_resnet" in list_models()


def test_conversion_cache_recovers_from_corruption(isolated_cache) -> None:
    sd = load_dlib_state_dict()
    cached = list((isolated_cache / "models").glob("dlib_resnet_v1-*.safetensors"))
    assert len(cached) == 1
    cached[0].write_bytes(b"garbage")
    sd2 = load_dlib_state_dict()
    assert all(torch.equal(sd[k], sd2[k]) for k in sd)
    assert cached[0].stat().st_size > 20_000_000  # re-written whole
