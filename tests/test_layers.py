"""The shape of the tree: layers without cycles or upward imports, short files, a CLI without
numeric code, a fast start, a catalogue that agrees with the registry, and lint-clean sources."""
from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import layers  # noqa: E402

SRC = ROOT / "src" / "lrface"


def test_no_import_cycles_and_no_upward_imports() -> None:
    g = layers.graph()
    assert len(g) > 60  # the whole package was read
    assert layers.upward(g) == []
    assert layers.cycles(g) == []


def test_layer_check_catches_an_upward_import() -> None:
    """The checker is not vacuous: a core module importing the recognizer is reported."""
    g = layers.graph()
    g["lrface.errors"] = g["lrface.errors"] | {"lrface.recognize.recognizer"}
    assert layers.upward(g) == ["lrface.errors (core) imports lrface.recognize.recognizer (recognize)"]
    g["lrface.recognize.recognizer"] = g["lrface.recognize.recognizer"] | {"lrface.errors"}
    g["lrface.errors"] = g["lrface.errors"] | {"lrface.recognize.recognizer"}
    assert any("lrface.errors" in c for c in layers.cycles(g))


def test_no_source_file_over_500_lines() -> None:
    long = {str(p.relative_to(ROOT)): n for p in SRC.rglob("*.py") if (n := len(p.read_text().splitlines())) > 500}
    assert long == {}


def test_cli_holds_no_numeric_code() -> None:
    """The CLI parses, calls the library and prints: no numpy or torch in it."""
    for p in (SRC / "cli").glob("*.py"):
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                assert not any(n.split(".")[0] in ("numpy", "torch", "cv2") for n in names), (p.name, names)


def test_help_and_models_start_in_under_a_second() -> None:
    """``lrface --help`` and ``lrface models`` without torch; wall time against ``python -c pass``."""
    def wall(args: list[str]) -> float:
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, *args], check=True, capture_output=True)
            best = min(best, time.perf_counter() - t0)
        return best

    base = wall(["-c", "pass"])
    for cmd in (["--help"], ["models"]):
        t = wall(["-m", "lrface", *cmd])
        print(f"lrface {' '.join(cmd)}: {t:.2f} s ({t / base:.1f}x python -c pass)")
        assert t < 1.0
    code = "import sys, lrface.cli, lrface.models.catalog, lrface.models.licences\nassert 'torch' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_catalogue_agrees_with_the_registry() -> None:
    """``lrface models`` lists without importing torch; its architectures must be the registry's."""
    from lrface.models import list_models
    from lrface.models.catalog import ARCHITECTURES, catalogue
    from lrface.registry import MODELS

    published = {n for n in list_models() if MODELS._factories[n].__qualname__.startswith("_factory.")}
    assert set(ARCHITECTURES) == set(list_models()) - published, "update ARCHITECTURES in lrface/models/catalog.py"
    for name in ARCHITECTURES:
        assert ARCHITECTURES[name] == MODELS.describe(name), f"{name!r}: {MODELS.describe(name)!r}"
    assert set(ARCHITECTURES) <= set(catalogue())


@pytest.mark.skipif(shutil.which("ruff") is None and not (Path(sys.executable).parent / "ruff").exists(),
                    reason="ruff is installed by make setup (test extra)")
def test_ruff_clean() -> None:
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    out = subprocess.run([ruff, "check", "--no-fix", "."], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:]


@pytest.mark.skipif(not (Path(sys.executable).parent / "mypy").exists() and shutil.which("mypy") is None,
                    reason="mypy is installed by make setup (test extra)")
def test_mypy_clean() -> None:
    """The type checker configured in pyproject.toml ([tool.mypy]) passes on the tree."""
    mypy = str(Path(sys.executable).parent / "mypy") if (Path(sys.executable).parent / "mypy").exists() else "mypy"
    out = subprocess.run([mypy], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:]
