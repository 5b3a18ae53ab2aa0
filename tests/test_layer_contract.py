"""The layer contract: every registered layer x every audience x every output.

What leaves for a caller is checked the way an attacker would read it, in each output the
app offers (GeoJSON, CSV and GeoPackage exports, OGC API items, vector tiles, the public map
page, the staff map, session and minutes pages):

* every emitted feature property is on the layer's whitelist (`properties`, or
  `aggregate_properties` for the aggregated low-zoom tiles);
* a layer the audience may not see answers 404 (not 403, not data);
* no concern leaves public/partner outputs at its true point: every concern geometry lies
  on the GEOAPP_PUBLIC_GRID_M grid in the community's metric CRS (the SQL snaps the true
  point with ST_SnapToGrid there: concern_insert.sql);
* no reporter's contact and no resident's text in any body below coordinator, nor in any
  export of anyone;
* no count 0 < n < k to the public or a partner.

The release policy (/work/RELEASE_POLICY.md) is the expectation: the public and partners
see only published years, hot spots only of a published year at the release's size, and
emerging hot spots and concern gaps are for analysts.  The data is seeded once per module.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

import mapbox_vector_tile
import numpy as np
import pytest
import shapely
from pyproj import Transformer
from sqlalchemy import text
from sqlalchemy.orm import Session

from geoapp.models.measure import MeasureStatus
from geoapp.services import measures, planning, tokens
from geoapp.services.communities import get_by_slug
from geoapp.services.concerns import Report, report_concern
from geoapp.services.incidents import import_file
from tests.conftest import DATA_DIR, sign_in
from tests.helpers import publish_release_year

SLUG = "bucha"
TODAY = date.today()
PUBLISHED = TODAY.year - 1  # a closed year, published by the module's set-up
UNPUBLISHED = TODAY.year - 2  # closed, with incidents, never published
OPEN = TODAY.year  # not closed: never published
STATION = (30.2100, 50.5450)
EAST = (30.2420, 50.5560)

# Who asks.  Coordinators and admins are "analyst" for layers; the coordinator is asked
# only for exports (no contact in any export of anyone).
BELOW_COORDINATOR = ("public", "partner", "viewer", "analyst")
AUDIENCE = {"public": "public", "partner": "partner", "viewer": "staff", "analyst": "analyst",
            "coordinator": "analyst"}  # fmt: skip
RANK = {"public": 0, "partner": 1, "staff": 2, "analyst": 3}
# The lowest audience of each known layer under the release policy (rule 2: emerging hot
# spots and concern gaps are analyst-only).  A layer not named here follows its spec.
POLICY = {"boundaries": "public", "concerns": "public", "incident_cells": "public",
          "incidents": "analyst", "hotspots": "partner", "emerging_hotspots": "analyst",
          "concern_gaps": "analyst", "measures": "public"}  # fmt: skip
FORMATS = ("geojson", "csv", "gpkg")

# What must never leave: a reporter's contact and a resident's words (unique strings).
CONTACT = {"name": "Марта Контрактна", "phone": "+380671234987",
           "email": "marta.contract.7f3a@example.org"}  # fmt: skip
TEXT = "CONTRACT-7f3a: біля мого під'їзду №17 зламаний ліхтар"
SENSITIVE_TEXT = "CONTRACT-SENSITIVE-91ab: тут продають"
NEW_TEXT = "CONTRACT-NEW-2c4d: ще не перевірено"


@dataclass
class Seed:
    """What the module planted, and the values an output is checked against."""

    community_id: int
    srid: int
    grid_m: float
    k: int
    partner: dict[str, str]
    true_points: list[tuple[float, float]]  # every planted concern's true point
    sensitive_points: list[tuple[float, float]]
    session_id: int
    measure_id: str
    release_size: int = 0

    @property
    def secrets(self) -> list[str]:
        return [CONTACT["name"], CONTACT["phone"], CONTACT["email"], TEXT, SENSITIVE_TEXT,
                NEW_TEXT, "CONTRACT-7f3a", "CONTRACT-SENSITIVE", "CONTRACT-NEW"]  # fmt: skip


def _off_grid(to_metric: Transformer, lon: float, lat: float, grid: float, dx: float,
              dy: float) -> tuple[float, float]:  # fmt: skip
    """A point near (lon, lat) that lies `dx`, `dy` metres off the public grid's nodes."""
    x, y = to_metric.transform(lon, lat)
    x, y = grid * round(x / grid) + dx, grid * round(y / grid) + dy
    back = to_metric.transform(x, y, direction="INVERSE")
    return round(back[0], 7), round(back[1], 7)


def _incidents_csv(path, to_metric: Transformer, area: shapely.Geometry) -> int:
    """A year of offences that leaves busy cells, quiet (withheld) cells and one lone one.

    Busy: 90 thefts within 300 m of the station and 40 around `EAST` in the published year;
    quiet: 25 single offences spread over the community; lone: one murder on 14 March, far
    from the others (attack 1's target).  Plus offences of an unpublished closed year and of
    the open year near the station.
    """
    rng = np.random.default_rng(18)
    rows = ["date,article,lon,lat,ref"]

    def around(centre: tuple[float, float], n: int, radius: float) -> Iterator[tuple]:
        cx, cy = to_metric.transform(*centre)
        angle, r = rng.uniform(0, 2 * np.pi, n), radius * np.sqrt(rng.uniform(0, 1, n))
        lon, lat = to_metric.transform(cx + r * np.cos(angle), cy + r * np.sin(angle),
                                       direction="INVERSE")  # fmt: skip
        yield from zip(lon.tolist(), lat.tolist(), strict=True)

    def add(year: int, points: Iterator[tuple], article: str = "185", day: str = "") -> None:
        for lon, lat in points:
            when = day or f"{year}-{rng.integers(1, 12):02d}-{rng.integers(1, 29):02d}"
            rows.append(f"{when},{article},{lon:.6f},{lat:.6f},C18-{len(rows)}")

    add(PUBLISHED, around(STATION, 90, 300))
    add(PUBLISHED, around(EAST, 40, 250))
    minx, miny, maxx, maxy = area.bounds
    quiet: list[tuple[float, float]] = []
    while len(quiet) < 25:
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if shapely.contains_xy(area, x, y):
            quiet.append(to_metric.transform(x, y, direction="INVERSE"))
    add(PUBLISHED, iter(quiet))
    lone = quiet[0]
    add(PUBLISHED, iter([(lone[0] + 0.0004, lone[1] + 0.0003)]), "115", f"{PUBLISHED}-03-14")
    add(UNPUBLISHED, around(STATION, 30, 300))
    add(OPEN, around(STATION, 20, 300), day=f"{OPEN}-{max(1, TODAY.month - 1):02d}-02")
    path.write_text("\n".join(rows), encoding="utf-8")
    return len(rows) - 1


def _forget(engine, community_id: int) -> None:
    """Remove everything the module planted in the community (committed)."""
    with engine.begin() as conn:
        if conn.scalar(text("SELECT to_regclass('incident_release')")) is not None:
            conn.execute(text("DELETE FROM incident_release WHERE community_id = :c"),
                         {"c": community_id})  # fmt: skip
        conn.execute(text("DELETE FROM planning_session WHERE community_id = :c"),
                     {"c": community_id})  # fmt: skip
        conn.execute(text("DELETE FROM measure WHERE community_id = :c"), {"c": community_id})
        conn.execute(text("DELETE FROM concern WHERE client_token LIKE 'contract-%'"))
        for table in ("incident_cell", "incident", "import_batch"):
            conn.execute(text(f"DELETE FROM {table} WHERE community_id = :c"), {"c": community_id})


@pytest.fixture(scope="module")
def seed(engine, app, staff, tmp_path_factory) -> Iterator[Seed]:
    grid = float(app.config["GEOAPP_PUBLIC_GRID_M"])
    k = int(app.config["GEOAPP_SUPPRESSION_K"])
    with Session(engine) as sess:
        bucha = get_by_slug(sess, SLUG)
        cid, srid = bucha.id, bucha.metric_srid
        _forget(engine, cid)
        to_metric = Transformer.from_crs(4326, srid, always_xy=True)
        area = shapely.transform(
            shapely.from_wkb(bytes(bucha.geom.data)),
            lambda xy: np.column_stack(to_metric.transform(*xy.T)),
        )
        path = tmp_path_factory.mktemp("contract") / "incidents.csv"
        planted = _incidents_csv(path, to_metric, area)
        report = import_file(sess, path, cid, app.config["SECRET_KEY"], str(DATA_DIR),
                             actor="test")  # fmt: skip
        assert report.accepted == planted, report.rejected[:5]
        token, _row = tokens.create(sess, "Контрактний партнер", [bucha], 30, actor="test")
        keys = app.extensions["geoapp.contact_keys"]

        def concern(token: str, category: str, words: str, point, **contact) -> None:
            report_concern(sess, bucha, Report(category=category, description=words,
                                               lon=point[0], lat=point[1], client_token=token,
                                               **contact), grid, contact_keys=keys)  # fmt: skip

        private = _off_grid(to_metric, STATION[0] + 0.003, STATION[1] + 0.002, grid, 37, 61)
        concern(
            "contract-private",
            "vandalism",
            TEXT,
            private,
            contact_name=CONTACT["name"],
            contact_phone=CONTACT["phone"],
            contact_email=CONTACT["email"],
            consent=True,
        )
        others = [_off_grid(to_metric, EAST[0] + 0.002 * n, EAST[1], grid, 23 + 5 * n, 71)
                  for n in range(5)]  # fmt: skip
        for n, point in enumerate(others):
            concern(f"contract-other-{n}", "poor_lighting", f"Темно тут, {n}", point)
        sensitive = [_off_grid(to_metric, STATION[0] - 0.004, STATION[1] + 0.001 * n, grid,
                               41, 29) for n in range(3)]  # fmt: skip
        for n, point in enumerate(sensitive):
            concern(f"contract-sensitive-{n}", "drugs", f"{SENSITIVE_TEXT} {n}", point)
        fresh = _off_grid(to_metric, STATION[0] + 0.006, STATION[1] - 0.002, grid, 44, 33)
        concern("contract-new", "vandalism", NEW_TEXT, fresh)
        sess.execute(text("UPDATE concern SET status = 'accepted', created_at = :d "
                          "WHERE client_token LIKE 'contract-%' AND client_token <> "
                          "'contract-new'"), {"d": f"{PUBLISHED}-06-15"})  # fmt: skip
        stored = sess.scalar(text("SELECT count(*) FROM concern_contact cc JOIN concern c ON "
                                  "c.id = cc.concern_id WHERE c.client_token = "
                                  "'contract-private'"))  # fmt: skip
        assert stored == 1  # the contact exists, so a check below can catch it leaving
        actor = sess.scalar(text("SELECT id FROM app_user WHERE email = :e"),
                            {"e": staff["coordinator"].email})  # fmt: skip
        public_id = sess.scalar(text("SELECT public_id FROM concern "
                                     "WHERE client_token = 'contract-private'"))  # fmt: skip
        draft = measures.MeasureDraft(title="Контрактний захід: ліхтарі", kind="lighting",
                                      agency="Бучанська міська рада", owner="Тест",
                                      start_on=f"{OPEN}-01-10", due_on=f"{OPEN}-12-20",
                                      concern_ids=[public_id])  # fmt: skip
        measure = measures.create(sess, bucha, measures.validate(sess, bucha, draft), actor)
        measures.change_status(sess, measure, MeasureStatus.AGREED, actor)
        held = planning.create(sess, bucha, "Контрактна сесія", f"{OPEN}-01-15", actor)
        sess.commit()
        measure_id, session_id = str(measure.public_id), held.id
        publish_release_year(sess, cid, PUBLISHED, k, app.config["GEOAPP_PUBLIC_CELL_SIZES"])
    found = Seed(cid, srid, grid, k, {"Authorization": f"Bearer {token}"},
                 [private, *others, *sensitive, fresh], sensitive, session_id,
                 measure_id)  # fmt: skip
    public = app.test_client().get(f"/api/v1/communities/{SLUG}/layers/incident_cells.geojson",
                                   query_string={"period": str(PUBLISHED)})  # fmt: skip
    assert public.status_code == 200, public.get_data(as_text=True)
    found.release_size = int(public.get_json()["metadata"]["cell_size_m"])
    yield found
    _forget(engine, cid)


@pytest.fixture(scope="module")
def clients(app, staff, seed) -> dict[str, object]:
    """A test client per audience: anonymous, the partner's token, signed-in staff."""
    out: dict[str, object] = {"public": app.test_client()}
    partner = app.test_client()
    partner.environ_base["HTTP_AUTHORIZATION"] = seed.partner["Authorization"]
    out["partner"] = partner
    for role in ("viewer", "analyst", "coordinator"):
        client = app.test_client()
        assert sign_in(client, staff[role]).status_code == 302, role
        out[role] = client
    return out


@pytest.fixture(scope="module")
def specs(app) -> dict:
    return dict(app.extensions["geoapp.layers"])


def may_see(spec, who: str) -> bool:
    lowest = POLICY.get(spec.id, spec.audience)
    return RANK[AUDIENCE[who]] >= RANK[lowest]


def query(spec, seed: Seed) -> dict[str, str]:
    """The parameters every audience sends: a published year, the release's size."""
    if spec.source in ("incident_cells", "incidents", "emerging_hotspots", "concern_gaps"):
        return {"period": str(PUBLISHED)}
    if spec.source == "hotspots":
        return {"period": str(PUBLISHED), "size": str(seed.release_size)}
    return {}


# --- What a body may hold --------------------------------------------------------------


def assert_no_secret(seed: Seed, who: str, where: str, body: bytes) -> None:
    for bit in seed.secrets:
        assert bit.encode() not in body, f"{who}: {where} holds {bit!r}"


def on_grid(seed: Seed, lon: float, lat: float, tolerance: float = 0.5) -> bool:
    """Whether a point is a node of the public grid (to the 6 decimals outputs carry)."""
    x, y = Transformer.from_crs(4326, seed.srid, always_xy=True).transform(lon, lat)
    g = seed.grid_m
    return abs(x - g * round(x / g)) < tolerance and abs(y - g * round(y / g)) < tolerance


def assert_concern_points(seed: Seed, where: str, points: list[tuple[float, float]],
                          tolerance: float = 0.5) -> None:  # fmt: skip
    assert points, f"{where}: no concern to check (the seed should show)"
    for lon, lat in points:
        assert on_grid(seed, lon, lat, tolerance), f"{where}: ({lon}, {lat}) is off the grid"
        for tx, ty in seed.true_points:
            assert abs(lon - tx) > 1e-5 or abs(lat - ty) > 1e-5, f"{where}: a true point"


def _number(item) -> float | None:
    """A count as a number, whether JSON, CSV text or a GeoPackage float carried it."""
    if isinstance(item, bool) or item is None:
        return None
    if isinstance(item, int | float):
        return float(item)
    if isinstance(item, str):
        try:
            return float(item)
        except ValueError:
            return None
    return None


def small_counts(value, k: int, path: str = "") -> list[str]:
    """Every `n`/`count` with 0 < n < k anywhere in a JSON value (metadata, properties)."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("n", "count"):
                number = _number(item)
                if number is not None and 0 < number < k:
                    found.append(f"{path}.{key}={item}")
            else:
                found.extend(small_counts(item, k, f"{path}.{key}"))
    elif isinstance(value, list):
        for n, item in enumerate(value):
            found.extend(small_counts(item, k, f"{path}[{n}]"))
    return found


def check_features(seed: Seed, spec, who: str, where: str,
                   features: list[tuple[dict, shapely.Geometry | None]]) -> None:  # fmt: skip
    """The checks every output's features get, whatever format they came in."""
    allowed = set(spec.properties)
    audience = AUDIENCE[who]
    for props, _geometry in features:
        stray = set(props) - allowed
        assert not stray, f"{who}: {where} emits {sorted(stray)} (not on the whitelist)"
        if audience in ("public", "partner"):
            bad = small_counts(props, seed.k)
            assert not bad, f"{who}: {where}: counts below k={seed.k}: {bad[:5]}"
        if spec.source == "hotspots" and audience != "analyst":
            assert props.get("count") in (None, ""), f"{who}: {where}: hot spot counts"
            if audience == "partner":
                assert props.get("gi_z") in (None, "") and props.get("gi_p") in (None, ""), (
                    f"{who}: {where}: partners get classes only")  # fmt: skip
    if spec.source == "concerns" and audience in ("public", "partner"):
        points = [(g.x, g.y) for _p, g in features if g is not None]
        assert_concern_points(seed, where, points)


def _gpkg_features(raw: bytes, tmp_path) -> tuple[list[str], list[tuple[dict, object]]]:
    """A GeoPackage's feature columns and rows, read with sqlite3 (the format is SQLite)."""
    path = tmp_path / "out.gpkg"
    path.write_bytes(raw)
    with sqlite3.connect(path) as db:
        table, column = db.execute("SELECT table_name, column_name FROM "
                                   "gpkg_geometry_columns").fetchone()  # fmt: skip
        cursor = db.execute(f'SELECT * FROM "{table}"')
        names = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    out = []
    for row in rows:
        record = dict(zip(names, row, strict=True))
        blob = record.pop(column)
        geometry = None
        if blob:
            envelope = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}[(blob[3] >> 1) & 7]
            geometry = shapely.from_wkb(bytes(blob[8 + envelope :]))
        record.pop("fid", None)
        record.pop("fid_text", None)
        out.append((record, geometry))
    return [n for n in names if n not in (column, "fid", "fid_text")], out


def _csv_features(raw: bytes) -> tuple[list[str], list[tuple[dict, object]]]:
    reader = csv.DictReader(io.StringIO(raw.decode("utf-8")))
    rows = []
    for row in reader:
        wkt = row.pop("WKT", "")
        row.pop("id", None)
        rows.append((row, shapely.from_wkt(wkt) if wkt else None))
    names = [n for n in (reader.fieldnames or []) if n not in ("id", "WKT")]
    return names, rows


def _geojson_features(body: dict) -> list[tuple[dict, object]]:
    return [(f["properties"], shapely.geometry.shape(f["geometry"]) if f["geometry"] else None)
            for f in body["features"]]  # fmt: skip


class Findings:
    """Every failed check of a test, so one leak does not hide the next (reported at the end)."""

    def __init__(self) -> None:
        self.items: list[str] = []

    @contextmanager
    def check(self, where: str) -> Iterator[None]:
        try:
            yield
        except AssertionError as exc:
            self.items.append(f"{where}: {str(exc).splitlines()[0]}")

    def assert_none(self) -> None:
        assert not self.items, f"{len(self.items)} failed checks:\n" + "\n".join(self.items)


def assert_not_found(resp, who: str, where: str) -> None:
    assert resp.status_code == 404, f"{who}: {where} answered {resp.status_code}, not 404"
    assert resp.mimetype == "application/problem+json", f"{who}: {where}: {resp.mimetype}"


# --- The tests ---------------------------------------------------------------------------


def test_the_registry_comes_from_the_app_and_holds_the_known_layers(specs):
    assert specs, "no layer is registered"
    assert set(POLICY) <= set(specs), sorted(set(POLICY) - set(specs))
    for spec in specs.values():
        assert spec.properties, spec.id
        assert set(spec.popup) <= set(spec.properties), spec.id


def test_the_seed_is_there_for_the_checks_to_catch(clients, seed, specs):
    for lon, lat in seed.true_points:  # so the grid check can tell a true point
        assert not on_grid(seed, lon, lat, tolerance=15), (lon, lat)
    analyst = clients["analyst"]
    concerns = analyst.get(f"/api/v1/communities/{SLUG}/layers/concerns.geojson").get_json()
    assert len(concerns["features"]) >= 6  # the private one and five others, accepted
    url = f"/api/v1/communities/{SLUG}/layers/incident_cells.geojson"
    cells = analyst.get(url, query_string={"period": str(PUBLISHED), "size": "500"}).get_json()
    counts = [f["properties"]["count"] for f in cells["features"]]
    assert any(0 < c < seed.k for c in counts), "the seed has no quiet cell to withhold"
    assert any(c >= seed.k for c in counts), "the seed has no busy cell to publish"


def _export_check(seed: Seed, spec, who: str, fmt: str, resp, tmp_path) -> None:
    where = f"{spec.id}.{fmt}"
    raw = resp.get_data()
    assert_no_secret(seed, who, where, raw)
    if not may_see(spec, who) or (fmt != "geojson" and not spec.exportable):
        assert_not_found(resp, who, where)
        return
    assert resp.status_code == 200, f"{who}: {where} answered {resp.status_code}: {raw[:200]!r}"
    outside = AUDIENCE[who] in ("public", "partner")
    if fmt == "geojson":
        body = json.loads(raw)
        features = _geojson_features(body)
        bad = small_counts(body.get("metadata", {}), seed.k) if outside else []
        assert not bad, f"{who}: {where} metadata: counts below k: {bad}"
    else:
        if fmt == "csv":
            names, features = _csv_features(raw)
        else:
            names, features = _gpkg_features(raw, tmp_path)
            features = [({k: v for k, v in p.items() if v is not None}, g) for p, g in features]
        assert set(names) <= set(spec.properties), f"{who}: {where} columns {names}"
        meta = json.loads(resp.headers["Geoapp-Metadata"])
        bad = small_counts(meta, seed.k) if outside else []
        assert not bad, f"{who}: {where} metadata: counts below k: {bad}"
    check_features(seed, spec, who, where, features)
    if spec.id in ("boundaries", "concerns", "incident_cells", "measures"):
        assert features, f"{who}: {where} is empty: nothing was checked"


@pytest.mark.parametrize("who", [*BELOW_COORDINATOR, "coordinator"])
def test_every_layer_and_export_keeps_to_its_whitelist(clients, seed, specs, who, tmp_path):
    client, found = clients[who], Findings()
    for spec in specs.values():
        base = f"/api/v1/communities/{SLUG}/layers/{spec.id}"
        for fmt in FORMATS:
            with found.check(f"{spec.id}.{fmt}"):
                resp = client.get(f"{base}.{fmt}", query_string=query(spec, seed))
                _export_check(seed, spec, who, fmt, resp, tmp_path)
    found.assert_none()


def _ogc_check(client, seed: Seed, spec, who: str, url: str, visible: bool) -> None:
    params = {**query(spec, seed), "limit": "1000"} if url.endswith("items") else {}
    resp = client.get(url, query_string=params)
    assert_no_secret(seed, who, url, resp.get_data())
    if not visible:
        assert_not_found(resp, who, url)
        return
    assert resp.status_code == 200, f"{who}: {url} answered {resp.status_code}"
    if url.endswith("items"):
        body = resp.get_json()
        check_features(seed, spec, who, url, _geojson_features(body))
        if AUDIENCE[who] in ("public", "partner"):
            bad = small_counts(body["metadata"], seed.k)
            assert not bad, f"{who}: {url} metadata: counts below k: {bad}"
        html = client.get(url, query_string={**params, "f": "html"})
        assert html.status_code == 200, f"{who}: {url}?f=html answered {html.status_code}"
        assert_no_secret(seed, who, url + "?f=html", html.get_data())


@pytest.mark.parametrize("who", [*BELOW_COORDINATOR, "coordinator"])
def test_every_ogc_collection_keeps_to_its_whitelist(clients, seed, specs, who):
    client, found = clients[who], Findings()
    listed = client.get("/ogc/collections").get_json()
    assert_no_secret(seed, who, "/ogc/collections", json.dumps(listed).encode())
    ids = {c["id"] for c in listed["collections"]}
    for spec in specs.values():
        cid = f"{SLUG}.{spec.id}"
        visible = may_see(spec, who) and spec.exportable
        with found.check(f"{cid} in /ogc/collections"):
            assert (cid in ids) == visible, f"{who}: listed={cid in ids}, may see={visible}"
        for url in (f"/ogc/collections/{cid}", f"/ogc/collections/{cid}/items"):
            with found.check(url):
                _ogc_check(client, seed, spec, who, url, visible)
    found.assert_none()


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - np.arcsinh(np.tan(np.radians(lat))) / np.pi) / 2 * n)
    return x, y


def _tile_points(tile: dict, z: int, x: int, y: int) -> list[tuple[float, float]]:
    """Point features of a decoded tile back in lon/lat (tile extent 4096, y up)."""
    out = []
    n = 2**z
    for layer in tile.values():
        extent = layer.get("extent", 4096)
        for feature in layer["features"]:
            geometry = feature["geometry"]
            if geometry["type"] != "Point":
                continue
            px, py = geometry["coordinates"]
            lon = (x + px / extent) / n * 360 - 180
            merc = np.pi * (1 - 2 * (y + 1 - py / extent) / n)
            out.append((lon, float(np.degrees(np.arctan(np.sinh(merc))))))
    return out


def _tile_check(client, seed: Seed, spec, who: str, z: int, x: int, y: int,
                seen: list) -> None:  # fmt: skip
    url = f"/tiles/{spec.id}/{z}/{x}/{y}.mvt"
    resp = client.get(url, query_string={"community": SLUG})
    assert_no_secret(seed, who, url, resp.get_data())
    if not may_see(spec, who):
        assert_not_found(resp, who, url)
        return
    assert resp.status_code == 200, f"{who}: {url} answered {resp.status_code}"
    tile = mapbox_vector_tile.decode(resp.get_data())
    aggregated = z <= 12 and spec.aggregate_properties
    allowed = set(spec.aggregate_properties if aggregated else spec.properties)
    for layer in tile.values():
        for feature in layer["features"]:
            stray = set(feature["properties"]) - allowed
            assert not stray, f"{who}: {url} emits {sorted(stray)}"
    if spec.source == "concerns" and z == 15 and AUDIENCE[who] in ("public", "partner"):
        points = _tile_points(tile, z, x, y)
        # A z15 tile unit is about 0.25 m here: the grid node to within 1.5 m.
        if points:
            assert_concern_points(seed, url, points, tolerance=1.5)
        seen.extend(points)
        for lon, lat in points:
            for sx, sy in seed.sensitive_points:
                near = abs(lon - sx) < 5e-4 and abs(lat - sy) < 5e-4
                assert not near, f"{who}: {url}: a sensitive concern as a point"


@pytest.mark.parametrize("who", BELOW_COORDINATOR)
def test_every_tiled_layer_keeps_to_its_whitelist(clients, seed, specs, who):
    client, analyst, found = clients[who], clients["analyst"], Findings()
    tiled, seen = set(), []
    # The station's tiles, and at z15 those of every planted concern.
    addresses = {(11, *_tile_of(*STATION, 11)), (15, *_tile_of(*STATION, 15))}
    addresses |= {(15, *_tile_of(lon, lat, 15)) for lon, lat in seed.true_points}
    for spec in specs.values():
        for z, x, y in sorted(addresses):
            url = f"/tiles/{spec.id}/{z}/{x}/{y}.mvt"
            if analyst.get(url, query_string={"community": SLUG}).status_code == 404:
                continue  # not a tiled layer (the analyst sees every layer)
            tiled.add(spec.id)
            with found.check(url):
                _tile_check(client, seed, spec, who, z, x, y, seen)
    assert {"concerns", "incidents"} <= tiled, f"tiled: {sorted(tiled)}"
    if AUDIENCE[who] in ("public", "partner"):
        assert len(seen) >= 6, f"{who}: only {len(seen)} concern points in the tiles"
    found.assert_none()


_MARKER = re.compile(r"L\.circleMarker\(\s*\[\s*(-?[\d.]+)\s*,\s*(-?[\d.]+)\s*\]")


def _page_check(seed: Seed, who: str, where: str, resp, markers: bool = False) -> None:
    assert resp.status_code == 200, f"{who}: {where} answered {resp.status_code}"
    raw = resp.get_data()
    assert_no_secret(seed, who, where, raw)
    if markers:
        found = [(float(lon), float(lat)) for lat, lon in _MARKER.findall(raw.decode())]
        assert_concern_points(seed, where, found)


@pytest.mark.parametrize("who", BELOW_COORDINATOR)
def test_the_map_and_session_pages_embed_only_public_data(clients, seed, who):
    client, found = clients[who], Findings()
    with found.check(f"/c/{SLUG}"):
        page = client.get(f"/c/{SLUG}")
        _page_check(seed, who, f"/c/{SLUG}", page, markers=True)
    with found.check(f"/c/{SLUG} sensitive counts"):
        # Sensitive categories appear as counts only, and those follow k (rule 3).
        shown = re.findall(r"Продаж або вживання наркотиків: (\d+)", page.get_data(as_text=True))
        assert all(not 0 < int(n) < seed.k for n in shown), f"sensitive count {shown} below k"
    with found.check(f"/c/{SLUG}/results"):
        _page_check(seed, who, f"/c/{SLUG}/results", client.get(f"/c/{SLUG}/results"))
    staff_pages = (f"/staff/c/{SLUG}/", f"/staff/c/{SLUG}/sessions/{seed.session_id}",
                   f"/staff/c/{SLUG}/sessions/{seed.session_id}/minutes")  # fmt: skip
    for url in staff_pages:
        with found.check(url):
            resp = client.get(url)
            if AUDIENCE[who] in ("public", "partner"):
                assert resp.status_code in (302, 401, 404), f"{who}: {url}: {resp.status_code}"
                assert_no_secret(seed, who, url, resp.get_data())
            else:
                _page_check(seed, who, url, resp, markers=url.endswith(f"/{seed.session_id}"))
    found.assert_none()
