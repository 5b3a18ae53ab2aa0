"""The JSON API: communities, locate, layer GeoJSON, problems, health."""

from __future__ import annotations

import pytest

from geoapp import create_app
from tests.conftest import TEST_SECRET


def test_communities_list_has_bbox_and_boundary_flag(client):
    body = client.get("/api/v1/communities?pilot=1").get_json()
    by_slug = {c["slug"]: c for c in body["communities"]}
    assert set(by_slug) == {"lviv-halytskyi", "bucha", "bolhrad", "crimea", "sevastopol"}
    assert by_slug["sevastopol"]["has_boundary"] is False and by_slug["sevastopol"]["bbox"] is None
    minx, miny, maxx, maxy = by_slug["bucha"]["bbox"]
    assert 29.9 < minx < maxx < 30.5 and 50.4 < miny < maxy < 50.8


def test_locate_finds_the_community(client):
    body = client.get("/api/v1/locate?lon=24.0316&lat=49.8419").get_json()  # Rynok Square
    assert [c["slug"] for c in body["communities"]] == ["lviv-halytskyi"]
    assert body["communities"][0]["katotth"] == "UA46060250010121390"
    assert body["communities"][0]["name_uk"].startswith("Галицький")


def test_locate_outside_every_community_is_empty(client):
    body = client.get("/api/v1/locate?lon=35.0&lat=48.5").get_json()
    assert body["communities"] == []


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("lat=49.8", "lon"),
        ("lon=&lat=49.8", "lon"),
        ("lon=abc&lat=49.8", "lon"),
        ("lon=24&lat=91", "lat"),
        ("lon=nan&lat=49", "lon"),
        ("lon=24&lat=inf", "lat"),
        ("lon=24;DROP TABLE community&lat=49", "lon"),
    ],
)
def test_locate_bad_parameters_are_400_problems(client, query, parameter):
    resp = client.get(f"/api/v1/locate?{query}")
    assert resp.status_code == 400
    assert resp.mimetype == "application/problem+json"
    body = resp.get_json()
    assert body["status"] == 400 and body["parameter"] == parameter and body["detail"]


def test_boundary_layer_is_whitelisted_rfc7946(client):
    resp = client.get("/api/v1/communities/bucha/layers/boundaries.geojson")
    assert resp.status_code == 200 and resp.mimetype == "application/geo+json"
    body = resp.get_json()
    assert body["type"] == "FeatureCollection" and len(body["features"]) == 1
    feat = body["features"][0]
    assert set(feat["properties"]) == {"katotth", "name_uk", "name_en", "level"}
    lon, lat = feat["geometry"]["coordinates"][0][0][0]
    assert 29.9 < lon < 30.5 and 50.4 < lat < 50.8  # longitude first
    assert "OpenStreetMap" in body["metadata"]["licence"]


def test_boundary_layer_of_sevastopol_is_empty(client):
    body = client.get("/api/v1/communities/sevastopol/layers/boundaries.geojson").get_json()
    assert body["features"] == []


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/communities/atlantis/layers/boundaries.geojson",
        "/api/v1/communities/bucha/layers/secret.geojson",
        "/api/v1/nothing",
    ],
)
def test_unknown_things_are_404_problems(client, url):
    resp = client.get(url)
    assert resp.status_code == 404 and resp.mimetype == "application/problem+json"
    assert "Traceback" not in resp.get_data(as_text=True)


def test_wrong_method_is_a_405_problem(client):
    resp = client.post("/api/v1/locate?lon=24&lat=49")
    assert resp.status_code == 405 and resp.get_json()["status"] == 405


def test_healthz_reports_the_database(client):
    assert client.get("/healthz").status_code == 200


def test_healthz_is_503_without_a_database():
    app = create_app(
        {
            "DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/none",
            "TESTING": True,
            "SECRET_KEY": TEST_SECRET,
        }
    )
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 503 and resp.get_json()["database"] == "unreachable"
