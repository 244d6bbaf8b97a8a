"""One way to open an ONNX graph on onnxruntime: CPU provider, warnings off (the detectors, the
inference path of the recognizers and the export check all use it)."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import onnxruntime


def cpu_session(model: bytes | str) -> "onnxruntime.InferenceSession":
    """An onnxruntime session for ``model`` (serialised graph or file path) on the CPU, logging errors only."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    return ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
