"""Recognition: one face in, one calibrated embedding and decision out.

``recognizer`` (detect, measure, align, embed, verify), ``routing`` (HR + LR expert by effective
resolution), ``embeddings`` (the on-disk embedding cache), ``quality`` (effective resolution),
``calibration`` / ``operating`` (thresholds at stated error rates), ``batches`` (many files at once)."""
