"""How far float16 storage moves a published model's embeddings (``lrface publish`` stores weights
over the size limit in float16 and reads them back as float32).

    python bench/half_weights.py [--model sface_lr] [--run out/train/sface_lr] [--images 200]

Embeds the first N LFW images (five-point ArcFace crops) with the published model and with the
float32 weights of its training run (``RUN/model.safetensors``), and prints the max |diff| of the
L2-normalised embeddings and the smallest cosine between them.
"""
from __future__ import annotations

import argparse

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="sface_lr")
    ap.add_argument("--run", default="out/train/sface_lr", help="training run with the float32 model.safetensors")
    ap.add_argument("--images", type=int, default=200)
    args = ap.parse_args()
    from lrface.data.facecache import aligned_crops
    from lrface.models.published import read_manifest
    from lrface.paths import data_root
    from lrface.recognize.recognizer import Recognizer

    files = sorted((data_root() / "lfw" / "lfw-deepfunneled").glob("*/*.jpg"))[: args.images]
    half = Recognizer(args.model, device="cpu")
    full = Recognizer(read_manifest()[args.model]["base_model"], weights=f"{args.run}/model.safetensors", device="cpu")
    crops = aligned_crops(files, half.style, half.input_size[0], progress=False).crops
    a, b = half.embed_crops(crops), full.embed_crops(crops)
    print(f"{args.model}: {len(files)} LFW images, max |diff| {np.abs(a - b).max():.2g}, "
          f"min cosine {(a * b).sum(1).min():.7f}")


if __name__ == "__main__":
    main()
