"""A route as plain KML (Google Earth, QGIS) and as GeoJSON: waypoints and the flight path."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

from patrol.route.plan import Route

KML_NS = "http://www.opengis.net/kml/2.2"


def _props(route: Route, name: str) -> dict[str, object]:
    return {
        "name": name,
        "part": route.part,
        "waypoints": len(route.waypoints),
        "cases": len(route.case_ids),
        "length_m": round(route.length_m, 1),
        "naive_length_m": round(route.naive_length_m, 1),
        "takeoff_lat_deg": route.takeoff_latlon[0] if route.takeoff_latlon else None,
        "takeoff_lon_deg": route.takeoff_latlon[1] if route.takeoff_latlon else None,
    }


def route_geojson(route: Route, name: str) -> str:
    """FeatureCollection: one Point per waypoint (index, height above take-off, pitch, case ids,
    categories, GSD) and one LineString of the tour in order; coordinates (lon, lat)."""
    feats: list[dict[str, object]] = []
    for w in route.waypoints:
        feats.append({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [w.lon_deg, w.lat_deg]},
            "properties": {"kind": "waypoint", "index": w.index, "height_m": w.height_m, "height_ref": "takeoff",
                           "gimbal_pitch_deg": w.gimbal_pitch_deg, "case_ids": list(w.case_ids),
                           "categories": list(w.categories), "gsd_m": round(w.gsd_m, 4), "max_offset_m": round(w.max_offset_m, 1)},
        })
    line = [[w.lon_deg, w.lat_deg] for w in route.waypoints]
    if route.takeoff_latlon is not None:
        t = [route.takeoff_latlon[1], route.takeoff_latlon[0]]
        line = [t, *line, t]
    if len(line) >= 2:
        feats.append({"type": "Feature", "geometry": {"type": "LineString", "coordinates": line},
                      "properties": {"kind": "path", **_props(route, name)}})
    return json.dumps({"type": "FeatureCollection", "name": name, "properties": _props(route, name), "features": feats}, indent=1)


def route_kml(route: Route, name: str) -> bytes:
    """Plain KML 2.2: a Placemark per waypoint (altitude relative to the ground, i.e. the take-off
    height on flat ground) and a LineString of the path."""
    ET.register_namespace("", KML_NS)
    root = ET.Element(f"{{{KML_NS}}}kml")
    doc = ET.SubElement(root, f"{{{KML_NS}}}Document")
    ET.SubElement(doc, f"{{{KML_NS}}}name").text = name
    p = _props(route, name)
    ET.SubElement(doc, f"{{{KML_NS}}}description").text = (
        f"revisit route part {route.part}: {p['waypoints']} waypoints, {p['cases']} cases, "
        f"{route.length_m:.0f} m (case-id order {route.naive_length_m:.0f} m)")
    for w in route.waypoints:
        pm = ET.SubElement(doc, f"{{{KML_NS}}}Placemark")
        ET.SubElement(pm, f"{{{KML_NS}}}name").text = f"wp {w.index}"
        ET.SubElement(pm, f"{{{KML_NS}}}description").text = (
            f"cases {', '.join(map(str, w.case_ids))} ({', '.join(w.categories)}); {w.height_m:g} m above take-off, "
            f"pitch {w.gimbal_pitch_deg:g}, {w.gsd_m * 100:.1f} cm/px")
        pt = ET.SubElement(pm, f"{{{KML_NS}}}Point")
        ET.SubElement(pt, f"{{{KML_NS}}}altitudeMode").text = "relativeToGround"
        ET.SubElement(pt, f"{{{KML_NS}}}coordinates").text = f"{w.lon_deg:.8f},{w.lat_deg:.8f},{w.height_m:g}"
    pm = ET.SubElement(doc, f"{{{KML_NS}}}Placemark")
    ET.SubElement(pm, f"{{{KML_NS}}}name").text = "path"
    ls = ET.SubElement(pm, f"{{{KML_NS}}}LineString")
    ET.SubElement(ls, f"{{{KML_NS}}}altitudeMode").text = "relativeToGround"
    ET.SubElement(ls, f"{{{KML_NS}}}coordinates").text = " ".join(f"{w.lon_deg:.8f},{w.lat_deg:.8f},{w.height_m:g}" for w in route.waypoints)
    ET.indent(root)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8") + b"\n"
