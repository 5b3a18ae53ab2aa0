"""What a deployment's responses say about themselves: links built on GEOAPP_PUBLIC_URL
whatever Host a client forges, unknown hosts refused, X-Forwarded-* believed only from a
configured proxy, private answers kept out of caches, token answers marked `Vary`."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from geoapp import create_app
from geoapp.services import tokens
from geoapp.services.communities import get_by_slug
from geoapp.services.incidents import import_file
from tests.conftest import DATA_DIR, app_config, sign_in
from tests.test_hotspots import LAYER, PERIOD, planted  # noqa: F401 - shared fixture

PUBLIC = "https://map.example.ua"
EVIL = "evil.example"


@pytest.fixture(scope="module")
def public_app(database_url):
    return create_app(app_config(database_url, GEOAPP_PUBLIC_URL=PUBLIC))


@pytest.fixture(scope="module")
def token(engine) -> str:
    with Session(engine) as sess:
        token, _row = tokens.create(sess, "Медіа", [get_by_slug(sess, "bucha")], 30,
                                    actor="test")  # fmt: skip
    return token


def test_a_forged_host_changes_no_tracking_url_or_ogc_link(public_app, engine):
    client = public_app.test_client()
    body = {"category": "poor_lighting", "lon": 30.21, "lat": 50.545,
            "description": "Темно біля зупинки",
            "client_token": f"host{uuid.uuid4().hex}"}  # fmt: skip
    try:
        resp = client.post("/api/v1/communities/bucha/concerns", json=body,
                           headers={"Host": EVIL, "X-Forwarded-Host": EVIL})  # fmt: skip
        assert resp.status_code == 201
        assert resp.get_json()["tracking_url"].startswith(f"{PUBLIC}/t/")
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM concern WHERE client_token = :t"),
                         {"t": body["client_token"]})  # fmt: skip
    links = client.get("/ogc/", headers={"Host": EVIL}).get_json()["links"]
    assert links and all(link["href"].startswith(f"{PUBLIC}/ogc") for link in links)
    # Redirects stay relative: the client's own Host is never echoed into a Location.
    login = client.get("/staff/", headers={"Host": EVIL})
    assert login.status_code == 302 and EVIL not in login.headers["Location"]


def test_with_trusted_hosts_an_unknown_host_is_refused(database_url, monkeypatch):
    monkeypatch.setenv("GEOAPP_TRUSTED_HOSTS", "map.example.ua, localhost")
    client = create_app(app_config(database_url)).test_client()
    assert client.get("/", headers={"Host": EVIL}).status_code == 400
    assert client.get("/api/v1/communities", headers={"Host": EVIL}).status_code == 400
    assert client.get("/", headers={"Host": "map.example.ua"}).status_code == 200


FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "proxy.example.ua",
             "X-Forwarded-For": "203.0.113.9"}  # fmt: skip


def test_forwarded_headers_are_ignored_without_a_configured_proxy(database_url, monkeypatch):
    monkeypatch.delenv("GEOAPP_PROXY_FIX", raising=False)
    client = create_app(app_config(database_url)).test_client()
    resp = client.get("/ogc/", headers=FORWARDED)
    assert all(link["href"].startswith("http://localhost/") for link in resp.get_json()["links"])
    assert "Strict-Transport-Security" not in resp.headers  # the client said https; not so


def test_forwarded_headers_are_honoured_behind_one_proxy(database_url, monkeypatch):
    monkeypatch.setenv("GEOAPP_PROXY_FIX", "1")
    client = create_app(app_config(database_url)).test_client()
    resp = client.get("/ogc/", headers=FORWARDED)
    hrefs = [link["href"] for link in resp.get_json()["links"]]
    assert all(h.startswith("https://proxy.example.ua/ogc") for h in hrefs), hrefs
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=")


def test_every_page_limits_browser_features_and_an_https_deployment_sends_hsts(public_app):
    resp = public_app.test_client().get("/")
    assert resp.status_code == 200
    policy = resp.headers["Permissions-Policy"]
    assert "geolocation=(self)" in policy and "camera=()" in policy and "microphone=()" in policy
    assert resp.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def _no_store(resp) -> bool:
    directives = {d.strip() for d in resp.headers.get("Cache-Control", "").split(",")}
    return {"private", "no-store"} <= directives


def test_rejections_csv_is_not_stored_by_any_cache(app, staff, engine, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        "date,article,lon,lat,ref\n2025-03-03,999,30.21,50.545,R1\n", encoding="utf-8"
    )  # one row, rejected: nothing is imported
    with Session(engine) as sess:
        bucha = get_by_slug(sess, "bucha")
        report = import_file(sess, path, bucha.id, app.config["SECRET_KEY"], str(DATA_DIR),
                             actor="test")  # fmt: skip
    assert report.accepted == 0 and report.batch_id is not None
    try:
        analyst = app.test_client()
        sign_in(analyst, staff["analyst"])
        resp = analyst.get(f"/staff/c/bucha/incidents/batches/{report.batch_id}/rejections.csv")
        assert resp.status_code == 200 and "999" in resp.get_data(as_text=True)
        assert _no_store(resp), resp.headers.get("Cache-Control")
        assert resp.headers["Cross-Origin-Resource-Policy"] == "same-origin"
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM import_batch WHERE id = :b"), {"b": report.batch_id})


def test_partner_ogc_items_and_the_analysts_series_are_not_stored(app, client, staff, planted,  # noqa: F811
                                                                   token):  # fmt: skip
    bearer = {"Authorization": f"Bearer {token}"}
    published = {"period": "2025"}  # partners: classes of a published year only
    items = client.get("/ogc/collections/bucha.hotspots/items",
                       query_string={**published, "limit": 1}, headers=bearer)  # fmt: skip
    assert items.status_code == 200 and items.get_json()["features"]
    assert _no_store(items), items.headers.get("Cache-Control")
    fid = items.get_json()["features"][0]["id"]
    one = client.get(f"/ogc/collections/bucha.hotspots/items/{fid}", query_string=published,
                     headers=bearer)  # fmt: skip
    assert one.status_code == 200 and _no_store(one), one.headers.get("Cache-Control")
    analyst = app.test_client()
    sign_in(analyst, staff["analyst"])
    cell = analyst.get(LAYER, query_string=PERIOD).get_json()["features"][0]["properties"]
    series = analyst.get("/staff/c/bucha/analysis/series.json",
                         query_string={**PERIOD, "i": cell["i"], "j": cell["j"]})  # fmt: skip
    assert series.status_code == 200 and series.get_json()["months"]
    assert _no_store(series), series.headers.get("Cache-Control")


def test_a_layer_answered_by_token_varies_on_authorization(client, planted, token):  # noqa: F811
    resp = client.get(LAYER, query_string={"period": "2025"},
                      headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert resp.status_code == 200
    assert {"authorization", "cookie"} <= {
        v.strip().lower() for v in resp.headers["Vary"].split(",")
    }
    assert _no_store(resp)
    listing = client.get("/ogc/collections", headers={"Authorization": f"Bearer {token}"})
    assert "authorization" in listing.headers["Vary"].lower()
    anonymous = client.get("/ogc/collections")  # same URL, other answer: caches must know
    assert "authorization" in anonymous.headers["Vary"].lower()
