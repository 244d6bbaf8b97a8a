"""The gallery of record in SQLite: concurrent writers lose nothing, kill -9 leaves the last
committed state, legacy .npz galleries import, and a gallery created by the CLI searches as before."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from lrface.errors import LrfaceError
from lrface.search import store
from lrface.search.gallery import Gallery
from lrface.search.persist import import_npz, save_npz

DIM = 16
WRITER = r"""
import sys, numpy as np
from lrface.search.gallery import Gallery
db, who, n, log = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
rng = np.random.default_rng(abs(hash(who)) % 2**32)
for i in range(n):
    g = Gallery.load(db)
    name = f"{who}-{i}"
    g.add(name, rng.standard_normal((2, 16)).astype(np.float32), [112, 40], [0.9, 0.5], ["a.jpg", "b.jpg"],
          [f"{name}-a", f"{name}-b"])
    g.save(db)
    with open(log, "a") as fh:  # written only after the commit returned
        fh.write(name + "\n")
"""


def _new(path: Path) -> Gallery:
    g = Gallery("test", "model-x", DIM)
    g.add("seed", np.ones((1, DIM), np.float32), [112], [1.0], ["s.jpg"], ["seed"])
    g.save(path)
    return g


def test_new_gallery_is_sqlite_and_round_trips(tmp_path: Path) -> None:
    g = _new(tmp_path / "g.db")
    assert store.is_sqlite(tmp_path / "g.db")
    again = Gallery.load(tmp_path / "g.db")
    assert again.names == ["seed"] and np.allclose(again.emb, g.emb) and again.model_id == "model-x"
    again.add("x", np.zeros((1, DIM), np.float32) + 0.5, [20], [0.3], ["x.jpg"], ["x1"])
    again.remove("seed")
    again.save(tmp_path / "g.db")
    third = Gallery.load(tmp_path / "g.db")
    assert third.names == ["x"] and len(third) == 1 and third.r[0] == pytest.approx(20)
    actions = [(a["action"], a["identity"]) for a in store.audit(tmp_path / "g.db")]
    assert actions[:2] == [("remove", "seed"), ("add", "x")]


def test_eight_processes_adding_at_once_lose_nothing(tmp_path: Path) -> None:
    """8 processes x 50 identities, each add its own transaction against the same file: all 400 present."""
    db = tmp_path / "g.db"
    _new(db)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(db), f"w{k}", "50", str(tmp_path / f"log{k}")],
                              env=env, stderr=subprocess.PIPE) for k in range(8)]
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err.decode()[-2000:]
    g = Gallery.load(db)
    assert len(g.names) == 401 and len(g) == 1 + 400 * 2
    assert {f"w{k}-{i}" for k in range(8) for i in range(50)} <= set(g.names)


def test_kill_9_during_adds_keeps_every_committed_add(tmp_path: Path) -> None:
    db, log = tmp_path / "g.db", tmp_path / "log"
    _new(db)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    rng = np.random.default_rng(0)
    for round_ in range(4):
        before = len(log.read_text().split()) if log.is_file() else 0
        p = subprocess.Popen([sys.executable, "-c", WRITER, str(db), f"k{round_}", "100000", str(log)], env=env)
        deadline = time.time() + 120
        while time.time() < deadline and (len(log.read_text().split()) if log.is_file() else 0) <= before:
            time.sleep(0.05)  # the writer has started committing (imports take seconds on a busy machine)
        time.sleep(float(rng.uniform(0, 0.5)))  # then a random moment among its commits
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        g = Gallery.load(db)  # opens, consistent
        committed = set(log.read_text().split()) if log.is_file() else set()
        assert committed <= set(g.names)
        assert len(g) == 1 + 2 * (len(g.names) - 1)  # no identity with half its templates
    assert len(committed) > 0


def test_legacy_npz_imports_and_is_never_rewritten(tmp_path: Path) -> None:
    g = Gallery("test", "model-x", DIM)
    g.add("a", np.eye(DIM, dtype=np.float32)[:2], [112, 30], [1, 0.5], ["1.jpg", "2.jpg"], ["c1", "c2"])
    save_npz(g, tmp_path / "old.lrg")
    old = Gallery.load(tmp_path / "old.lrg")
    assert old.names == ["a"] and len(old) == 2
    old.add("b", np.eye(DIM, dtype=np.float32)[2:3], [50], [0.7], ["3.jpg"], ["c3"])
    with pytest.raises(LrfaceError, match="import it"):
        old.save(tmp_path / "old.lrg")
    import_npz(tmp_path / "old.lrg", tmp_path / "new.db", Gallery)
    new = Gallery.load(tmp_path / "new.db")
    assert new.names == ["a"] and np.allclose(new.emb, g.emb)


def test_another_recognizers_templates_are_refused(tmp_path: Path) -> None:
    db = tmp_path / "g.db"
    _new(db)
    other = Gallery("test", "model-y", DIM)
    other.add("z", np.ones((1, DIM), np.float32), [112], [1.0], ["z.jpg"], ["z"])
    with pytest.raises(LrfaceError, match="another recognizer"):
        other.save(db)
    assert Gallery.load(db).names == ["seed"]


def test_damaged_database_is_one_line(tmp_path: Path) -> None:
    db = tmp_path / "g.db"
    _new(db)
    data = bytearray(db.read_bytes())
    data[100:4000] = b"\xff" * (4000 - 100)
    (tmp_path / "bad.db").write_bytes(bytes(data))
    with pytest.raises(LrfaceError):
        Gallery.load(tmp_path / "bad.db")
