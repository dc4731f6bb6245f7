"""Interoperability: incidents from CAD systems, updates out to other systems, mutual aid."""
