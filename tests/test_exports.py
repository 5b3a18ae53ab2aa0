"""Exports: every exportable layer as GeoJSON (RFC 7946), CSV and GeoPackage, for the
public and for a partner; read back by GDAL with the same feature count; no contact,
no resident's text and no true point in any byte; each export audited with its sha256."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess

import pytest
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from geoapp.geo import gdal_safety
from geoapp.services import tokens
from geoapp.services.communities import get_by_slug
from geoapp.services.concerns import Report, report_concern
from tests.test_hotspots import planted, worried  # noqa: F401 - shared fixtures

UKRAINE = (22.0, 44.0, 40.3, 52.5)
SECRET_POINT = (30.22345, 50.54123)  # the resident's true point
CONTACT = {"name": "Оксана Приватна", "phone": "+380501112233", "email": "oksana@example.org"}
TEXT = "Біля під'їзду мого будинку 7 темно"
PUBLIC_LAYERS = ("boundaries", "concerns", "incident_cells")
PARTNER_LAYERS = ("hotspots",)  # emerging hot spots: monthly exact counts, analysts only
QUERY = {
    "incident_cells": "?period=2025",  # the published release, at the size it was published
    "hotspots": "?period=2025",
}


@pytest.fixture(scope="module")
def private_concern(engine, worried, app):  # noqa: F811
    """An accepted concern with a contact and a description: neither may leave."""
    with Session(engine) as sess:
        bucha = get_by_slug(sess, "bucha")
        report_concern(sess, bucha, Report(
            category="vandalism", description=TEXT, lon=SECRET_POINT[0], lat=SECRET_POINT[1],
            client_token="export-private-0001", contact_name=CONTACT["name"],
            contact_phone=CONTACT["phone"], contact_email=CONTACT["email"],
            consent=True), contact_keys=app.extensions["geoapp.contact_keys"])  # fmt: skip
        sess.execute(text("UPDATE concern SET status = 'accepted' "
                          "WHERE client_token = 'export-private-0001'"))  # fmt: skip
        sess.commit()
        stored = sess.execute(text("SELECT count(*) FROM concern_contact cc JOIN concern c "
                                   "ON c.id = cc.concern_id WHERE c.client_token = "
                                   "'export-private-0001'")).scalar()  # fmt: skip
    assert stored == 1  # the contact exists, so the checks below can catch it leaving
    return SECRET_POINT


@pytest.fixture(scope="module")
def partner(engine) -> dict[str, str]:
    with Session(engine) as sess:
        token, _row = tokens.create(sess, "Громадська аналітика", [get_by_slug(sess, "bucha")],
                                    30, actor="test")  # fmt: skip
    return {"Authorization": f"Bearer {token}"}


def _coordinates(geometry: dict):
    if geometry["type"] == "Point":
        yield geometry["coordinates"]
        return
    rings = geometry["coordinates"]
    if geometry["type"] == "Polygon":
        rings = [rings]
    for polygon in rings:
        for ring in polygon:
            yield from ring


def _assert_rfc7946(body: dict) -> None:
    assert body["type"] == "FeatureCollection"
    assert "crs" not in body  # RFC 7946: WGS 84 only, no crs member
    assert body["numberReturned"] == len(body["features"])
    for feature in body["features"]:
        assert feature["type"] == "Feature" and isinstance(feature["properties"], dict)
        for lon, lat in _coordinates(feature["geometry"]):
            assert UKRAINE[0] < lon < UKRAINE[2] and UKRAINE[1] < lat < UKRAINE[3]  # lon first
            assert round(lon, 6) == lon and round(lat, 6) == lat
        shape = shapely.geometry.shape(feature["geometry"])
        assert shape.is_valid, shapely.validation.explain_validity(shape)
    meta = body["metadata"]
    for key in ("period", "aggregation_unit", "k", "licence", "generated_at", "community"):
        assert key in meta, key


def _ogr_count(path) -> int:
    env = gdal_safety.trusted_tool_environment()  # our own export: all of GDAL's drivers
    out = subprocess.run(["ogrinfo", "-ro", "-so", "-al", str(path)], capture_output=True,
                         text=True, check=True, env=env).stdout  # fmt: skip
    counts = re.findall(r"Feature Count: (\d+)", out)
    assert len(counts) == 1, out
    return int(counts[0])


def _layers(who: str) -> list[str]:
    return list(PUBLIC_LAYERS) + (list(PARTNER_LAYERS) if who == "partner" else [])


@pytest.mark.parametrize("who", ["public", "partner"])
def test_every_exportable_layer_is_rfc7946_and_reads_back(
    client,
    planted,  # noqa: F811
    private_concern,
    partner,
    who,
    tmp_path,
):
    headers = partner if who == "partner" else {}
    for layer in _layers(who):
        url = f"/api/v1/communities/bucha/layers/{layer}"
        resp = client.get(url + ".geojson" + QUERY.get(layer, ""), headers=headers)
        assert resp.status_code == 200, (layer, resp.get_data(as_text=True))
        assert resp.mimetype == "application/geo+json"
        body = json.loads(resp.get_data())
        _assert_rfc7946(body)
        assert body["features"], f"{layer} is empty"
        if layer == "boundaries":
            assert "OpenStreetMap" in body["metadata"]["licence"]
        if layer in ("incident_cells",):
            assert body["metadata"]["k"] == 10
        for fmt in ("geojson", "csv", "gpkg"):
            raw = client.get(f"{url}.{fmt}{QUERY.get(layer, '')}", headers=headers).get_data()
            path = tmp_path / f"{layer}.{fmt}"
            path.write_bytes(raw)
            assert _ogr_count(path) == len(body["features"]), (layer, fmt)


@pytest.mark.parametrize("who", ["public", "partner"])
def test_no_contact_text_or_true_point_in_any_byte(client, private_concern, partner, who):
    headers = partner if who == "partner" else {}
    secret_bits = [CONTACT["name"], CONTACT["phone"], CONTACT["email"], TEXT, "export-private",
                   f"{SECRET_POINT[0]:.5f}", f"{SECRET_POINT[1]:.5f}"]  # fmt: skip
    found_generalised = False
    for layer in _layers(who):
        for fmt in ("geojson", "csv", "gpkg"):
            url = f"/api/v1/communities/bucha/layers/{layer}.{fmt}{QUERY.get(layer, '')}"
            resp = client.get(url, headers=headers)
            raw = resp.get_data()
            for bit in secret_bits:
                assert bit.encode() not in raw, (layer, fmt, bit)
            assert "Geoapp-Metadata" in resp.headers or fmt == "geojson"
        if layer == "concerns":
            body = client.get(f"/api/v1/communities/bucha/layers/{layer}.geojson").get_json()
            near = [f for f in body["features"]
                    if abs(f["geometry"]["coordinates"][0] - SECRET_POINT[0]) < 0.003
                    and abs(f["geometry"]["coordinates"][1] - SECRET_POINT[1]) < 0.003]  # fmt: skip
            found_generalised = bool(near)
    assert found_generalised  # it is there, at its public point


def test_each_export_is_audited_with_the_sha256_of_the_body(client, engine, partner):
    url = "/api/v1/communities/bucha/layers/boundaries.csv"
    raw = client.get(url, headers=partner).get_data()
    with Session(engine) as sess:
        row = sess.execute(text(
            "SELECT actor, details FROM audit_event WHERE action = 'layer.export' "
            "ORDER BY id DESC LIMIT 1")).one()  # fmt: skip
    actor, details = row
    assert details["sha256"] == hashlib.sha256(raw).hexdigest()
    assert details["bytes"] == len(raw) and details["format"] == "csv"
    assert details["features"] == 1 and details["complete"] is True
    assert actor.startswith("token:gp_") and details["audience"] == "partner"


def test_filters_narrow_the_export(client, private_concern):
    base = "/api/v1/communities/bucha/layers/concerns.geojson"
    everything = client.get(base).get_json()["features"]
    near = f"{SECRET_POINT[0] - 0.01},{SECRET_POINT[1] - 0.01},"
    near += f"{SECRET_POINT[0] + 0.01},{SECRET_POINT[1] + 0.01}"
    boxed = client.get(f"{base}?bbox={near}").get_json()["features"]
    assert 1 <= len(boxed) < len(everything)

    def count(query: str) -> int:
        return len(client.get(f"{base}?{query}").get_json()["features"])

    def expected(**want: str) -> int:
        return sum(all(f["properties"][k].startswith(v) for k, v in want.items())
                   for f in everything)  # fmt: skip

    assert count("status=resolved") == expected(status="resolved")
    assert count("status=accepted") == expected(status="accepted") >= 13
    assert count("group=vandalism") == expected(category="vandalism") >= 13
    assert count("group=poor_lighting,vandalism") == expected(category="poor_lighting") + (
        expected(category="vandalism"))  # fmt: skip
    assert count("period=2025") == expected(reported="2025") >= 12  # `worried`
    assert count("group=vandalism&period=2025-06") == expected(
        category="vandalism", reported="2025-06") == 12  # fmt: skip


@pytest.mark.parametrize(
    "query",
    [
        "concerns.geojson?bbox=1,2,3",
        "concerns.geojson?bbox=30,50,29,51",
        "concerns.geojson?bbox=a,b,c,d",
        "concerns.geojson?status=new",
        "concerns.geojson?period=2025-13",
        "concerns.geojson?colour=red",
        "boundaries.csv?period=2025",
        "incident_cells.gpkg?group=theft",
        "hotspots.geojson?period=2025&from=2025-01-01",
    ],
)
def test_bad_filters_are_400_problems(client, partner, query):
    resp = client.get(f"/api/v1/communities/bucha/layers/{query}", headers=partner)
    assert resp.status_code == 400 and resp.mimetype == "application/problem+json", query
    assert resp.get_json()["detail"]


def test_partner_layers_need_the_partners_token(client, partner):
    url = "/api/v1/communities/{}/layers/hotspots.geojson"
    assert client.get(url.format("bucha")).status_code == 404  # the public: no such layer
    assert client.get(url.format("bolhrad"), headers=partner).status_code == 404  # not theirs
    bad = {"Authorization": "Bearer gp_not-a-token"}
    assert client.get(url.format("bucha"), headers=bad).status_code == 401
    resp = client.get(url.format("bucha") + "?period=2025", headers=partner)
    props = {k for f in resp.get_json()["features"] for k, v in f["properties"].items() if v}
    assert "gi_z" not in props and "count" not in props  # classes only (rule 4)
    assert resp.get_json()["metadata"]["distance_band_m"] is None


def test_non_exportable_layers_are_not_files(app, client, staff):
    from tests.conftest import sign_in

    analyst = app.test_client()
    sign_in(analyst, staff["analyst"])
    assert analyst.get("/api/v1/communities/bucha/layers/incidents.geojson").status_code == 200
    assert analyst.get("/api/v1/communities/bucha/layers/incidents.csv").status_code == 404
