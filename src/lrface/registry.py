"""Named, discoverable parts (timm-style): ``@MODELS.register("name")`` and ``MODELS.create("name")``."""
from __future__ import annotations

from typing import Any, Callable, Generic, TypeVar

from .errors import LrfaceError

T = TypeVar("T")


class Registry(Generic[T]):
    """A name -> factory table with a short description per entry."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._factories: dict[str, Callable[..., T]] = {}

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        def deco(fn: Callable[..., T]) -> Callable[..., T]:
            if name in self._factories:
                raise ValueError(f"{self.kind} {name!r} registered twice")
            self._factories[name] = fn
            return fn

        return deco

    def create(self, name: str, **kwargs: Any) -> T:
        if name not in self._factories:
            raise LrfaceError(f"unknown {self.kind} {name!r}; known: {', '.join(self.names())}")
        return self._factories[name](**kwargs)

    def names(self) -> list[str]:
        return sorted(self._factories)

    def describe(self, name: str) -> str:
        doc = (self._factories[name].__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""

    def __contains__(self, name: object) -> bool:
        return name in self._factories


MODELS: Registry[Any] = Registry("model")
DEGRADATIONS: Registry[Any] = Registry("degradation")
