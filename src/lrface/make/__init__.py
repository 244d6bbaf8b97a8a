"""Generators of test data and benchmarks (``lrface make-*``): detection scenes, test videos,
the identification benchmark. Seeded; each writes its ground truth beside what it makes."""
