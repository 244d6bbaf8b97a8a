"""Defaults every entry point shares, importable without torch (the command line starts fast)."""
from __future__ import annotations

# the published default: dlib_resnet (HR) + its trained LR expert. sface_routed is more accurate on LFW and
# also permits any use, but on tiny crops cut from detector boxes it calls 44-46 % of genuine 12-16 px pairs
# "different person" (dlib_routed: 2-5 %; python bench/tiny_crops.py, README "Backbones")
DEFAULT_MODEL = "dlib_routed"
FALLBACK_MODEL = "dlib_resnet"  # used (with a warning) when the default is not in the manifest
# recognizers: the detector that suits the model's crop (dlib chips: dlib HOG, then CenterFace when HOG
# finds nothing; ArcFace crops: SCRFD, whose 5 points align them)
DEFAULT_DETECTOR = "auto"
# finding every face, small ones included (`detect`, `scan`): CenterFace (faces from about 10 px; the
# small-face benchmark, README)
FIND_DETECTOR = "centerface"
FRAMING_NAMES = ("dlib", "arcface", "tight", "loose")  # align.framing.FRAMINGS (a test checks they agree)
FRAMING_CHOICES = ("auto", "photo", *FRAMING_NAMES)
# choice lists the command line offers, written once (the library modules import them from here)
KERNELS = ("bicubic", "bilinear", "area", "nearest")  # degrade.resize: downsampling kernels
FLIP_MODES = ("none", "sum", "concat")  # recognize.embeddings: flip fusion
INDEX_KINDS = ("flat", "ivf", "hnsw")  # search.gallery: FAISS index kinds
SEARCH_OVER = ("fused", "templates")  # search.gallery: fused identity templates, or every template
ID_METHODS = ("plain", "mitm")  # identification: the gallery's search, or meet in the middle
SR_SCALES = (2, 4, 8)  # models.sr: shipped face SR magnifications
