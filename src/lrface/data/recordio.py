"""insightface / MXNet RecordIO training sets (``train.rec`` + ``train.idx``) without mxnet.

Record: uint32 magic 0xced7230a, uint32 (cflag << 29 | length), payload, zero padding to 4 bytes.
Payload: IRHeader (uint32 flag, float32 label, uint64 id, uint64 id2), then ``flag`` float32
labels when flag > 0, then the encoded image. Record 0 is a header whose label[0] is the index
of the first identity record: images are records 1 .. label[0] - 1 (insightface's convention).
"""
from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np

from ..atomic import atomic_write_bytes, atomic_write_text
from ..errors import LrfaceError

MAGIC = 0xCED7230A
_HEADER = struct.Struct("<IfQQ")


def pack_record(payload: bytes) -> bytes:
    pad = (-len(payload)) % 4
    return struct.pack("<II", MAGIC, len(payload)) + payload + b"\0" * pad


def pack_payload(label: float | list[float], image: bytes = b"", idx: int = 0) -> bytes:
    if isinstance(label, (list, tuple)):
        head = _HEADER.pack(len(label), 0.0, idx, 0) + struct.pack(f"<{len(label)}f", *label)
    else:
        head = _HEADER.pack(0, float(label), idx, 0)
    return head + image


def unpack_payload(payload: bytes) -> tuple[list[float] | float, bytes]:
    flag, label, _, _ = _HEADER.unpack_from(payload)
    off = _HEADER.size
    if flag > 0:
        labels = list(struct.unpack_from(f"<{flag}f", payload, off))
        return labels, payload[off + 4 * flag :]
    return label, payload[off:]


class RecordIO:
    """Random access to a .rec through its .idx (``index\\toffset`` lines)."""

    def __init__(self, rec: str | Path) -> None:
        self.rec = Path(rec)
        idx = self.rec.with_suffix(".idx")
        try:
            self.offsets = {int(a): int(b) for a, b in (ln.split("\t") for ln in idx.read_text().splitlines() if ln.strip())}
            self.data = self.rec.read_bytes()
        except (OSError, ValueError) as e:
            raise LrfaceError(f"cannot read RecordIO {self.rec} / {idx}: {e}") from None

    def read(self, i: int) -> bytes:
        off = self.offsets[i]
        magic, lrec = struct.unpack_from("<II", self.data, off)
        if magic != MAGIC:
            raise LrfaceError(f"{self.rec}: bad record magic at offset {off}")
        length = lrec & ((1 << 29) - 1)
        return self.data[off + 8 : off + 8 + length]


def write_recordio(rec: str | Path, images: list[bytes], labels: list[int]) -> None:
    """Write images with integer labels as an insightface-style train.rec/.idx pair (atomic)."""
    n = len(images)
    ids = sorted(set(labels))
    chunks, index, pos = [], [], 0
    records = [pack_payload([float(n + 1), float(n + 1 + len(ids))])]
    records += [pack_payload(float(lab), img, i + 1) for i, (img, lab) in enumerate(zip(images, labels))]
    for c in ids:
        members = [i + 1 for i, lab in enumerate(labels) if lab == c]
        records.append(pack_payload([float(min(members)), float(max(members) + 1)]))
    for i, payload in enumerate(records):
        index.append(f"{i}\t{pos}")
        chunk = pack_record(payload)
        chunks.append(chunk)
        pos += len(chunk)
    rec = Path(rec)
    atomic_write_bytes(rec, b"".join(chunks))
    atomic_write_text(rec.with_suffix(".idx"), "\n".join(index) + "\n")


def read_recordio_crops(root: str | Path, size: int) -> tuple[np.ndarray, np.ndarray]:
    """All images of ``root/train.rec`` (or a .rec path) as aligned RGB crops resized to ``size``."""
    root = Path(root)
    rec = RecordIO(root if root.suffix == ".rec" else root / "train.rec")
    header, _ = unpack_payload(rec.read(0))
    if not isinstance(header, list):
        raise LrfaceError(f"{rec.rec}: record 0 is not an insightface header")
    crops, labels = [], []
    for i in range(1, int(header[0])):
        label, img = unpack_payload(rec.read(i))
        arr = cv2.imdecode(np.frombuffer(img, np.uint8), cv2.IMREAD_COLOR)
        if arr is None:
            continue
        arr = cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)
        interp = cv2.INTER_AREA if arr.shape[0] > size else cv2.INTER_CUBIC
        crops.append(cv2.resize(arr, (size, size), interpolation=interp))
        labels.append(int(label[0] if isinstance(label, list) else label))
    if not crops:
        raise LrfaceError(f"{rec.rec}: no decodable images")
    return np.stack(crops), np.array(labels)
