"""Outrider: an open drone-as-first-responder system on PX4. This package is its command line."""

__version__ = "0.1.0"
__all__ = ["__version__"]
