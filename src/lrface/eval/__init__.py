"""Evaluation: metrics, verification and identification protocols, reports."""
