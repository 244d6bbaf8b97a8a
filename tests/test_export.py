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
