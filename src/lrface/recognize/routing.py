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
import logging
from typing import Sequence

import numpy as np
import torch

from ..degrade import Reduce, Resolution, is_full, resolution_value
from ..degrade.lowres import to_input
from .calibration import Calibration
from .recognizer import FaceRecognizer, PreparedFace, Recognizer, default_operating_points

log = logging.getLogger(__name__)
HR, LR = "hr", "lr"


class RoutedRecognizer(FaceRecognizer):
    """HR expert + LR expert; ``expert_for(r)`` decides, ``embed_at`` embeds chips at resolution r,
    ``embed_faces`` embeds prepared faces (each by the expert for its measured r)."""

    def __init__(self, hr: Recognizer, lr: Recognizer, cutoff: float, name: str = "routed",
                 calibration: Calibration | None = None, threshold: float | None = None,
                 match_weight: float = 0.0) -> None:
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
        # resolution matching (meet in the middle with the LR expert): a pair whose smaller face
        # goes to the LR expert scores (1 - w) * cross score + w * LR expert score at that resolution
        self.match_weight = float(match_weight)

    @property
    def embedding_dim(self) -> int:
        return self.hr.embedding_dim

    @property
    def model_id(self) -> str:
        """Identifies the embeddings (both experts' weights and the cut-off); the match weight only
        changes how pairs are scored, not what is embedded."""
        h = hashlib.sha1(f"{self.hr.model_id}|{self.lr.model_id}|{self.cutoff:g}".encode())
        return "routed-" + h.hexdigest()[:16]

    def pair_score(self, a: PreparedFace, b: PreparedFace, ea: np.ndarray, eb: np.ndarray) -> float:
        """Cross score, fused with the LR expert's score of both faces at the smaller one's
        resolution when that face goes to the LR expert (``match_weight``)."""
        cross = float(self.compare(ea, eb))
        lo, hi, e_lo = (a, b, ea) if a.r <= b.r else (b, a, eb)
        if not self.match_weight or self.expert_for_face(lo) != LR or hi.r <= lo.r:
            return cross
        x = torch.from_numpy(hi.crop[None]).permute(0, 3, 1, 2).float() / 255
        e_hi = self.embed_lr_chips(Reduce().down(x, lo.r, self.style))[0]
        return (1 - self.match_weight) * cross + self.match_weight * float(self.compare(e_lo, e_hi))

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


from ..defaults import DEFAULT_DETECTOR, DEFAULT_MODEL, FALLBACK_MODEL  # noqa: E402  (re-exported)


def load_recognizer(model: str = DEFAULT_MODEL, weights: str | None = None, device: str | None = None,
                    batch_size: int = 32, detector: str = DEFAULT_DETECTOR, lr_model: str | None = None,
                    lr_weights: str | None = None, cutoff: float | None = None,
                    match_weight: float | None = None) -> Recognizer | RoutedRecognizer:
    """A plain recognizer, or a routed one: a published routed model (manifest kind ``routed``), or
    ``model`` as HR expert with an LR expert given by ``lr_model`` / ``lr_weights`` below ``cutoff``."""
    from ..errors import LrfaceError
    from ..models.published import read_manifest

    manifest = read_manifest()
    if model == DEFAULT_MODEL and (weights or lr_model or lr_weights):
        model = FALLBACK_MODEL  # --weights / --lr-* given without --model: they load into the HR architecture
    elif model == DEFAULT_MODEL and model not in manifest:
        log.info("default model %s is not in weights/manifest.json; using %s", model, FALLBACK_MODEL)
        model = FALLBACK_MODEL
    entry = manifest.get(model, {})
    if entry.get("kind") == "routed":
        if weights or lr_model or lr_weights:
            raise LrfaceError(f"{model} is a published routed model; it takes no --weights / --lr-* options")
        hr = Recognizer(entry["hr"], device=device, batch_size=batch_size, detector=detector)
        lr = Recognizer(entry["lr"], device=device, batch_size=batch_size, detector=detector)
        cal = Calibration.from_dict(entry["calibration"]) if entry.get("calibration") else None
        w = match_weight if match_weight is not None else float(entry.get("match_weight", 0.0))
        routed = RoutedRecognizer(hr, lr, float(cutoff if cutoff is not None else entry["cutoff"]), model, cal,
                                  entry.get("threshold"), w)
        if cutoff is None and match_weight is None:  # operating points hold for the published routing only
            routed.far_tables, routed.frr_tables, routed.open_set = default_operating_points(model)
        return routed
    if lr_model is None and lr_weights is None:
        if cutoff is not None or match_weight is not None:
            raise LrfaceError("--cutoff / --match-weight need a routed model or an LR expert (--lr-model / --lr-weights)")
        return Recognizer(model, weights=weights, device=device, batch_size=batch_size, detector=detector)
    arch = lr_model or (weights_model_name(lr_weights) if lr_weights else None)
    if arch is None:
        raise LrfaceError(f"cannot tell the LR expert's architecture from {lr_weights}: pass --lr-model")
    hr = Recognizer(model, weights=weights, device=device, batch_size=batch_size, detector=detector)
    lr = Recognizer(arch, weights=lr_weights, device=device, batch_size=batch_size, detector=detector)
    return RoutedRecognizer(hr, lr, float(cutoff if cutoff is not None else 32.0), name=f"{model}+{arch}",
                            match_weight=match_weight or 0.0)
