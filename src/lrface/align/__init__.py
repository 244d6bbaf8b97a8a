"""Detection, landmarks and alignment: ``detect_faces`` then ``align(image, landmarks, style=...)``."""
from . import fivepoint  # noqa: F401  (registers scrfd, yunet8 and the tiled centerface)
from .detect import DEFAULT_DETECTOR, DETECTORS, Face, detect_faces, detector_names, landmarks_for_box
from .transform import (
                        ARCFACE_EYE_DISTANCE,
                        STYLES,
                        align,
                        arcface_matrix,
                        chip_eye_distance,
                        dlib_chip_matrix,
                        resize_crop,
                        similarity_transform,
)

__all__ = [
    "ARCFACE_EYE_DISTANCE", "DEFAULT_DETECTOR", "DETECTORS", "detector_names", "Face", "STYLES",
    "align", "arcface_matrix", "chip_eye_distance",
    "detect_faces", "dlib_chip_matrix", "landmarks_for_box", "resize_crop", "similarity_transform",
]
