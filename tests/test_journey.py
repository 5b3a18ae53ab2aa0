"""The whole journey in a real Chromium: a resident reports on a phone, a coordinator
accepts and answers in the staff pages, the resident's tracking page and the public map
show it, and the true point and the contact appear in no public response."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser
CONTACT = "journey.resident@example.org"


def test_report_moderate_answer_and_publish(browser, live_server, staff, engine):
    from sqlalchemy import text

    phone = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = phone.new_page()
    page.goto(f"{live_server}/c/bucha/report")
    page.get_by_label("Покинута будівля").check()
    page.evaluate("document.getElementById('pick-map').placePin(50.5466, 30.2088)")
    page.get_by_label("3. Що відбувається?").fill("Вибиті вікна, заходять підлітки")
    page.get_by_label("Електронна пошта").fill(CONTACT)
    page.get_by_label("Можна зв'язатися зі мною щодо цього звернення").check()
    page.get_by_role("button", name="Надіслати").click()
    expect(page).to_have_url(re.compile(r"/t/[\w-]+\?new=1$"))
    tracking_url = page.url.split("?")[0]
    code = page.locator(".thanks .code").inner_text()

    desk = browser.new_context(viewport={"width": 1280, "height": 900})
    staff_page = desk.new_page()
    staff_page.goto(f"{live_server}/staff/login")
    staff_page.get_by_label("Електронна пошта").fill(staff["coordinator"].email)
    staff_page.get_by_label("Пароль").fill(staff["coordinator"].password)
    staff_page.get_by_label("Код із застосунку автентифікації").fill(staff["coordinator"].code())
    staff_page.get_by_role("button", name="Увійти").click()
    staff_page.goto(f"{live_server}/staff/c/bucha/concerns/?code={code}")
    staff_page.get_by_role("link", name=re.compile(code)).click()
    staff_page.get_by_role("radio", name="прийнято", exact=True).check()
    staff_page.get_by_label("Відповідь мешканцю (публічна)").fill(
        "Будівлю опечатають, власнику направлено припис."
    )
    staff_page.get_by_role("button", name="Зберегти", exact=True).click()
    expect(staff_page.get_by_text("Збережено.")).to_be_visible()
    desk.close()

    page.goto(tracking_url)
    expect(page.get_by_text("Статус: прийнято")).to_be_visible()
    expect(page.get_by_text("Будівлю опечатають")).to_be_visible()

    public = browser.new_context().new_page()
    bodies: list[str] = []
    public.on(
        "response",
        lambda r: (
            bodies.append(r.text())
            if "127.0.0.1" in r.url and (r.request.resource_type in ("document", "fetch", "xhr"))
            else None
        ),
    )
    public.goto(f"{live_server}/c/bucha")
    expect(public.locator(".marker-cluster, path.leaflet-interactive").first).to_be_visible()
    public.goto(f"{live_server}/api/v1/communities/bucha/layers/concerns.geojson")
    layer = json.loads(public.locator("pre").inner_text())
    assert any("Будівлю опечатають" in (f["properties"]["answer"] or "") for f in layer["features"])
    public.goto(f"{live_server}/c/bucha/results")
    with engine.connect() as conn:
        x, y = conn.execute(
            text("SELECT ST_X(point), ST_Y(point) FROM concern WHERE short_code = :c"), {"c": code}
        ).one()
    for raw in bodies:
        try:  # JSON escapes non-ASCII; compare decoded text
            body = json.dumps(json.loads(raw), ensure_ascii=False)
        except ValueError:
            body = raw
        assert CONTACT not in body and "підлітки" not in body
        assert f"{x:.4f}" not in body or f"{y:.4f}" not in body
    phone.close()
