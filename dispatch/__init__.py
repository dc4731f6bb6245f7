"""Outrider dispatch: the control-room service (incidents, dock choice, fleet, video, audit, UI).

The service is :func:`dispatch.app.create_app` around a :class:`dispatch.runtime.Runtime`;
``outrider dispatch`` runs it. This package imports nothing heavy so the command line stays fast.
"""

__all__: list[str] = []
