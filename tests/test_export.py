"""ONNX export: onnxruntime reproduces PyTorch's embeddings of real LFW chips (max |diff| <= 1e-4)."""
from __future__ import annotations

import numpy as np
import torch

from conftest import run
from lrface.models.export import check_onnx, onnx_bytes


def test_onnx_parity_on_real_chips(rec, lfw_faces) -> None:
    from lrface.data.facecache import aligned_crops

    cs = aligned_crops(lfw_faces, "dlib", 150, progress=False)
    x = torch.from_numpy(cs.crops).permute(0, 3, 1, 2).float() / 255
    data = onnx_bytes(rec.model, (150, 150))
    check = check_onnx(data, rec.model, x, "mem", seconds=0.2)
    assert check.max_abs_diff <= 1e-4
    assert check.onnx_faces_per_s > 0 and check.torch_faces_per_s > 0
    ref = rec.embed_crops(cs.crops)
    import onnxruntime as ort

    out = ort.InferenceSession(data, providers=["CPUExecutionProvider"]).run(None, {"input": x.numpy()})[0]
    assert np.abs(out - ref).max() <= 1e-4  # exactly what Recognizer.embed_crops returns


def test_export_cli_lr_network(tmp_path, capsys) -> None:
    from lrface.models import create_model

    m = create_model("lrnet32", pretrained=False).eval()
    data = onnx_bytes(m, (32, 32))
    chk = check_onnx(data, m, torch.rand(8, 3, 32, 32), "mem", seconds=0.1)
    assert chk.max_abs_diff <= 1e-4
    code, out, err = run(["export-onnx", "dlib_resnet", "-o", str(tmp_path / "m.txt")], capsys)
    assert code == 1 and "must end in .onnx" in err


def test_recognizer_runs_on_onnxruntime_by_default(lfw_faces, isolated_cache, monkeypatch) -> None:
    """A CPU recognizer embeds on onnxruntime (the graph exported once and cached by weights), and
    its embeddings of real LFW chips are PyTorch's; a damaged cache entry is exported again."""
    from lrface.data.facecache import aligned_crops
    from lrface.recognize.recognizer import Recognizer

    monkeypatch.delenv("LRFACE_RUNTIME", raising=False)
    fast, ref = Recognizer("dlib_resnet", device="cpu"), Recognizer("dlib_resnet", device="cpu", runtime="torch")
    assert (fast.runtime, ref.runtime) == ("onnx", "torch")
    crops = aligned_crops(lfw_faces, "dlib", 150, progress=False).crops
    expected = ref.embed_crops(crops)
    assert np.abs(fast.embed_crops(crops) - expected).max() <= 1e-5
    assert fast.onnx_embedder() is not None and fast.runtime == "onnx"
    cached = list((isolated_cache / "onnx").glob(f"DlibResNet-{fast.model_id}-150x150-*.onnx"))
    assert len(cached) == 1
    cached[0].write_bytes(b"not an onnx graph")
    again = Recognizer("dlib_resnet", device="cpu")
    assert np.abs(again.embed_crops(crops) - expected).max() <= 1e-5 and again.runtime == "onnx"
    assert cached[0].read_bytes()[:4] != b"not "  # replaced by a good export
    other = Recognizer("dlib_lr150", device="cpu", runtime="torch")
    again.model = other.model  # a module swapped in after the first embedding is not run on the old graph
    assert np.abs(again.embed_crops(crops) - other.embed_crops(crops)).max() <= 1e-5


def test_runtime_choice_is_checked(monkeypatch, capsys) -> None:
    """A typo'd runtime is one line, from the argument or from $LRFACE_RUNTIME; training keeps PyTorch."""
    import pytest

    from lrface.errors import LrfaceError
    from lrface.models import create_model
    from lrface.recognize.recognizer import Recognizer

    with pytest.raises(LrfaceError, match="unknown runtime 'onxx'"):
        Recognizer("dlib_resnet", device="cpu", runtime="onxx")
    monkeypatch.setenv("LRFACE_RUNTIME", "fast")
    code, out, err = run(["verify", "a.jpg", "b.jpg"], capsys)
    assert code != 0 and "unknown runtime 'fast' (from $LRFACE_RUNTIME)" in err and "Traceback" not in err
    monkeypatch.setenv("LRFACE_RUNTIME", "torch")
    assert Recognizer("dlib_resnet", device="cpu").runtime == "torch"
    trained = Recognizer.from_model(create_model("lrnet32", pretrained=False).eval())
    assert trained.runtime == "torch" and trained.onnx_embedder() is None
