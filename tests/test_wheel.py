"""The built wheel carries configs, weights and manifest: installed into a fresh venv (outside the
repository), `lrface verify --model dlib_resnet_lr` works and `lrface train --help` lists the recipes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_in_fresh_venv(tmp_path, lfw_faces) -> None:
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "-q", "-w", str(dist)],
                   check=True, capture_output=True, text=True, timeout=600)
    wheel = next(dist.glob("lrface-*.whl"))
    venv = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    py = venv / "bin" / "python"
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True, timeout=300,
                   capture_output=True)
    # the dependencies (torch, dlib, ...) come from this test's environment, after the fresh site-packages
    (site / "zz_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LRFACE_WEIGHTS")}
    lrface = str(venv / "bin" / "lrface")
    where = subprocess.run([str(py), "-c", "import lrface, lrface.paths as p; print(lrface.__file__); "
                            "print(p.weights_dir()); print(p.config_dir())"],
                           cwd=tmp_path, env=env, check=True, capture_output=True, text=True).stdout.split()
    assert all(str(site) in w for w in where), where  # the installed package, not the repository
    a, b = str(lfw_faces[6]), str(lfw_faces[7])  # George W Bush x2
    res = subprocess.run([lrface, "verify", a, b, "--model", "dlib_resnet_lr", "--json"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["same"] is True
    res = subprocess.run([lrface, "train", "--help"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert res.returncode == 0 and "lr_expert" in res.stdout and "maug_logexp" in res.stdout
    assert (site / "lrface" / "service" / "static" / "index.html").is_file()  # the web page ships in the wheel
