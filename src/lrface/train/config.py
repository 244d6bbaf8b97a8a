"""Recipes as configuration: ``configs/base.yaml`` merged with ``configs/NAME.yaml`` and key=value
overrides (YAML values), validated into a ``Recipe``."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from ..errors import LrfaceError
from ..paths import config_dir
from .recipe import Recipe

CONFIG_DIR = config_dir()


# ---------------------------------------------------------------- config
def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except OSError as e:
        raise LrfaceError(f"cannot read config {path}: {e.strerror}") from None
    except yaml.YAMLError as e:
        raise LrfaceError(f"{path}: invalid YAML ({str(e).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise LrfaceError(f"{path}: a config must be a mapping")
    return data


def resolve_config_path(name: str) -> Path:
    """A path, or a recipe name in configs/ (``bt_m`` -> configs/bt_m.yaml)."""
    p = Path(name)
    if p.is_file():
        return p
    cand = CONFIG_DIR / f"{name}.yaml"
    if cand.is_file():
        return cand
    known = sorted(f.stem for f in CONFIG_DIR.glob("*.yaml") if f.stem != "base")
    raise LrfaceError(f"no config {name!r}; recipes: {', '.join(known)}")


def recipe_help() -> list[tuple[str, list[tuple[str, str]]]]:
    """(section, rows) for `lrface train --help`: every recipe with its first comment line, and the
    keys of configs/base.yaml with their defaults."""
    recipes = []
    for f in sorted(CONFIG_DIR.glob("*.yaml")):
        if f.stem == "base":
            continue
        first = next((ln.lstrip("# ").strip() for ln in f.read_text().splitlines() if ln.startswith("#")), "")
        recipes.append((f.stem, first))
    base = _read_yaml(CONFIG_DIR / "base.yaml")
    keys = [(k, yaml.safe_dump(v, default_flow_style=True, width=1000).strip().removesuffix("...").strip())
            for k, v in base.items()]
    return [("Recipes (configs/NAME.yaml)", recipes), ("Keys (override with key=value or key.sub=value)", keys)]


def load_config(name: str, overrides: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
    """configs/base.yaml, then the recipe, then ``key.sub=value`` overrides (values parsed as YAML),
    as plain data; ``load_recipe`` validates it into a ``Recipe``."""
    path = resolve_config_path(name)
    cfg = _merge(_read_yaml(CONFIG_DIR / "base.yaml"), _read_yaml(path))
    cfg.setdefault("name", path.stem)
    for item in overrides:
        if "=" not in item:
            raise LrfaceError(f"override {item!r} is not key=value")
        key, raw = item.split("=", 1)
        node = cfg
        parts = key.split(".")
        for part in parts[:-1]:
            if node.get(part) is None:  # e.g. teacher: null in base.yaml
                node[part] = {}
            node = node[part]
            if not isinstance(node, dict):
                raise LrfaceError(f"override {key}: {part} is not a mapping")
        try:
            node[parts[-1]] = yaml.safe_load(raw)
        except yaml.YAMLError as e:
            raise LrfaceError(f"override {key}: {raw!r} is not valid YAML ({str(e).splitlines()[0]})") from None
    cfg.setdefault("output", f"out/train/{cfg['name']}")
    return cfg


def load_recipe(name: str, overrides: list[str] | tuple[str, ...] = ()) -> Recipe:
    """The validated recipe (unknown keys, wrong types, bad values: one clear error)."""
    return Recipe.from_dict(load_config(name, overrides))


