"""The training recipe as a typed, validated object.

A recipe is ``configs/base.yaml``, then ``configs/NAME.yaml``, then ``key.sub=value`` overrides,
merged as YAML and then checked field by field: an unknown key is an error with a did-you-mean,
a value of the wrong type or out of range is an error naming the key, and every part that comes
from a registry (backbone, head, loss terms, resolution policies, degradation) is validated the
same way, against the name and the arguments its factory accepts.
"""
from __future__ import annotations

import dataclasses
import difflib
import inspect
import math
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import LrfaceError


def _did_you_mean(key: str, known: typing.Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_kwargs(kind: str, name: str, factory: Any, kwargs: dict[str, Any], where: str,
                  skip: tuple[str, ...] = ()) -> None:
    """Every argument must be one the factory accepts, and finite when it is a number."""
    params = {p for p in inspect.signature(factory).parameters if p not in skip}
    for k, v in kwargs.items():
        if k not in params:
            raise LrfaceError(f"{where}: {kind} {name!r} takes no argument {k!r}{_did_you_mean(k, params)}; "
                              f"it takes {', '.join(sorted(params)) or 'none'}")
        _finite(v, f"{where}.{k}")


def _finite(v: Any, where: str) -> None:
    if isinstance(v, float) and not math.isfinite(v):
        raise LrfaceError(f"{where}: {v} is not a finite number")
    if isinstance(v, (list, tuple)):
        for i, x in enumerate(v):
            _finite(x, f"{where}[{i}]")


@dataclass
class Part:
    """A registered part: ``name`` plus the keyword arguments of its factory."""

    name: str
    args: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, value: Any, where: str) -> "Part":
        if isinstance(value, str):
            return cls(value)
        if not isinstance(value, dict) or "name" not in value:
            raise LrfaceError(f"{where}: expected a name or {{name: ..., arguments}}, got {value!r}")
        d = dict(value)
        return cls(str(d.pop("name")), d)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, **self.args}


class PolicyPart(Part):
    """A resolution policy: ``full``, a number (fixed r) or ``{policy: name, arguments}``."""

    @classmethod
    def parse(cls, value: Any, where: str) -> "PolicyPart":
        if isinstance(value, bool):
            raise LrfaceError(f"{where}: expected a resolution policy, got {value!r}")
        if isinstance(value, (int, float)):
            return cls("fixed", {"r": value})
        if isinstance(value, dict) and "policy" in value:
            d = dict(value)
            return cls(str(d.pop("policy")), d)
        if isinstance(value, str):
            return cls(value)
        raise LrfaceError(f"{where}: expected full, a resolution or {{policy: name, arguments}}, got {value!r}")

    def to_dict(self) -> dict[str, Any]:
        return {"policy": self.name, **self.args}


@dataclass
class ModelSpec:
    name: str = "dlib_resnet"
    pretrained: bool = True
    weights: str | None = None


@dataclass
class TeacherSpec:
    branches: list[int] = field(default_factory=lambda: [0])  # branches computed by the frozen teacher
    cached: bool = False  # embeddings from the distillation set instead of a frozen model copy
    model: str = "dlib_resnet"  # the teacher of a distillation set


@dataclass
class DataSpec:
    root: str = "celeba-subset"
    kind: Literal["folders", "recordio", "distill"] = "folders"
    min_images: int = 2
    views: Literal["same_image", "same_identity"] = "same_image"
    flip: bool = True
    max_images: int | None = None
    allow_lfw: bool = False
    sources: list[str] = field(default_factory=lambda: ["celeba-subset", "utkface/aligned"])  # kind distill
    chip: int = 64  # kind distill: stored chip size
    min_age: int = 13  # kind distill: UTKFace age filter
    file: str | None = None  # kind distill: a prebuilt distillation set


@dataclass
class TermSpec:
    """A weighted loss term between branches ``a`` and ``b`` (a list: one term each)."""

    name: str
    weight: float = 1.0
    a: int = 0
    b: list[int] = field(default_factory=lambda: [1])
    branches: list[int] | None = None  # triplet: which branches (default all)
    args: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "weight": self.weight, "a": self.a, "b": self.b, **self.args}
        if self.branches is not None:
            d["branches"] = self.branches
        return d


@dataclass
class OptimSpec:
    name: Literal["sgd", "adamw"] = "sgd"
    lr: float = 0.003
    momentum: float = 0.9
    weight_decay: float = 5.0e-4
    head_lr_mult: float = 10.0


@dataclass
class ScheduleSpec:
    name: Literal["cosine", "step"] = "cosine"
    warmup_steps: int = 20
    steps: int = 300
    milestones: list[int] = field(default_factory=list)
    gamma: float = 0.1


@dataclass
class EvalSpec:
    every: int = 0
    resolutions: list[int] = field(default_factory=lambda: [7, 14, 20])
    folds: int | None = 1
    pairs: str = "pairs.txt"


@dataclass
class Recipe:
    name: str = "recipe"
    seed: int = 0
    device: str = "auto"
    model: ModelSpec = field(default_factory=ModelSpec)
    teacher: TeacherSpec | None = None
    data: DataSpec = field(default_factory=DataSpec)
    branches: list[PolicyPart] = field(default_factory=lambda: [PolicyPart("full")])
    degrade: Part = field(default_factory=lambda: Part("clean"))
    kernel: str = "bicubic"
    up_kernel: str | None = None
    antialias: bool = True
    head: Part = field(default_factory=lambda: Part("cosface", {"s": 30.0, "m": 0.35}))
    head_init: Literal["centers", "none"] = "centers"
    cls_weights: list[float] = field(default_factory=lambda: [1.0])
    terms: list[TermSpec] = field(default_factory=list)
    optim: OptimSpec = field(default_factory=OptimSpec)
    schedule: ScheduleSpec = field(default_factory=ScheduleSpec)
    batch_size: int = 32
    grad_clip: float | None = 5.0
    bf16: bool = False
    log_every: int = 10
    ckpt_every: int = 100
    eval: EvalSpec = field(default_factory=EvalSpec)
    output: str = ""
    data_root: str | None = None

    # ------------------------------------------------------------------ parsing
    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Recipe":
        d = dict(d)
        head = d.get("head")
        if isinstance(head, dict) and "init" in head:  # YAML keeps the head's init inside head
            head = dict(head)
            d["head_init"] = head.pop("init")
            d["head"] = head
        recipe = _build(cls, d, "recipe")
        recipe.validate()
        return recipe

    def to_dict(self) -> dict[str, Any]:
        """Plain data, as YAML would hold it (what config.yaml and checkpoints store)."""
        out = _plain(self)
        out["head"] = {**out["head"], "init": out.pop("head_init")}
        return out

    # ------------------------------------------------------------------ checks
    def validate(self) -> None:
        from ..degrade.policies import POLICIES
        from ..models import ensure_registered
        from ..registry import DEGRADATIONS, MODELS
        from .heads import HEADS
        from .losses import LOSSES

        ensure_registered()
        if self.model.name not in MODELS:
            raise LrfaceError(f"model.name: unknown model {self.model.name!r}{_did_you_mean(self.model.name, MODELS.names())}")
        if self.head.name not in HEADS:
            raise LrfaceError(f"head.name: unknown head {self.head.name!r}{_did_you_mean(self.head.name, HEADS.names())}")
        _check_kwargs("head", self.head.name, HEADS._factories[self.head.name], self.head.args, "head",
                      skip=("embedding_dim", "num_classes"))
        for i, b in enumerate(self.branches):
            if b.name not in POLICIES:
                raise LrfaceError(f"branches[{i}]: unknown resolution policy {b.name!r}"
                                  f"{_did_you_mean(b.name, POLICIES.names())}")
            _check_kwargs("resolution policy", b.name, POLICIES._factories[b.name], b.args, f"branches[{i}]")
        if self.degrade.name not in ("clean", "realistic_lr"):
            raise LrfaceError(f"degrade.name: {self.degrade.name!r} is not clean or realistic_lr")
        if self.degrade.name == "realistic_lr":
            from ..degrade.lowres import LowResConfig

            _check_kwargs("degradation", "realistic_lr", LowResConfig, self.degrade.args, "degrade")
        elif self.degrade.args:
            raise LrfaceError(f"degrade: clean takes no arguments (use kernel / antialias), got {sorted(self.degrade.args)}")
        for k in (self.kernel, self.up_kernel or self.kernel):
            if k not in DEGRADATIONS or k == "realistic_lr":
                raise LrfaceError(f"kernel: unknown kernel {k!r} (bicubic, bilinear, area, nearest)")
        n = len(self.branches)
        for i, t in enumerate(self.terms):
            where = f"terms[{i}]"
            if t.name not in LOSSES:
                raise LrfaceError(f"{where}: unknown loss {t.name!r}{_did_you_mean(t.name, LOSSES.names())}")
            _check_kwargs("loss", t.name, LOSSES._factories[t.name], t.args, where)
            for idx in [t.a, *t.b, *(t.branches or [])]:
                if not 0 <= idx < n:
                    raise LrfaceError(f"{where}: branch {idx} does not exist (the recipe has {n} branches)")
            _finite(t.weight, f"{where}.weight")
        if len(self.cls_weights) > n:
            raise LrfaceError(f"cls_weights: {len(self.cls_weights)} weights for {n} branches")
        if self.teacher is not None:
            for idx in self.teacher.branches:
                if not 0 <= idx < n:
                    raise LrfaceError(f"teacher.branches: branch {idx} does not exist (the recipe has {n} branches)")
            if self.teacher.cached and self.data.kind != "distill":
                raise LrfaceError("teacher.cached needs cached teacher embeddings: set data.kind=distill")
        positive = {"batch_size": self.batch_size, "schedule.steps": self.schedule.steps,
                    "log_every": self.log_every, "data.chip": self.data.chip}
        for k, v in positive.items():
            if v < 1:
                raise LrfaceError(f"{k}: must be at least 1, got {v}")
        nonneg: dict[str, float] = {"ckpt_every": self.ckpt_every,
                                    "schedule.warmup_steps": self.schedule.warmup_steps,
                  "eval.every": self.eval.every, "optim.weight_decay": self.optim.weight_decay,
                  "optim.momentum": self.optim.momentum, "optim.head_lr_mult": self.optim.head_lr_mult}
        for key, value in nonneg.items():
            if value < 0:
                raise LrfaceError(f"{key}: must not be negative, got {value}")
        if not self.optim.lr > 0:
            raise LrfaceError(f"optim.lr: must be a positive finite number, got {self.optim.lr}")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise LrfaceError(f"grad_clip: must be positive (or null for none), got {self.grad_clip}")
        if self.eval.folds is not None and self.eval.folds < 1:
            raise LrfaceError(f"eval.folds: must be at least 1, got {self.eval.folds}")
        if self.data.max_images is not None and self.data.max_images < 1:
            raise LrfaceError(f"data.max_images: must be at least 1, got {self.data.max_images}")


# ---------------------------------------------------------------------- generic typed parsing
def _build(cls: type, d: Any, where: str) -> Any:
    if not isinstance(d, dict):
        raise LrfaceError(f"{where}: expected a mapping, got {d!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    extra = {}
    for key, value in d.items():
        if key not in fields:
            if "args" in fields:  # TermSpec: other keys are the loss's own arguments
                extra[key] = value
                continue
            raise LrfaceError(f"{where}: unknown key {key!r}{_did_you_mean(key, fields)}; "
                              f"known: {', '.join(f for f in fields if f != 'args')}")
        kwargs[key] = _convert(value, hints[key], f"{where}.{key}" if where != "recipe" else key)
    if extra:
        kwargs["args"] = extra
    try:
        return cls(**kwargs)
    except TypeError as e:
        raise LrfaceError(f"{where}: {e}") from None


def _convert(value: Any, tp: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        errors = []
        for a in options:
            try:
                return _convert(value, a, where)
            except LrfaceError as e:
                errors.append(str(e))
        raise LrfaceError(errors[0])
    if origin is Literal:
        if value not in args:
            raise LrfaceError(f"{where}: {value!r} is not one of {', '.join(map(str, args))}"
                              f"{_did_you_mean(str(value), map(str, args))}")
        return value
    if origin is list:
        if not isinstance(value, list):
            value = [value]  # a single value where a list is expected (b: 1)
        return [_convert(v, args[0], f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise LrfaceError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if tp in (Part, PolicyPart):
        return tp.parse(value, where)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _build(tp, value, where)
    if tp is bool:
        if not isinstance(value, bool):
            raise LrfaceError(f"{where}: expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise LrfaceError(f"{where}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise LrfaceError(f"{where}: expected a number, got {value!r}")
        if not math.isfinite(float(value)):
            raise LrfaceError(f"{where}: {value} is not a finite number")
        return float(value)
    if tp is str:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise LrfaceError(f"{where}: expected a string, got {value!r}")
        return str(value)
    return value


def _plain(obj: Any) -> Any:
    if isinstance(obj, (Part, PolicyPart, TermSpec)):
        return obj.to_dict()
    if dataclasses.is_dataclass(obj):
        return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    return obj
