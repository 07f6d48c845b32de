"""KML 2.2 for Google Earth: one folder of cases, one of findings, a coloured style per category.

Built with ElementTree, so every name and description is escaped XML text (Google Earth shows it as
text, never runs it).
"""

from __future__ import annotations

from collections.abc import Iterable
from xml.etree import ElementTree as ET

from patrol.report.model import CaseRow, FindingCard, category_colour

KML_NS = "http://www.opengis.net/kml/2.2"


def _kml_colour(hex_rgb: str, alpha: str = "ff") -> str:
    """'#RRGGBB' -> KML 'aabbggrr'."""
    h = hex_rgb.lstrip("#")
    return f"{alpha}{h[4:6]}{h[2:4]}{h[0:2]}".lower()


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, f"{{{KML_NS}}}{tag}", attrs)
    if text is not None:
        el.text = text
    return el


def _style(doc: ET.Element, label: str) -> str:
    sid = f"cat-{label}"
    st = _sub(doc, "Style", id=sid)
    icon = _sub(st, "IconStyle")
    _sub(icon, "color", _kml_colour(category_colour(label)))
    _sub(icon, "scale", "1.1")
    _sub(_sub(icon, "Icon"), "href", "http://maps.google.com/mapfiles/kml/shapes/placemark_circle.png")
    poly = _sub(st, "PolyStyle")
    _sub(poly, "color", _kml_colour(category_colour(label), "66"))
    _sub(_sub(st, "LineStyle"), "color", _kml_colour(category_colour(label)))
    return sid


def _data(parent: ET.Element, values: dict[str, object]) -> None:
    ext = _sub(parent, "ExtendedData")
    for k, v in values.items():
        if v is None:
            continue
        _sub(_sub(ext, "Data", name=k), "value", str(v))


def _ring(parent: ET.Element, ring) -> None:
    _sub(_sub(_sub(parent, "outerBoundaryIs"), "LinearRing"), "coordinates",
         " ".join(f"{lon:.7f},{lat:.7f},0" for lon, lat in ring))


def to_kml(cases: Iterable[CaseRow] = (), findings: Iterable[FindingCard] = (), name: str = "patrol") -> str:
    """A KML document (text) of cases and findings."""
    ET.register_namespace("", KML_NS)
    root = ET.Element(f"{{{KML_NS}}}kml")
    doc = _sub(root, "Document")
    _sub(doc, "name", name)
    cases, findings = list(cases), list(findings)
    styles = {lab: _style(doc, lab) for lab in sorted({c.category for c in cases} | {f.label for f in findings})}
    if cases:
        folder = _sub(doc, "Folder")
        _sub(folder, "name", "Cases")
        for c in cases:
            pm = _sub(folder, "Placemark", id=f"case-{c.case_id}")
            _sub(pm, "name", f"case {c.case_id}: {c.category.replace('_', ' ')} ({c.status.replace('_', ' ')})")
            _sub(pm, "description", "\n".join(s for s in (
                f"unit: {c.unit or '-'}", f"zone: {c.zone or '-'}", f"grid cell: {c.grid_cell or '-'}",
                f"opened: {c.opened_at.isoformat()}", f"age: {c.age_days:.1f} days" + (" (overdue)" if c.overdue else ""),
            )))
            _sub(pm, "styleUrl", f"#{styles[c.category]}")
            _data(pm, {"case_id": c.case_id, "category": c.category, "status": c.status, "unit": c.unit,
                       "opened_at": c.opened_at.isoformat(), "overdue": str(c.overdue).lower()})
            _sub(_sub(pm, "Point"), "coordinates", f"{c.lon_deg:.7f},{c.lat_deg:.7f},0")
    if findings:
        folder = _sub(doc, "Folder")
        _sub(folder, "name", "Findings")
        for f in findings:
            pm = _sub(folder, "Placemark", id=f"finding-{f.finding_id}")
            _sub(pm, "name", f"{f.label.replace('_', ' ')} ({f.confidence:.2f})")
            _sub(pm, "description", f"zone: {f.zone or '-'}\nunit: {f.unit or '-'}\nframes: {len(f.frames_seen)}")
            _sub(pm, "styleUrl", f"#{styles[f.label]}")
            _data(pm, {"finding_id": f.finding_id, "category": f.category, "class_name": f.class_name,
                       "unit": f.unit, "case_id": f.case_id})
            multi = _sub(pm, "MultiGeometry")
            _sub(_sub(multi, "Point"), "coordinates", f"{f.lon_deg:.7f},{f.lat_deg:.7f},0")
            if f.polygon_wgs84:
                _ring(_sub(multi, "Polygon"), f.polygon_wgs84)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
