"""Degradations: resolution reduction (Knoche eq. 1) with selectable kernels."""
from .resize import (
                     KERNELS,
                     REFERENCE,
                     Reduce,
                     Resolution,
                     down_up,
                     framing_scale,
                     is_full,
                     parse_resolution,
                     resolution_label,
                     resolution_value,
                     target_size,
)

__all__ = ["KERNELS", "REFERENCE", "Reduce", "Resolution", "down_up", "framing_scale", "is_full",
           "parse_resolution", "resolution_label", "resolution_value", "target_size"]
