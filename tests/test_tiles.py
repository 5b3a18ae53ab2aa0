"""Vector tiles: they decode (mapbox-vector-tile), carry only whitelisted properties, count
every incident at low zoom, show concerns at their public point only, answer 304 to a
matching ETag, live in Redis, and change after an import."""

from __future__ import annotations

import math

import mapbox_vector_tile
import pytest
import redis
from sqlalchemy import text
from sqlalchemy.orm import Session

from geoapp.services.communities import get_by_slug
from geoapp.services.incidents import import_file
from tests.conftest import DATA_DIR, REDIS_URL, sign_in
from tests.test_hotspots import planted, worried  # noqa: F401 - shared fixtures

STATION = (30.2107, 50.5458)


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def _lonlat(z: int, x: int, y: int, px: float, py: float, extent: int = 4096):
    n = 2**z
    lon = (x + px / extent) / n * 360 - 180
    merc_y = math.pi * (1 - 2 * (y + 1 - py / extent) / n)  # decoded y points up
    return lon, math.degrees(math.atan(math.sinh(merc_y)))


@pytest.fixture(scope="module")
def analyst(app, staff):
    client = app.test_client()
    sign_in(client, staff["analyst"])
    return client


def _decode(body: bytes) -> dict:
    return mapbox_vector_tile.decode(body) if body else {}


def _whitelist(app, layer: str) -> set[str]:
    return set(app.extensions["geoapp.layers"][layer].properties)


def test_low_zoom_counts_every_incident_in_cells(app, analyst, engine, planted):  # noqa: F811
    with Session(engine) as sess:
        total = sess.execute(
            text(
                "SELECT count(*) FROM incident i JOIN community c "
                "ON c.id = i.community_id WHERE c.slug = 'bucha'"
            )
        ).scalar()
        bbox = sess.execute(text(
            "SELECT ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom) "
            "FROM community WHERE slug = 'bucha'")).one()  # fmt: skip
    x0, y1 = _tile_of(bbox[0], bbox[1], 10)
    x1, y0 = _tile_of(bbox[2], bbox[3], 10)
    counted, sizes = 0, []
    for x in range(x0, x1 + 1):
        for y in range(y0, y1 + 1):
            resp = analyst.get(f"/tiles/incidents/10/{x}/{y}.mvt?community=bucha")
            assert resp.status_code == 200
            assert resp.mimetype == "application/vnd.mapbox-vector-tile"
            sizes.append(len(resp.data))
            layer = _decode(resp.data).get("incidents", {"features": []})
            for feature in layer["features"]:
                spec = app.extensions["geoapp.layers"]["incidents"]
                assert set(feature["properties"]) == set(spec.aggregate_properties) == {"count"}
                counted += feature["properties"]["count"]
    assert counted == total == 1800
    assert max(sizes) < 64 * 64 * 12  # at most one small point per cell


def test_high_zoom_points_carry_only_whitelisted_properties(app, analyst, planted):  # noqa: F811
    x, y = _tile_of(*STATION, 15)
    body = analyst.get(f"/tiles/incidents/15/{x}/{y}.mvt").data
    features = _decode(body)["incidents"]["features"]
    assert len(features) > 50  # the planted cluster at the station
    for feature in features:
        assert feature["geometry"]["type"] == "Point"
        assert set(feature["properties"]) <= _whitelist(app, "incidents")
        assert "ref_hash" not in feature["properties"]


def test_incident_tiles_are_for_analysts_only(app, client, staff, planted):  # noqa: F811
    x, y = _tile_of(*STATION, 15)
    assert client.get(f"/tiles/incidents/15/{x}/{y}.mvt").status_code == 404
    viewer = app.test_client()
    sign_in(viewer, staff["viewer"])
    assert viewer.get(f"/tiles/incidents/15/{x}/{y}.mvt?community=bucha").status_code == 404
    assert client.get(f"/tiles/incidents/15/{x}/{y}.mvt?community=bucha").status_code == 404


def test_concern_tiles_show_the_public_point_never_the_true_one(app, client, engine, worried):  # noqa: F811
    with Session(engine) as sess:
        rows = sess.execute(text(
            "SELECT ST_X(point), ST_Y(point), ST_X(public_point), ST_Y(public_point) "
            "FROM concern WHERE client_token LIKE 'worried-%'")).all()  # fmt: skip
    z = 18
    moved = 0
    for true_lon, true_lat, pub_lon, pub_lat in rows:
        x, y = _tile_of(pub_lon, pub_lat, z)
        body = client.get(f"/tiles/concerns/{z}/{x}/{y}.mvt").data
        features = _decode(body)["concerns"]["features"]
        assert features
        spots = []
        for feature in features:
            assert set(feature["properties"]) <= _whitelist(app, "concerns")
            spots.append(_lonlat(z, x, y, *feature["geometry"]["coordinates"]))
        near_public = min(math.dist(s, (pub_lon, pub_lat)) for s in spots)
        assert near_public < 1e-6 * 5  # within half a metre
        near_true = min(math.dist(s, (true_lon, true_lat)) for s in spots)
        moved += near_true > 1e-5
    assert moved == len(rows)  # no tile has any concern at its true point


def test_etag_304_and_redis(analyst, planted):  # noqa: F811
    x, y = _tile_of(*STATION, 14)
    url = f"/tiles/incidents/14/{x}/{y}.mvt?community=bucha"
    first = analyst.get(url)
    assert first.headers["ETag"] and "private" in first.headers["Cache-Control"]
    again = analyst.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    keys = redis.Redis.from_url(REDIS_URL).keys(f"tile:incidents:14:{x}:{y}:*")
    assert keys, "the tile is not in Redis"


def test_an_import_invalidates_the_tiles(app, analyst, engine, planted, tmp_path):  # noqa: F811
    x, y = _tile_of(*STATION, 15)
    url = f"/tiles/incidents/15/{x}/{y}.mvt?community=bucha"
    before = analyst.get(url)
    n_before = len(_decode(before.data)["incidents"]["features"])
    path = tmp_path / "more.csv"
    path.write_text("date,article,lon,lat,ref\n" + "".join(
        f"2025-03-0{1 + k % 9},185,{STATION[0] + 0.0001 * k:.6f},{STATION[1]:.6f},tile-extra-{k}\n"
        for k in range(7)))  # fmt: skip
    with Session(engine) as sess:
        bucha = get_by_slug(sess, "bucha")
        report = import_file(sess, path, bucha.id, app.config["SECRET_KEY"], str(DATA_DIR),
                             actor="test")  # fmt: skip
        assert report.accepted == 7
    after = analyst.get(url, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and after.headers["ETag"] != before.headers["ETag"]
    assert len(_decode(after.data)["incidents"]["features"]) == n_before + 7


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/tiles/incidents/23/0/0.mvt", 400),
        ("/tiles/concerns/3/8/0.mvt", 400),
        ("/tiles/concerns/3/0/0.mvt?colour=red", 400),
        ("/tiles/hotspots/3/0/0.mvt", 404),
        ("/tiles/secret/3/0/0.mvt", 404),
        ("/tiles/concerns/3/0/0.mvt?community=atlantis", 404),
    ],
)
def test_bad_tile_requests_are_problems(client, url, status):
    resp = client.get(url)
    assert resp.status_code == status and resp.mimetype == "application/problem+json"


def test_period_and_group_narrow_incident_tiles(analyst, planted):  # noqa: F811
    x, y = _tile_of(*STATION, 15)
    url = f"/tiles/incidents/15/{x}/{y}.mvt?community=bucha"
    assert _decode(analyst.get(url + "&period=2024").data) == {}  # planted: 2025 only
    theft = _decode(analyst.get(url + "&period=2025&group=theft").data)
    assert len(theft["incidents"]["features"]) > 50
    assert analyst.get(url + "&group=nothing").status_code == 400
    assert analyst.get(url.replace("incidents", "concerns") + "&period=2025").status_code == 400


@pytest.mark.browser
def test_staff_map_draws_many_incidents_from_tiles(app, browser, live_server, staff, planted):  # noqa: F811
    from playwright.sync_api import expect

    from tests.test_incident_browser import sign_in as browser_sign_in

    app.config["GEOAPP_TILE_THRESHOLD"] = 1000  # Bucha holds 1,800 here
    try:
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        browser_sign_in(page, live_server, staff["analyst"])
        page.goto(f"{live_server}/staff/c/bucha/incidents/")
        expect(page.get_by_test_id("legend")).to_contain_text("2025")
        page.locator(".leaflet-control-layers").hover()  # the layer control opens
        with page.expect_response(lambda r: "/tiles/incidents/" in r.url) as first:
            page.get_by_label("Окремі правопорушення").check()
        tile = first.value
        assert tile.status == 200 and "community=bucha" in tile.url and "period=2025" in tile.url
        expect(page.locator("canvas.leaflet-tile").first).to_be_attached()
        assert not errors, errors
    finally:
        app.config["GEOAPP_TILE_THRESHOLD"] = 20000
