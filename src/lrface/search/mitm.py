"""Training-free cross-resolution matching, "meet in the middle" (Grm et al.): bring the probe up
(multi-hypothesis face super-resolution at several scales), bring the gallery down (degradation
chains, resolution-matched to the probe), fuse templates and scores over all hypotheses.

Works over any registered backbone through a ``Recognizer``. Images are aligned crops in the
model's framing (uint8); a probe is a small crop of ``s`` x ``s`` px.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from ..degrade.realistic import _conv, chain, chains, gaussian_kernel
from ..errors import LrfaceError
from ..models.base import model_digest
from ..models.sr import EDSR, load_sr
from ..recognize.embeddings import EmbeddingCache
from ..recognize.recognizer import Recognizer
from .fusion import FUSIONS, correlation, fuse

HYPOTHESES = ("mean", "select", "all")


@dataclass
class MitmConfig:
    """Which parts of the pipeline run (the ablation of Grm et al. Table 2 switches them on in turn)."""

    scales: tuple[int, ...] = (2, 4, 8)  # SR magnifications of the probe; (1,) = bicubic only (baseline)
    sigmas: int = 16  # blur hypotheses sigma = 0..sigma_max before SR; 1 = sigma 0 only (single hypothesis)
    sigma_max: float = 0.5  # the ablation: 0.5 beats the paper's 1.0 with identity-preserving SR
    # probe hypotheses per scale: "mean" (their unit-mean template: test-time augmentation),
    # "select" (the one most similar to any gallery template, Grm et al. Sec. 3.3) or "all"
    hypotheses: str = "mean"
    resolution_match: bool = True  # reduce gallery hypotheses to the probe's (magnified) size
    degradations: int = 16  # gallery degradation chains (0 = the clean gallery image only)
    max_chain: int = 3
    fusion: str = "s_max_add"
    similarity: str = "correlation"  # or "cosine"
    expert_weight: float = 0.5  # with an LR expert: score = (1 - w) * fused MITM score + w * expert score
    seed: int = 0
    chain_list: list[tuple[str, ...]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.fusion not in FUSIONS:
            raise LrfaceError(f"unknown fusion {self.fusion!r}; choose from {', '.join(FUSIONS)}")
        if self.similarity not in ("correlation", "cosine"):
            raise LrfaceError("similarity must be correlation or cosine")
        if self.hypotheses not in HYPOTHESES:
            raise LrfaceError(f"hypotheses must be one of {', '.join(HYPOTHESES)}")
        if not 0.0 <= self.expert_weight <= 1.0:
            raise LrfaceError("expert_weight must be in [0, 1]")
        if not self.chain_list and self.degradations:
            self.chain_list = chains(self.max_chain, self.degradations, self.seed)

    def key(self) -> str:
        """What the gallery side depends on (its cache key)."""
        return f"scales={self.scales};rm={self.resolution_match};chains={self.chain_list};seed={self.seed}"


def to_tensor(crops: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(crops, dtype=np.uint8)).permute(0, 3, 1, 2).float().div_(255.0)


def resize(x: torch.Tensor, size: int) -> torch.Tensor:
    """Bicubic resize to size x size (antialiased when shrinking)."""
    if x.shape[-1] == size and x.shape[-2] == size:
        return x
    shrink = size < x.shape[-1]
    return F.interpolate(x, size=(size, size), mode="bicubic", antialias=shrink, align_corners=False).clamp(0, 1)


class MitmMatcher:
    """Probe and gallery hypotheses, their templates (gallery ones cached per gallery), fusion."""

    def __init__(self, rec: Recognizer, cfg: MitmConfig | None = None, sr: dict[int, EDSR] | None = None,
                 cache: bool = True, expert: Recognizer | None = None) -> None:
        """``rec``: the HR expert whose space everything is matched in; ``expert``: an LR expert in
        the same space (e.g. dlib_lr150), whose embedding of the probe joins the fused score."""
        self.rec, self.cfg, self.expert = rec, cfg or MitmConfig(), expert
        if expert is not None and expert.embedding_dim != rec.embedding_dim:
            raise LrfaceError(f"LR expert {expert.model_name} does not share {rec.model_name}'s embedding space")
        self.size = rec.input_size[0]
        self.sr = {k: m.to(rec.device) for k, m in (sr if sr is not None else
                                                     {k: load_sr(k) for k in self.cfg.scales if k > 1}).items()}
        self.cache = EmbeddingCache(model_digest(rec.model), enabled=cache)

    # ---- probe side
    @torch.inference_mode()
    def probe_hypotheses(self, probe: torch.Tensor) -> torch.Tensor:
        """(S, M, 3, H, W) model inputs: per scale k, the probe blurred with M sigmas in [0, 1],
        super-resolved xk (bicubic for k = 1) and resized to the model input."""
        sigmas = np.linspace(0.0, self.cfg.sigma_max, self.cfg.sigmas) if self.cfg.sigmas > 1 else [0.0]
        blurred = torch.cat([probe if s < 0.05 else _conv(probe, gaussian_kernel(float(s))) for s in sigmas])
        out = []
        for k in self.cfg.scales:
            up = blurred if k == 1 else self.sr[k](blurred.to(self.rec.device)).cpu()
            out.append(resize(up, self.size))
        return torch.stack(out)

    def probe_templates(self, probe_crop: np.ndarray) -> np.ndarray:
        """(S, M, D) templates of one small probe crop (uint8 s x s x 3)."""
        hyp = self.probe_hypotheses(to_tensor(probe_crop[None]))
        s, m = hyp.shape[:2]
        return self.rec.embed_crops(hyp.reshape(s * m, *hyp.shape[2:])).reshape(s, m, -1)

    def expert_template(self, probe_crop: np.ndarray) -> np.ndarray:
        """(D,) the LR expert's embedding of the probe (bicubic to its input, as routing does)."""
        assert self.expert is not None
        return self.expert.embed_crops(resize(to_tensor(probe_crop[None]), self.expert.input_size[0]))[0]

    # ---- gallery side
    @torch.inference_mode()
    def gallery_hypotheses(self, crop: np.ndarray, probe_size: int, key: str) -> torch.Tensor:
        """(S, N, 3, H, W): the clean gallery crop plus its degradation chains (eq. 1), each
        resolution-matched to probe_size * k for every probe scale k, then resized to the input."""
        x = to_tensor(crop[None])
        seed = int(hashlib.sha1(f"{key}{self.cfg.seed}".encode()).hexdigest()[:8], 16)
        gen = torch.Generator().manual_seed(seed)
        hyps = [x] + [chain(x, c, gen) for c in self.cfg.chain_list]
        out = []
        for k in self.cfg.scales:
            target = probe_size * k
            per = [resize(resize(h, target), self.size) if self.cfg.resolution_match and target < h.shape[-1]
                   else resize(h, self.size) for h in hyps]
            out.append(torch.cat(per))
        return torch.stack(out)

    def gallery_templates(self, crops: np.ndarray, keys: list[str], probe_size: int) -> np.ndarray:
        """(G, S, N, D) templates for a gallery, cached per (model, config, probe size, image)."""
        config = f"mitm-gallery;{self.cfg.key()};probe={probe_size}"
        table = self.cache.table(config)
        missing = [i for i, k in enumerate(keys) if k not in table]
        if missing:
            embs = []
            for i in missing:
                hyp = self.gallery_hypotheses(crops[i], probe_size, keys[i])
                s, n = hyp.shape[:2]
                embs.append(self.rec.embed_crops(hyp.reshape(s * n, *hyp.shape[2:])).reshape(-1))
            self.cache.put(config, [keys[i] for i in missing], np.stack(embs))
        s, n = len(self.cfg.scales), 1 + len(self.cfg.chain_list)
        return np.stack([table[k] for k in keys]).reshape(len(keys), s, n, -1)

    def gallery_plain(self, crops: np.ndarray, keys: list[str]) -> np.ndarray:
        """(G, D) the HR expert's templates of the clean gallery crops (the LR expert's score is
        taken against them), cached like the hypotheses."""
        table = self.cache.table("mitm-gallery-plain")
        missing = [i for i, k in enumerate(keys) if k not in table]
        if missing:
            self.cache.put("mitm-gallery-plain", [keys[i] for i in missing], self.rec.embed_crops(crops[missing]))
        return np.stack([table[k] for k in keys])

    # ---- matching
    def probe_scores(self, probe_crop: np.ndarray, gallery_t: np.ndarray, gallery_plain: np.ndarray | None = None
                     ) -> np.ndarray:
        """Similarity of one probe crop to every gallery entry; with an LR expert, ``gallery_plain``
        (G, D) holds the HR expert's templates of the clean gallery images its score is taken against."""
        fused = self.scores(self.probe_templates(probe_crop), gallery_t)
        if self.expert is None:
            return fused
        if gallery_plain is None:
            raise LrfaceError("an LR expert needs the clean gallery templates")
        expert = correlation(self.expert_template(probe_crop)[None], gallery_plain, self._mean(gallery_t))[0]
        w = self.cfg.expert_weight
        return (1 - w) * fused + w * expert

    def _mean(self, gallery_t: np.ndarray) -> np.ndarray | None:
        """The mean template of correlation similarity (eq. 3), or None for cosine."""
        return gallery_t.reshape(-1, gallery_t.shape[-1]).mean(0) if self.cfg.similarity == "correlation" else None

    def scores(self, probe_t: np.ndarray, gallery_t: np.ndarray) -> np.ndarray:
        """Similarity of one probe (S, M, D) to every gallery entry (G, S, N, D)."""
        mean = self._mean(gallery_t)
        p = probe_t
        if self.cfg.hypotheses == "mean" and p.shape[1] > 1:
            m = p.mean(1)
            p = (m / np.maximum(np.linalg.norm(m, axis=-1, keepdims=True), 1e-12))[:, None]
        elif self.cfg.hypotheses == "select" and p.shape[1] > 1:
            # per scale: the hypothesis with the best similarity to any gallery template (Sec. 3.3)
            best = []
            for s in range(p.shape[0]):
                flat_g = gallery_t[:, s].reshape(-1, gallery_t.shape[-1])
                sims = correlation(p[s], flat_g, mean)
                best.append(p[s, int(sims.max(1).argmax())])
            p = np.stack(best)[:, None]
        return np.array([fuse(p, g, self.cfg.fusion, mean) for g in gallery_t])

