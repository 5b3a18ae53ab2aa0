"""In Chromium, a coordinator runs a joint planning session in Bucha: opens it, takes the
hot cell at the station as a priority, records who is in the room, records a decision by
drawing its area on the session map, leaves the map zoomed in with a layer off and finds
it so on reopening, prints the minutes as PDF and reads them; then marks the measure
done, and a resident sees it on the results page and the public map."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.test_hotspots import planted  # noqa: F401 - shared fixture
from tests.test_incident_browser import sign_in

pytestmark = pytest.mark.browser
TITLE = "Травневе засідання з безпеки"


@pytest.fixture()
def cleanup(engine):
    yield
    with Session(engine) as sess:
        sess.execute(
            text(
                "DELETE FROM measure WHERE session_id IN "
                "(SELECT id FROM planning_session WHERE title = :t)"
            ),
            {"t": TITLE},
        )
        sess.execute(text("DELETE FROM planning_session WHERE title = :t"), {"t": TITLE})
        sess.commit()


def test_a_session_from_hot_spot_to_residents(browser, live_server, staff, planted, cleanup):  # noqa: F811
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, live_server, staff["coordinator"])
    page.goto(f"{live_server}/staff/c/bucha/")
    page.get_by_role("link", name="Засідання з планування").click()
    page.get_by_label("Назва").fill(TITLE)
    page.get_by_label("Дата").fill("2026-05-12")
    page.get_by_role("button", name="Відкрити засідання").click()
    expect(page.get_by_role("heading", name=TITLE)).to_be_visible()
    session_url = page.url

    # A priority from the hot cell at the station, with its counts as evidence.
    expect(page.locator("#session")).to_have_attribute("data-ready", "1")
    hot = page.locator('path.leaflet-interactive[fill="#d73027"]')
    expect(hot.first).to_be_visible()
    hot.first.click(force=True)
    page.get_by_role("button", name="Додати як пріоритет").click()
    expect(page.locator("#p-cells-status")).to_contain_text("1")
    page.locator("#p-title").fill("Крадіжки біля вокзалу")
    page.get_by_role("button", name="Додати пріоритет").click()
    priority = page.get_by_test_id("priority")
    expect(priority).to_have_count(1)
    expect(priority).to_contain_text("Крадіжки біля вокзалу")
    expect(priority).to_contain_text("правопорушен")

    # Who is in the room.
    page.locator("#a-name").fill("Петро Сидоренко")
    page.locator("#a-agency").select_option("police")
    page.get_by_role("button", name="Додати", exact=True).click()
    expect(page.get_by_test_id("participant")).to_contain_text("Петро Сидоренко — Поліція")

    # A decision, its area drawn on the session map.
    expect(page.locator("#session")).to_have_attribute("data-ready", "1")
    page.locator("#decision-box summary").click()
    page.locator("#d-priority").select_option(label="1. Крадіжки біля вокзалу")
    page.locator("#m-title").fill("Освітлення підземного переходу")
    page.locator("#m-kind").select_option("lighting")
    page.locator("#m-agency").fill("Бучанська міська рада")
    page.locator("#m-owner").fill("Олена Коваль")
    page.locator("#m-start").fill("2026-06-01")
    page.locator("#m-due").fill("2026-08-31")
    page.locator("a.leaflet-draw-draw-rectangle").click()
    box = page.locator(".session-map .folium-map").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx - 40, cy - 30)
    page.mouse.down()
    page.mouse.move(cx + 40, cy + 30, steps=6)
    page.mouse.up()
    expect(page.locator("#m-target-status")).to_have_text("Область позначено.")
    assert '"Polygon"' in page.locator("#m-target").input_value()
    page.get_by_role("button", name="Записати рішення").click()
    decision = page.get_by_test_id("decision")
    expect(decision).to_contain_text("Освітлення підземного переходу — Олена Коваль")

    # The map as the room leaves it: one level closer, concerns switched off.
    expect(page.locator("#session")).to_have_attribute("data-ready", "1")
    page.locator(".leaflet-control-zoom-in").click()
    page.locator(".leaflet-control-layers").hover()
    page.get_by_label("Звернення мешканців").uncheck()
    expect(page.locator("#session-status")).to_have_attribute("data-saved", "1")
    page.wait_for_timeout(700)  # the last change's save
    left = page.evaluate("geoappSession.state()")
    assert "concerns" not in left["overlays"] and "hotspots" in left["overlays"]
    page.screenshot(path="var/session-page.png")
    page.goto(session_url)
    expect(page.locator("#session")).to_have_attribute("data-ready", "1")
    assert page.evaluate("geoappSession.state()") == left

    # The minutes, as a PDF.
    pdf_url = page.get_by_role("link", name="Протокол (PDF)").get_attribute("href")
    response = page.request.get(live_server + pdf_url)
    assert response.ok and response.headers["content-type"] == "application/pdf"
    Path("var/minutes.pdf").write_bytes(response.body())  # to look at
    pages = PdfReader(io.BytesIO(response.body())).pages
    minutes = " ".join(" ".join(p.extract_text() for p in pages).split())  # table cells wrap
    for words in ("Протокол спільного засідання з планування", TITLE, "Петро Сидоренко",
                  "Поліція", "Крадіжки біля вокзалу", "Освітлення підземного переходу",
                  "Олена Коваль", "31 серпня 2026"):  # fmt: skip
        assert words in minutes, (words, minutes)

    # Done, with what was done; the resident sees it.
    page.get_by_role("link", name="Освітлення підземного переходу").click()
    page.get_by_label("Погодити").check()
    page.get_by_role("button", name="Зберегти").click()
    page.get_by_label("Позначити виконаним").check()
    page.get_by_label("Що зроблено (для мешканців; обов’язково, коли виконано)").fill(
        "Встановлено 12 світильників у переході та біля виходів."
    )
    page.get_by_role("button", name="Зберегти").click()
    expect(page.locator("h1 .badge")).to_have_text("виконано")

    resident = browser.new_context().new_page()
    resident.goto(f"{live_server}/c/bucha/results")
    item = resident.locator("#measures li")
    expect(item).to_contain_text("Освітлення підземного переходу")
    expect(item).to_contain_text("Встановлено 12 світильників")
    resident.goto(f"{live_server}/c/bucha")
    expect(resident.locator('path.leaflet-interactive[stroke="#15803d"]').first).to_be_attached()
    assert errors == [], errors
