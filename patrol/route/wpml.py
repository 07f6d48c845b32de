"""DJI WPML routes (KMZ) for DJI Pilot 2 and FlightHub 2: writer and a validating reader.

Follows ../shared/reference/wpml-and-open311.md (DJI Cloud API WPML docs v1.11.3 and real exports):
a plain ZIP with exactly ``wpmz/template.kml`` and ``wpmz/waylines.wpml`` at its root, both
``<kml xmlns="http://www.opengis.net/kml/2.2" xmlns:wpml="http://www.dji.com/wpmz/1.0.2">`` (the
documented namespace version; exports use 1.0.6, which apps accept as well per the reference), one
waypoint template (templateId 0) and one wayline (waylineId 0). Heights are relativeToStartPoint in
both files (the reference's "simplest" pairing, 1.5), so template ``height``, ``ellipsoidHeight`` and
waylines ``executeHeight`` all carry the height above the take-off point, as in DJI's own sample.
Each photo waypoint has one action group: gimbalRotate to its pitch, then takePhoto (waylines files
have no per-point gimbal pitch; pitch changes are actions). MSDK needs at least 2 waypoints
(reference 1.11 pitfall 7): a one-spot route gets a second point 10 m above the first with a 1 s
hover, so that it still loads.
"""

from __future__ import annotations

import io
import math
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree as ET

from patrol.errors import InputError
from patrol.route.drones import DroneModel
from patrol.route.plan import Route

KML_NS = "http://www.opengis.net/kml/2.2"
WPML_NS = "http://www.dji.com/wpmz/1.0.2"
TEMPLATE_ENTRY = "wpmz/template.kml"
WAYLINES_ENTRY = "wpmz/waylines.wpml"
PAD_HEIGHT_M = 10.0

ET.register_namespace("", KML_NS)
ET.register_namespace("wpml", WPML_NS)


@dataclass(frozen=True)
class MissionOptions:
    """missionConfig and wayline settings. Speeds m/s, heights m above the take-off point."""

    speed_m_s: float = 8.0
    takeoff_security_height_m: float = 20.0
    rth_height_m: float | None = None  # None: the route's highest waypoint + 20 m
    finish_action: str = "goHome"
    author: str = "patrol"
    created_at: datetime | None = None  # None: now

    def __post_init__(self) -> None:
        if not (self.speed_m_s > 0):
            raise ValueError(f"speed_m_s must be > 0, got {self.speed_m_s}")
        if not (1.2 <= self.takeoff_security_height_m <= 1500):
            raise ValueError("takeoff_security_height_m must be within [1.2, 1500] m (RC)")
        if self.finish_action not in ("goHome", "noAction", "autoLand", "gotoFirstWaypoint"):
            raise ValueError(f"unknown finish_action {self.finish_action!r}")


@dataclass(frozen=True)
class _Point:
    index: int
    lon_deg: float
    lat_deg: float
    height_m: float
    pitch_deg: float
    photo: bool  # False: the padding point (hover only)


def _points(route: Route) -> list[_Point]:
    pts = [_Point(w.index, w.lon_deg, w.lat_deg, w.height_m, w.gimbal_pitch_deg, True) for w in route.waypoints]
    if len(pts) == 1:
        p = pts[0]
        pts.append(_Point(1, p.lon_deg, p.lat_deg, p.height_m + PAD_HEIGHT_M, p.pitch_deg, False))
    return pts


def _num(v: float) -> str:
    return f"{v:.8f}".rstrip("0").rstrip(".") if isinstance(v, float) and not float(v).is_integer() else str(int(v))


def _w(parent: ET.Element, tag: str, text: object | None = None) -> ET.Element:
    el = ET.SubElement(parent, f"{{{WPML_NS}}}{tag}")
    if text is not None:
        el.text = _num(text) if isinstance(text, float) else str(text)
    return el


def _k(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    el = ET.SubElement(parent, f"{{{KML_NS}}}{tag}")
    if text is not None:
        el.text = text
    return el


def _mission_config(doc: ET.Element, drone: DroneModel, opt: MissionOptions, rth_m: float) -> None:
    mc = _w(doc, "missionConfig")
    _w(mc, "flyToWaylineMode", "safely")
    _w(mc, "finishAction", opt.finish_action)
    _w(mc, "exitOnRCLost", "executeLostAction")
    _w(mc, "executeRCLostAction", "goBack")
    _w(mc, "takeOffSecurityHeight", float(opt.takeoff_security_height_m))
    _w(mc, "globalTransitionalSpeed", float(min(opt.speed_m_s, drone.max_speed_m_s)))
    _w(mc, "globalRTHHeight", float(rth_m))
    di = _w(mc, "droneInfo")
    _w(di, "droneEnumValue", drone.drone_enum)
    _w(di, "droneSubEnumValue", drone.drone_sub_enum)
    pi = _w(mc, "payloadInfo")
    _w(pi, "payloadEnumValue", drone.payload_enum)
    _w(pi, "payloadSubEnumValue", 0)
    _w(pi, "payloadPositionIndex", 0)


def _action_group(pm: ET.Element, group_id: int, p: _Point) -> None:
    ag = _w(pm, "actionGroup")
    _w(ag, "actionGroupId", group_id)
    _w(ag, "actionGroupStartIndex", p.index)
    _w(ag, "actionGroupEndIndex", p.index)
    _w(ag, "actionGroupMode", "sequence")
    _w(_w(ag, "actionTrigger"), "actionTriggerType", "reachPoint")
    if not p.photo:
        a = _w(ag, "action")
        _w(a, "actionId", 0)
        _w(a, "actionActuatorFunc", "hover")
        _w(_w(a, "actionActuatorFuncParam"), "hoverTime", 1)
        return
    a = _w(ag, "action")
    _w(a, "actionId", 0)
    _w(a, "actionActuatorFunc", "gimbalRotate")
    par = _w(a, "actionActuatorFuncParam")
    for tag, val in (("gimbalHeadingYawBase", "north"), ("gimbalRotateMode", "absoluteAngle"), ("gimbalPitchRotateEnable", 1),
                     ("gimbalPitchRotateAngle", float(p.pitch_deg)), ("gimbalRollRotateEnable", 0), ("gimbalRollRotateAngle", 0),
                     ("gimbalYawRotateEnable", 0), ("gimbalYawRotateAngle", 0), ("gimbalRotateTimeEnable", 0),
                     ("gimbalRotateTime", 0), ("payloadPositionIndex", 0)):
        _w(par, tag, val)
    a = _w(ag, "action")
    _w(a, "actionId", 1)
    _w(a, "actionActuatorFunc", "takePhoto")
    par = _w(a, "actionActuatorFuncParam")
    _w(par, "fileSuffix", f"wp{p.index}")
    _w(par, "payloadPositionIndex", 0)
    _w(par, "useGlobalPayloadLensIndex", 1)


def _point_el(folder: ET.Element, p: _Point) -> ET.Element:
    pm = _k(folder, "Placemark")
    _k(_k(pm, "Point"), "coordinates", f"{p.lon_deg:.8f},{p.lat_deg:.8f}")  # lon,lat (KML order)
    _w(pm, "index", p.index)
    return pm


def _serialise(root: ET.Element) -> bytes:
    ET.indent(root)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8", xml_declaration=False) + b"\n"


def _rth(route: Route, opt: MissionOptions) -> float:
    return opt.rth_height_m if opt.rth_height_m is not None else max(p.height_m for p in _points(route)) + 20.0


def template_kml(route: Route, drone: DroneModel, opt: MissionOptions) -> bytes:
    """wpmz/template.kml: the editable waypoint template (Pilot 2 / FlightHub 2 re-generate from it)."""
    pts = _points(route)
    root = ET.Element(f"{{{KML_NS}}}kml")
    doc = _k(root, "Document")
    ms = str(int((opt.created_at or datetime.now(UTC)).timestamp() * 1000))
    _w(doc, "author", opt.author)
    _w(doc, "createTime", ms)
    _w(doc, "updateTime", ms)
    _mission_config(doc, drone, opt, _rth(route, opt))
    folder = _k(doc, "Folder")
    _w(folder, "templateType", "waypoint")
    _w(folder, "templateId", 0)
    cs = _w(folder, "waylineCoordinateSysParam")
    _w(cs, "coordinateMode", "WGS84")
    _w(cs, "heightMode", "relativeToStartPoint")
    speed = float(min(opt.speed_m_s, drone.max_speed_m_s))
    _w(folder, "autoFlightSpeed", speed)
    _w(folder, "globalHeight", float(pts[0].height_m))
    _w(folder, "gimbalPitchMode", "usePointSetting")
    gh = _w(folder, "globalWaypointHeadingParam")
    _w(gh, "waypointHeadingMode", "followWayline")
    _w(gh, "waypointHeadingPathMode", "followBadArc")
    _w(folder, "globalWaypointTurnMode", "toPointAndStopWithDiscontinuityCurvature")
    _w(folder, "globalUseStraightLine", 1)
    for p in pts:
        pm = _point_el(folder, p)
        _w(pm, "ellipsoidHeight", float(p.height_m))  # same point; relativeToStartPoint (see module doc)
        _w(pm, "height", float(p.height_m))
        _w(pm, "useGlobalHeight", 0)  # heights differ per point (a finer category flies lower)
        _w(pm, "useGlobalSpeed", 1)
        _w(pm, "useGlobalHeadingParam", 1)
        _w(pm, "useGlobalTurnParam", 1)
        _w(pm, "gimbalPitchAngle", float(p.pitch_deg))
        _action_group(pm, p.index, p)
    pp = _w(folder, "payloadParam")
    _w(pp, "payloadPositionIndex", 0)
    _w(pp, "imageFormat", "wide")
    return _serialise(root)


def waylines_wpml(route: Route, drone: DroneModel, opt: MissionOptions) -> bytes:
    """wpmz/waylines.wpml: what the aircraft executes (everything explicit, no useGlobal* flags)."""
    pts = _points(route)
    root = ET.Element(f"{{{KML_NS}}}kml")
    doc = _k(root, "Document")
    _mission_config(doc, drone, opt, _rth(route, opt))
    folder = _k(doc, "Folder")
    _w(folder, "templateId", 0)
    _w(folder, "executeHeightMode", "relativeToStartPoint")
    _w(folder, "waylineId", 0)
    speed = float(min(opt.speed_m_s, drone.max_speed_m_s))
    _w(folder, "autoFlightSpeed", speed)
    for p in pts:
        pm = _point_el(folder, p)
        _w(pm, "executeHeight", float(p.height_m))
        _w(pm, "waypointSpeed", speed)
        hp = _w(pm, "waypointHeadingParam")
        _w(hp, "waypointHeadingMode", "followWayline")
        _w(hp, "waypointHeadingPathMode", "followBadArc")
        tp = _w(pm, "waypointTurnParam")
        _w(tp, "waypointTurnMode", "toPointAndStopWithDiscontinuityCurvature")
        _w(tp, "waypointTurnDampingDist", 0)
        _w(pm, "useStraightLine", 1)
        _action_group(pm, p.index, p)
        _w(pm, "isRisky", 0)
    return _serialise(root)


def kmz_bytes(route: Route, drone: DroneModel, opt: MissionOptions) -> bytes:
    """The KMZ archive: exactly the two wpmz/ entries at the root (no folder prefix)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr(TEMPLATE_ENTRY, template_kml(route, drone, opt))
        z.writestr(WAYLINES_ENTRY, waylines_wpml(route, drone, opt))
    return buf.getvalue()


# --- reading back (validation; also what `patrol sim flight --waypoints` flies) -------------------------


@dataclass(frozen=True)
class KmzPoint:
    index: int
    lon_deg: float
    lat_deg: float
    height_m: float
    gimbal_pitch_deg: float | None
    actions: tuple[str, ...]  # actionActuatorFunc of its action groups, in order
    action_group_ids: tuple[int, ...]


@dataclass(frozen=True)
class KmzRoute:
    drone_enum: int
    drone_sub_enum: int
    payload_enum: int
    height_mode: str
    points: tuple[KmzPoint, ...]  # from waylines.wpml, by index


def _t(el: ET.Element, path: str, where: str) -> str:
    found = el.find(path, {"k": KML_NS, "w": WPML_NS})
    if found is None or found.text is None or not found.text.strip():
        raise ValueError(f"{where}: missing {path.replace('w:', 'wpml:').replace('k:', '')}")
    return found.text.strip()


MISSION_REQUIRED = ("flyToWaylineMode", "finishAction", "exitOnRCLost", "executeRCLostAction", "takeOffSecurityHeight",
                    "globalTransitionalSpeed", "globalRTHHeight", "droneInfo/w:droneEnumValue", "droneInfo/w:droneSubEnumValue",
                    "payloadInfo/w:payloadEnumValue", "payloadInfo/w:payloadPositionIndex")


def _parse_points(folder: ET.Element, where: str, height_tag: str) -> list[KmzPoint]:
    ns = {"k": KML_NS, "w": WPML_NS}
    out = []
    for i, pm in enumerate(folder.findall("k:Placemark", ns)):
        w = f"{where} Placemark {i}"
        lon_s, lat_s = _t(pm, "k:Point/k:coordinates", w).split(",")[:2]
        lon, lat = float(lon_s), float(lat_s)
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValueError(f"{w}: coordinates {lon_s},{lat_s} are not lon,lat")
        pitch = pm.find("w:gimbalPitchAngle", ns)
        groups = pm.findall("w:actionGroup", ns)
        ids, funcs = [], []
        for g in groups:
            gid = int(_t(g, "w:actionGroupId", w))
            s, e = int(_t(g, "w:actionGroupStartIndex", w)), int(_t(g, "w:actionGroupEndIndex", w))
            if not s <= e:
                raise ValueError(f"{w}: actionGroup {gid} start index {s} > end index {e}")
            _t(g, "w:actionTrigger/w:actionTriggerType", w)
            aids = [int(_t(a, "w:actionId", w)) for a in g.findall("w:action", ns)]
            if aids != list(range(len(aids))):
                raise ValueError(f"{w}: actionGroup {gid} actionIds {aids} are not 0..n-1")
            ids.append(gid)
            funcs += [_t(a, "w:actionActuatorFunc", w) for a in g.findall("w:action", ns)]
        out.append(KmzPoint(int(_t(pm, "w:index", w)), lon, lat, float(_t(pm, f"w:{height_tag}", w)),
                            None if pitch is None or pitch.text is None else float(pitch.text), tuple(funcs), tuple(ids)))
    return out


def _check_points(points: Sequence[KmzPoint], where: str) -> None:
    idx = [p.index for p in points]
    if idx != list(range(len(points))):
        raise ValueError(f"{where}: waypoint indices {idx} are not 0..n-1 in order")
    if len(points) < 2:
        raise ValueError(f"{where}: {len(points)} waypoint(s); DJI needs at least 2")
    gids = [g for p in points for g in p.action_group_ids]
    if len(gids) != len(set(gids)):
        raise ValueError(f"{where}: actionGroupIds {gids} are not unique")


def parse_kmz(data: bytes, name: str = "route.kmz") -> KmzRoute:
    """Parse and validate a WPML KMZ (entries, namespaces, required elements, contiguous indices,
    lon,lat coordinates, unique ids, both files describing the same points). Unknown wpml elements
    are ignored, as DJI's apps do. InputError naming the file and the problem."""
    from defusedxml import ElementTree as DET

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = z.namelist()
            if TEMPLATE_ENTRY not in names or WAYLINES_ENTRY not in names:
                raise ValueError(f"entries {names}: expected {TEMPLATE_ENTRY} and {WAYLINES_ENTRY} at the archive root")
            roots = {e: DET.fromstring(z.read(e)) for e in (TEMPLATE_ENTRY, WAYLINES_ENTRY)}
        ns = {"k": KML_NS, "w": WPML_NS}
        parsed = {}
        for entry, root in roots.items():
            if root.tag != f"{{{KML_NS}}}kml":
                raise ValueError(f"{entry}: root element {root.tag}, expected {{{KML_NS}}}kml")
            doc = root.find("k:Document", ns)
            if doc is None:
                raise ValueError(f"{entry}: no Document")
            for req in MISSION_REQUIRED:
                _t(doc, f"w:missionConfig/w:{req}", entry)
            folders = doc.findall("k:Folder", ns)
            if len(folders) != 1:
                raise ValueError(f"{entry}: {len(folders)} Folders, expected 1")
            parsed[entry] = (doc, folders[0])
        tdoc, tfolder = parsed[TEMPLATE_ENTRY]
        wdoc, wfolder = parsed[WAYLINES_ENTRY]
        if _t(tfolder, "w:templateId", TEMPLATE_ENTRY) != "0" or _t(wfolder, "w:templateId", WAYLINES_ENTRY) != "0":
            raise ValueError("templateId must be 0 in both files")
        _t(wfolder, "w:waylineId", WAYLINES_ENTRY)
        mode_t = _t(tfolder, "w:waylineCoordinateSysParam/w:heightMode", TEMPLATE_ENTRY)
        mode_w = _t(wfolder, "w:executeHeightMode", WAYLINES_ENTRY)
        if (mode_t, mode_w) not in (("relativeToStartPoint", "relativeToStartPoint"), ("EGM96", "WGS84"), ("aboveGroundLevel", "WGS84")):
            raise ValueError(f"height modes do not pair: template {mode_t}, waylines {mode_w}")
        tpts = _parse_points(tfolder, TEMPLATE_ENTRY, "height")
        wpts = _parse_points(wfolder, WAYLINES_ENTRY, "executeHeight")
        _check_points(tpts, TEMPLATE_ENTRY)
        _check_points(wpts, WAYLINES_ENTRY)
        if [(p.lon_deg, p.lat_deg) for p in tpts] != [(p.lon_deg, p.lat_deg) for p in wpts]:
            raise ValueError("template.kml and waylines.wpml place their waypoints differently")
        enums = [tuple(_t(d, f"w:missionConfig/w:{k}", "missionConfig") for k in MISSION_REQUIRED[7:10]) for d in (tdoc, wdoc)]
        if enums[0] != enums[1]:
            raise ValueError(f"drone/payload enums differ between the files: {enums}")
        pitch = {p.index: p.gimbal_pitch_deg for p in tpts}
        points = tuple(KmzPoint(p.index, p.lon_deg, p.lat_deg, p.height_m, pitch.get(p.index), p.actions, p.action_group_ids) for p in wpts)
        de, ds, pe = (int(v) for v in enums[0])
        return KmzRoute(de, ds, pe, mode_w, points)
    except (ValueError, KeyError, zipfile.BadZipFile, ET.ParseError) as e:
        raise InputError(name, f"not a valid DJI WPML route: {e}") from e
    except Exception as e:  # defusedxml refusals (entities, DTDs)
        if type(e).__module__.startswith("defusedxml"):
            raise InputError(name, f"refused XML: {e}") from e
        raise


def read_kmz(path: str | Path) -> KmzRoute:
    """``parse_kmz`` of a file; InputError when it cannot be read."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise InputError(p, f"cannot read: {e.strerror or e}") from e
    return parse_kmz(data, str(p))


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (mean Earth radius)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(min(1.0, a)))
