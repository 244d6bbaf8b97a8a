"""Video: faces found, tracked (identity-checked) and named over frames (``scan``)."""
