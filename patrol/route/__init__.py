"""Revisit routes: a drone flight over every case that waits for a check.

- ``plan`` (pure): spots -> clustered waypoints -> short tour -> routes that fit one battery.
- ``drones``: WPML enum values and camera geometry per aircraft.
- ``wpml``: DJI WPML KMZ (wpmz/template.kml + wpmz/waylines.wpml) writer and reader.
- ``formats``: plain KML and GeoJSON of a route.
- ``service``: the store's waiting cases -> a plan -> files, and which route a later flight flew.
"""
