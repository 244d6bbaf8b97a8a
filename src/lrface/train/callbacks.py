"""What the training loop calls back after a step (arcface_torch's ``CallBackLogging`` /
``CallBackVerification``): ``CsvLog`` appends the losses to ``log.csv``; ``LfwEval`` measures LFW
verification (HR and cross-resolution) every ``eval.every`` steps into ``eval.jsonl``. Both run on
the main rank only."""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Protocol

import torch

from ..degrade import Reduce


class Callback(Protocol):
    def __call__(self, trainer: Any, vals: dict[str, float], seconds: float) -> None: ...


class CsvLog:
    def __init__(self, out: Path, every: int) -> None:
        self.path, self.every = out / "log.csv", every

    def __call__(self, trainer: Any, vals: dict[str, float], seconds: float) -> None:
        if trainer.step % self.every and trainer.step != trainer.cfg.schedule.steps:
            return
        row = {"step": trainer.step, "lr": trainer.opt.param_groups[0]["lr"], **vals, "seconds": round(seconds, 2)}
        new = not self.path.is_file()
        with open(self.path, "a", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(row))
            if new:
                w.writeheader()
            w.writerow(row)


class LfwEval:
    """LFW verification of the model in training (the suite's definition: ``VerificationEval``)."""

    def __init__(self, out: Path, cfg: Any) -> None:
        self.path, self.cfg = out / "eval.jsonl", cfg

    def evaluate(self, model: torch.nn.Module) -> dict[str, float]:
        from ..data.lfw import lfw_pairs
        from ..eval.sweep import restrict_folds
        from ..eval.verification import VerificationEval
        from ..recognize.embeddings import Embedder
        from ..recognize.recognizer import Recognizer

        ecfg = self.cfg.eval
        pairs, _ = restrict_folds(lfw_pairs(self.cfg.data_root, ecfg.pairs), {}, ecfg.folds)
        model.eval()
        ev = VerificationEval(Embedder(Recognizer.from_model(model, self.cfg.model.name), Reduce(), cache=False,
                                       progress=False), pairs)
        out = {"hr": ev.run("hr").accuracy}
        for r in ecfg.resolutions:
            out[f"cr{r}"] = ev.run("cr", r).accuracy
        model.train()
        return out

    def __call__(self, trainer: Any, vals: dict[str, float], seconds: float) -> None:
        every = self.cfg.eval.every
        if not every or trainer.step % every:
            return
        with open(self.path, "a") as fh:
            fh.write(json.dumps({"step": trainer.step, **self.evaluate(trainer.model)}) + "\n")
