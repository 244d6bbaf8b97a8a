"""The views of a training step: for each branch of the recipe, this rank's share of the global
batch, flipped, reduced to the branch's resolutions (or camera-like LR), or the cached teacher
embedding in its place. Every random choice comes from (seed, step): resumable, DDP-identical."""
from __future__ import annotations

from typing import Any

import torch

from ..degrade import Reduce, target_size
from ..degrade.lowres import resample, synthesize, to_input
from ..degrade.policies import FULL, degrade_batch, make_policy
from ..errors import LrfaceError
from ..models.base import FaceBackbone
from ..recognize.recognizer import center_crop
from ..registry import DEGRADATIONS


def batch_indices(n: int, global_batch: int, step: int, seed: int) -> torch.Tensor:
    """Sample indices of global batch ``step``: a fresh seeded permutation every epoch."""
    per_epoch = max(1, n // global_batch)
    epoch, k = divmod(step, per_epoch)
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 100003 + epoch))
    return perm[k * global_batch : (k + 1) * global_batch]


class ViewMaker:
    """``views(step)`` -> (one tensor per branch, labels) for this rank; ``to_input`` brings uint8
    crops to the model's input."""

    def __init__(self, cfg: Any, data: Any, model: FaceBackbone, style: str, device: torch.device,
                 rank: int = 0, world: int = 1) -> None:
        self.cfg, self.data, self.model, self.style, self.device = cfg, data, model, style, device
        self.size = int(model.input_size[0])
        self.rank, self.world, self.seed = rank, world, cfg.seed
        self.branches = [make_policy(b.to_dict()) for b in cfg.branches]
        self.reduce = Reduce(cfg.kernel, cfg.antialias, cfg.up_kernel or cfg.kernel)
        self.lowres = (DEGRADATIONS.create("realistic_lr", **cfg.degrade.args)
                       if cfg.degrade.name == "realistic_lr" else None)
        self.cached_teacher = cfg.teacher is not None and cfg.teacher.cached
        self.teacher_branches = set(cfg.teacher.branches) if cfg.teacher is not None else set()

    def to_input(self, crops: torch.Tensor) -> torch.Tensor:
        x = crops.to(self.device).permute(0, 3, 1, 2).float().div_(255.0)
        h, w = self.model.input_size
        if x.shape[-2] != h and x.shape[-1] != w:  # distillation-set chips: another size than the input
            x = resample(x, self.size)
        return center_crop(x, self.model.input_size).contiguous(memory_format=torch.channels_last)

    def views(self, step: int) -> tuple[list[torch.Tensor], torch.Tensor]:
        """This rank's share of global batch ``step``: one degraded view per branch."""
        gb = self.cfg.batch_size
        if gb % self.world:
            raise LrfaceError(f"batch_size {gb} is not divisible by {self.world} ranks")
        gen = torch.Generator().manual_seed(self.seed * 7919 + step)
        idx = batch_indices(len(self.data.labels), gb, step, self.seed)
        n = len(idx)
        flips = torch.rand(n, generator=gen) < 0.5 if self.cfg.data.flip else torch.zeros(n, dtype=torch.bool)
        res = [pol.sample(n, gen) for pol in self.branches]
        view_idx = [idx] * len(self.branches)
        if self.cfg.data.views == "same_identity":
            view_idx = [idx] + [self._same_identity(idx, gen) for _ in self.branches[1:]]
        per = n // self.world
        sl = slice(self.rank * per, (self.rank + 1) * per)
        views = []
        for k, (vi, r) in enumerate(zip(view_idx, res)):
            if self.cached_teacher and k in self.teacher_branches:  # the teacher's embedding, not an image
                views.append(self.data.teacher[vi[sl], flips[sl].long()].to(self.device))
            elif self.lowres is not None:
                views.append(self._realistic_view(vi, r, flips, gen)[sl])
            else:
                x = self.to_input(self.data.crops[vi[sl]])
                f = flips[sl].to(self.device)
                x = torch.where(f[:, None, None, None], torch.flip(x, dims=[3]), x)
                views.append(degrade_batch(x, r[sl], self.reduce, self.style))
        return views, self.data.labels[idx[sl]].to(self.device)

    def _realistic_view(self, vi: torch.Tensor, res: list[float], flips: torch.Tensor,
                        gen: torch.Generator) -> torch.Tensor:
        """Camera-like LR views of the whole global batch (every rank draws the same randomness,
        then keeps its slice: DDP parity), resized to the model input."""
        x = self.data.crops[vi].permute(0, 3, 1, 2).float().div_(255.0)
        x = torch.where(flips[:, None, None, None], torch.flip(x, dims=[3]), x)
        sizes = [target_size(r, self.style, self.size)[0] if r < FULL else x.shape[-1] for r in res]
        small = synthesize(x, sizes, gen, self.lowres)  # type: ignore[arg-type]  # set: realistic views only
        return to_input(small, self.size).to(self.device).contiguous(memory_format=torch.channels_last)

    def _same_identity(self, idx: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """Another image of each sample's identity (the same one when it has only one)."""
        out = []
        for i in idx.tolist():
            pool = self.data.by_label[int(self.data.labels[i])]
            out.append(int(pool[int(torch.randint(len(pool), (1,), generator=gen))]))
        return torch.tensor(out)
