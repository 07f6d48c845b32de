"""`patrol sim flight|world` (synthetic city and flights with exact truth) and `patrol demo`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from patrol.cli.app import EXIT_OK, ConfigOpt, app, err, guarded, load, progress_enabled
from patrol.errors import InputError

sim_app = typer.Typer(help="Synthetic city and patrol flights with exact ground truth (demo, tests, training data).",
                      no_args_is_help=True)
app.add_typer(sim_app, name="sim")

SeedOpt = Annotated[int, typer.Option("--seed", help="World seed: the same seed gives the same city, bytes included.")]
SizeOpt = Annotated[float, typer.Option("--size-m", min=20.0, max=2000.0, help="World side in metres.")]
ResOpt = Annotated[float, typer.Option("--res-m", min=0.005, max=0.5, help="World raster resolution in metres per pixel.")]


def _progress(label: str):
    """A stderr progress bar for a person at a terminal; None otherwise."""
    if not progress_enabled():
        return None
    from patrol.progress import StderrProgress

    bar = StderrProgress()
    return lambda done, total: bar(label, done, total)


@sim_app.command("flight")
def flight_cmd(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the flight into (created).")],
    seed: SeedOpt = 0,
    frames: Annotated[int, typer.Option("--frames", min=1, max=5000, help="Number of photos.")] = 16,
    scenario: Annotated[str, typer.Option("--scenario", help="before (T0) or after (T1: some problems fixed, some new).")] = "before",
    path: Annotated[str, typer.Option("--path", help="lawnmower (nadir grid), oblique (grid, gimbal -60) or street (follow roads).")] = "lawnmower",
    altitude: Annotated[float | None, typer.Option("--altitude", help="Height above ground in metres (default: fit the frames to the world, 60-120 m).")] = None,
    pitch: Annotated[float | None, typer.Option("--pitch", help="Gimbal pitch in degrees, -90 = nadir (default by path).")] = None,
    heading: Annotated[float | None, typer.Option("--heading", help="Flight-line direction from north in degrees (default 0 before, 90 after).")] = None,
    gps_noise: Annotated[float, typer.Option("--gps-noise-m", min=0.0, help="GPS error written into the metadata (metres, RMS).")] = 1.5,
    yaw_noise: Annotated[float, typer.Option("--yaw-noise-deg", min=0.0, help="Yaw error written into the metadata (degrees, sigma).")] = 1.0,
    size_m: SizeOpt = 300.0,
    res_m: ResOpt = 0.03,
    waypoints: Annotated[Path | None, typer.Option("--waypoints", help="Follow a route: one photo at each waypoint of a `patrol route` KMZ (or DJI WPML KMZ).")] = None,
    image_px: Annotated[str | None, typer.Option("--image-px", help="Photo size WxH (default 4000x3000), e.g. 1200x900 for quick tests.")] = None,
) -> None:
    """Fly a drone over the synthetic city and write its photos with exact ground truth.

    Writes OUT/DJI_0001.JPG... (4000x3000, EXIF GPS and DJI drone-dji XMP with a noisy pose, read by
    `patrol ingest` like a real DJI photo), OUT/zones.geojson, OUT/truth.json (objects with their
    world polygons and, for --scenario after, status fixed|remaining|new; every frame's exact pose and
    boxes) and OUT/labels/*.txt (YOLO).
    """

    def run() -> int:
        from patrol.errors import ConfigError
        from patrol.sim.flight import FlightSpec, run_flight

        extra: dict = {}
        if waypoints is not None:
            from patrol.route.wpml import read_kmz

            pts = read_kmz(waypoints).points
            extra["waypoints"] = tuple((p.lat_deg, p.lon_deg, p.height_m, p.gimbal_pitch_deg if p.gimbal_pitch_deg is not None else -90.0)
                                       for p in pts if "takePhoto" in p.actions)
        if image_px is not None:
            try:
                w_px, h_px = (int(v) for v in image_px.lower().split("x"))
            except ValueError as e:
                raise ConfigError(f"--image-px: expected WxH such as 1200x900, got {image_px!r}") from e
            extra["image_wh"] = (w_px, h_px)
        try:
            spec = FlightSpec(seed=seed, frames=len(extra["waypoints"]) if "waypoints" in extra else frames, scenario=scenario,
                              path="waypoints" if waypoints is not None else path, altitude_m=altitude, pitch_deg=pitch,
                              heading_deg=heading, gps_sigma_m=gps_noise, yaw_sigma_deg=yaw_noise, size_m=size_m, res_m=res_m, **extra)
        except ValueError as e:
            raise ConfigError(str(e)) from e
        try:
            res = run_flight(out, spec, progress=_progress("render"))
        except OSError as e:
            raise InputError(out, f"cannot write the flight: {e.strerror or e}") from e
        t = res.truth
        n_prob = len(t.problems)
        typer.echo(f"wrote {len(res.files)} photos, zones.geojson and truth.json to {res.folder}")
        typer.echo(f"  world seed {seed}, {scenario}: {n_prob} problems"
                   + (f" ({', '.join(f'{k} {v}' for k, v in _count(o.status for o in t.problems).items())})" if scenario == "after" else ""))
        typer.echo(f"  camera FC6310 {t.intrinsics.size_wh[0]}x{t.intrinsics.size_wh[1]}, {t.flight['altitude_m']:.0f} m, "
                   f"pitch {t.flight['pitch_deg']:.0f}, render {res.seconds_render / max(1, len(res.files)):.2f} s/frame")
        return EXIT_OK

    raise typer.Exit(guarded(run))


def _count(items) -> dict:
    out: dict = {}
    for i in items:
        out[i] = out.get(i, 0) + 1
    return out


@sim_app.command("video")
def video_cmd(
    out: Annotated[Path, typer.Option("--out", help="Folder for DJI_0001.MP4, DJI_0001.SRT, truth.json, zones.geojson (created).")],
    seed: SeedOpt = 0,
    scenario: Annotated[str, typer.Option("--scenario", help="before or after.")] = "before",
    seconds: Annotated[float, typer.Option("--seconds", min=0.1, max=600.0, help="Clip length.")] = 8.0,
    fps: Annotated[float, typer.Option("--fps", min=1.0, max=60.0, help="Frames per second.")] = 10.0,
    altitude: Annotated[float, typer.Option("--altitude", min=10.0, max=500.0, help="Height above ground in metres.")] = 70.0,
    pitch: Annotated[float, typer.Option("--pitch", help="Gimbal pitch in degrees (-90 = nadir).")] = -70.0,
    size_m: SizeOpt = 300.0,
    res_m: ResOpt = 0.03,
) -> None:
    """Fly along the main street and write a 1920x1080 MP4 with a DJI-style .SRT telemetry sidecar and its truth."""

    def run() -> int:
        from patrol.errors import ConfigError
        from patrol.sim.video import VideoSpec, run_video

        try:
            spec = VideoSpec(seed=seed, scenario=scenario, seconds=seconds, fps=fps, altitude_m=altitude, pitch_deg=pitch,
                             size_m=size_m, res_m=res_m)
        except ValueError as e:
            raise ConfigError(str(e)) from e
        try:
            t = run_video(out, spec)
        except OSError as e:
            raise InputError(out, f"cannot write the video: {e.strerror or e}") from e
        typer.echo(f"wrote DJI_0001.MP4 ({len(t.frames)} frames, {fps:g} fps), DJI_0001.SRT, truth.json and zones.geojson to {out}")
        return EXIT_OK

    raise typer.Exit(guarded(run))


@sim_app.command("world")
def world_cmd(
    out: Annotated[Path, typer.Option("--out", help="Folder for world.jpg, objects.json and zones.geojson (created).")],
    seed: SeedOpt = 0,
    scenario: Annotated[str, typer.Option("--scenario", help="before or after.")] = "before",
    size_m: SizeOpt = 300.0,
    res_m: ResOpt = 0.03,
) -> None:
    """Write the synthetic city's top-down raster (world.jpg), its objects and its zones."""

    def run() -> int:
        import json

        import cv2

        from patrol.errors import ConfigError
        from patrol.sim.world import build_world, zones_geojson

        try:
            w = build_world(seed, scenario, size_m, res_m)
        except ValueError as e:
            raise ConfigError(str(e)) from e
        try:
            out.mkdir(parents=True, exist_ok=True)
            if not cv2.imwrite(str(out / "world.jpg"), w.image, [cv2.IMWRITE_JPEG_QUALITY, 90]):
                raise OSError(f"cannot write {out / 'world.jpg'}")
        except OSError as e:
            raise InputError(out, f"cannot write the world: {e.strerror or e}") from e
        objs = [{"id": o.id, "kind": o.kind, "class_name": o.class_name, "violation": o.violation, "status": o.status,
                 "present": o.present, "polygon_en": o.outline_en, "bbox_xyxy_px": b}
                for o, b in ((o, dict((x.id, bb) for x, bb in w.boxes_px(classes_only=False)).get(o.id)) for o in w.objects)]
        (out / "objects.json").write_text(json.dumps({"res_m": res_m, "size_m": size_m, "objects": objs}, indent=1), encoding="utf-8")
        (out / "zones.geojson").write_text(json.dumps(zones_geojson(w)), encoding="utf-8")
        typer.echo(f"wrote world.jpg ({w.image.shape[1]}x{w.image.shape[0]} px, {res_m} m/px), objects.json "
                   f"({len(w.objects)} objects) and zones.geojson to {out}")
        return EXIT_OK

    raise typer.Exit(guarded(run))


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for the demo flights and outputs.")] = Path("demo-out"),
    frames: Annotated[int, typer.Option("--frames", min=2, max=500, help="Photos per flight when generating.")] = 16,
    seed: SeedOpt = 7,
    detector: Annotated[str, typer.Option("--detector", help="auto (the bundled model if present, else truth), onnx, or truth "
                                          "(the simulator's true boxes).")] = "auto",
    config: ConfigOpt = None,
) -> None:
    """Run the demo: a synthetic before/after flight pair (generated when absent), then the pipeline.

    Needs no network and no data besides the repository. Prints what it did and where the outputs are.
    """

    def run() -> int:
        from patrol.demo import run_demo

        from patrol.errors import ConfigError

        if detector not in ("auto", "onnx", "truth"):
            raise ConfigError(f"--detector: expected auto, onnx or truth, got {detector!r}")
        settings = load(config)
        result = run_demo(out, settings, frames=frames, seed=seed, log=err, detector=detector)
        for line in result.lines():
            typer.echo(line)
        return result.exit_code

    raise typer.Exit(guarded(run))
