"""`patrol ingest` and `patrol telemetry`: output formats and exit codes 0 / 1 / 2."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from patrol.cli import app
from patrol.ingest.summary import JSON_KEYS
from tests.conftest import shared_path
from tests.ingest.jpeggen import ASCII, RATIONAL, SHORT, build_tiff, dji_xmp, gps_entries, make_jpeg

runner = CliRunner()


def dji_photo(tmp_path, name="DJI_0001.JPG", lat=53.9, lon=27.5, pitch="-90.0"):
    tiff = build_tiff(
        [(0x010F, ASCII, "DJI"), (0x0110, ASCII, "FC220")],
        [(0x9003, ASCII, "2018:03:26 17:41:41"), (0x920A, RATIONAL, [(473, 100)]), (0xA405, SHORT, [26])],
        gps_entries(lat, lon, 336.6),
    )
    xmp = dji_xmp({"RelativeAltitude": "+100.0", "GimbalYawDegree": "+30.0", "GimbalPitchDegree": pitch,
                   "GimbalRollDegree": "0", "FlightYawDegree": "+31.0"})
    p = tmp_path / name
    p.write_bytes(make_jpeg(tiff, xmp, w=4000, h=2250))
    return p


def test_ok_table_exit_0(tmp_path):
    dji_photo(tmp_path)
    r = runner.invoke(app, ["ingest", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert "DJI_0001.JPG" in r.output and "53.9000000" in r.output and "GSD cm/px" in r.output


def test_json_keys_and_values(tmp_path):
    dji_photo(tmp_path)
    r = runner.invoke(app, ["ingest", "--json", str(tmp_path)])
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(rows) == 1
    row = rows[0]
    assert tuple(row) == JSON_KEYS
    assert row["lat_deg"] == pytest.approx(53.9) and row["rel_alt_m"] == 100.0 and row["size_wh"] == [4000, 2250]
    assert row["time"] == "2018-03-26T17:41:41" and row["model"] == "FC220" and row["error"] is None
    # nadir GSD = sensor width x height / (focal x width): 6.17 mm x 100 m / (4.73 mm x 4000 px)
    assert row["gsd_m"] == pytest.approx(6.17 * 100 / (4.73 * 4000), rel=1e-3)
    assert row["footprint"]["type"] == "Polygon"


def test_geojson_file(tmp_path):
    dji_photo(tmp_path)
    out = tmp_path / "out.geojson"
    r = runner.invoke(app, ["ingest", str(tmp_path / "DJI_0001.JPG"), "--geojson", str(out)])
    assert r.exit_code == 0, r.output
    fc = json.loads(out.read_text())
    kinds = sorted(f["properties"]["kind"] for f in fc["features"])
    assert fc["type"] == "FeatureCollection" and kinds == ["camera", "footprint"]
    ring = next(f for f in fc["features"] if f["geometry"]["type"] == "Polygon")["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and all(27 < x < 28 and 53 < y < 54 for x, y in ring)


def test_bad_inputs_one_line_each_exit_1(tmp_path):
    dji_photo(tmp_path)
    bad = shared_path("exif", "exif-samples", "bad_or_odd")
    infiray = shared_path("exif", "exiftool-t-images", "InfiRay.jpg")
    writer = shared_path("exif", "exiftool-t-images", "Writer.jpg")
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe1\x00")
    r = runner.invoke(app, ["ingest", "--json", str(tmp_path), str(bad), str(infiray), str(writer)])
    assert r.exit_code == 1
    assert "Traceback" not in r.output
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    failed = [x for x in rows if x["error"] and x["lat_deg"] is None]
    n_bad = len(list(bad.iterdir()))
    assert len(failed) == n_bad + 3  # every bad_or_odd file, InfiRay, Writer, broken.jpg
    assert len(r.stderr.strip().splitlines()) == n_bad + 3  # one stderr line each, naming the file
    for line in r.stderr.strip().splitlines():
        assert ": " in line and (".jpg" in line or ".JPG" in line)
    assert any(x["error"] is None for x in rows)  # the good photo still came through


def test_heic_metadata_read():
    heic = shared_path("exif", "exif-samples", "gps", "IMG_5195.HEIC")
    r = runner.invoke(app, ["ingest", "--json", str(heic)])
    row = json.loads(r.stdout)
    assert row["lat_deg"] == pytest.approx(39.0513444444444, abs=1e-7) and row["size_wh"] == [2566, 3313]


@pytest.mark.parametrize(
    "args",
    [
        [],  # no path
        ["--interval", "0", "x.jpg"],
        ["--no-such-option", "x.jpg"],
    ],
)
def test_usage_errors_exit_2(args):
    r = runner.invoke(app, ["ingest", *args])
    assert r.exit_code == 2


def test_missing_path_exit_1(tmp_path):
    r = runner.invoke(app, ["ingest", str(tmp_path / "nope.jpg")])
    assert r.exit_code == 1 and "no such file" in r.stderr


# ------------------------------------------------------------------------------------ telemetry

def test_telemetry_json():
    srt = shared_path("srt", "dji-metadata-embedder", "air3S.SRT")
    r = runner.invoke(app, ["telemetry", "--json", str(srt)])
    assert r.exit_code == 0, r.output
    rows = [json.loads(x) for x in r.stdout.splitlines()]
    assert len(rows) == 5 and rows[0]["lat_deg"] == 34.270373 and rows[0]["abs_alt_m"] == 302.208


def test_telemetry_table_legacy():
    r = runner.invoke(app, ["telemetry", str(shared_path("srt", "dji-srt-parser", "mavic_pro.SRT"))])
    assert r.exit_code == 0 and "468 samples, 468 with a position" in r.stdout and "lon,lat" in r.stdout


@pytest.mark.parametrize("name", ["broken_empty.SRT", "broken_empty2.SRT", "broken_incomplete.SRT",
                                  "broken_incomplete2.SRT"])
def test_telemetry_broken_exit_1(name):
    r = runner.invoke(app, ["telemetry", str(shared_path("srt", "dji-srt-parser", name))])
    assert r.exit_code == 1
    assert name in r.stderr and "Traceback" not in r.output


def test_progress_counter_on_long_runs(capsys):
    from patrol.cli.ingest import _progress

    assert list(_progress(range(5), after_s=0.0, every_s=0.0)) == [0, 1, 2, 3, 4]
    assert capsys.readouterr().err.endswith("ingest: 5 frames\n")
    assert list(_progress(range(5))) == [0, 1, 2, 3, 4]  # a short run shows nothing
    assert capsys.readouterr().err == ""


def test_real_dji_photos_footprints():
    folder = shared_path("aerial-cars")
    files = [str(folder / f"DJI_00{n}.JPG") for n in ("10", "12", "19", "22", "31")]
    r = runner.invoke(app, ["ingest", "--json", *files])
    assert r.exit_code == 0, r.output
    rows = {json.loads(x)["path"].rsplit("/", 1)[-1]: json.loads(x) for x in r.stdout.splitlines()}
    for name, row in rows.items():
        assert row["gsd_m"] and row["footprint"], name
    nadir = rows["DJI_0012.JPG"]  # pitch -90.0, 99.0 m: GSD = 6.17 x 99 / (4.73 x 4000)
    assert nadir["gsd_m"] == pytest.approx(6.17 * 99.0 / (4.73 * 4000), rel=1e-3)
    assert rows["DJI_0031.JPG"]["gsd_m"] > rows["DJI_0022.JPG"]["gsd_m"]  # oblique (pitch -32) is coarser
