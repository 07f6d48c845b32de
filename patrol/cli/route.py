"""`patrol route`: a revisit flight (DJI WPML KMZ, KML or GeoJSON) over every case that waits for a check."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from patrol.cli.app import EXIT_OK, ConfigOpt, DbOpt, JsonOpt, app, guarded, load


def parse_latlon(text: str, option: str) -> tuple[float, float]:
    """'LAT,LON' in degrees -> (lat, lon). ConfigError naming ``option`` otherwise."""
    from patrol.errors import ConfigError

    try:
        lat_s, lon_s = text.split(",")
        lat, lon = float(lat_s), float(lon_s)
    except ValueError as e:
        raise ConfigError(f"{option}: expected LAT,LON in degrees (e.g. 39.9042,116.4074), got {text!r}") from e
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        raise ConfigError(f"{option}: {text!r} is not a position (latitude -90..90, longitude -180..180, not 0,0)")
    return lat, lon


@app.command()
def route(
    out: Annotated[Path, typer.Option("--out", help="Route file (several routes: NAME-1.kmz, NAME-2.kmz...).")],
    fmt: Annotated[str, typer.Option("--format", help="kmz (DJI WPML for Pilot 2 / FlightHub 2), kml or geojson.")] = "kmz",
    drone: Annotated[str, typer.Option("--drone", help="Aircraft: m30, m30t, m3e, m3t, m3m, m3d, m3td, m4e, m4t.")] = "m3e",
    height_m: Annotated[float, typer.Option("--height-m", help="Flight height above the take-off point (lower where a category needs a finer GSD).")] = 60.0,
    max_waypoints: Annotated[int, typer.Option("--max-waypoints", help="At most this many waypoints per route.")] = 200,
    max_length_m: Annotated[float, typer.Option("--max-length-m", help="At most this long per route, take-off to landing (one battery).")] = 8000.0,
    takeoff: Annotated[str | None, typer.Option("--takeoff", help="Take-off point LAT,LON (default: each route starts and ends at its first waypoint).")] = None,
    unit: Annotated[str | None, typer.Option("--unit", help="Only cases of this responsible unit.")] = None,
    category: Annotated[str | None, typer.Option("--category", help="Only cases of this violation category.")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only cases older than [cases] overdue_days.")] = False,
    speed: Annotated[float, typer.Option("--speed", help="Flight speed in m/s.")] = 8.0,
    db: DbOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Plan a revisit flight over every case waiting for a check (dispatched, still present, reopened,
    pending verification, or reported by a citizen or the hotline).

    One nadir photo per spot or per group of spots one photo shows at the GSD their category needs,
    ordered as a short tour (nearest neighbour + 2-opt; the length is printed against the case-id
    order), a takePhoto at each, heights relative to the take-off point. Cases spread over more than
    --max-length-m give several routes, one file each. The routes are recorded in the database so
    that `patrol process` of the photos says which route they came from. Exit 1 when no case waits
    (no file written) or a spot is out of reach, 2 for a bad option.
    """

    def run() -> int:
        from patrol.cases.model import CATEGORIES
        from patrol.errors import ConfigError
        from patrol.route.service import RouteFormat, RouteRequest, plan_revisit
        from patrol.store import open_store

        try:
            f = RouteFormat(fmt.strip().lower())
        except ValueError as e:
            raise ConfigError(f"--format: expected kmz, kml or geojson, got {fmt!r}") from e
        if category is not None and category not in CATEGORIES:
            raise ConfigError(f"--category: expected one of {', '.join(CATEGORIES)}, got {category!r}")
        if not (10.0 <= height_m <= 500.0):
            raise ConfigError(f"--height-m: must be within 10..500 m, got {height_m:g}")
        if max_length_m <= 0:
            raise ConfigError(f"--max-length-m: must be > 0, got {max_length_m:g}")
        base = parse_latlon(takeoff, "--takeoff") if takeoff else None
        settings = load(config, {"store": {"url": db}} if db else None)
        req = RouteRequest(out=out, fmt=f, drone=drone, height_m=height_m, max_waypoints=max_waypoints,
                           max_length_m=max_length_m, takeoff_latlon=base, unit=unit, category=category,
                           overdue=overdue, speed_m_s=speed)
        with open_store(settings.store.url, create=False) as store:
            res = plan_revisit(store, settings, req)
        p = res.plan
        if as_json:
            typer.echo(json.dumps({
                "drone": res.drone.key, "cases": list(p.case_ids), "length_m": round(p.length_m, 1),
                "naive_length_m": round(p.naive_length_m, 1),
                "routes": [{"route_id": rid, "file": str(fp), "waypoints": len(r.waypoints), "cases": list(r.case_ids),
                            "length_m": round(r.length_m, 1), "naive_length_m": round(r.naive_length_m, 1)}
                           for rid, fp, r in zip(res.route_ids, res.files, p.routes)],
            }, indent=2))
            return EXIT_OK
        n_wp = sum(len(r.waypoints) for r in p.routes)
        gain = 100.0 * (1 - p.length_m / p.naive_length_m) if p.naive_length_m > 0 else 0.0
        typer.echo(f"revisit of {len(p.case_ids)} cases: {n_wp} waypoints in {len(p.routes)} route(s), {res.drone.name}, "
                   f"{height_m:g} m above take-off")
        typer.echo(f"  tour {p.length_m:.0f} m (case-id order {p.naive_length_m:.0f} m, {gain:.0f}% shorter)")
        if not res.drone.enums_confirmed:
            typer.echo(f"  note: the WPML enum values for the {res.drone.name} are not in a stored DJI page (check the import)")
        for rid, fp, r in zip(res.route_ids, res.files, p.routes):
            typer.echo(f"  route {rid}: {fp} ({len(r.waypoints)} waypoints, {len(r.case_ids)} cases, {r.length_m:.0f} m)")
        return EXIT_OK

    raise typer.Exit(guarded(run))
