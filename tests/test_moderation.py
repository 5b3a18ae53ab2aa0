"""Coordinators moderate: accept, answer, reject with a reason; contact views are audited."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from tests.conftest import csrf_from, sign_in


def _report(client, description: str = "Темно", contact: dict | None = None) -> dict:
    body = {
        "category": "poor_lighting",
        "lon": 30.21,
        "lat": 50.545,
        "description": description,
        "client_token": uuid.uuid4().hex,
    }
    if contact:
        body["contact"] = contact
    return client.post("/api/v1/communities/bucha/concerns", json=body).get_json()


@pytest.fixture()
def coordinator(app, staff):
    client = app.test_client()
    sign_in(client, staff["coordinator"])
    return client


def _step(client, public_id: str, **form):
    page = client.get(f"/staff/c/bucha/concerns/{public_id}").get_data(as_text=True)
    return client.post(
        f"/staff/c/bucha/concerns/{public_id}/status", data={"csrf_token": csrf_from(page), **form}
    )


def test_accept_with_an_answer_reaches_the_resident(client, coordinator):
    receipt = _report(client, "<b>ліхтар</b> не світить")
    queue = coordinator.get("/staff/c/bucha/concerns/").get_data(as_text=True)
    assert "очікує" in queue and "звернен" in queue
    found = coordinator.get(f"/staff/c/bucha/concerns/?code={receipt['short_code'].lower()}")
    queue = found.get_data(as_text=True)
    assert receipt["short_code"] in queue and "1 звернення" in queue
    assert "&lt;b&gt;ліхтар&lt;/b&gt;" in queue  # text, not markup
    resp = _step(
        coordinator,
        receipt["public_id"],
        to="accepted",
        answer="Передали в КП «Бучасвітло», заміна до п'ятниці.",
        note="дзвонив диспетчер",
    )
    assert resp.status_code == 303
    track = client.get(receipt["tracking_url"].split("localhost", 1)[-1]).get_data(as_text=True)
    assert "прийнято" in track and "Бучасвітло" in track
    assert "диспетчер" not in track  # the staff note stays inside
    staff_page = coordinator.get(f"/staff/c/bucha/concerns/{receipt['public_id']}")
    assert "диспетчер" in staff_page.get_data(as_text=True)


def test_rejection_needs_a_reason_and_impossible_steps_change_nothing(client, coordinator, engine):
    receipt = _report(client)
    _step(coordinator, receipt["public_id"], to="rejected")
    _step(coordinator, receipt["public_id"], to="resolved")  # new -> resolved is no step
    with engine.connect() as conn:
        status = conn.scalar(
            text("SELECT status::text FROM concern WHERE public_id = :p"),
            {"p": receipt["public_id"]},
        )
    assert status == "new"
    _step(coordinator, receipt["public_id"], to="rejected", reason="duplicate")
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT c.status::text AS s, e.note FROM concern c JOIN "
                "concern_event e ON e.concern_id = c.id WHERE c.public_id = :p "
                "ORDER BY e.id DESC LIMIT 1"
            ),
            {"p": receipt["public_id"]},
        ).one()
    assert row.s == "rejected" and "[duplicate]" in row.note


def test_viewers_read_but_cannot_act(app, client, staff, engine):
    receipt = _report(client)
    viewer = app.test_client()
    sign_in(viewer, staff["viewer"])
    page = viewer.get(f"/staff/c/bucha/concerns/{receipt['public_id']}")
    assert page.status_code == 200 and "Наступний крок" not in page.get_data(as_text=True)
    resp = viewer.post(
        f"/staff/c/bucha/concerns/{receipt['public_id']}/status",
        data={"csrf_token": csrf_from(page.get_data(as_text=True)), "to": "accepted"},
    )
    assert resp.status_code == 403


def test_a_concern_of_another_community_is_not_found_here(app, client, staff):
    receipt = _report(client)
    olena = app.test_client()  # coordinator in Lviv and Bolhrad, not Bucha
    sign_in(olena, staff["olena"])
    assert olena.get(f"/staff/c/bolhrad/concerns/{receipt['public_id']}").status_code == 404
    assert olena.get(f"/staff/c/bucha/concerns/{receipt['public_id']}").status_code == 404


def test_viewing_the_contact_is_audited(client, coordinator, staff, engine):
    receipt = _report(client, contact={"name": "Марія", "phone": "+380501112233", "consent": True})
    detail = coordinator.get(f"/staff/c/bucha/concerns/{receipt['public_id']}")
    assert "+380501112233" not in detail.get_data(as_text=True)  # not until asked
    shown = coordinator.get(f"/staff/c/bucha/concerns/{receipt['public_id']}/contact")
    assert "+380501112233" in shown.get_data(as_text=True)
    with engine.connect() as conn:
        event = conn.execute(
            text(
                "SELECT actor, object_id, details FROM audit_event "
                "WHERE action = 'contact.view' AND object_id = :p"
            ),
            {"p": receipt["public_id"]},
        ).one()
    assert event.actor == staff["coordinator"].email and event.details == {"found": True}
    assert "+380501112233" not in str(event)


def _post(client, public_id: str, action: str, **form):
    page = client.get(f"/staff/c/bucha/concerns/{public_id}").get_data(as_text=True)
    return client.post(
        f"/staff/c/bucha/concerns/{public_id}/{action}",
        data={"csrf_token": csrf_from(page), **form},
    )


def test_redaction_category_and_place_keep_the_original_for_staff(client, coordinator, engine):
    receipt = _report(client, "Це робить Іван Петренко з 5 під'їзду, тел. 0671234567")
    resp = _post(
        coordinator,
        receipt["public_id"],
        "edit",
        category="drinking_noise",
        description="Це робить мешканець сусіднього під'їзду",
        lon="30.2120",
        lat="50.5460",
    )
    assert resp.status_code == 303
    track = client.get(receipt["tracking_url"].split("localhost", 1)[-1]).get_data(as_text=True)
    assert "Петренко" not in track and "0671234567" not in track
    assert "Розпивання алкоголю та шум" in track
    staff_page = coordinator.get(f"/staff/c/bucha/concerns/{receipt['public_id']}")
    assert "Петренко" in staff_page.get_data(as_text=True)  # the original, for staff only
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT ST_X(point) AS x, ST_Y(point) AS y, "
                "ST_Distance(point::geography, public_point::geography) AS d "
                "FROM concern WHERE public_id = :p"
            ),
            {"p": receipt["public_id"]},
        ).one()
    assert (row.x, row.y) == pytest.approx((30.2120, 50.5460)) and row.d <= 75
    outside = _post(coordinator, receipt["public_id"], "edit", lon="24.03", lat="49.84")
    assert outside.status_code == 303
    with engine.connect() as conn:
        assert conn.scalar(
            text("SELECT ST_X(point) FROM concern WHERE public_id = :p"),
            {"p": receipt["public_id"]},
        ) == pytest.approx(30.2120)


def test_a_duplicate_is_merged_and_its_support_moves(client, coordinator, engine):
    first = _report(client)
    second = _report(client)
    _step(coordinator, first["public_id"], to="accepted")
    resp = _post(coordinator, second["public_id"], "merge", into=first["short_code"].lower())
    assert resp.status_code == 303 and first["public_id"] in resp.headers["Location"]
    with engine.connect() as conn:
        rows = dict(
            conn.execute(
                text(
                    "SELECT public_id, status::text || ':' || support_count FROM concern "
                    "WHERE public_id IN (:a, :b)"
                ),
                {"a": first["public_id"], "b": second["public_id"]},
            ).all()
        )
    assert rows == {first["public_id"]: "accepted:1", second["public_id"]: "rejected:0"}
    again = _post(coordinator, first["public_id"], "merge", into="NOSUCH00")
    assert again.status_code == 303 and first["public_id"] in again.headers["Location"]
