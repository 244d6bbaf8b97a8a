"""The committed SR networks vs bicubic on aligned LFW crops (``lrface eval-sr``): PSNR/SSIM on the
144 px centre with bicubic LR, and identity (mean cosine of dlib_resnet's embedding of the restored
face to that of the HR face, camera-like LR at each size)."""
from __future__ import annotations

from typing import Iterator, Sequence

import torch

from ..data.facecache import aligned_crops
from ..data.lfw import lfw_pairs
from ..models.sr import SCALES, evaluate_sr, identity_similarity, load_sr
from ..recognize.recognizer import Recognizer


def sr_rows(images: int, sizes: Sequence[int], data_root: str | None = None
            ) -> tuple[int, Iterator[tuple[int, dict[str, float], dict]]]:
    """(number of crops, rows per SR scale k: (k, PSNR/SSIM of SR and bicubic, identity per size))."""
    paths = lfw_pairs(data_root).images[:images]
    cs = aligned_crops(paths, "dlib", 150, progress=False)
    chips = cs.crops[cs.status != 2]
    hr = torch.from_numpy(chips[:, 3:147, 3:147]).permute(0, 3, 1, 2).float() / 255
    teacher = Recognizer("dlib_resnet", device="cpu")
    hr_emb = teacher.embed_crops(chips)

    def rows() -> Iterator[tuple[int, dict[str, float], dict]]:
        for k in SCALES:
            model = load_sr(k)
            yield k, evaluate_sr(model, hr), identity_similarity(model, teacher.model, chips, hr_emb, list(sizes))

    return len(hr), rows()
