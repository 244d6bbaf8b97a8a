"""Defaults every entry point shares, importable without torch (the command line starts fast)."""
from __future__ import annotations

DEFAULT_MODEL = "dlib_routed"  # the published default: dlib_resnet (HR) + its trained LR expert
FALLBACK_MODEL = "dlib_resnet"  # used (with a warning) when the default is not in the manifest
FRAMING_NAMES = ("dlib", "arcface", "tight", "loose")  # align.framing.FRAMINGS (a test checks they agree)
FRAMING_CHOICES = ("auto", "photo", *FRAMING_NAMES)
