"""Pair files, protocol files, insightface .bin sets (incl. a malicious pickle), identity folders."""
from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from lrface.data.binset import bin_pairs, read_bin, write_bin
from lrface.data.identities import gallery_probe_split, read_identity_folders
from lrface.data.lfw import lfw_pairs
from lrface.data.pairs import read_pairs
from lrface.data.protocols import btm_stm_protocols, generate_protocol, read_protocol, write_protocol
from lrface.errors import LrfaceError


def test_lfw_view2_pairs(datasets) -> None:
    p = lfw_pairs(datasets)
    assert len(p) == 6000 and p.same.sum() == 3000 and len(np.unique(p.folds)) == 10
    assert len(p.images) == 7701 and all(f.is_file() for f in p.images[:50])
    first = p.folds == 0
    assert p.same[first][:300].all() and not p.same[first][300:].any()
    a, b = p.images[p.left[0]], p.images[p.right[0]]
    assert a.parent.name == b.parent.name == "Abel_Pacheco" and a.name.endswith("_0001.jpg") and b.name.endswith("_0004.jpg")


def test_pairs_format_errors(tmp_path) -> None:
    f = tmp_path / "pairs.txt"
    f.write_text("1 1\nA 1 2\n")
    with pytest.raises(LrfaceError, match="expected 2 pair lines"):
        read_pairs(f, tmp_path)
    f.write_text("1 1\nA 1 2\nB 1 2\n")
    with pytest.raises(LrfaceError, match="does not fit"):
        read_pairs(f, tmp_path)


def test_btm_stm_protocols(datasets) -> None:
    protos = btm_stm_protocols("lfw")
    ranges = {"low_res": (5, 10), "mid_res": (11, 39), "high_res": (40, 112), "all_res": (5, 112)}
    for name, v in protos.items():
        assert len(v) == 12000 and (v[0::2] == 112).all()
        lo, hi = ranges[name]
        assert v[1::2].min() >= lo and v[1::2].max() <= hi


def test_protocol_roundtrip_and_generation(tmp_path) -> None:
    v = generate_protocol(500, 5, 40, seed=3)
    assert (v[0::2] == 112).all() and v[1::2].min() >= 5 and v[1::2].max() <= 40
    assert np.array_equal(v, generate_protocol(500, 5, 40, seed=3))
    assert not np.array_equal(v, generate_protocol(500, 5, 40, seed=4))
    write_protocol(tmp_path / "p.csv", v)
    assert np.array_equal(read_protocol(tmp_path / "p.csv"), v)
    (tmp_path / "bad.csv").write_text("112,7,abc\n")
    with pytest.raises(LrfaceError):
        read_protocol(tmp_path / "bad.csv")


def test_bin_roundtrip(datasets, tmp_path) -> None:
    lfw = lfw_pairs(datasets)
    small = lfw.subset((lfw.folds == 0) & (np.arange(len(lfw)) % 60 == 0))  # 10 pairs
    path = tmp_path / "mini_lfw.bin"
    write_bin(path, small)
    images, same = read_bin(path)
    assert len(images) == 20 and np.array_equal(same, small.same)
    assert images[0] == small.images[small.left[0]].read_bytes()
    back = bin_pairs(path)
    assert len(back) == 10 and np.array_equal(back.same, small.same)
    assert back.images[back.left[3]].read_bytes() == small.images[small.left[3]].read_bytes()


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/lrface-pwned",))


def test_malicious_bin_is_refused(tmp_path) -> None:
    path = tmp_path / "evil.bin"
    path.write_bytes(pickle.dumps(([b"x", b"y"], [_Evil()])))
    with pytest.raises(LrfaceError, match="refusing to load global"):
        read_bin(path)
    assert not os.path.exists("/tmp/lrface-pwned")
    path.write_bytes(b"not a pickle at all")
    with pytest.raises(LrfaceError, match="not a valid insightface .bin"):
        read_bin(path)


def test_bin_with_numpy_arrays_is_accepted(tmp_path) -> None:
    path = tmp_path / "np.bin"
    path.write_bytes(pickle.dumps(([np.frombuffer(b"abc", np.uint8), np.frombuffer(b"de", np.uint8)], [True])))
    images, same = read_bin(path)
    assert images == [b"abc", b"de"] and same.tolist() == [True]


def test_identity_folders_and_split(datasets) -> None:
    ds = read_identity_folders(datasets / "orl")
    assert len(ds.names) == 40 and len(ds.images) == 400
    split = gallery_probe_split(ds)
    assert len(split.gallery) == 40 and len(split.probes) == 360
    assert len(np.unique(ds.labels[split.gallery])) == 40
    assert ds.images[split.gallery[0]].name == "1.pgm"  # first file per identity, sorted
