"""CAD adapters, one module each behind :class:`~dispatch.interop.cad.base.CadAdapter`."""

from dispatch.interop.cad.base import CadAction, CadAdapter, CadMessage
from dispatch.interop.cad.eido import EidoAdapter
from dispatch.interop.cad.generic import GenericAdapter

__all__ = ["ADAPTERS", "CadAction", "CadAdapter", "CadMessage", "EidoAdapter", "GenericAdapter"]

ADAPTERS: dict[str, CadAdapter] = {a.key: a for a in (EidoAdapter(), GenericAdapter())}
