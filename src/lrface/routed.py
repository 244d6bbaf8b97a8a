"""Resolution-aware recognition: two experts in one embedding space, routed by measured resolution.

Each face gets a measured resolution r (``lrface.align.framing``). Faces at r >= ``cutoff`` go to
the HR expert (the pretrained dlib ResNet, untouched: 150 px chips); smaller faces go to the LR
expert, a network trained to map low-resolution faces onto the HR expert's embedding of the same
face (``configs/lr_expert.yaml``). Native-resolution LR experts read the face at its own size
(``Reduce.down``, or a chip aligned at that size), brought to their small input by bicubic
resizing. Embeddings of both experts are L2-normalised and compared by cosine similarity.
"""
from __future__ import annotations

import hashlib
from typing import Sequence

import numpy as np
import torch

from .calibration import Calibration
from .degrade import Reduce, Resolution, is_full, resolution_value
from .degrade.lowres import to_input
from .recognizer import FaceRecognizer, PreparedFace, Recognizer

HR, LR = "hr", "lr"


class RoutedRecognizer(FaceRecognizer):
    """HR expert + LR expert; ``expert_for(r)`` decides, ``embed_at`` embeds chips at resolution r,
    ``embed_faces`` embeds prepared faces (each by the expert for its measured r)."""

    def __init__(self, hr: Recognizer, lr: Recognizer, cutoff: float, name: str = "routed",
                 calibration: Calibration | None = None, threshold: float | None = None) -> None:
        if hr.embedding_dim != lr.embedding_dim:
            raise ValueError("the two experts must share one embedding space (same dimension)")
        self.hr, self.lr, self.cutoff, self.model_name = hr, lr, float(cutoff), name
        self.style, self.input_size, self.device = hr.style, hr.input_size, hr.device
        self.batch_size, self.detector = hr.batch_size, hr.detector
        fuse = getattr(lr.model, "fuse", None)
        if fuse is not None:  # fold batch norms once the weights are final (inference only)
            lr.model = fuse().to(memory_format=torch.channels_last)
        self.model = hr.model  # the HR expert's module (for code that inspects ``rec.model``)
        self.calibration = calibration
        self.threshold = threshold

    @property
    def embedding_dim(self) -> int:
        return self.hr.embedding_dim

    @property
    def model_id(self) -> str:
        h = hashlib.sha1(f"{self.hr.model_id}|{self.lr.model_id}|{self.cutoff:g}".encode())
        return "routed-" + h.hexdigest()[:16]

    def expert_for(self, r: Resolution) -> str:
        return HR if is_full(r) or resolution_value(r) >= self.cutoff else LR

    def embed_lr_chips(self, chips: torch.Tensor | list[torch.Tensor]) -> np.ndarray:
        """LR expert embeddings of small chips (any size, dlib framing): bicubic to its input."""
        return self.lr.embed_crops(to_input(chips, self.lr.input_size[0]))

    def embed_at(self, x: torch.Tensor, r: Resolution, reduce: Reduce) -> np.ndarray:
        """Embeddings of 150 px chips (N x 3 x H x W in [0, 1]) reduced to ``r``, by the expert for r."""
        if self.expert_for(r) == HR:
            return self.hr.embed_at(x, r, reduce)
        return self.embed_lr_chips(reduce.down(x, r, self.style))

    def embed_crops(self, crops: np.ndarray | torch.Tensor) -> np.ndarray:
        """Full-resolution chips go to the HR expert."""
        return self.hr.embed_crops(crops)

    def expert_for_face(self, face: PreparedFace) -> str:
        return LR if face.small_chip is not None and face.r < self.cutoff else HR

    def embed_faces(self, faces: Sequence[PreparedFace]) -> np.ndarray:
        """Each face by its expert: HR chips at 150 px, LR faces from their native-size chip."""
        out = np.zeros((len(faces), self.embedding_dim), np.float32)
        route = [self.expert_for_face(f) for f in faces]
        hr = [i for i, e in enumerate(route) if e == HR]
        lr = [i for i, e in enumerate(route) if e == LR]
        if hr:
            out[hr] = self.hr.embed_crops(np.stack([faces[i].crop for i in hr]))
        if lr:
            chips = [torch.from_numpy(faces[i].small_chip).permute(2, 0, 1).float() / 255 for i in lr]
            out[lr] = self.embed_lr_chips(chips)
        return out


def weights_model_name(path: str) -> str | None:
    """The architecture a trained safetensors file records in its metadata (``lrface train`` writes it)."""
    from safetensors import safe_open

    try:
        with safe_open(path, "pt") as f:
            return (f.metadata() or {}).get("model")
    except Exception:  # noqa: BLE001 - unreadable files are reported when loaded
        return None


def load_recognizer(model: str = "dlib_resnet", weights: str | None = None, device: str | None = None,
                    batch_size: int = 32, detector: str = "hog", lr_model: str | None = None,
                    lr_weights: str | None = None, cutoff: float | None = None) -> Recognizer | RoutedRecognizer:
    """A plain recognizer, or a routed one: a published routed model (manifest kind ``routed``), or
    ``model`` as HR expert with an LR expert given by ``lr_model`` / ``lr_weights`` below ``cutoff``."""
    from .errors import LrfaceError
    from .models.published import read_manifest

    entry = read_manifest().get(model, {})
    if entry.get("kind") == "routed":
        if weights or lr_model or lr_weights:
            raise LrfaceError(f"{model} is a published routed model; it takes no --weights / --lr-* options")
        hr = Recognizer(entry["hr"], device=device, batch_size=batch_size, detector=detector)
        lr = Recognizer(entry["lr"], device=device, batch_size=batch_size, detector=detector)
        cal = Calibration.from_dict(entry["calibration"]) if entry.get("calibration") else None
        return RoutedRecognizer(hr, lr, float(cutoff if cutoff is not None else entry["cutoff"]), model, cal,
                                entry.get("threshold"))
    if lr_model is None and lr_weights is None:
        if cutoff is not None:
            raise LrfaceError("--cutoff needs a routed model or an LR expert (--lr-model / --lr-weights)")
        return Recognizer(model, weights=weights, device=device, batch_size=batch_size, detector=detector)
    arch = lr_model or (weights_model_name(lr_weights) if lr_weights else None)
    if arch is None:
        raise LrfaceError(f"cannot tell the LR expert's architecture from {lr_weights}: pass --lr-model")
    hr = Recognizer(model, weights=weights, device=device, batch_size=batch_size, detector=detector)
    lr = Recognizer(arch, weights=lr_weights, device=device, batch_size=batch_size, detector=detector)
    return RoutedRecognizer(hr, lr, float(cutoff if cutoff is not None else 32.0), name=f"{model}+{arch}")


CUTOFF_GRID = (12, 16, 20, 24, 28, 32, 40, 48, 56, 64)


def choose_cutoff(hr: Recognizer, lr: Recognizer, pairs, grid: Sequence[int] = CUTOFF_GRID,
                  reduce: Reduce | None = None) -> tuple[float, list[dict[str, float]]]:
    """The routing cut-off from non-test pairs: cross-resolution accuracy (HR image vs the other at
    r, both orders, best threshold) of the HR expert and of the LR expert at each grid r; the
    cut-off is the smallest grid r from which the HR expert is at least as accurate at every larger r."""
    from .eval.embeddings import Embedder
    from .eval.metrics import best_threshold
    from .eval.verification import VerificationEval

    reduce = reduce or Reduce()
    ev_hr = VerificationEval(Embedder(hr, reduce), pairs)
    routed = RoutedRecognizer(hr, lr, cutoff=float("inf"))
    ev_lr = VerificationEval(Embedder(routed, reduce), pairs)
    rows = []
    for r in grid:
        accs = {}
        for name, ev in (("hr", ev_hr), ("lr", ev_lr)):
            s = np.concatenate(ev.run("cr", int(r)).scores)
            accs[name] = best_threshold(s, np.concatenate([pairs.same, pairs.same]))[1]
        rows.append({"r": float(r), "hr": accs["hr"], "lr": accs["lr"]})
    cutoff = float(grid[-1]) + 1
    for row in reversed(rows):
        if row["hr"] < row["lr"]:
            break
        cutoff = row["r"]
    return cutoff, rows
