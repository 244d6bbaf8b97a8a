"""Shared fixtures: real data from ../shared, an isolated cache, one Recognizer per session."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from lrface.paths import data_root


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("lrface-cache")
    os.environ["LRFACE_CACHE"] = str(path)
    return path


@pytest.fixture(scope="session")
def datasets() -> Path:
    root = data_root()
    if not (root / "lfw" / "lfw-deepfunneled").is_dir():
        pytest.skip(f"shared datasets not found at {root}")
    return root


@pytest.fixture(scope="session")
def lfw_dir(datasets: Path) -> Path:
    return datasets / "lfw" / "lfw-deepfunneled"


@pytest.fixture(scope="session")
def lfw_faces(lfw_dir: Path) -> list[Path]:
    """Twelve LFW images of six people (two each), fixed for reproducibility."""
    people = ["Aaron_Peirsol", "Alvaro_Uribe", "Colin_Powell", "George_W_Bush", "Hugo_Chavez", "Serena_Williams"]
    return [lfw_dir / p / f"{p}_{i:04d}.jpg" for p in people for i in (1, 2)]


@pytest.fixture(scope="session")
def rec():
    from lrface import Recognizer

    return Recognizer("dlib_resnet", device="cpu")


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run the lrface CLI in-process: (exit code, stdout, stderr)."""
    from lrface.cli import main

    try:
        main(args)
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err
