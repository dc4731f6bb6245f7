"""The city map: OpenStreetMap features, raster tiles drawn from them, and tile files.

A library shared by dispatch (which serves a tile file) and the simulator (whose camera
renders the same streets). It imports only :mod:`edge` (errors, geodesy); dispatch and sim
may import it, it imports neither. Reading OpenStreetMap needs the ``demo`` extra.
"""
