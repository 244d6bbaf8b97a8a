"""Datasets and protocols: pair sets, identity folders, protocol files, the aligned-crop cache."""
