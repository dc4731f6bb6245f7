"""Detector plugins, one module per runtime; each defines ``KEY``, a config and a detector."""
