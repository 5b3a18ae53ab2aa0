"""Hostile incident uploads: a file opens only as the kind it claims to be, and no upload
makes the server read another file, loop without end, or work long for a small file.

The canary is a file on the server with a random secret; an attacker's GDALG pipeline
(JSON that GDAL reads as "read this file, rename its columns") asked for it.  Whatever the
upload, the secret must show up nowhere: not in the page, not in the stored batch."""

from __future__ import annotations

import io
import json
import secrets
import sqlite3
import zipfile
from pathlib import Path

import pandas as pd
import pyogrio
import pytest
from openpyxl import Workbook
from sqlalchemy import text

from geoapp.geo import gdal_safety
from geoapp.geo.reader import BoundaryFileError, read_boundaries
from geoapp.services import incident_files
from geoapp.services.incident_files import FileRejected, load_profile, read_records
from geoapp.services.incidents import IncidentFileError
from tests.test_incident_upload import analyst, post  # noqa: F401 - the signed-in fixture
from tests.test_incidents import run


@pytest.fixture()
def canary(tmp_path) -> tuple[Path, str]:
    """A local file the app must never show: /etc/passwd-like lines holding a secret."""
    secret = f"CANARY-{secrets.token_hex(8)}"
    path = tmp_path / "secret.txt"
    path.write_text(f"root:x:0:0:{secret}:/root:/bin/bash\nsecond line {secret}\n")
    return path, secret


def gdalg_pipeline(canary: Path) -> bytes:
    """A GDALG pipeline that reads the canary as CSV and names its lines as incident dates."""
    sql = ("SELECT field_1 AS date, '185' AS article, '30.21' AS lon, '50.545' AS lat, "
           "'r' AS ref FROM secret")  # fmt: skip
    command = (f"gdal vector pipeline ! read --input-format CSV --oo HEADERS=NO "
               f'--oo SEPARATOR=TAB {canary} ! sql --sql "{sql}" '
               "! write --output-format=stream streamed_dataset")  # fmt: skip
    return json.dumps({"type": "gdal_streamed_alg", "command_line": command}).encode()


def stored_errors(engine) -> str:
    with engine.connect() as conn:
        return " ".join(conn.scalars(text("SELECT errors::text FROM import_batch")).all())


# --- the GDALG pipeline ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["incidents.geojson", "incidents.gdalg.json", "incidents.gpkg"])
def test_a_gdalg_pipeline_upload_never_shows_another_file(analyst, engine, canary, name):  # noqa: F811
    path, secret = canary
    resp = post(analyst, gdalg_pipeline(path), name)
    html = resp.get_data(as_text=True)
    assert secret not in html
    assert secret not in stored_errors(engine)
    assert resp.status_code == 200  # the job page: the job ran and refused the file
    assert "не є колекцією об’єктів GeoJSON" in html
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM incident")) == 0


def test_a_gdalg_pipeline_is_refused_by_the_import_service(db_session, tmp_path, canary):
    path, secret = canary
    upload = tmp_path / "incidents.geojson"
    upload.write_bytes(gdalg_pipeline(path))
    try:
        report = run(db_session, upload)[1]
    except IncidentFileError as refused:
        report, message = refused.report, str(refused)
    else:
        message = ""
    assert secret not in " ".join(why for _, why in report.rejected)
    assert "FeatureCollection" in message and secret not in message
    errors = db_session.scalars(text("SELECT errors::text FROM import_batch")).all()
    assert secret not in " ".join(errors)


def test_gdal_offers_only_the_drivers_our_readers_need():
    pyogrio_module = gdal_safety.pyogrio_for_untrusted()
    assert set(pyogrio_module.list_drivers()) == gdal_safety.ALLOWED_VECTOR_DRIVERS
    # Even called directly, GDAL can no longer read a pipeline.
    assert "GDALG" not in pyogrio.list_drivers() and "SQLite" not in pyogrio.list_drivers()


def test_gdal_makes_no_network_request(tmp_path):
    """A /vsicurl/ name (what a VRT or pipeline would hold) reaches no server, even ours."""
    import http.server
    import threading

    asked: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            asked.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"type": "FeatureCollection", "features": []}')

        do_HEAD = do_GET  # noqa: N815

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"/vsicurl/http://127.0.0.1:{server.server_port}/x.geojson"
        with pytest.raises(pyogrio.errors.DataSourceError):
            gdal_safety.pyogrio_for_untrusted().read_info(url)
    finally:
        server.shutdown()
    assert asked == []


# --- JSON that is not a FeatureCollection -------------------------------------------------


def test_a_50000_deep_json_array_is_refused_clearly(analyst, engine):  # noqa: F811
    body = b'{"type": "FeatureCollection", "features": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    resp = post(analyst, body, "deep.geojson")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200  # the job page: the job ran and refused the file
    assert "deep.geojson: JSON вкладено глибше" in html
    assert stored_errors(engine) == ""


@pytest.mark.parametrize(
    "content",
    [
        {"type": "Feature", "properties": {"date": "2025-03-01"}, "geometry": None},
        {"type": "FeatureCollection", "features": {"not": "a list"}},
        [{"type": "FeatureCollection", "features": []}],
        {"type": "Topology", "objects": {}},
    ],
)
def test_json_that_is_not_a_feature_collection_is_refused(tmp_path, content):
    path = tmp_path / "thing.geojson"
    path.write_text(json.dumps(content))
    with pytest.raises(FileRejected, match="must be a FeatureCollection"):
        read_records(path, load_profile("default"))


def test_a_feature_collection_is_read_with_its_legacy_crs_and_properties(tmp_path):
    """What GDAL read before is still read: properties as columns, an EPSG `crs` honoured."""
    utm_x, utm_y = 302_000.0, 5_603_000.0  # near Bucha in UTM 36N (EPSG:32636)
    features = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [utm_x, utm_y]},
         "properties": {"date": "2025-03-01", "article": 185, "ref": "a1", "extra": [1, 2]}},
        {"type": "Feature", "geometry": {"type": "MultiPoint", "coordinates": [[utm_x, utm_y]]},
         "properties": {"date": "2025-03-02T10:15:00Z", "article": "186", "ref": "a2"}},
        {"type": "Feature", "geometry": None, "properties": {"date": "x", "ref": "a3"}},
    ]  # fmt: skip
    crs = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32636"}}
    path = tmp_path / "utm.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "crs": crs, "features": features}))
    first, second, third = read_records(path, load_profile("default"))
    assert (first.date, first.article, first.ref) == ("2025-03-01", "185", "a1")
    assert 30.0 < first.lon < 30.4 and 50.4 < first.lat < 50.7
    assert (second.lon, second.lat) == (first.lon, first.lat)
    assert second.date == "2025-03-02T10:15"  # a date-time, as GDAL's driver read it
    assert (third.article, third.error) == ("", "no point geometry (no geometry)")


# --- GeoPackage ---------------------------------------------------------------------------


def gpkg_with_view(path: Path) -> Path:
    """A GeoPackage whose listed layer is a recursive view: rows without end."""
    frame = pd.DataFrame({"date": ["2025-03-01"], "article": ["185"], "lon": [30.21],
                          "lat": [50.545], "ref": ["r1"]})  # fmt: skip
    pyogrio.write_dataframe(frame, path, layer="incidents", driver="GPKG")
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE incidents RENAME TO kept")
        conn.execute(
            "CREATE VIEW incidents AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL "
            "SELECT i + 1 FROM n) SELECT i AS fid, '2025-03-01' AS date, '185' AS article, "
            "30.21 AS lon, 50.545 AS lat, 'r' || i AS ref FROM n"
        )
        conn.execute("DELETE FROM gpkg_ogr_contents")  # no cached count: GDAL counts the view
    return path


def test_a_geopackage_layer_that_is_a_recursive_view_is_refused_quickly(tmp_path):
    path = gpkg_with_view(tmp_path / "view.gpkg")
    # Refused from the schema, before GDAL reads a row (before the fix GDAL read until killed).
    with pytest.raises(FileRejected, match="the layer 'incidents' is a view"):
        read_records(path, load_profile("default"))


def test_a_plain_sqlite_file_named_gpkg_is_refused(analyst, engine, canary):  # noqa: F811
    path, secret = canary
    raw = io.BytesIO()
    target = Path(path.parent / "plain.sqlite")
    with sqlite3.connect(target) as conn:
        conn.execute("CREATE TABLE incidents (date TEXT, article TEXT, lon REAL, lat REAL, ref)")
        conn.execute("INSERT INTO incidents VALUES (?, '185', 30.21, 50.545, 'r')", (secret,))
    raw.write(target.read_bytes())
    resp = post(analyst, raw.getvalue(), "incidents.gpkg")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200  # the job page: the job ran and refused the file
    assert "incidents.gpkg: база даних SQLite, а не GeoPackage" in html
    assert secret not in html and secret not in stored_errors(engine)


# --- sizes --------------------------------------------------------------------------------


def test_a_file_with_more_rows_than_the_limit_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(incident_files, "MAX_ROWS", 50)
    rows = ["date,article,lon,lat,ref"] + [f"2025-03-01,185,30.21,50.545,r{i}" for i in range(80)]
    csv_path = tmp_path / "many.csv"
    csv_path.write_text("\n".join(rows))
    with pytest.raises(FileRejected, match="more than 50 rows"):
        read_records(csv_path, load_profile("default"))
    frame = pd.DataFrame({"date": ["2025-03-01"] * 80, "article": ["185"] * 80,
                          "lon": [30.21] * 80, "lat": [50.545] * 80,
                          "ref": [f"r{i}" for i in range(80)]})  # fmt: skip
    gpkg = tmp_path / "many.gpkg"
    pyogrio.write_dataframe(frame, gpkg, layer="incidents", driver="GPKG")
    with pytest.raises(FileRejected, match="more than 50 rows"):
        read_records(gpkg, load_profile("default"))
    collection = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [30.21, 50.545]},
         "properties": {"date": "2025-03-01", "article": "185", "ref": f"r{i}"}}
        for i in range(80)]}  # fmt: skip
    geojson = tmp_path / "many.geojson"
    geojson.write_text(json.dumps(collection))
    with pytest.raises(FileRejected, match="more than 50 rows"):
        read_records(geojson, load_profile("default"))


def small_workbook() -> zipfile.ZipFile:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["date", "article", "lon", "lat", "ref"])
    sheet.append(["2025-03-01", "185", "30.21", "50.545", "A1"])
    raw = io.BytesIO()
    workbook.save(raw)
    return zipfile.ZipFile(io.BytesIO(raw.getvalue()))


def rewrite_sheet(source: zipfile.ZipFile, path: Path, extra_rows: str) -> Path:
    """The workbook with `extra_rows` added to its first sheet's XML, packed tightly."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"</sheetData>", extra_rows.encode() + b"</sheetData>")
            out.writestr(item, data)
    return path


def test_a_small_xlsx_with_a_cell_far_right_on_every_row_fails_fast(tmp_path):
    """One styled empty cell at column XFD per row made every row 16,384 cells wide."""
    rows = "".join(f'<row r="{r}"><c r="XFD{r}" s="0"/></row>' for r in range(3, 30_003))
    path = rewrite_sheet(small_workbook(), tmp_path / "wide.xlsx", rows)
    assert path.stat().st_size < 200_000
    # Only written cells are read (25,000 such rows took 50 s before; speed is not asserted).
    [record] = read_records(path, load_profile("default"))  # the blank cells are no rows
    assert record.ref == "A1"


def test_a_value_beyond_the_column_limit_is_refused(tmp_path):
    row = '<row r="3"><c r="A3" t="inlineStr"><is><t>x</t></is></c>' \
          '<c r="ZZ3" t="inlineStr"><is><t>hidden</t></is></c></row>'  # fmt: skip
    path = rewrite_sheet(small_workbook(), tmp_path / "far.xlsx", row)
    with pytest.raises(FileRejected, match="row 3 has a value beyond column 256"):
        read_records(path, load_profile("default"))


def test_an_xlsx_of_blank_cells_packed_without_their_places_is_refused(tmp_path):
    """Cells written without `r` pack 400 times: 26 KB kept openpyxl busy for 5 s."""
    rows = ("<row>" + '<c s="0"/>' * 5000 + "</row>") * 200
    path = rewrite_sheet(small_workbook(), tmp_path / "packed.xlsx", rows)
    assert path.stat().st_size < 50_000
    with pytest.raises(FileRejected, match="packed unusually tightly"):
        read_records(path, load_profile("default"))


# --- boundary files -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["boundary.geojson", "boundary.json", "boundary.shp"])
def test_a_boundary_file_opens_only_with_its_own_driver(tmp_path, canary, name):
    path, secret = canary
    upload = tmp_path / name
    upload.write_bytes(gdalg_pipeline(path))
    with pytest.raises(BoundaryFileError, match="not a geodata file that can be read") as refused:
        read_boundaries(upload)
    assert secret not in str(refused.value)


def test_a_plain_sqlite_boundary_file_named_gpkg_is_refused(tmp_path):
    path = tmp_path / "boundaries.gpkg"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (a)")
    with pytest.raises(BoundaryFileError, match="not a"):
        read_boundaries(path)


def test_a_shp_that_holds_json_never_reaches_gdal(tmp_path):
    """GDAL would open it with the GeoJSON driver; the Shapefile's own header is checked first."""
    upload = tmp_path / "boundary.shp"
    upload.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    with pytest.raises(BoundaryFileError, match="header is not a Shapefile's"):
        read_boundaries(upload)


@pytest.mark.parametrize("driver", ["GPKG", "GeoJSON"])
def test_a_read_must_name_its_driver_in_the_path(tmp_path, driver):
    """Without the driver's prefix GDAL would try every driver it has on the file."""
    path = tmp_path / "x.gpkg"
    path.write_bytes(b"SQLite format 3\x00")
    with pytest.raises(ValueError, match="named by its prefix"):
        gdal_safety.read_as(driver, str(path), pyogrio.read_info)
