"""What the public sees of concerns: accepted ones, at the generalised point, nothing more."""

from __future__ import annotations

import re
import uuid
from datetime import date

import pytest
from playwright.sync_api import expect

from tests.conftest import csrf_from, sign_in

TRUE_POINT = (30.21234, 50.54567)


def _report(client, category: str = "poor_lighting", **extra) -> dict:
    body = {
        "category": category,
        "lon": TRUE_POINT[0],
        "lat": TRUE_POINT[1],
        "client_token": uuid.uuid4().hex,
        "description": "Мій сусід Петро, тел. 0501234567",
        "contact": {"email": "resident@example.org", "consent": True},
        **extra,
    }
    return client.post("/api/v1/communities/bucha/concerns", json=body).get_json()


def _move(coordinator, public_id: str, to: str, answer: str = "") -> None:
    page = coordinator.get(f"/staff/c/bucha/concerns/{public_id}").get_data(as_text=True)
    coordinator.post(
        f"/staff/c/bucha/concerns/{public_id}/status",
        data={"csrf_token": csrf_from(page), "to": to, "answer": answer},
    )


@pytest.fixture()
def coordinator(app, staff):
    client = app.test_client()
    sign_in(client, staff["coordinator"])
    return client


def _features(client) -> dict:
    body = client.get("/api/v1/communities/bucha/layers/concerns.geojson").get_json()
    return body


def test_only_accepted_concerns_leave_and_only_at_the_public_point(client, coordinator, engine):
    waiting = _report(client)
    accepted = _report(client)
    _move(coordinator, accepted["public_id"], "accepted", "Замінимо лампу")
    body = client.get("/api/v1/communities/bucha/layers/concerns.geojson").get_json()
    text_body = client.get("/api/v1/communities/bucha/layers/concerns.geojson").get_data(
        as_text=True
    )
    answers = [f["properties"]["answer"] for f in body["features"]]
    assert "Замінимо лампу" in answers
    for feature in body["features"]:
        assert set(feature["properties"]) == {
            "category",
            "category_uk",
            "category_en",
            "status",
            "reported",
            "answer",
        }
        assert feature["properties"]["status"] in ("accepted", "in_progress", "resolved")
    assert waiting["public_id"] not in text_body and accepted["public_id"] not in text_body
    for leaked in (
        "0501234567",
        "resident@example.org",
        "Петро",
        f"{TRUE_POINT[0]:.5f}",
        f"{TRUE_POINT[1]:.5f}",
    ):
        assert leaked not in text_body
    assert body["metadata"]["generalised_to_m"] == 100


def test_sensitive_categories_are_only_counted(client, coordinator):
    report = _report(client, category="drugs")
    _move(coordinator, report["public_id"], "accepted")
    body = client.get("/api/v1/communities/bucha/layers/concerns.geojson").get_json()
    assert all(f["properties"]["category"] != "drugs" for f in body["features"])
    # Counted per closed quarter only, a month after it closed (tests/test_sensitive_counts.py):
    # today's acceptance is in no published quarter, so it dates nothing.
    today = date.today().isoformat()
    quarters = body["metadata"]["sensitive_counts"]
    assert all(not (q["from"] <= today <= q["to"]) for q in quarters)


def test_the_public_map_and_results_page(client, coordinator):
    report = _report(client, category="road_danger")
    _move(coordinator, report["public_id"], "accepted")
    _move(coordinator, report["public_id"], "resolved", "Встановили лежачого поліцейського")
    page = client.get("/c/bucha").get_data(as_text=True)
    assert re.search(r"\d+ звернен\w* на карті", page) and "L.markerClusterGroup" in page
    assert "$(" not in page  # no jQuery on our pages
    assert "/static/vendor/leaflet.markercluster/leaflet.markercluster.js" in page
    assert "0501234567" not in page and "Петро" not in page and f"{TRUE_POINT[0]:.5f}" not in page
    results = client.get("/c/bucha/results").get_data(as_text=True)
    assert "Встановили лежачого поліцейського" in results and "Небезпека на дорозі" in results


@pytest.mark.browser
def test_an_accepted_concern_appears_on_the_public_map(browser, live_server, app, coordinator):
    report = _report(app.test_client(), category="vandalism")
    _move(coordinator, report["public_id"], "accepted", "Прибрали графіті")
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_server}/c/bucha")
    markers = page.locator(".marker-cluster, path.leaflet-interactive")
    expect(markers.first).to_be_visible()
    assert markers.count() >= 2  # the boundary and at least one concern or cluster
    assert re.search(r"\d+ звернен", page.locator(".mapbar").inner_text())
    expect(page.locator(".leaflet-control-layers")).to_be_visible()
    assert errors == []
    page.close()
