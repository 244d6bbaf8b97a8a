"""The one training entry point: ``lrface train CONFIG [key=value ...]``, also under
``torchrun --nproc_per_node N`` (DDP: gloo on CPU, NCCL on GPU) with no change.

Every random choice (batch order, flips, resolutions, dropout) is derived from (seed, step),
so a resumed run continues exactly and N ranks split the same global batch a single rank sees.
"""
from __future__ import annotations

import copy
import math
import os
import signal
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
import torch.distributed as dist
import yaml
from safetensors.torch import save_file
from tqdm import tqdm

from ..atomic import atomic_write, atomic_write_text
from ..data.facecache import aligned_crops
from ..data.identities import read_identity_folders
from ..errors import LrfaceError
from ..models import create_model
from ..models.base import FaceBackbone
from ..paths import data_root
from ..recognize.recognizer import resolve_device
from .callbacks import Callback, CsvLog, LfwEval
from .config import CONFIG_DIR, load_config, load_recipe, recipe_help  # noqa: F401  (the engine's API)
from .heads import HEADS
from .objectives import Trainee, build_terms
from .recipe import Recipe, ScheduleSpec
from .views import ViewMaker, batch_indices  # noqa: F401


# ---------------------------------------------------------------- distributed
@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup_distributed(device: torch.device) -> Dist:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    backend = "nccl" if device.type == "cuda" else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend)
    return Dist(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


# ---------------------------------------------------------------- data
@dataclass
class TrainSet:
    crops: torch.Tensor  # N x S x S x 3 uint8 (S: the model input, or the distillation set's chip size)
    labels: torch.Tensor
    num_classes: int
    by_label: list[np.ndarray]
    teacher: torch.Tensor | None = None  # N x 2 x D cached teacher embeddings (image, mirror image)


def _distill_train_set(cfg: Recipe, progress: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """data.kind=distill: chips, labels and cached teacher embeddings (built once, then cached)."""
    from .distill import build_distill_set, load_distill_set

    d = cfg.data
    teacher = cfg.teacher.model if cfg.teacher is not None else "dlib_resnet"
    path = d.file or build_distill_set(d.sources, teacher, d.chip, d.min_age, root=cfg.data_root, progress=progress)
    ds = load_distill_set(path)
    return ds.chips, ds.labels, ds.teacher


def load_train_set(cfg: Recipe, style: str, size: int, progress: bool) -> TrainSet:
    d = cfg.data
    teacher_np = None
    if d.kind == "distill":
        crops_np, labels_np, teacher_np = _distill_train_set(cfg, progress)
        return _train_set(cfg, crops_np, labels_np, teacher_np)
    root = Path(d.root)
    if not root.is_absolute():
        root = data_root(cfg.data_root) / root
    if "lfw" in str(root).lower() and not d.allow_lfw:
        raise LrfaceError(f"refusing to train on {root}: LFW is evaluation data (set data.allow_lfw=true for "
                          "fold-disjoint experiments)")
    if d.kind == "recordio":
        from ..data.recordio import read_recordio_crops

        crops_np, labels_np = read_recordio_crops(root, size)
    else:
        ds = read_identity_folders(root, min_images=d.min_images)
        cs = aligned_crops(ds.images, style, size, progress=progress)
        ok = cs.status != 2
        crops_np, labels_np = cs.crops[ok], ds.labels[ok]
    return _train_set(cfg, crops_np, labels_np, teacher_np)


def _train_set(cfg: Recipe, crops_np: np.ndarray, labels_np: np.ndarray,
               teacher_np: np.ndarray | None) -> TrainSet:
    limit = cfg.data.max_images
    if limit:
        crops_np, labels_np = crops_np[:limit], labels_np[:limit]
        teacher_np = None if teacher_np is None else teacher_np[:limit]
    _, labels_np = np.unique(labels_np, return_inverse=True)
    labels = torch.from_numpy(np.asarray(labels_np, dtype=np.int64))
    n_cls = int(labels.max()) + 1
    by_label = [np.flatnonzero(labels_np == c) for c in range(n_cls)]
    teacher = None if teacher_np is None else torch.from_numpy(np.ascontiguousarray(teacher_np, dtype=np.float32))
    return TrainSet(torch.from_numpy(np.ascontiguousarray(crops_np)), labels, n_cls, by_label, teacher)


# ---------------------------------------------------------------- schedule
def lr_factor(step: int, sched: ScheduleSpec) -> float:
    """Linear warm-up, then cosine decay to 0 or step decay by gamma at milestones."""
    warm, total = sched.warmup_steps, sched.steps
    if step < warm:
        return (step + 1) / warm
    if sched.name == "cosine":
        t = (step - warm) / max(1, total - warm)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, t)))
    return sched.gamma ** sum(step >= m for m in sched.milestones)


# ---------------------------------------------------------------- the engine
class Trainer:
    def __init__(self, cfg: Recipe, progress: bool = True) -> None:
        self.cfg = cfg
        self.device = resolve_device(cfg.device)
        self.dist = setup_distributed(self.device)
        if self.device.type == "cuda":
            torch.cuda.set_device(self.dist.local_rank)
            self.device = torch.device("cuda", self.dist.local_rank)
        self.progress = progress and self.dist.main
        self.out = Path(cfg.output)
        self.seed = cfg.seed
        torch.manual_seed(self.seed)
        self.model = create_model(cfg.model.name, pretrained=cfg.model.pretrained,
                                  weights=cfg.model.weights).to(self.device)
        self.style, self.size = self.model.align_style, int(self.model.input_size[0])
        self.data = load_train_set(cfg, self.style, self.size, self.progress)
        teacher = None
        self.cached_teacher = cfg.teacher is not None and cfg.teacher.cached
        if cfg.teacher is not None and not self.cached_teacher:
            teacher = copy.deepcopy(self.model).eval().requires_grad_(False)
        self.teacher_branches = set(cfg.teacher.branches) if cfg.teacher is not None else set()
        self.views = ViewMaker(cfg, self.data, self.model, self.style, self.device, self.dist.rank, self.dist.world)
        self.branches = self.views.branches
        head = HEADS.create(cfg.head.name, embedding_dim=self.model.embedding_dim,
                            num_classes=self.data.num_classes, **cfg.head.args)
        cls_w = list(cfg.cls_weights) + [0.0] * (len(self.branches) - len(cfg.cls_weights))
        if cfg.head_init == "centers" and cfg.model.pretrained and any(cls_w):
            head.init_from_centers(self._class_centers(teacher or self.model))  # type: ignore[operator]
        self.trainee = Trainee(self.model, head, build_terms(cfg.terms), cls_w, teacher,
                               sorted(self.teacher_branches) or None).to(self.device)
        self.ddp: torch.nn.Module = self.trainee
        if self.dist.world > 1:
            self.ddp = torch.nn.parallel.DistributedDataParallel(
                self.trainee, device_ids=[self.device.index] if self.device.type == "cuda" else None,
                find_unused_parameters=not any(cls_w))  # a head no loss uses gets no gradient
        self.opt = self._optimizer()
        self.sched = torch.optim.lr_scheduler.LambdaLR(self.opt, lambda s: lr_factor(s, cfg.schedule))
        self.step = 0
        self.callbacks: list[Callback] = [CsvLog(self.out, cfg.log_every), LfwEval(self.out, cfg)]

    # -- setup helpers
    @torch.no_grad()
    def _class_centers(self, net: FaceBackbone) -> torch.Tensor:
        """Mean normalised embedding per class (a pretrained backbone's classifier starts there)."""
        net.eval()
        sums = torch.zeros(self.data.num_classes, net.embedding_dim)
        for i in range(0, len(self.data.labels), 64):
            x = self.views.to_input(self.data.crops[i : i + 64])
            e = torch.nn.functional.normalize(net(x).float(), dim=1).cpu()
            sums.index_add_(0, self.data.labels[i : i + 64], e)
        return sums

    def _optimizer(self) -> torch.optim.Optimizer:
        o = self.cfg.optim
        groups = [{"params": [p for p in self.model.parameters() if p.requires_grad], "lr": o.lr},
                  {"params": list(self.trainee.head.parameters()), "lr": o.lr * o.head_lr_mult}]
        if o.name == "sgd":
            return torch.optim.SGD(groups, lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay)
        return torch.optim.AdamW(groups, lr=o.lr, weight_decay=o.weight_decay)

    def train_step(self) -> dict[str, float]:
        self.ddp.train()
        torch.manual_seed(self.seed * 104729 + self.step)  # dropout etc. depend on (seed, step) only
        views, labels = self.views.views(self.step)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.cfg.bf16):
            loss, parts = self.ddp(views, labels)
        self.opt.zero_grad(set_to_none=True)
        if not torch.isfinite(loss.detach()):
            raise LrfaceError(f"training diverged: loss is {float(loss)} at step {self.step + 1} "
                              f"(parts: {', '.join(f'{k}={float(v):.4g}' for k, v in parts.items())}); "
                              "lower optim.lr or raise grad_clip; the last checkpoint is kept")
        loss.backward()
        if self.cfg.grad_clip:
            torch.nn.utils.clip_grad_norm_(self.trainee.parameters(), self.cfg.grad_clip)
        self.opt.step()
        self.sched.step()
        self.step += 1
        vals = torch.stack([loss.detach().float()] + [v.detach().float() for v in parts.values()])
        if self.dist.world > 1:
            dist.all_reduce(vals)
            vals /= self.dist.world
        out = {"loss": float(vals[0])}
        out.update({k: float(v) for k, v in zip(parts, vals[1:])})
        return out

    # -- checkpoints
    def save_checkpoint(self) -> Path:
        path = self.out / "checkpoint.pt"
        state = {"model": self.model.state_dict(), "head": self.trainee.head.state_dict(),
                 "optim": self.opt.state_dict(), "sched": self.sched.state_dict(), "step": self.step,
                 "config": yaml.safe_dump(self.cfg.to_dict())}
        atomic_write(path, lambda p: torch.save(state, p))
        return path

    def load_checkpoint(self, path: Path) -> None:
        try:
            state = torch.load(path, map_location=self.device, weights_only=True)
        except Exception as e:  # noqa: BLE001 - any unreadable checkpoint is one clear error
            raise LrfaceError(f"cannot load checkpoint {path}: {e}") from None
        try:
            self.model.load_state_dict(state["model"])
            self.trainee.head.load_state_dict(state["head"])
            self.opt.load_state_dict(state["optim"])
            self.sched.load_state_dict(state["sched"])
            self.step = int(state["step"])
        except (KeyError, TypeError, ValueError, RuntimeError) as e:
            first = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
            raise LrfaceError(f"checkpoint {path} does not fit this recipe ({first}); use another output= "
                              "or drop --resume") from None

    def export(self) -> Path:
        path = self.out / "model.safetensors"
        sd = {k: v.detach().cpu().contiguous() for k, v in self.model.state_dict().items()}
        atomic_write(path, lambda p: save_file(sd, str(p), metadata={"model": self.cfg.model.name,
                                                                       "recipe": self.cfg.name, "step": str(self.step)}))
        return path

    # -- the loop
    def fit(self, resume: bool = False) -> Path:
        total = self.cfg.schedule.steps
        ckpt = self.out / "checkpoint.pt"
        if resume and ckpt.is_file():
            self.load_checkpoint(ckpt)
        if self.dist.main:
            self.out.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.out / "config.yaml", yaml.safe_dump(self.cfg.to_dict(), sort_keys=False))
        bar = tqdm(total=total, initial=self.step, desc=self.cfg.name, disable=not self.progress, unit="step")
        t0 = time.perf_counter()
        with _stop_requests() as stop:
            self._loop(total, bar, t0, stop)
        bar.close()
        path = self.out / "model.safetensors"
        if self.dist.main:
            self.save_checkpoint()
            path = self.export()
        if self.dist.world > 1:
            dist.barrier()
        return path

    def _loop(self, total: int, bar: tqdm, t0: float, stop: list[int]) -> None:
        ckpt_every = self.cfg.ckpt_every
        while self.step < total:
            if stop:
                bar.close()
                if self.dist.main:
                    self.save_checkpoint()
                raise TrainingInterrupted(f"stopped by {signal.Signals(stop[0]).name} at step {self.step}/{total}; "
                                          f"checkpoint saved to {self.out / 'checkpoint.pt'}; "
                                          "rerun the same command with --resume to continue")
            vals = self.train_step()
            bar.update(1)
            bar.set_postfix(loss=f"{vals['loss']:.4f}")
            if ckpt_every and self.step % ckpt_every == 0 and self.step < total and self.dist.main:
                self.save_checkpoint()
            if self.dist.main:
                for callback in self.callbacks:
                    callback(self, vals, time.perf_counter() - t0)

class TrainingInterrupted(LrfaceError):
    """SIGINT/SIGTERM arrived: the step in flight finished and a checkpoint was written."""


@contextmanager
def _stop_requests() -> Iterator[list[int]]:
    """Turn SIGINT/SIGTERM into a request the training loop honours between steps (checkpoint, then stop);
    a second signal interrupts at once. Only the main thread can install handlers; elsewhere a no-op."""
    import threading

    stop: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum: int, frame: object) -> None:
        if stop:
            raise KeyboardInterrupt
        stop.append(signum)

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def train(config: str, overrides: list[str] | tuple[str, ...] = (), resume: bool = False, progress: bool = True) -> Path:
    """Run a recipe; returns the exported safetensors path."""
    cfg = load_recipe(config, overrides)
    trainer = Trainer(cfg, progress)
    return trainer.fit(resume=resume)
