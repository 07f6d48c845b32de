"""Zones and grid cells from a GeoJSON FeatureCollection (WGS84), an STRtree over them, and the rules
that turn a detector class at a place into a violation category.

GeoJSON layout (DESIGN.md): each feature has ``properties.kind`` in ``road | sidewalk | no_parking |
no_vending | grid_cell``, ``properties.name``, and for grid cells ``properties.unit`` (the responsible
unit a case is dispatched to). Geometries are Polygon or MultiPolygon in (lon, lat) degrees.

Rules (``settings.rules.rules``): detector class -> zone kind -> category, plus two special keys.
``"*"`` means anywhere, with or without a zones file. ``"no_zones"`` (``NO_ZONES``) is the fallback
for a flight without zones: the class's category when there is no zones file (or one holding only
grid cells, which assign units but say nothing about where a violation is). With zones, a
zone-specific rule wins when the point lies in such a zone (it names the zone on the finding), then
``"*"``; without zones, ``"no_zones"`` then ``"*"``.

The defaults follow DESIGN.md ("public space"): a vehicle is ``illegal_parking`` in a no-parking zone
or on a sidewalk (without zones it is only counted); a vendor stall is ``street_vending`` in a
no-vending zone, on a sidewalk or on a road (not on a roof, in a park or a courtyard); road damage is
``road_damage`` on a road; garbage is ``exposed_garbage`` anywhere. Without zones every stall, road
damage and garbage is reported (the ``"no_zones"`` entries). A city that tolerates stalls outside
its no-vending zones deletes ``sidewalk`` and ``road`` from ``vendor_stall``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from patrol.errors import ConfigError

ZONE_KINDS: tuple[str, ...] = ("road", "sidewalk", "no_parking", "no_vending", "grid_cell")
CATEGORIES: tuple[str, ...] = ("illegal_parking", "street_vending", "road_damage", "exposed_garbage")
ANYWHERE = "*"
FAR_FROM_FLIGHT_KM = 50.0  # zones farther than this from a flight cannot be its city's
NO_ZONES = "no_zones"  # rule key: the category when the flight has no zones to judge by

# GeoJSON (2008) "crs" names that mean WGS84 lon/lat; anything else is rejected.
_WGS84_NAMES = {
    "urn:ogc:def:crs:ogc:1.3:crs84",
    "urn:ogc:def:crs:epsg::4326",
    "epsg:4326",
    "crs84",
    "ogc:crs84",
}


@dataclass(frozen=True)
class Zone:
    """One zone feature. ``index`` is its position in the file; ``geometry`` a shapely (Multi)Polygon
    in (lon_deg, lat_deg)."""

    index: int
    name: str
    kind: str
    unit: str | None
    geometry: Any = field(compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in ZONE_KINDS:
            raise ValueError(f"kind must be one of {', '.join(ZONE_KINDS)}, got {self.kind!r}")
        if self.kind == "grid_cell" and not self.unit:
            raise ValueError(f"grid cell {self.name!r} needs a unit")

    @property
    def __geo_interface__(self) -> dict[str, Any]:
        return {
            "type": "Feature",
            "geometry": self.geometry.__geo_interface__,
            "properties": {"kind": self.kind, "name": self.name, "unit": self.unit},
        }


@dataclass(frozen=True)
class Placement:
    """What the zones say about one point: the category (None = not a violation), the zone that set
    it (or the smallest non-grid zone there), and the grid cell with its unit."""

    category: str | None
    zone_name: str | None
    zone_kind: str | None
    grid_cell: str | None
    unit: str | None


class Zones:
    """An immutable set of zones with an STRtree index. Build with ``parse_zones``/``load_zones``;
    ``Zones.empty()`` is the no-zones-file case."""

    def __init__(self, zones: Sequence[Zone], source: str = "", warnings: Sequence[str] = ()) -> None:
        from shapely import STRtree

        self._zones: tuple[Zone, ...] = tuple(zones)
        self.source = source
        self.warnings: tuple[str, ...] = tuple(warnings)  # one line each: ambiguous but usable features
        self._tree = STRtree([z.geometry for z in self._zones]) if self._zones else None
        self._has_areas = any(z.kind != "grid_cell" for z in self._zones)

    @classmethod
    def empty(cls) -> Zones:
        return cls((), "")

    def __len__(self) -> int:
        return len(self._zones)

    def __iter__(self):
        return iter(self._zones)

    @property
    def zones(self) -> tuple[Zone, ...]:
        return self._zones

    @property
    def has_areas(self) -> bool:
        """True when some zone is not a grid cell: only then do the rules' zone kinds apply (a file of
        grid cells alone assigns units and counts as no zones for the rules and for ROI tiling)."""
        return self._has_areas

    def check_against_flight(self, lat_deg: float, lon_deg: float, max_km: float = FAR_FROM_FLIGHT_KM) -> str | None:
        """Decide from the data whether the zones can belong to a flight centred at (lat, lon).

        ConfigError when the zones lie far from the flight but would lie at it with longitude and
        latitude swapped (a layer exported as lat,lon). Returns a warning line when they are simply far
        from it (a zones file of another city), None when they are near.
        """
        if not self._zones:
            return None
        from shapely.geometry import Point

        from patrol.geo.crs import LocalFrame

        def km_to(geom: Any, lat: float, lon: float) -> float:
            if not (-90.0 <= lat <= 90.0):
                return math.inf
            frame = LocalFrame(lat, lon)
            c = geom.representative_point()
            if not (-90.0 <= c.y <= 90.0):
                return math.inf
            e, n = frame.to_local(c.y, c.x)
            return math.hypot(e, n) / 1000.0

        from shapely import transform, union_all

        every = union_all([z.geometry for z in self._zones])
        near = km_to(every, lat_deg, lon_deg)
        if near <= max_km or Point(lon_deg, lat_deg).within(every.envelope):
            return None
        swapped = transform(every, lambda xy: xy[:, ::-1])
        if km_to(swapped, lat_deg, lon_deg) <= max_km:
            raise ConfigError(
                f"{self.source}: the zones lie {near:.0f} km from the flight at ({lat_deg:.5f}, {lon_deg:.5f}) but "
                "right at it with longitude and latitude swapped: GeoJSON is [longitude, latitude]; fix the export"
            )
        return f"{self.source}: the zones lie {near:.0f} km from the flight at ({lat_deg:.5f}, {lon_deg:.5f}): none of them applies to it"

    def containing(self, lat_deg: float, lon_deg: float) -> list[Zone]:
        """Zones whose polygon contains or touches the point, smallest area first, then by name."""
        if self._tree is None:
            return []
        from shapely import Point

        idx = self._tree.query(Point(lon_deg, lat_deg), predicate="intersects")
        hits = [self._zones[int(i)] for i in idx]
        return sorted(hits, key=lambda z: (z.geometry.area, z.name, z.index))

    def grid_cell_at(self, lat_deg: float, lon_deg: float) -> Zone | None:
        """The grid cell at the point (the smallest, then first by name, on a shared edge), or None."""
        for z in self.containing(lat_deg, lon_deg):
            if z.kind == "grid_cell":
                return z
        return None

    def place(self, class_name: str, lat_deg: float, lon_deg: float, rules: Mapping[str, Mapping[str, str]]) -> Placement:
        """Category, zone, grid cell and unit for an object of ``class_name`` at the point."""
        hits = self.containing(lat_deg, lon_deg)
        grid = next((z for z in hits if z.kind == "grid_cell"), None)
        areas = [z for z in hits if z.kind != "grid_cell"]
        category, zone = categorize(class_name, areas, rules, have_zones=self.has_areas)
        if zone is None and areas:
            zone = areas[0]
        return Placement(
            category=category,
            zone_name=zone.name if zone else None,
            zone_kind=zone.kind if zone else None,
            grid_cell=grid.name if grid else None,
            unit=grid.unit if grid else None,
        )


def categorize(
    class_name: str,
    zones_here: Sequence[Zone],
    rules: Mapping[str, Mapping[str, str]],
    have_zones: bool,
) -> tuple[str | None, Zone | None]:
    """Pure rule lookup: the category for ``class_name`` given the (non-grid) zones at its point.

    With zones (``have_zones``): zone kinds are tried in the order the class's rules list them, the
    smallest zone of a kind winning; then ``"*"``. Without zones: ``"no_zones"``, then ``"*"``.
    Returns (category or None, the zone that set it or None).
    """
    by_kind = rules.get(class_name, {})
    if not have_zones:
        category = by_kind.get(NO_ZONES, by_kind.get(ANYWHERE))
        return category, None
    for kind, category in by_kind.items():
        if kind in (ANYWHERE, NO_ZONES):
            continue
        for z in zones_here:
            if z.kind == kind:
                return category, z
    if ANYWHERE in by_kind:
        return by_kind[ANYWHERE], None
    return None, None


def roi_kinds_by_class(rules: Mapping[str, Mapping[str, str]]) -> dict[str, tuple[str, ...] | None]:
    """Per detector class, the zone kinds where it can be a violation when zones are given: the only
    places ROI tiling needs to look for it. None = anywhere (a ``"*"`` rule: no tile may be skipped
    for it); ``()`` = nowhere (a class whose rules name no zone kind). ``"no_zones"`` is ignored: ROI
    needs zones. Skipping follows the rules, never the other way round.
    """
    out: dict[str, tuple[str, ...] | None] = {}
    for cls, by_kind in rules.items():
        if ANYWHERE in by_kind:
            out[cls] = None
        else:
            out[cls] = tuple(sorted(k for k in by_kind if k != NO_ZONES))
    return out


def roi_zone_kinds(rules: Mapping[str, Mapping[str, str]]) -> tuple[str, ...] | None:
    """Zone kinds where some class can be a violation under ``rules`` (the union of
    ``roi_kinds_by_class``). None when some class is a violation anywhere (a ``"*"`` rule, e.g.
    exposed garbage by default). ROI tiling itself works per class (``roi_kinds_by_class``).
    """
    kinds: set[str] = set()
    for by_class in roi_kinds_by_class(rules).values():
        if by_class is None:
            return None
        kinds.update(by_class)
    return tuple(sorted(kinds))


def check_rules(rules: Mapping[str, Mapping[str, str]], classes: Sequence[str] | None = None) -> None:
    """Raise ConfigError for a rule naming an unknown zone kind or category (or class, if given)."""
    for cls, by_kind in rules.items():
        if classes is not None and cls not in classes:
            raise ConfigError(f"rules.rules.{cls}: unknown detector class; expected one of {', '.join(classes)}")
        for kind, category in by_kind.items():
            if kind not in (ANYWHERE, NO_ZONES) and kind not in ZONE_KINDS:
                raise ConfigError(
                    f"rules.rules.{cls}.{kind}: unknown zone kind; expected one of {', '.join(ZONE_KINDS)}, "
                    f"\"{ANYWHERE}\" (anywhere) or \"{NO_ZONES}\" (flights without zones)"
                )
            if kind == "grid_cell":
                raise ConfigError(f"rules.rules.{cls}.grid_cell: grid cells assign units, not categories")
            if category not in CATEGORIES:
                raise ConfigError(
                    f"rules.rules.{cls}.{kind}: unknown category {category!r}; expected one of {', '.join(CATEGORIES)}"
                )


def _feature_label(i: int, props: Mapping[str, Any]) -> str:
    name = props.get("name") if isinstance(props, Mapping) else None
    return f"feature {i} ({name!r})" if name else f"feature {i} (no name)"


def _check_wgs84_coords(geom: Any) -> str | None:
    """None when every vertex is a finite lon/lat, else the reason."""
    from shapely import get_coordinates

    coords = get_coordinates(geom)
    if coords.size == 0:
        return "has no coordinates"
    for lon, lat in coords:
        if not (math.isfinite(lon) and math.isfinite(lat)):
            return "has a non-finite coordinate"
        if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
            return (
                f"coordinate ({lon:g}, {lat:g}) is not WGS84 longitude/latitude in degrees "
                "(reproject the layer to EPSG:4326)"
            )
    return None


def parse_zones(data: Any, source: str = "zones") -> Zones:
    """Validate a decoded GeoJSON FeatureCollection and build Zones.

    Raises ConfigError naming ``source`` and the feature (index and name) on: not a
    FeatureCollection, a non-WGS84 ``crs``, an unknown or missing kind, a geometry that is not a
    valid Polygon/MultiPolygon (self-intersecting, too few points), coordinates outside lon/lat
    range, a grid cell without a unit, or two grid cells with the same name.
    """
    from shapely.geometry import shape
    from shapely.validation import explain_validity

    if not isinstance(data, Mapping) or data.get("type") != "FeatureCollection":
        raise ConfigError(f"{source}: expected a GeoJSON FeatureCollection")
    crs = data.get("crs")
    if crs is not None:
        name = ""
        if isinstance(crs, Mapping):
            name = str((crs.get("properties") or {}).get("name", ""))
        if name.lower() not in _WGS84_NAMES:
            raise ConfigError(f"{source}: crs {name or crs!r} is not WGS84; reproject the layer to EPSG:4326")
    features = data.get("features")
    if not isinstance(features, list):
        raise ConfigError(f"{source}: 'features' must be a list")
    zones: list[Zone] = []
    grid_names: dict[str, int] = {}
    other_names: dict[tuple[str, str], int] = {}
    warnings: list[str] = []
    for i, feat in enumerate(features):
        props = feat.get("properties") if isinstance(feat, Mapping) else None
        props = props if isinstance(props, Mapping) else {}
        label = f"{source}: {_feature_label(i, props)}"
        if not isinstance(feat, Mapping) or feat.get("type") != "Feature":
            raise ConfigError(f"{label}: not a GeoJSON Feature")
        kind = props.get("kind")
        if kind not in ZONE_KINDS:
            got = "missing" if kind is None else repr(kind)
            raise ConfigError(f"{label}: unknown kind {got}; expected one of {', '.join(ZONE_KINDS)}")
        name = props.get("name")
        if name is not None and not isinstance(name, str):
            raise ConfigError(f"{label}: name must be a string")
        name = name or f"{kind}-{i}"
        unit = props.get("unit")
        if unit is not None and not isinstance(unit, str):
            raise ConfigError(f"{label}: unit must be a string")
        if kind == "grid_cell":
            if not unit:
                raise ConfigError(f"{label}: grid_cell has no 'unit' (the responsible unit cases go to)")
            if name in grid_names:
                raise ConfigError(f"{label}: grid cell name {name!r} repeats feature {grid_names[name]}")
            grid_names[name] = i
        elif isinstance(props.get("name"), str):
            # a repeated name makes cases and reports ambiguous, but each zone still works
            if (kind, name) in other_names:
                warnings.append(f"{label}: {kind} name {name!r} repeats feature {other_names[(kind, name)]}; cases will not tell them apart")
            other_names.setdefault((kind, name), i)
        gj = feat.get("geometry")
        if not isinstance(gj, Mapping) or gj.get("type") not in ("Polygon", "MultiPolygon"):
            got = gj.get("type") if isinstance(gj, Mapping) else gj
            raise ConfigError(f"{label}: geometry must be a Polygon or MultiPolygon, got {got!r}")
        try:
            geom = shape(gj)
        except Exception as e:  # ValueError/TypeError/GEOSException (a ring with 2 points...)
            raise ConfigError(f"{label}: malformed geometry: {e}") from e
        reason = _check_wgs84_coords(geom)
        if reason:
            raise ConfigError(f"{label}: {reason}")
        if geom.is_empty or not geom.is_valid:
            why = "empty" if geom.is_empty else explain_validity(geom)
            raise ConfigError(f"{label}: invalid polygon: {why}")
        if geom.area <= 0.0:
            raise ConfigError(f"{label}: polygon has zero area")
        zones.append(Zone(index=i, name=name, kind=kind, unit=unit, geometry=geom))
    return Zones(zones, source, warnings)


def load_zones(path: str | Path | None) -> Zones:
    """Read and validate a zones GeoJSON file; None = no zones (``Zones.empty()``)."""
    if path is None:
        return Zones.empty()
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise ConfigError(f"{p}: zones file not found") from e
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{p}: cannot read zones file: {e}") from e
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"{p}: not valid JSON: {e}") from e
    return parse_zones(data, str(p))
