"""CSGIS-Net training, reference model and exporters (PyTorch)."""
