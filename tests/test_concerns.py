"""Residents report concerns through the API: stored once, validated, private by default."""

from __future__ import annotations

import csv
import threading
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from geoapp.services.gazetteer import load

IN_BUCHA = {"lon": 30.2100, "lat": 50.5450}
IN_LVIV = {"lon": 24.0316, "lat": 49.8419}


def token() -> str:
    return uuid.uuid4().hex


def post(client, body: dict, slug: str = "bucha", **headers):
    return client.post(f"/api/v1/communities/{slug}/concerns", json=body, headers=headers)


def concern_rows(engine, client_token: str) -> list:
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT c.*, ST_X(point) AS x, ST_Y(point) AS y, ST_X(public_point) AS px, "
                "ST_Y(public_point) AS py, "
                "ST_Distance(point::geography, public_point::geography) AS moved "
                "FROM concern c WHERE client_token = :t"
            ),
            {"t": client_token},
        ).all()


def test_categories_are_listed_with_handling(client):
    body = client.get("/api/v1/communities/bucha/categories").get_json()
    by_code = {c["code"]: c for c in body["categories"]}
    assert {
        "poor_lighting",
        "drugs",
        "drinking_noise",
        "road_danger",
        "abandoned_building",
        "vandalism",
        "stray_animals",
        "suspicious_activity",
        "dangerous_infrastructure",
        "other",
    } <= set(by_code)
    assert by_code["poor_lighting"]["name_uk"] == "Погане освітлення"
    assert by_code["domestic_violence"]["handling"] == "no_pin"
    assert "15-47" in by_code["domestic_violence"]["notice_uk"]
    assert by_code["explosive_objects"]["handling"] == "warn"
    assert by_code["drugs"]["sensitive"] is True and by_code["poor_lighting"]["domain"] == "concern"
    assert client.get("/api/v1/communities/atlantis/categories").status_code == 404


def test_a_report_is_stored_once_and_a_retry_returns_the_first(app, client, engine):
    t = token()
    body = {
        "category": "poor_lighting",
        **IN_BUCHA,
        "description": "Темно біля школи",
        "client_token": t,
        "contact": {"phone": "+380 67 123 45 67", "consent": True},
    }
    first = post(client, body)
    assert first.status_code == 201
    receipt = first.get_json()
    assert receipt["status"] == "new" and len(receipt["short_code"]) == 8
    assert "/t/" in receipt["tracking_url"] and t not in receipt["tracking_url"]
    again = post(client, body)
    assert again.status_code == 200 and again.get_json() == receipt
    (row,) = concern_rows(engine, t)
    assert (row.x, row.y) == pytest.approx((IN_BUCHA["lon"], IN_BUCHA["lat"]))
    assert 0 < row.moved <= 75  # snapped to a 100 m grid: at most half its diagonal away
    assert row.located_by == "pin"
    with engine.connect() as conn:
        sealed = conn.scalar(
            text("SELECT phone_enc FROM concern_contact WHERE concern_id = :i"), {"i": row.id}
        )
    assert "123 45 67" not in sealed  # sealed at rest (privacy rule 1)
    assert app.extensions["geoapp.contact_keys"].unseal(sealed) == "+380 67 123 45 67"


def test_parallel_retries_store_exactly_one(app, engine):
    t = token()
    body = {"category": "vandalism", **IN_BUCHA, "client_token": t}
    statuses: list[int] = []

    def send() -> None:
        statuses.append(post(app.test_client(), body).status_code)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses).count(201) == 1 and set(statuses) <= {200, 201}
    assert len(concern_rows(engine, t)) == 1


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"category": ""}, "category", "required"),
        ({"category": "unicorns"}, "category", "unknown_category"),
        ({"description": "д" * 1001}, "description", "too_long"),
        ({"lon": None, "lat": None}, "location", "no_place"),
        ({"lon": 500.0}, "location", "invalid_point"),
        ({"client_token": "short"}, "client_token", "invalid_token"),
        (
            {
                "contact": {"phone": "call me maybe"},
            },
            "contact_phone",
            "invalid_phone",
        ),
        (
            {
                "contact": {"email": "nobody"},
            },
            "contact_email",
            "invalid_email",
        ),
        ({"contact": {"name": "Ольга"}}, "consent", "consent_required"),
        (
            {"lon": None, "lat": None, "address": "Неіснуюча вулиця 999"},
            "address",
            "address_not_found",
        ),
    ],
)
def test_invalid_reports_are_422_naming_the_field_and_store_nothing(
    client, engine, change, field, code
):
    t = token()
    body = {"category": "poor_lighting", **IN_BUCHA, "client_token": t, **change}
    resp = post(client, body)
    assert resp.status_code == 422 and resp.mimetype == "application/problem+json"
    errors = {e["field"]: e for e in resp.get_json()["errors"]}
    assert errors[field]["code"] == code and errors[field]["message"]
    assert concern_rows(engine, t) == [] if len(t) >= 8 else True


def test_messages_speak_ukrainian_and_english(client):
    body = {"category": "", **IN_BUCHA, "client_token": token()}
    uk = post(client, body).get_json()["errors"][0]["message"]
    en = client.post("/api/v1/communities/bucha/concerns?lang=en", json=body).get_json()
    assert uk == "Оберіть, чого стосується звернення."
    assert en["errors"][0]["message"] == "Choose what the concern is about."


def test_violence_categories_record_nothing_and_give_the_hotlines(client, engine):
    t = token()
    resp = post(client, {"category": "domestic_violence", **IN_BUCHA, "client_token": t})
    body = resp.get_json()
    assert resp.status_code == 422 and "15-47" in body["notice"] and "102" in body["notice"]
    assert concern_rows(engine, t) == []


def test_a_point_outside_suggests_the_community_that_contains_it(client, engine):
    t = token()
    resp = post(client, {"category": "vandalism", **IN_LVIV, "client_token": t})
    body = resp.get_json()
    assert resp.status_code == 422 and body["errors"][0]["code"] == "outside_community"
    assert body["suggested_community"]["slug"] == "lviv-halytskyi"
    assert concern_rows(engine, t) == []


def test_an_address_is_located_through_the_gazetteer(client, engine, tmp_path):
    path = tmp_path / "concern-addresses.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["lon", "lat", "street", "housenumber"])
        writer.writerows(
            [
                [30.2000 + i * 0.001, 50.5430, "вул. Енергетиків", str(n)]
                for i, n in enumerate(range(1, 21, 2))
            ]
        )
    with Session(engine) as sess:
        cid = sess.scalar(text("SELECT id FROM community WHERE slug = 'bucha'"))
        load(sess, path, cid)
    t = token()
    resp = post(client, {"category": "road_danger", "address": "Енергетиків, 5", "client_token": t})
    assert resp.status_code == 201, resp.get_json()
    (row,) = concern_rows(engine, t)
    assert row.located_by == "geocoded" and row.address == "вул. Енергетиків, 5"
    assert row.x == pytest.approx(30.202) and row.geocode_score == pytest.approx(1.0)


def test_the_tracking_page_shows_status_never_contact_or_true_point(client, engine):
    t = token()
    receipt = post(
        client,
        {
            "category": "stray_animals",
            **IN_BUCHA,
            "client_token": t,
            "description": "<script>alert('x')</script> собаки",
            "contact": {"email": "olena@example.org", "consent": True},
        },
    ).get_json()
    path = receipt["tracking_url"].split("localhost", 1)[-1]
    html = client.get(path).get_data(as_text=True)
    assert receipt["short_code"] in html and "Безпритульні тварини" in html
    assert "отримано" in html
    assert "olena@example.org" not in html
    assert "<script>alert" not in html and "&lt;script&gt;" in html  # shown, never run
    (row,) = concern_rows(engine, t)
    assert f"{row.x:.4f}" not in html
    assert client.get("/t/not-a-real-token").status_code == 404


def test_submissions_are_rate_limited_per_client(database_url):
    from geoapp import create_app
    from tests.conftest import app_config

    limited = create_app(
        app_config(
            database_url,
            GEOAPP_REPORT_LIMIT="3 per hour",
            GEOAPP_LIMIT_PREFIX=f"rate-{uuid.uuid4().hex}",
        )
    )
    client = limited.test_client()
    statuses = [
        post(client, {"category": "vandalism", **IN_BUCHA, "client_token": token()}).status_code
        for _ in range(4)
    ]
    assert statuses == [201, 201, 201, 429]
    resp = post(client, {"category": "vandalism", **IN_BUCHA, "client_token": token()})
    assert resp.mimetype == "application/problem+json" and resp.get_json()["status"] == 429


def _accept(app, staff, public_id: str) -> None:
    from tests.conftest import csrf_from, sign_in

    coordinator = app.test_client()
    sign_in(coordinator, staff["coordinator"])
    page = coordinator.get(f"/staff/c/bucha/concerns/{public_id}").get_data(as_text=True)
    coordinator.post(
        f"/staff/c/bucha/concerns/{public_id}/status",
        data={"csrf_token": csrf_from(page), "to": "accepted"},
    )


def test_nearby_shows_accepted_concerns_of_the_category_and_me_too_counts_once(app, client, staff):
    spot = {"lon": 30.2150, "lat": 50.5480}
    accepted = post(
        client, {"category": "stray_animals", **spot, "client_token": token()}
    ).get_json()
    waiting = post(
        client, {"category": "stray_animals", **spot, "client_token": token()}
    ).get_json()
    _accept(app, staff, accepted["public_id"])
    near = client.get(
        "/api/v1/communities/bucha/concerns/nearby?category=stray_animals&lon=30.2152&lat=50.5481"
    ).get_json()["concerns"]
    ids = [c["public_id"] for c in near]
    assert accepted["public_id"] in ids and waiting["public_id"] not in ids
    assert all(c["metres"] % 50 == 0 for c in near)  # rounded: no triangulation
    other = client.get(
        "/api/v1/communities/bucha/concerns/nearby?category=vandalism&lon=30.2152&lat=50.5481"
    ).get_json()["concerns"]
    assert accepted["public_id"] not in [c["public_id"] for c in other]
    far = client.get(
        "/api/v1/communities/bucha/concerns/nearby?category=stray_animals&lon=30.2300&lat=50.5600"
    ).get_json()["concerns"]
    assert accepted["public_id"] not in [c["public_id"] for c in far]
    me = token()
    url = f"/api/v1/communities/bucha/concerns/{accepted['public_id']}/support"
    assert client.post(url, json={"client_token": me}).get_json()["support_count"] == 1
    assert client.post(url, json={"client_token": me}).get_json()["support_count"] == 1
    assert client.post(url, json={"client_token": token()}).get_json()["support_count"] == 2
    waiting_url = f"/api/v1/communities/bucha/concerns/{waiting['public_id']}/support"
    assert client.post(waiting_url, json={"client_token": me}).status_code == 404
    assert client.post(url, json={"client_token": "x"}).status_code == 422
    assert client.post(url, json=["nope"]).status_code == 400
